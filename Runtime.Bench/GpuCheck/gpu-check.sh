#!/usr/bin/env bash
# ./build.sh gpu-check [--no-run] [gpu-check args]
# Publishes gpu-check as a self-contained NativeAOT executable into artifacts/gpu-check/, with run.sh
# (finds an OpenCL driver that has no ICD registration and registers it in a folder of its own), the
# test models, and an ICD loader (libOpenCL.so.1) for machines that have a driver but no loader.
# Then runs it here from the published folder, unless --no-run. Copy the folder to a GPU machine and
# run ./run.sh there: it needs no .NET.
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$(pwd)
OUT="$ROOT/artifacts/gpu-check"
LIMIT=$((64 * 1024 * 1024))
RUN=1
if [ "${1:-}" = "--no-run" ]; then RUN=0; shift; fi

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'gpu-check.sh: %s\n' "$*" >&2; exit 1; }

command -v clang >/dev/null 2>&1 || command -v gcc >/dev/null 2>&1 || die "NativeAOT needs clang or gcc (apt-get install clang zlib1g-dev)"

log "publishing gpu-check (NativeAOT, linux-x64, x86-64-v3)"
STAGE=$(mktemp -d)
trap 'rm -rf "$STAGE"' EXIT
dotnet publish Runtime.Bench/GpuCheck/GpuCheck.csproj -c Release -r linux-x64 -o "$STAGE" -nologo -v quiet -clp:ErrorsOnly

rm -rf "$OUT"
mkdir -p "$OUT/models" "$OUT/lib"
cp "$STAGE/gpu-check" "$OUT/gpu-check"   # the executable is everything; no .dbg, no runtime files
cp Runtime.Bench/GpuCheck/run.sh "$OUT/run.sh"
chmod +x "$OUT/run.sh" "$OUT/gpu-check"

# Test models: the PyTorch fixtures (model files only) and the benchmark model.
for f in Runtime.Tests/Fixtures/*.safetensors Runtime.Bench/Models/*.safetensors; do
  [ -e "$f" ] || continue
  case "$f" in *.io.safetensors) continue ;; esac
  cp "$f" "$OUT/models/"
done

# An ICD loader for a machine that has the vendor's driver but no libOpenCL.so.1. ocl-icd's loader
# needs only libc (GLIBC_2.34 here).
LOADER=$( (ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null) | awk '/libOpenCL\.so\.1 .*x86-64/ { print $NF; exit }')
[ -n "$LOADER" ] || LOADER=$(ls /usr/lib/x86_64-linux-gnu/libOpenCL.so.1 2>/dev/null || true)
if [ -n "$LOADER" ]; then
  cp -L "$LOADER" "$OUT/lib/libOpenCL.so.1"
else
  log "no libOpenCL.so.1 on this machine (apt-get install ocl-icd-libopencl1); the folder will rely on the target's loader"
fi

cat > "$OUT/README.txt" <<'TXT'
rnnrt gpu-check: copy this folder to a Linux x86-64 machine with an OpenCL driver and run ./run.sh
(no .NET needed). It lists every OpenCL device, checks the opencl backend against the reference
backend on each (max |diff| <= 2e-5) and times Step and Run per device.
  ./run.sh               everything   ./run.sh --quick     smaller timing models, shorter timing
  ./run.sh --list        devices only ./run.sh --device N  one device (index or name substring)
run.sh registers a vendor driver found without an .icd file (e.g. libnvidia-opencl.so.1) in
./vendors and uses the bundled lib/libOpenCL.so.1 when the machine has no ICD loader.
Exit status: 0 passed, 1 a check failed, 2 no usable OpenCL.
TXT

SIZE=$(du -sb "$OUT" | cut -f1)
log "artifacts/gpu-check: $((SIZE / 1024)) KiB in $(find "$OUT" -type f | wc -l) files"
ls -la "$OUT" >&2
[ "$SIZE" -le "$LIMIT" ] || die "artifacts/gpu-check is $SIZE bytes; it must stay under $LIMIT"

if [ $RUN = 1 ]; then
  log "running it here, from the published folder"
  "$OUT/run.sh" "$@"
fi
