#!/usr/bin/env bash
# The C library: build, test, sample, overhead. Called by build.sh (which installs the toolchain);
# this script installs nothing and says what is missing instead.
#
#   native.sh publish    NativeAOT builds for x86-64-v3 and x86-64-v4 + the C loader + rnnrt.h
#                        into artifacts/native/ (librnnrt.so.X.Y.Z and its links librnnrt.so.X and
#                        librnnrt.so, librnnrt_v3.so, librnnrt_v4.so, include/)
#   native.sh install PREFIX   publishes if needed, then installs PREFIX/lib/librnnrt.so.X.Y.Z (soname
#                        librnnrt.so.X, links librnnrt.so.X and librnnrt.so), librnnrt_v3.so.X.Y.Z and
#                        librnnrt_v4.so.X.Y.Z beside it, PREFIX/include/rnnrt.h, PREFIX/lib/pkgconfig/rnnrt.pc,
#                        PREFIX/lib/cmake/rnnrt/rnnrtConfig{,Version}.cmake, PREFIX/share/doc/rnnrt/LICENSE.
#                        DESTDIR=/staging installs under /staging/PREFIX (for packagers); RNNRT_LIBDIR=lib64
#                        (or lib/x86_64-linux-gnu) changes the library folder.
#   native.sh test       header check (C99 and C++, -Wall -Wextra -Werror), the C tests against the
#                        PyTorch fixtures, seeded mutations of the fixtures through rnnrt_model_load_memory,
#                        loader failure modes; under valgrind memcheck when present; then the C tests
#                        and the loader built with -fsanitize=address,undefined (clang or gcc) when one links.
#                        Last line: "c-tests: N passed, F failed, S skipped"
#   native.sh install-test   only the install checks of `test` (a temporary prefix, pkg-config, CMake)
#   native.sh sample     builds and runs samples/stream.c (and samples/stream.py when a python3 with numpy is there)
#   native.sh overhead   rnnrt_session_step from C vs RnnSession.Step from C#, GRU hidden 64, batch 1
#   native.sh soak [N]   N (default 10^8) steps through the C library: RSS and steps/s flat over time
#
# Environment: CC (default cc), RNNRT_FIXTURES (default Runtime.Tests/Fixtures),
# RNNRT_NO_VALGRIND=1 (skip memcheck), RNNRT_REPUBLISH=1 (publish even if up to date),
# RNNRT_MUTATIONS (mutated loads per fixture in tests/test_mutations.c, default 150),
# RNNRT_VALGRIND_MUTATIONS (the same under valgrind, default 10), RNNRT_NO_SANITIZERS=1 (skip ASan/UBSan),
# RNNRT_ASAN_MUTATIONS (mutated loads per fixture under ASan, default 50).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
OUT="$ROOT/artifacts/native"
BUILD="$ROOT/artifacts/native-build"
CC=${CC:-cc}
CMD=${1:-}
[ $# -gt 0 ] && shift
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'native.sh: %s\n' "$*" >&2; exit 1; }

# The version: VersionPrefix in Directory.Build.props, the one place it is set; rnnrt.h must agree.
VERSION=$(sed -nE 's|.*<VersionPrefix>([0-9]+\.[0-9]+\.[0-9]+)</VersionPrefix>.*|\1|p' "$ROOT/Directory.Build.props" | head -n 1)
[ -n "$VERSION" ] || { printf 'native.sh: no <VersionPrefix>X.Y.Z</VersionPrefix> in Directory.Build.props\n' >&2; exit 1; }
MAJOR=${VERSION%%.*}
header_version() {
  local h=$HERE/include/rnnrt.h
  printf '%s.%s.%s' "$(sed -nE 's/^#define RNNRT_VERSION_MAJOR +([0-9]+).*/\1/p' "$h")" \
    "$(sed -nE 's/^#define RNNRT_VERSION_MINOR +([0-9]+).*/\1/p' "$h")" "$(sed -nE 's/^#define RNNRT_VERSION_PATCH +([0-9]+).*/\1/p' "$h")"
}

need_cc() { command -v "$CC" >/dev/null 2>&1 || die "a C compiler is required (CC=$CC not found; apt-get install gcc)"; }
need_dotnet() { command -v dotnet >/dev/null 2>&1 || die "the .NET 10 SDK is required to publish librnnrt (dotnet not on PATH)"; }

# One NativeAOT publish per instruction set. ILC's object file is removed first so that nothing of
# the other instruction set's build can be reused.
publish_isa() {
  local isa=$1 tag=$2
  log "NativeAOT publish: $isa"
  rm -rf "$HERE/obj/Release/net10.0/linux-x64/native"
  dotnet publish "$HERE/Runtime.Native.csproj" -c Release -r linux-x64 -nologo -v:quiet -clp:ErrorsOnly \
    -p:PublishAot=true -p:IlcInstructionSet="$isa" \
    -o "$BUILD/publish-$tag" \
    || die "dotnet publish ($isa) failed; NativeAOT needs clang or gcc and zlib1g-dev (build.sh installs them)"
  cp "$BUILD/publish-$tag/rnnrt.so" "$OUT/librnnrt_$tag.so"
}

# The loader is what programs link: librnnrt.so.X.Y.Z with soname librnnrt.so.X, and the two links a
# linker (-lrnnrt) and the dynamic loader (NEEDED librnnrt.so.X) look for.
build_loader() {
  need_cc
  [ "$(header_version)" = "$VERSION" ] || die "include/rnnrt.h says $(header_version), Directory.Build.props says $VERSION; run ./build.sh set-version $VERSION"
  mkdir -p "$OUT/include"
  cp "$HERE/include/rnnrt.h" "$OUT/include/rnnrt.h"
  "$CC" -std=c99 -O2 -fPIC -shared -fvisibility=hidden -Wall -Wextra -Werror -DRNNRT_BUILDING \
    -I"$HERE/include" "$HERE/loader/rnnrt_loader.c" -o "$OUT/librnnrt.so.$VERSION" -Wl,-soname,"librnnrt.so.$MAJOR" -ldl -lpthread
  ln -sfn "librnnrt.so.$VERSION" "$OUT/librnnrt.so.$MAJOR"
  ln -sfn "librnnrt.so.$MAJOR" "$OUT/librnnrt.so"
}

cmd_publish() {
  need_dotnet
  need_cc
  mkdir -p "$OUT" "$BUILD"
  publish_isa x86-64-v3 v3
  publish_isa x86-64-v4 v4
  build_loader
  log "artifacts/native: $(cd "$OUT" && echo librnnrt*.so* include/rnnrt.h)"
}

# Installs into $DESTDIR$PREFIX; rnnrt.pc names $PREFIX (what the files will be once unpacked there).
cmd_install() {
  local prefix=${1:-}
  [ -n "$prefix" ] || die "usage: native.sh install PREFIX (e.g. /usr/local or \$HOME/.local)"
  case "$prefix" in /*) ;; *) prefix="$(pwd)/$prefix" ;; esac
  prefix=${prefix%/}
  local libdir_name=${RNNRT_LIBDIR:-lib}
  ensure_published
  local dest="${DESTDIR:-}$prefix" lib="${DESTDIR:-}$prefix/$libdir_name"
  mkdir -p "$lib/pkgconfig" "$lib/cmake/rnnrt" "$dest/include" "$dest/share/doc/rnnrt" || die "cannot create folders under $dest"
  install -m 755 "$OUT/librnnrt.so.$VERSION" "$lib/librnnrt.so.$VERSION"
  ln -sfn "librnnrt.so.$VERSION" "$lib/librnnrt.so.$MAJOR"
  ln -sfn "librnnrt.so.$MAJOR" "$lib/librnnrt.so"
  # The builds under this version's name: the loader looks for librnnrt_vN.so.X.Y.Z first, so two
  # installed versions never load each other's builds.
  install -m 755 "$OUT/librnnrt_v3.so" "$lib/librnnrt_v3.so.$VERSION"
  install -m 755 "$OUT/librnnrt_v4.so" "$lib/librnnrt_v4.so.$VERSION"
  install -m 644 "$HERE/include/rnnrt.h" "$dest/include/rnnrt.h"
  install -m 644 "$ROOT/LICENSE" "$dest/share/doc/rnnrt/LICENSE"
  local up; up=$(echo "$libdir_name" | sed -E 's#[^/]+#..#g')
  local subst=(-e "s|@PREFIX@|$prefix|g" -e "s|@LIBDIR@|$libdir_name|g" -e "s|@LIBDIR_TO_PREFIX@|$up|g" -e "s|@VERSION@|$VERSION|g" -e "s|@MAJOR@|$MAJOR|g")
  sed "${subst[@]}" "$HERE/packaging/rnnrt.pc.in" > "$lib/pkgconfig/rnnrt.pc"
  sed "${subst[@]}" "$HERE/packaging/rnnrtConfig.cmake.in" > "$lib/cmake/rnnrt/rnnrtConfig.cmake"
  sed "${subst[@]}" "$HERE/packaging/rnnrtConfigVersion.cmake.in" > "$lib/cmake/rnnrt/rnnrtConfigVersion.cmake"
  chmod 644 "$lib/pkgconfig/rnnrt.pc" "$lib/cmake/rnnrt/"*.cmake
  log "installed rnnrt $VERSION into $dest:"
  (cd "$dest" && find . \( -type f -o -type l \) -path '*rnnrt*' -print | sed 's|^\./|    |' | sort >&2)
  case "$prefix" in /usr|/usr/local) log "run ldconfig (as root) so that programs find librnnrt.so.$MAJOR" ;;
    *) log "programs find librnnrt.so.$MAJOR through an rpath (CMake adds one) or LD_LIBRARY_PATH=$prefix/$libdir_name" ;; esac
}

# Publish only when a source is newer than what is there (a NativeAOT publish is not free).
ensure_published() {
  local stamp="$OUT/librnnrt_v4.so"
  if [ "${RNNRT_REPUBLISH:-0}" = 1 ] || [ ! -f "$OUT/librnnrt_v3.so" ] || [ ! -f "$stamp" ] || [ ! -f "$OUT/librnnrt.so" ] || \
     [ -n "$(find "$ROOT/Runtime" "$HERE" "$ROOT/Directory.Build.props" -newer "$stamp" \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' \) -not -path '*/obj/*' -not -path '*/bin/*' -not -path '*/bench/*' -print -quit)" ]; then
    cmd_publish
  else
    build_loader
  fi
}

# C programs link against the loader and find it (and it finds the builds) through an rpath.
cc_prog() {
  local out=$1; shift
  "$CC" -std=c99 -O2 -Wall -Wextra -Werror -I"$OUT/include" "$@" -o "$out" -L"$OUT" -lrnnrt -Wl,-rpath,"$OUT" -lm
}

# The first of Debian's interpreter and the python3 on PATH that has numpy (what samples/stream.py and
# the rnnrt package need); empty when none has.
python_with_numpy() {
  local p
  for p in /usr/bin/python3 python3; do
    command -v "$p" >/dev/null 2>&1 && "$p" -c 'import numpy' >/dev/null 2>&1 && { command -v "$p"; return 0; }
  done
  return 0
}

# Counts for the closing line; each check below adds to them.
C_PASSED=0; C_FAILED=0; C_SKIPPED=0
tally() {   # tally NAME STATUS(0 ok) [skip]
  if [ "${3:-}" = skip ]; then C_SKIPPED=$((C_SKIPPED + 1)); log "skip: $1";
  elif [ "$2" = 0 ]; then C_PASSED=$((C_PASSED + 1)); log "ok: $1";
  else C_FAILED=$((C_FAILED + 1)); log "FAILED: $1"; fi
}

check_header() {
  local tmp="$BUILD/header"
  mkdir -p "$tmp"
  printf '#include "rnnrt.h"\nint main(void) { struct rnnrt_model_info i; i.struct_size = sizeof i; (void)i; return rnnrt_version() == RNNRT_VERSION_NUMBER ? 0 : 1; }\n' > "$tmp/c.c"
  cp "$tmp/c.c" "$tmp/cpp.cpp"
  local ok c cxx found=0
  for c in "$CC" clang; do
    command -v "$c" >/dev/null 2>&1 || continue
    ok=0; "$c" -std=c99 -pedantic -Wall -Wextra -Werror -I"$OUT/include" -c "$tmp/c.c" -o "$tmp/c.o" || ok=1
    tally "rnnrt.h compiles as C99 with $c (-std=c99 -pedantic -Wall -Wextra -Werror)" $ok
  done
  for cxx in g++ clang++; do
    command -v $cxx >/dev/null 2>&1 || continue
    found=1
    ok=0; $cxx -std=c++11 -pedantic -Wall -Wextra -Werror -I"$OUT/include" -c "$tmp/cpp.cpp" -o "$tmp/cpp.o" || ok=1
    tally "rnnrt.h compiles as C++11 with $cxx (-pedantic -Wall -Wextra -Werror)" $ok
  done
  [ $found = 1 ] || tally "rnnrt.h compiles as C++ (no C++ compiler here)" 0 skip
  ok=0; [ "$(header_version)" = "$VERSION" ] || ok=1
  tally "rnnrt.h's RNNRT_VERSION_* ($(header_version)) is Directory.Build.props' VersionPrefix ($VERSION)" $ok
  # Exactly the header's functions are exported, by the loader and by both builds.
  local declared
  declared=$(grep -oE '^RNNRT_API [^(]*[ *](rnnrt_[a-z_]+)\(' "$HERE/include/rnnrt.h" | grep -oE 'rnnrt_[a-z_]+\($' | tr -d '(' | sort)
  for lib in librnnrt.so librnnrt_v3.so librnnrt_v4.so; do
    local exported
    exported=$(nm -D --defined-only "$OUT/$lib" | awk '{print $3}' | sed 's/@.*//' | grep '^rnnrt_' | sort)
    ok=0; [ "$declared" = "$exported" ] || { ok=1; diff <(echo "$declared") <(echo "$exported") >&2 || true; }
    tally "$lib exports exactly the $(echo "$declared" | wc -l) functions of rnnrt.h" $ok
  done
  # The READMEs' snippets (this folder's and the top-level one): each must compile, link and run.
  local readme name
  for readme in "$HERE/README.md" "$ROOT/README.md"; do
    name=${readme#"$ROOT/"}
    sed -n '/^```c$/,/^```$/p' "$readme" | sed '1d;$d' > "$tmp/readme.c"
    if [ ! -s "$tmp/readme.c" ]; then tally "$name has a C snippet" 1; continue; fi
    ok=0
    "$CC" -std=c99 -Wall -Wextra -Werror -I"$OUT/include" "$tmp/readme.c" -L"$OUT" -lrnnrt -Wl,-rpath,"$OUT" -o "$tmp/readme" || ok=1
    tally "$name snippet compiles and links" $ok
    if [ $ok = 0 ] && [ -f "$ROOT/Runtime.Bench/Models/gru_i64_h256.safetensors" ]; then
      ok=0; (cd "$ROOT" && "$tmp/readme") || ok=1
      tally "$name snippet runs on the bundled model" $ok
    else
      tally "$name snippet runs (bundled model Runtime.Bench/Models/gru_i64_h256.safetensors not here)" 0 skip
    fi
  done
}

# The first fenced block after the line holding MARKER in FILE (README snippets the tests run as written).
block_after() { awk -v m="$1" 'index($0, m) { f = 1; next } f && /^```/ { if (in_) exit; in_ = 1; next } in_ { print }' "$2"; }

# What `./build.sh install PREFIX` gives a user: the files, links and sonames, then the top-level
# README's C snippet built with pkg-config and with CMake exactly as the README says, each run on the
# bundled model, each checked to load the build installed beside librnnrt.so.X (not the source tree's).
check_install() {
  local t="$BUILD/install-test" ok
  local prefix="$t/prefix" lib="$t/prefix/lib"
  rm -rf "$t"; mkdir -p "$t"
  ok=0; ( cmd_install "$prefix" ) >"$t/install.log" 2>&1 || { ok=1; cat "$t/install.log" >&2; }
  tally "native.sh install PREFIX" $ok
  [ $ok = 0 ] || return 0
  ok=0
  [ -f "$lib/librnnrt.so.$VERSION" ] && [ ! -L "$lib/librnnrt.so.$VERSION" ] || ok=1
  [ "$(readlink "$lib/librnnrt.so.$MAJOR")" = "librnnrt.so.$VERSION" ] && [ "$(readlink "$lib/librnnrt.so")" = "librnnrt.so.$MAJOR" ] || ok=1
  local f
  for f in lib/librnnrt_v3.so.$VERSION lib/librnnrt_v4.so.$VERSION include/rnnrt.h lib/pkgconfig/rnnrt.pc \
           lib/cmake/rnnrt/rnnrtConfig.cmake lib/cmake/rnnrt/rnnrtConfigVersion.cmake share/doc/rnnrt/LICENSE; do
    [ -f "$prefix/$f" ] || { ok=1; log "missing: PREFIX/$f"; }
  done
  tally "PREFIX holds librnnrt.so.$VERSION, its links .so.$MAJOR and .so, the v3/v4 builds, rnnrt.h, rnnrt.pc, the CMake package, LICENSE" $ok
  ok=0
  readelf -d "$lib/librnnrt.so.$VERSION" | grep -qF "Library soname: [librnnrt.so.$MAJOR]" || ok=1
  readelf -d "$lib/librnnrt_v3.so.$VERSION" | grep -qF "Library soname: [librnnrt_v3.so.$VERSION]" || ok=1
  readelf -d "$lib/librnnrt_v4.so.$VERSION" | grep -qF "Library soname: [librnnrt_v4.so.$VERSION]" || ok=1
  tally "sonames: librnnrt.so.$MAJOR (the loader), librnnrt_v3.so.$VERSION and librnnrt_v4.so.$VERSION (the builds)" $ok

  local app="$t/app" readme="$ROOT/README.md"
  mkdir -p "$app/Runtime.Bench"
  ln -s "$ROOT/Runtime.Bench/Models" "$app/Runtime.Bench/Models"   # the snippet opens the bundled model by a relative path
  sed -n '/^```c$/,/^```$/p' "$readme" | sed '1d;$d' > "$app/app.c"
  # The loader's trace names the build it loaded: it must be the installed one, found beside librnnrt.so.X.
  local want="loaded $lib/librnnrt_v[34].so.$VERSION"
  if command -v pkg-config >/dev/null 2>&1; then
    ok=0; [ "$(PKG_CONFIG_PATH="$lib/pkgconfig" pkg-config --modversion rnnrt)" = "$VERSION" ] || ok=1
    tally "pkg-config --modversion rnnrt is $VERSION" $ok
    local block; block=$(block_after '<!-- test: pkg-config -->' "$readme")
    ok=0; [ -n "$block" ] && (cd "$app" && env -u LD_LIBRARY_PATH PREFIX="$prefix" RNNRT_LOADER_TRACE=1 bash -euo pipefail -c "$block") 2>"$t/pkg-config.log" || { ok=1; cat "$t/pkg-config.log" >&2; }
    grep -q "$want" "$t/pkg-config.log" || { ok=1; log "the pkg-config build did not load the installed build: $(cat "$t/pkg-config.log")"; }
    tally "README: the C snippet builds with pkg-config --cflags --libs rnnrt and runs on the installed library" $ok
  else
    tally "README pkg-config build (pkg-config not installed: apt-get install pkg-config)" 0 skip
  fi
  if command -v cmake >/dev/null 2>&1 && command -v make >/dev/null 2>&1; then
    block_after '<!-- test: CMakeLists.txt -->' "$readme" > "$app/CMakeLists.txt"
    local block; block=$(block_after '<!-- test: cmake -->' "$readme")
    ok=0; [ -s "$app/CMakeLists.txt" ] && [ -n "$block" ] && (cd "$app" && env -u LD_LIBRARY_PATH PREFIX="$prefix" RNNRT_LOADER_TRACE=1 bash -euo pipefail -c "$block") >"$t/cmake.log" 2>&1 || { ok=1; cat "$t/cmake.log" >&2; }
    grep -q "$want" "$t/cmake.log" || { ok=1; log "the CMake build did not load the installed build"; }
    tally "README: the C snippet builds with find_package(rnnrt) and rnnrt::rnnrt and runs on the installed library" $ok
    # Moved elsewhere, the prefix still works: the CMake files and the loader find everything relative to themselves.
    local moved="$t/moved"; cp -a "$prefix" "$moved"; rm -rf "$app/build"
    ok=0; (cd "$app" && env -u LD_LIBRARY_PATH PREFIX="$moved" RNNRT_LOADER_TRACE=1 bash -euo pipefail -c "$block") >"$t/cmake-moved.log" 2>&1 || { ok=1; cat "$t/cmake-moved.log" >&2; }
    grep -q "loaded $moved/lib/librnnrt_v[34].so.$VERSION" "$t/cmake-moved.log" || ok=1
    tally "a copied prefix works as well (relocatable CMake package, loader finds the builds beside itself)" $ok
    # The version file: this version (EXACT) is found; the next major version is not.
    local vt="$t/version"; mkdir -p "$vt"
    printf 'cmake_minimum_required(VERSION 3.16)\nproject(v NONE)\nfind_package(rnnrt %s EXACT REQUIRED)\nfind_package(rnnrt %s.0 QUIET)\nif(rnnrt_FOUND)\n  message(FATAL_ERROR "rnnrt %s.0 should not be found")\nendif()\n' \
      "$VERSION" $((MAJOR + 1)) $((MAJOR + 1)) > "$vt/CMakeLists.txt"
    ok=0; cmake -S "$vt" -B "$vt/build" -DCMAKE_PREFIX_PATH="$prefix" >"$t/cmake-version.log" 2>&1 || { ok=1; cat "$t/cmake-version.log" >&2; }
    tally "rnnrtConfigVersion.cmake: $VERSION EXACT is found, $((MAJOR + 1)).0 is not" $ok
  else
    tally "README CMake build (cmake or make not installed: apt-get install cmake make)" 0 skip
  fi
}

# Runs a test binary that prints "c-tests: N passed, F failed, S skipped" and adds its counts.
run_counted() {
  local name=$1; shift
  local log_file="$BUILD/$name.log" status=0
  set +e
  "$@" 2>&1 | tee "$log_file"
  status=${PIPESTATUS[0]}
  set -e
  local line
  line=$(grep -E '^c-tests: [0-9]+ passed, [0-9]+ failed, [0-9]+ skipped' "$log_file" | tail -n 1 || true)
  if [ -z "$line" ]; then
    C_FAILED=$((C_FAILED + 1)); log "FAILED: $name printed no summary (exit $status)"; return
  fi
  C_PASSED=$((C_PASSED + $(sed -E 's/c-tests: ([0-9]+) passed.*/\1/' <<<"$line")))
  local f; f=$(sed -E 's/.* ([0-9]+) failed.*/\1/' <<<"$line")
  C_FAILED=$((C_FAILED + f))
  C_SKIPPED=$((C_SKIPPED + $(sed -E 's/.* ([0-9]+) skipped.*/\1/' <<<"$line")))
  if [ "$status" != 0 ] && [ "$f" = 0 ]; then C_FAILED=$((C_FAILED + 1)); log "FAILED: $name exited with $status"; fi
}

cmd_test() {
  need_cc
  ensure_published
  mkdir -p "$BUILD"
  check_header
  cc_prog "$BUILD/test_rnnrt" "$HERE/tests/test_rnnrt.c" -pthread -ldl
  local fixtures=${RNNRT_FIXTURES:-$ROOT/Runtime.Tests/Fixtures}

  # The whole suite through the loader (which picks v3 or v4 here).
  run_counted test_rnnrt "$BUILD/test_rnnrt" "$fixtures"
  # The v3 build explicitly (on an AVX-512 machine the line above ran v4).
  run_counted test_rnnrt_v3 env RNNRT_ISA=v3 "$BUILD/test_rnnrt" "$fixtures"
  # Seeded mutations of every fixture through rnnrt_model_load_memory: RNNRT_OK or RNNRT_FORMAT only.
  cc_prog "$BUILD/test_mutations" "$HERE/tests/test_mutations.c"
  run_counted test_mutations "$BUILD/test_mutations" "$fixtures"

  # The loader's failure modes: each must turn into a status and a message, never an abort.
  local lone="$BUILD/lone"
  rm -rf "$lone"; mkdir -p "$lone"; cp -P "$OUT/librnnrt.so" "$OUT/librnnrt.so.$MAJOR" "$OUT/librnnrt.so.$VERSION" "$lone/"
  "$CC" -std=c99 -O2 -I"$OUT/include" "$HERE/tests/test_rnnrt.c" -o "$lone/test_rnnrt" -L"$lone" -lrnnrt -Wl,-rpath,"$lone" -lm -pthread -ldl
  run_counted loader_missing_build "$lone/test_rnnrt" --expect-unavailable "cannot load the x86-64-v"
  run_counted loader_bad_isa env RNNRT_ISA=v9 "$BUILD/test_rnnrt" --expect-unavailable "RNNRT_ISA='v9' is not understood"
  run_counted loader_refuses_v4 env RNNRT_ISA=v4 RNNRT_LOADER_ASSUME_NO_AVX512=1 "$BUILD/test_rnnrt" --expect-unavailable "lacks AVX512F"
  run_counted loader_v3_without_avx512 env RNNRT_LOADER_ASSUME_NO_AVX512=1 "$BUILD/test_rnnrt" --expect-isa v3
  if grep -qw avx512f /proc/cpuinfo && grep -qw avx512bw /proc/cpuinfo && grep -qw avx512vl /proc/cpuinfo; then
    run_counted loader_v4 "$BUILD/test_rnnrt" --expect-isa v4
  else
    run_counted loader_refuses_v4_here env RNNRT_ISA=v4 "$BUILD/test_rnnrt" --expect-unavailable "lacks AVX512"
  fi

  check_install

  # Memcheck: no errors, nothing definitely lost. The suppressions cover NativeAOT runtime internals only.
  if [ "${RNNRT_NO_VALGRIND:-0}" != 1 ] && command -v valgrind >/dev/null 2>&1; then
    run_counted valgrind valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
      --show-leak-kinds=definite --suppressions="$HERE/tests/nativeaot.supp" --fair-sched=yes \
      "$BUILD/test_rnnrt" "$fixtures"
    # A few mutations per fixture under memcheck too (a NativeAOT load is slow there).
    run_counted valgrind_mutations env RNNRT_MUTATIONS="${RNNRT_VALGRIND_MUTATIONS:-10}" valgrind --quiet --error-exitcode=99 \
      --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite --suppressions="$HERE/tests/nativeaot.supp" \
      --fair-sched=yes "$BUILD/test_mutations" "$fixtures"
  else
    tally "valgrind memcheck (valgrind not installed or RNNRT_NO_VALGRIND=1)" 0 skip
  fi

  # The C sample on a network: each layer with its own widths (the GRUs take 24 floats, not x's 42).
  local sample_out ok=0
  cc_prog "$BUILD/stream" "$HERE/samples/stream.c" || ok=1
  if [ $ok = 0 ] && sample_out=$("$BUILD/stream" "$fixtures/net_denoiser.safetensors" 50 2>&1) &&
     grep -q 'network: 6 layer(s), input 42, output 22' <<<"$sample_out" && grep -q "gru 'gru1' input 24 hidden 24 layers 1" <<<"$sample_out" &&
     grep -q "gru 'gru2' input 24 hidden 48 layers 1" <<<"$sample_out"; then :; else ok=1; printf '%s\n' "${sample_out:-}" >&2; fi
  tally "stream.c: a network's layers, each with its own input width" $ok

  # The Python sample (the rnnrt package) runs networks: one that carries its layer list and a plain
  # state_dict given one (layers=, through rnnrt_model_load_ex).
  local py; py=$(python_with_numpy)
  if [ -n "$py" ]; then
    local pyout
    if pyout=$(RNNRT_LIBRARY="$OUT/librnnrt.so" "$py" "$HERE/samples/stream.py" "$fixtures/net_denoiser.safetensors" 50 2>&1) && grep -q '6 layer(s), input 42, output 22' <<<"$pyout"; then
      tally "stream.py: network via rnnrt_model_load" 0
    else
      printf '%s\n' "$pyout" >&2; tally "stream.py: network via rnnrt_model_load" 1
    fi
    if pyout=$(RNNRT_LIBRARY="$OUT/librnnrt.so" "$py" "$HERE/samples/stream.py" "$fixtures/net_options_layers.safetensors" 50 --layers=fc_in,relu,gru,fc,tanh 2>&1) && grep -q '5 layer(s), input 13, output 13' <<<"$pyout"; then
      tally "stream.py: plain state_dict via rnnrt_model_load_ex --layers" 0
    else
      printf '%s\n' "$pyout" >&2; tally "stream.py: plain state_dict via rnnrt_model_load_ex --layers" 1
    fi
  else
    tally "stream.py networks (no python3 with numpy: apt-get install python3-numpy)" 0 skip
  fi

  check_sanitized "$fixtures"

  echo "c-tests: $C_PASSED passed, $C_FAILED failed, $C_SKIPPED skipped"
  [ "$C_FAILED" = 0 ]
}

# The C tests again with AddressSanitizer + UndefinedBehaviorSanitizer, with clang (or gcc) where
# its sanitizer runtime links. What is instrumented is the C side: the tests and the loader
# (librnnrt.so, rebuilt with the sanitizers into artifacts/native-build/asan beside links to the
# NativeAOT builds). The NativeAOT builds themselves cannot be: ILC compiles .NET code to machine
# code of its own and there is no sanitizer build of the .NET runtime, so ASan checks what C does
# with the library's memory and every malloc/free the library makes through libc (interposed, with
# redzones), not the library's own loads and stores. ASan and the NativeAOT runtime do coexist in
# one process: GC, threads, signals and exceptions inside the library all work. LeakSanitizer is
# off: the runtime keeps pointers to its malloc'd blocks in the GC heap, which LSan does not scan,
# so it reports about 100 false leaks (1.6 MB) on test_rnnrt; valgrind (above) checks leaks and
# finds 0 bytes definitely lost.
check_sanitized() {
  local fixtures=$1 san_cc="" c
  if [ "${RNNRT_NO_SANITIZERS:-0}" = 1 ]; then tally "ASan+UBSan C tests (RNNRT_NO_SANITIZERS=1)" 0 skip; return; fi
  mkdir -p "$BUILD"
  for c in clang gcc; do
    command -v $c >/dev/null 2>&1 || continue
    if printf 'int main(void) { return 0; }\n' | $c -x c - -fsanitize=address,undefined -o "$BUILD/sanitizer-probe" >/dev/null 2>&1; then san_cc=$c; break; fi
  done
  if [ -z "$san_cc" ]; then
    tally "ASan+UBSan C tests (neither clang nor gcc links -fsanitize=address,undefined here; for clang: apt-get install libclang-rt-14-dev)" 0 skip
    return
  fi
  local san="$BUILD/asan" ok
  rm -rf "$san"; mkdir -p "$san"
  local flags=(-std=c99 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined -Wall -Wextra -Werror)
  ok=0
  "$san_cc" "${flags[@]}" -fPIC -shared -fvisibility=hidden -DRNNRT_BUILDING -I"$HERE/include" "$HERE/loader/rnnrt_loader.c" \
    -o "$san/librnnrt.so" -Wl,-soname,librnnrt.so -ldl -lpthread || ok=1
  ln -s "$OUT/librnnrt_v3.so" "$OUT/librnnrt_v4.so" "$san/" || ok=1
  local t
  for t in test_rnnrt test_mutations; do
    "$san_cc" "${flags[@]}" -I"$OUT/include" "$HERE/tests/$t.c" -o "$san/$t" -L"$san" -lrnnrt -Wl,-rpath,"$san" -lm -pthread || ok=1
  done
  tally "C tests and loader build with $san_cc -fsanitize=address,undefined" $ok
  [ $ok = 0 ] || return 0
  log "C tests under ASan + UBSan ($san_cc)"
  run_counted asan_test_rnnrt env ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$san/test_rnnrt" "$fixtures"
  run_counted asan_test_mutations env RNNRT_MUTATIONS="${RNNRT_ASAN_MUTATIONS:-50}" \
    ASAN_OPTIONS=detect_leaks=0:halt_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 "$san/test_mutations" "$fixtures"
}

cmd_sample() {
  need_cc
  ensure_published
  mkdir -p "$BUILD"
  cc_prog "$BUILD/stream" "$HERE/samples/stream.c"
  local model=${1:-$ROOT/Runtime.Bench/Models/gru_i64_h256.safetensors}
  [ -f "$model" ] || die "model $model not found (the bundled model is Runtime.Bench/Models/gru_i64_h256.safetensors, made by ./build.sh fixtures)"
  log "samples/stream.c on $model"
  "$BUILD/stream" "$model" "${2:-3000}"
  local py; py=$(python_with_numpy)
  if [ -n "$py" ]; then
    log "samples/stream.py ($py)"
    RNNRT_LIBRARY="$OUT/librnnrt.so" "$py" "$HERE/samples/stream.py" "$model" 1000
  else
    log "no python3 with numpy found (apt-get install python3-numpy); skipping samples/stream.py"
  fi
}

# The best (lowest) figure named $1 in file $2, and the median that came with it.
fig() { sed -nE "s/^$1 ([0-9.]+).*/\\1/p" "$2" | sort -g | head -n 1; }
med() { sed -nE "s/^$1 ([0-9.]+) .*median ([0-9.]+).*/\\1 \\2/p" "$2" | sort -g | head -n 1 | cut -d' ' -f2; }

cmd_overhead() {
  need_cc
  need_dotnet
  ensure_published
  mkdir -p "$BUILD"
  cc_prog "$BUILD/overhead" "$HERE/bench/overhead.c" -ldl
  rm -f "$BUILD/overhead-summary.txt"
  log "managed side: bench/ManagedStep, NativeAOT for x86-64-v3 like librnnrt_v3.so, and under the JIT"
  dotnet publish "$HERE/bench/ManagedStep/ManagedStep.csproj" -c Release -r linux-x64 -nologo -v:quiet -clp:ErrorsOnly \
    -p:PublishAot=true -p:IlcInstructionSet=x86-64-v3 -o "$BUILD/managed-step" >/dev/null \
    || die "dotnet publish of bench/ManagedStep failed"
  dotnet build "$HERE/bench/ManagedStep/ManagedStep.csproj" -c Release -nologo -v:quiet -clp:ErrorsOnly -o "$BUILD/managed-step-jit" >/dev/null \
    || die "dotnet build of bench/ManagedStep failed"
  # Input 64, hidden 64 is the target; input 4, hidden 4 makes the step so cheap that the per-step
  # difference shows above the run-to-run noise of the bigger model.
  local hidden
  for hidden in 64 4; do
    local model="$BUILD/gru_i${hidden}_h$hidden.safetensors" out="$BUILD/overhead-h$hidden.txt"
    "$BUILD/overhead" --write-model "$model" "$hidden" "$hidden"
    log "GRU input $hidden, hidden $hidden, batch 1"
    # Three alternating rounds, so that a burst of load on this shared machine hits both sides alike.
    {
      for round in 1 2 3; do
        RNNRT_ISA=v3 "$BUILD/overhead" "$model"
        "$BUILD/managed-step/ManagedStep" "$model"
      done
      dotnet "$BUILD/managed-step-jit/ManagedStep.dll" "$model" | sed 's/^managed_/managed_jit_/'
    } | tee "$out"
    local c m cs ms cm mm
    c=$(fig c_ns_per_step "$out"); m=$(fig managed_ns_per_step "$out"); cs=$(fig c_ns_per_get_state "$out"); ms=$(fig managed_ns_per_get_state "$out")
    cm=$(med c_ns_per_step "$out"); mm=$(med managed_ns_per_step "$out")
    [ -n "$c" ] && [ -n "$m" ] && [ -n "$cs" ] && [ -n "$ms" ] || die "a side printed no figure"
    awk -v h="$hidden" -v c="$c" -v m="$m" -v cs="$cs" -v ms="$ms" -v cm="$cm" -v mm="$mm" 'BEGIN {
      noise = (cm - c > mm - m) ? cm - c : mm - m
      printf "overhead h%d: step: C %.1f ns vs managed (NativeAOT) %.1f ns, best of runs: %+.1f ns per step (run-to-run spread up to %.0f ns; target < 50)\n", h, c, m, c - m, noise
      printf "overhead h%d: get_state: C %.1f ns vs managed %.1f ns: %+.1f ns per call (the boundary: transition, handle lookup, busy flag, loader stub)\n", h, cs, ms, cs - ms }' | tee -a "$BUILD/overhead-summary.txt"
  done
}

# Streams STEPS (default 10^8) steps through the C library on a GRU, input 8, hidden 8, and reports RSS
# and steps/s at 20 points (bench/soak.c); exits non-zero when RSS does not stay flat.
cmd_soak() {
  need_cc
  ensure_published
  mkdir -p "$BUILD"
  cc_prog "$BUILD/overhead" "$HERE/bench/overhead.c" -ldl
  cc_prog "$BUILD/soak" "$HERE/bench/soak.c"
  local model="$BUILD/soak_gru_i8_h8.safetensors"
  "$BUILD/overhead" --write-model "$model" 8 8 >/dev/null
  "$BUILD/soak" "$model" "${1:-100000000}"
}

case "$CMD" in
  publish) cmd_publish ;;
  install) cmd_install "$@" ;;
  install-test) need_cc; ensure_published; mkdir -p "$BUILD"; check_install; echo "c-tests: $C_PASSED passed, $C_FAILED failed, $C_SKIPPED skipped"; [ "$C_FAILED" = 0 ] ;;
  test) cmd_test "$@" ;;
  sample) cmd_sample "$@" ;;
  overhead) cmd_overhead "$@" ;;
  soak) cmd_soak "$@" ;;
  *) die "usage: native.sh publish|install PREFIX|test|sample|overhead" ;;
esac
