#!/usr/bin/env bash
# One entry point for rnnrt on Linux/macOS. Usage: ./build.sh [run|build|test|bench|publish|pack|install|set-version|gpu-check|fixtures|soak|fuzz] [args]
#   (no argument)  restore, build, run the main job (stream the bundled model through every backend)
#   run [PATH] [--batch B] [--steps N] [--layers L1,L2,...] [--prefix P] [--nonlinearity tanh|relu]
#       [--threads N] [--weight-format float32|bfloat16|int8] [--device D]
#                  the main job on your own model (.safetensors or torch.save .pt: an RNN/GRU/LSTM
#                  state_dict, a network saved by rnnrt.save, or a plain state_dict of one with --layers,
#                  e.g. --layers fc_in,tanh,gru,linear:fc; --prefix where it lives in a checkpoint, e.g. model);
#                  a bidirectional one is timed with whole-sequence runs
#   test           every test: xunit suite (all backends present, OpenCL on PoCL), the C tests, the Python package's pytest suite
#   bench [--peers] [args]  BenchmarkDotNet suite (no args: all of it, ~20 min, report in Runtime.Bench/results/);
#                  args go to BenchmarkDotNet (e.g. --filter '*Step*'); "check" checks every engine; --peers adds ORT and LibTorch,
#                  and RTNeural on the per-sample networks when RTNEURAL_DIR (a checkout with its submodules) or
#                  RTNEURAL_GIT + XSIMD_GIT (git dirs of RTNeural and xsimd) are set (--filter '*PerSample*': those alone);
#                  "pairs": the networks' 1.15x probe alone (a few seconds)
#   soak [N]       N (default 10^8) steps through C# and C: RSS, managed heap and steps/s at 20 points, flat or not
#   publish        NativeAOT librnnrt + rnnrt.h into artifacts/native
#   pack           NuGet: artifacts/nuget/RnnRuntime.<version>.nupkg and .snupkg
#   install PREFIX the C library: PREFIX/lib/librnnrt.so.X.Y.Z (+ links, v3/v4 builds), include/rnnrt.h,
#                  lib/pkgconfig/rnnrt.pc, lib/cmake/rnnrt/ (DESTDIR and RNNRT_LIBDIR are honoured)
#   set-version X.Y.Z  the one version: Directory.Build.props, rnnrt.h's RNNRT_VERSION_*, and the Python
#                  package's pyproject.toml when there is one (the tests fail when they disagree)
#   gpu-check      self-contained OpenCL check program into artifacts/gpu-check
#   fixtures       regenerate the PyTorch fixtures (needs Debian's python3-torch; never run by CI)
#   fuzz [seconds] coverage-guided fuzzing of the model loader (afl++ + SharpFuzz, Linux only; default 60 s):
#                  seeds from the fixtures and Runtime.Tests/Fuzz/corpus, findings into artifacts/fuzz/findings;
#                  FUZZ_TIMEOUT_MS (per input, default 2000), FUZZ_NICE (default 19), FUZZ_CMIN=1 (minimise the queue
#                  into artifacts/fuzz/cmin afterwards). Exit 1 when something was found.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
CMD=${1:-run}
[ $# -gt 0 ] && shift
CONFIG=${CONFIG:-Release}
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'build.sh: %s\n' "$*" >&2; exit 1; }

need_dotnet() {
  command -v dotnet >/dev/null 2>&1 || die "the .NET 10 SDK is required (dotnet not on PATH); see https://dot.net"
}

APT_UPDATED=0
apt_install() {
  # Installs Debian packages when we can (root + apt); otherwise says what is missing.
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    if [ $APT_UPDATED = 0 ]; then apt-get update -qq >/dev/null || true; APT_UPDATED=1; fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    return 1
  fi
}

ensure_opencl() {
  # The OpenCL backend needs an ICD loader and at least one ICD; on a machine without a GPU that is PoCL.
  if ! ldconfig -p 2>/dev/null | grep 'libOpenCL.so.1' >/dev/null || ! ls /etc/OpenCL/vendors/*.icd >/dev/null 2>&1; then
    log "no OpenCL ICD found; installing pocl-opencl-icd"
    apt_install pocl-opencl-icd ocl-icd-libopencl1 || \
      log "could not install pocl-opencl-icd (need root and apt-get); OpenCL tests will be skipped outside CI"
  fi
}

ensure_c_toolchain() {
  command -v cc >/dev/null 2>&1 || apt_install gcc || die "a C compiler (cc) is required for the C library and its tests"
  command -v clang >/dev/null 2>&1 || apt_install clang || true   # NativeAOT links with clang when present
  command -v valgrind >/dev/null 2>&1 || apt_install valgrind || log "valgrind not installed; the C tests will run without memcheck"
  # The install tests build the README's C snippet with pkg-config and with CMake.
  command -v pkg-config >/dev/null 2>&1 || apt_install pkg-config || log "pkg-config not installed; its install test will be skipped"
  command -v cmake >/dev/null 2>&1 || apt_install cmake make || log "cmake not installed; its install test will be skipped"
  # clang's sanitizer runtime (for the ASan + UBSan run of the C tests; Debian ships it apart from clang).
  if command -v clang >/dev/null 2>&1 && ! printf 'int main(void) { return 0; }\n' | clang -x c - -fsanitize=address,undefined -o /dev/null >/dev/null 2>&1; then
    apt_install "libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev" || log "clang cannot link -fsanitize=address here; the sanitizer run uses gcc or is skipped"
  fi
  # NativeAOT links against zlib.
  ldconfig -p 2>/dev/null | grep 'libz.so ' >/dev/null || apt_install zlib1g-dev || true
}

build() {
  need_dotnet
  log "dotnet build ($CONFIG)"
  dotnet build Runtime.sln -c "$CONFIG" -nologo -clp:ErrorsOnly -v:quiet
}

native() {
  # The C library, its sample and tests live in Runtime.Native/; this script knows how to build them.
  if [ -x Runtime.Native/native.sh ]; then
    ensure_c_toolchain
    Runtime.Native/native.sh "$@"
  else
    log "Runtime.Native/native.sh not present; skipping native step '$1'"
  fi
}

run_xunit() {
  local out status
  out=$(mktemp)
  set +e
  dotnet "Runtime.Tests/bin/$CONFIG/net10.0/Runtime.Tests.dll" -noColor "$@" 2>&1 | tee "$out"
  status=${PIPESTATUS[0]}
  set -e
  # xunit: "Total: 12, Errors: 0, Failed: 0, Skipped: 1, Not Run: 0"
  local line total errors failed skipped notrun
  line=$(grep -E 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+, Skipped: [0-9]+' "$out" | tail -n 1 || true)
  rm -f "$out"
  if [ -z "$line" ]; then
    XU_PASSED=0; XU_FAILED=1; XU_SKIPPED=0
    log "the xunit run printed no summary (exit $status)"
    return
  fi
  total=$(sed -E 's/.*Total: ([0-9]+).*/\1/' <<<"$line")
  errors=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
  failed=$(sed -E 's/.*Failed: ([0-9]+).*/\1/' <<<"$line")
  skipped=$(sed -E 's/.*Skipped: ([0-9]+).*/\1/' <<<"$line")
  notrun=$(sed -E 's/.*Not Run: ([0-9]+).*/\1/' <<<"$line")
  XU_FAILED=$((failed + errors))
  XU_SKIPPED=$((skipped + notrun))
  XU_PASSED=$((total - failed - skipped - notrun))
  if [ "$status" != 0 ] && [ "$XU_FAILED" = 0 ]; then XU_FAILED=1; fi
}

cmd_test() {
  ensure_opencl
  ensure_python_test_deps   # before the C tests too: their stream.py sample needs numpy
  if [ "${CI:-}" = "true" ]; then export RNNRT_REQUIRE_OPENCL=1; fi   # a skipped OpenCL suite fails CI
  build
  run_xunit "$@"
  T_PASSED=$XU_PASSED T_FAILED=$XU_FAILED T_SKIPPED=$XU_SKIPPED
  local out st
  out=$(mktemp)
  if [ -x Runtime.Native/native.sh ]; then
    set +e; native test 2>&1 | tee "$out"; st=${PIPESTATUS[0]}; set -e
    add_counts c-tests "$out" "$st"
  fi
  # The Python package (after the C tests, which publish artifacts/native that it loads).
  set +e; python_tests 2>&1 | tee "$out"; st=${PIPESTATUS[0]}; set -e
  add_counts python-tests "$out" "$st"
  # The NuGet package as a user gets it (pack, then a console program built against it, offline).
  set +e; { cmd_pack && Runtime.Tests/Package/test_package.sh; } 2>&1 | tee "$out"; st=${PIPESTATUS[0]}; set -e
  add_counts package-tests "$out" "$st"
  rm -f "$out"
  echo "tests: $T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
  [ "$T_FAILED" = 0 ]
}

# Runtime.Native/python's pytest suite under Debian's interpreter (it owns python3-numpy, -pytest,
# -setuptools, -torch); prints "python-tests: N passed, F failed, S skipped". Without numpy or pytest
# (and no root to install them) the suite counts as one skipped test.
ensure_python_test_deps() {
  local py=/usr/bin/python3
  [ -x $py ] || return 0
  $py -c 'import numpy, pytest' >/dev/null 2>&1 || apt_install python3-numpy python3-pytest || true
  # The install test needs venv and setuptools; it skips itself without them.
  $py -c 'import ensurepip, setuptools' >/dev/null 2>&1 || apt_install python3-venv python3-setuptools || true
}

python_tests() {
  local py=/usr/bin/python3 st=0
  if [ ! -x $py ]; then
    log "skip: the Python package's tests (no $py)"; echo "python-tests: 0 passed, 0 failed, 1 skipped"; return 0
  fi
  ensure_python_test_deps
  if ! $py -c 'import numpy, pytest' >/dev/null 2>&1; then
    log "skip: the Python package's tests ($py lacks numpy or pytest: apt-get install python3-numpy python3-pytest)"
    echo "python-tests: 0 passed, 0 failed, 1 skipped"; return 0
  fi
  local xml; xml=$(mktemp)
  log "pytest Runtime.Native/python/tests ($py)"
  RNNRT_REQUIRE_LIBRARY=1 $py -m pytest -q -p no:cacheprovider --junitxml="$xml" Runtime.Native/python/tests || st=$?
  $py - "$xml" <<'PY' || st=1
import sys, xml.etree.ElementTree as ET
root = ET.parse(sys.argv[1]).getroot()
suites = [root] if root.tag == "testsuite" else list(root.iter("testsuite"))
n = lambda k: sum(int(s.get(k, 0)) for s in suites)
failed, skipped = n("failures") + n("errors"), n("skipped")
print(f"python-tests: {n('tests') - failed - skipped} passed, {failed} failed, {skipped} skipped")
PY
  rm -f "$xml"
  return $st
}

cmd_pack() {
  need_dotnet
  log "dotnet pack Runtime -> artifacts/nuget"
  dotnet pack Runtime/Runtime.csproj -c Release -nologo -clp:ErrorsOnly -v:quiet -o artifacts/nuget
  log "artifacts/nuget: $(cd artifacts/nuget && ls RnnRuntime.*.nupkg RnnRuntime.*.snupkg | tr '\n' ' ')"
}

# Adds the counts of a "<name>: N passed, F failed, S skipped" line printed by a test script.
add_counts() {   # add_counts PREFIX OUTPUT_FILE STATUS
  local line
  line=$(grep -E "^$1: [0-9]+ passed, [0-9]+ failed" "$2" | tail -n 1 || true)
  if [ -z "$line" ]; then T_FAILED=$((T_FAILED + 1)); log "$1 printed no summary (exit $3)"; return; fi
  local p f s=0
  p=$(sed -E "s/$1: ([0-9]+) passed.*/\1/" <<<"$line")
  f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  if grep -q skipped <<<"$line"; then s=$(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line"); fi
  T_PASSED=$((T_PASSED + p)); T_FAILED=$((T_FAILED + f)); T_SKIPPED=$((T_SKIPPED + s))
  if [ "$3" != 0 ] && [ "$f" = 0 ]; then T_FAILED=$((T_FAILED + 1)); log "$1 exited with status $3"; fi
}

cmd_run() {
  build
  if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then
    log "main job: stream $1 through every backend present"
    dotnet "Runtime.Bench/bin/$CONFIG/net10.0/Runtime.Bench.dll" stream "$@"
  else
    log "main job: stream the bundled GRU through every backend present"
    dotnet "Runtime.Bench/bin/$CONFIG/net10.0/Runtime.Bench.dll" stream "$@"
    native sample
  fi
}

cmd_set_version() {
  local v=${1:-}
  [[ "$v" =~ ^([0-9]+)\.([0-9]+)\.([0-9]+)$ ]] || die "usage: ./build.sh set-version MAJOR.MINOR.PATCH (now $(sed -nE 's|.*<VersionPrefix>([^<]+)</VersionPrefix>.*|\1|p' Directory.Build.props))"
  local major=${BASH_REMATCH[1]} minor=${BASH_REMATCH[2]} patch=${BASH_REMATCH[3]}
  [ "$minor" -le 255 ] && [ "$patch" -le 255 ] || die "rnnrt_version() packs minor and patch into 8 bits each"
  sed -i -E "s|<VersionPrefix>[^<]*</VersionPrefix>|<VersionPrefix>$v</VersionPrefix>|" Directory.Build.props
  sed -i -E -e "s/^(#define RNNRT_VERSION_MAJOR +)[0-9]+/\1$major/" -e "s/^(#define RNNRT_VERSION_MINOR +)[0-9]+/\1$minor/" \
    -e "s/^(#define RNNRT_VERSION_PATCH +)[0-9]+/\1$patch/" Runtime.Native/include/rnnrt.h
  local changed="Directory.Build.props Runtime.Native/include/rnnrt.h"
  if [ -f Runtime.Native/python/pyproject.toml ]; then
    sed -i -E "0,/^version *= *\"[^\"]*\"/s//version = \"$v\"/" Runtime.Native/python/pyproject.toml
    changed="$changed Runtime.Native/python/pyproject.toml"
  fi
  log "version $v in $changed"
}

cmd_bench() {
  need_dotnet
  ensure_opencl
  # --peers: also restore and time ONNX Runtime and LibTorch (~1.5 GB of packages; never for test/CI).
  local peers=()
  if [ "${1:-}" = "--peers" ]; then
    shift; peers=(-p:Peers=true)
    # RTNeural (C++, header-only) joins the per-sample networks when its sources are given: never downloaded,
    # never committed; the shim is built into artifacts/rtneural (Runtime.Bench/Peers/rtneural/build.sh).
    if [ -n "${RTNEURAL_DIR:-}" ] || { [ -n "${RTNEURAL_GIT:-}" ] && [ -n "${XSIMD_GIT:-}" ]; }; then
      log "RTNeural peer: building Runtime.Bench/Peers/rtneural into artifacts/rtneural"
      RNNRT_RTNEURAL_DIR=$(Runtime.Bench/Peers/rtneural/build.sh "$ROOT/artifacts/rtneural" | tail -n 1)
      export RNNRT_RTNEURAL_DIR
    else
      echo "RTNeural peer skipped: set RTNEURAL_DIR=<RTNeural checkout with submodules> or RTNEURAL_GIT=<RTNeural git dir> XSIMD_GIT=<xsimd git dir> to enable"
    fi
  fi
  dotnet build Runtime.Bench -c Release -nologo -clp:ErrorsOnly -v:quiet "${peers[@]}"
  dotnet "Runtime.Bench/bin/Release/net10.0/Runtime.Bench.dll" "$@"
}

cmd_fixtures() {
  [ -x /usr/bin/python3 ] || die "/usr/bin/python3 is required"
  /usr/bin/python3 -c 'import torch' 2>/dev/null || apt_install python3-torch libopenblas0-pthread || die "python3-torch is required (apt-get install python3-torch)"
  /usr/bin/python3 Runtime.Tests/Fixtures/make_fixtures.py "$@"
}

FUZZ=$ROOT/artifacts/fuzz
ensure_fuzz_tools() {
  command -v afl-fuzz >/dev/null 2>&1 || apt_install afl++ || die "afl-fuzz is required (apt-get install afl++)"
  if [ ! -x "$FUZZ/tools/sharpfuzz" ]; then
    log "installing the SharpFuzz.CommandLine dotnet tool (2.3.0) into artifacts/fuzz/tools"
    dotnet tool install SharpFuzz.CommandLine --version 2.3.0 --tool-path "$FUZZ/tools" >/dev/null \
      || die "could not install the SharpFuzz.CommandLine dotnet tool from NuGet"
  fi
}

# Publishes the harness and instruments RnnRuntime.dll in it (a fresh folder: instrumenting twice fails).
# artifacts/fuzz/plain keeps an uninstrumented copy: instrumented code runs only under afl-fuzz (it
# writes to afl++'s shared memory), so findings are replayed with the plain one (--check FILE...).
build_fuzz_harness() {
  log "publishing the fuzz harness (Runtime.Tests/Fuzz) and instrumenting RnnRuntime.dll"
  rm -rf "$FUZZ/bin" "$FUZZ/plain"
  dotnet publish Runtime.Tests/Fuzz/Fuzz.csproj -c Release -nologo -v:quiet -clp:ErrorsOnly -o "$FUZZ/bin" >/dev/null
  cp -r "$FUZZ/bin" "$FUZZ/plain"
  "$FUZZ/tools/sharpfuzz" "$FUZZ/bin/RnnRuntime.dll" >/dev/null || die "sharpfuzz could not instrument RnnRuntime.dll"
}

fuzz_stat() { sed -nE "s/^$1 *: *(.*)$/\1/p" "$2" 2>/dev/null | head -n 1; }

cmd_fuzz() {
  [ "$(uname -s)" = Linux ] || die "fuzz runs on Linux only (afl++)"
  need_dotnet
  local seconds=${1:-60}
  [[ "$seconds" =~ ^[0-9]+$ ]] && [ "$seconds" -gt 0 ] || die "fuzz: seconds must be a positive integer, got '$seconds'"
  local nice_level=${FUZZ_NICE:-19} timeout_ms=${FUZZ_TIMEOUT_MS:-2000}
  ensure_fuzz_tools
  build_fuzz_harness
  # Seeds: the committed fixtures (model and io files: both are safetensors) up to 128 KiB (afl++ slows
  # down on big inputs, and what is past the header is plain numbers) and the committed corpus.
  rm -rf "$FUZZ/seeds"; mkdir -p "$FUZZ/seeds" "$FUZZ/findings"
  find Runtime.Tests/Fixtures -maxdepth 1 \( -name '*.safetensors' -o -name '*.pt' \) -size -128k -exec cp {} "$FUZZ/seeds/" \;
  if [ -d Runtime.Tests/Fuzz/corpus ]; then find Runtime.Tests/Fuzz/corpus -type f -exec cp {} "$FUZZ/seeds/" \; ; fi
  local out="$FUZZ/out"
  if [ -d "$out" ]; then rm -rf "$out.prev"; mv "$out" "$out.prev"; fi
  log "afl-fuzz for $seconds s (nice $nice_level, $timeout_ms ms per input) on $(ls "$FUZZ/seeds" | wc -l) seeds; output in artifacts/fuzz/out"
  local status=0 dotnet_bin
  dotnet_bin=$(command -v dotnet)   # afl-cmin wants a path, not a name
  AFL_SKIP_BIN_CHECK=1 AFL_SKIP_CPUFREQ=1 AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1 \
    AFL_SHUFFLE_QUEUE=1 \
    nice -n "$nice_level" afl-fuzz -V "$seconds" -i "$FUZZ/seeds" -o "$out" -t "$timeout_ms" -m none -x Runtime.Tests/Fuzz/safetensors.dict \
      -- "$dotnet_bin" "$FUZZ/bin/RnnRuntime.Fuzz.dll" > "$FUZZ/afl.log" 2>&1 || status=$?
  local stats="$out/default/fuzzer_stats"
  if [ ! -f "$stats" ]; then tail -n 30 "$FUZZ/afl.log" >&2; die "afl-fuzz did not start (exit $status); its log is artifacts/fuzz/afl.log"; fi
  # Findings: crashes (any exception but RnnModelException, or a crash of the runtime) and hangs,
  # named by content so that repeated runs do not pile up copies.
  local found=0 kind f sum
  for kind in crash hang; do
    for f in "$out/default/${kind}es"/id* "$out/default/${kind}s"/id*; do
      [ -f "$f" ] || continue
      sum=$(sha1sum "$f" | cut -c1-16)
      cp "$f" "$FUZZ/findings/$kind-$sum"
      found=$((found + 1))
    done
  done
  if [ "${FUZZ_CMIN:-0}" = 1 ] && command -v afl-cmin >/dev/null 2>&1; then
    log "afl-cmin: minimising the queue into artifacts/fuzz/cmin"
    rm -rf "$FUZZ/cmin"
    AFL_SKIP_BIN_CHECK=1 nice -n "$nice_level" afl-cmin -i "$out/default/queue" -o "$FUZZ/cmin" -t "$timeout_ms" -m none \
      -- "$dotnet_bin" "$FUZZ/bin/RnnRuntime.Fuzz.dll" > "$FUZZ/cmin.log" 2>&1 || log "afl-cmin failed; see artifacts/fuzz/cmin.log"
    [ -d "$FUZZ/cmin" ] && log "afl-cmin: $(ls "$FUZZ/cmin" | wc -l) files, $(du -sh "$FUZZ/cmin" | cut -f1) in artifacts/fuzz/cmin ($(grep -oE 'Found [0-9]+ unique tuples' "$FUZZ/cmin.log" | head -n 1))"
  fi
  echo "fuzz: $(fuzz_stat run_time "$stats") s, $(fuzz_stat execs_done "$stats") execs ($(fuzz_stat execs_per_sec "$stats")/s)," \
       "corpus $(fuzz_stat corpus_count "$stats") paths, coverage $(fuzz_stat bitmap_cvg "$stats") of the map," \
       "$(fuzz_stat saved_crashes "$stats") crashes, $(fuzz_stat saved_hangs "$stats") hangs"
  if [ "$found" -gt 0 ]; then
    echo "fuzz: $found finding(s) in artifacts/fuzz/findings; replaying them (uninstrumented):"
    dotnet "$FUZZ/plain/RnnRuntime.Fuzz.dll" --check "$FUZZ/findings"/* | grep -E '^(ok|BROKEN)' | sed 's/^/  /' || true
    return 1
  fi
  echo "fuzz: no findings"
}

case "$CMD" in
  run) cmd_run "$@" ;;
  build) build ;;
  test) cmd_test "$@" ;;
  bench) cmd_bench "$@" ;;
  publish) need_dotnet; native publish "$@" ;;
  pack) cmd_pack ;;
  install) need_dotnet; [ $# -ge 1 ] || die "usage: ./build.sh install PREFIX"; native install "$@" ;;
  set-version) cmd_set_version "$@" ;;
  gpu-check) need_dotnet; ensure_opencl; if [ -x Runtime.Bench/GpuCheck/gpu-check.sh ]; then Runtime.Bench/GpuCheck/gpu-check.sh "$@"; else die "gpu-check is not built yet"; fi ;;
  fixtures) cmd_fixtures "$@" ;;
  soak)
    # 10^8 steps (or $1) through RnnSession.Step (C#) and rnnrt_session_step (C): RSS, heap, steps/s flat.
    need_dotnet
    dotnet build Runtime.Bench -c Release -nologo -clp:ErrorsOnly -v:quiet
    dotnet "Runtime.Bench/bin/Release/net10.0/Runtime.Bench.dll" soak "${1:-100000000}"
    native soak "${1:-100000000}" ;;
  fuzz) cmd_fuzz "$@" ;;
  *) die "unknown command '$CMD'; use run, build, test, bench, publish, pack, install, set-version, gpu-check, fixtures, soak or fuzz" ;;
esac
