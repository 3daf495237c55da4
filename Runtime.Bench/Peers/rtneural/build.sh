#!/usr/bin/env bash
# Builds RTNeural as a peer of the bench: rtneural_peer.cpp (this folder) once per RTNeural backend, into
# OUT/librtneural_peer_<backend>.so (default OUT: artifacts/rtneural under the repository root, ignored by
# git). Nothing is downloaded and nothing of RTNeural is committed: its source comes from
#
#   RTNEURAL_DIR                an RTNeural checkout with its submodules (modules/xsimd, Eigen and json
#                               are vendored), used at whatever commit it is; or
#   RTNEURAL_GIT + XSIMD_GIT    git directories (bare or not) of jatinchowdhury18/RTNeural and
#                               xtensor-stack/xsimd: RTNEURAL_COMMIT (default the pinned one below) and the
#                               xsimd commit its modules/xsimd submodule records are extracted into OUT/src-*
#
#   RTNEURAL_BACKENDS  which backends (default "eigen xsimd stl"); CXX (default g++, C++17);
#   RTNEURAL_CXXFLAGS  default "-O3 -march=native"
# Prints the folder on its last line. Called by ./build.sh bench --peers; rebuilds only what changed.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
OUT=${1:-$ROOT/artifacts/rtneural}
CXX=${CXX:-g++}
BACKENDS=${RTNEURAL_BACKENDS:-eigen xsimd stl}
FLAGS=${RTNEURAL_CXXFLAGS:--O3 -march=native}
# RTNeural of 2025-11-08 (what the shared rtneural-bench harness pins too).
COMMIT=${RTNEURAL_COMMIT:-1fb1f075a5d66e85bfc8f488c3f3626840cb3a1d}
die() { printf 'rtneural/build.sh: %s\n' "$*" >&2; exit 1; }
mkdir -p "$OUT"

if [ -n "${RTNEURAL_DIR:-}" ]; then
  SRC=$(cd "$RTNEURAL_DIR" 2>/dev/null && pwd) || die "RTNEURAL_DIR=$RTNEURAL_DIR is not a folder"
  [ -f "$SRC/RTNeural/RTNeural.h" ] || die "RTNEURAL_DIR=$SRC has no RTNeural/RTNeural.h (an RTNeural checkout is needed)"
  [ -f "$SRC/modules/xsimd/include/xsimd/xsimd.hpp" ] ||
    die "RTNEURAL_DIR=$SRC lacks its xsimd submodule: git -C '$SRC' submodule update --init --recursive"
  if [ -f "$SRC/.complete" ]; then # extracted by this script (or the shared harness): it says which commits
    DESC=$(head -1 "$SRC/.complete")
  elif [ "$(git -C "$SRC" rev-parse --show-toplevel 2>/dev/null)" = "$SRC" ]; then
    DESC="RTNeural checkout $SRC ($(git -C "$SRC" rev-parse HEAD))"
  else
    DESC="RTNeural checkout $SRC (commit unknown)"
  fi
elif [ -n "${RTNEURAL_GIT:-}" ] && [ -n "${XSIMD_GIT:-}" ]; then
  SRC=$OUT/src-$COMMIT
  if [ ! -f "$SRC/.complete" ]; then
    rg=$(git -C "$RTNEURAL_GIT" rev-parse --absolute-git-dir 2>/dev/null) || die "RTNEURAL_GIT=$RTNEURAL_GIT is not a git directory"
    xg=$(git -C "$XSIMD_GIT" rev-parse --absolute-git-dir 2>/dev/null) || die "XSIMD_GIT=$XSIMD_GIT is not a git directory"
    git --git-dir="$rg" cat-file -e "$COMMIT^{commit}" 2>/dev/null || die "RTNEURAL_GIT lacks commit $COMMIT (is it jatinchowdhury18/RTNeural?)"
    xc=$(git --git-dir="$rg" ls-tree "$COMMIT" modules/xsimd | awk '{print $3}')
    [ -n "$xc" ] || die "RTNeural $COMMIT records no modules/xsimd submodule"
    git --git-dir="$xg" cat-file -e "$xc^{commit}" 2>/dev/null || die "XSIMD_GIT lacks commit $xc, the xsimd that RTNeural $COMMIT records"
    echo "extracting RTNeural $COMMIT and xsimd $xc into $SRC" >&2
    rm -rf "$SRC" "$SRC.partial"
    mkdir -p "$SRC.partial/modules/xsimd"
    git --git-dir="$rg" archive "$COMMIT" | tar -x -C "$SRC.partial" --exclude='models/*' --exclude='test_data/*'
    git --git-dir="$xg" archive "$xc" include | tar -x -C "$SRC.partial/modules/xsimd"
    echo "RTNeural $COMMIT, xsimd $xc ($(git --git-dir="$xg" describe --tags "$xc" 2>/dev/null || echo 'no tag'))" > "$SRC.partial/.complete"
    mv "$SRC.partial" "$SRC"
  fi
  DESC=$(head -1 "$SRC/.complete")
else
  die "set RTNEURAL_DIR (an RTNeural checkout with its submodules) or RTNEURAL_GIT and XSIMD_GIT (git directories of RTNeural and xsimd)"
fi
command -v "$CXX" >/dev/null 2>&1 || die "no C++ compiler '$CXX' (set CXX)"

INC="-I$SRC -I$SRC/modules/json"
for b in $BACKENDS; do
  case $b in
    eigen) def="-DRTNEURAL_USE_EIGEN=1 -DRTNEURAL_DEFAULT_ALIGNMENT=32 -DEIGEN_STACK_ALLOCATION_LIMIT=0 -I$SRC/modules/Eigen" ;;
    xsimd) def="-DRTNEURAL_USE_XSIMD=1 -DRTNEURAL_DEFAULT_ALIGNMENT=64 -I$SRC/modules/xsimd/include" ;;
    stl) def="-DRTNEURAL_DEFAULT_ALIGNMENT=64" ;;
    *) die "RTNEURAL_BACKENDS: unknown backend '$b' (eigen, xsimd, stl)" ;;
  esac
  so=$OUT/librtneural_peer_$b.so
  sig="$DESC | $CXX $FLAGS $def"
  if [ -f "$so" ] && [ "$so" -nt "$HERE/rtneural_peer.cpp" ] && [ "$(cat "$so.flags" 2>/dev/null)" = "$sig" ]; then
    echo "  librtneural_peer_$b.so: up to date" >&2
    continue
  fi
  rm -f "$so" "$so.flags"
  echo "  $CXX rtneural_peer.cpp [$b] -> $so ($DESC)" >&2
  # RTNeural's own sources warn (deprecated, ignored attributes): not ours to fix.
  # shellcheck disable=SC2086
  "$CXX" -std=c++17 $FLAGS -DNDEBUG -fPIC -shared -fvisibility=hidden $INC $def "$HERE/rtneural_peer.cpp" -o "$so" \
    -Wno-deprecated-declarations -Wno-ignored-attributes
  echo "$sig" > "$so.flags"
done
echo "$DESC" > "$OUT/source.txt"
echo "$OUT"
