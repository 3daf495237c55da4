#!/bin/sh
# Runs gpu-check on this machine; needs no .NET. Makes OpenCL reachable first:
#  1. ICD loader: if the system has no libOpenCL.so.1, use the bundled one in ./lib.
#  2. ICD registration: if OCL_ICD_VENDORS is not set, build ./vendors (or a temp folder when this
#     one is read-only) from the registered .icd files plus any known vendor driver library found on
#     the machine without one (e.g. libnvidia-opencl.so.1 in a container), and point OCL_ICD_VENDORS
#     at it.
# Arguments go to gpu-check (--list, --quick, --device N|NAME).
# For testing this script on a machine where everything is installed:
#   RNNRT_SYSTEM_VENDORS=DIR       read registered .icd files from DIR instead of /etc/OpenCL/vendors
#   RNNRT_IGNORE_SYSTEM_LOADER=1   act as if the system had no libOpenCL.so.1
set -eu
HERE=$(CDPATH='' cd -- "$(dirname -- "$0")" && pwd)
say() { printf 'run.sh: %s\n' "$*" >&2; }

ldcache() { ldconfig -p 2>/dev/null || /sbin/ldconfig -p 2>/dev/null || true; }

# --- 1. the ICD loader -------------------------------------------------------------------------
have_loader=0
if [ "${RNNRT_IGNORE_SYSTEM_LOADER:-0}" = 1 ]; then :
elif ldcache | grep -q 'libOpenCL\.so\.1 .*x86-64'; then have_loader=1; fi
if [ $have_loader = 0 ] && [ -n "${LD_LIBRARY_PATH:-}" ]; then
  old_ifs=$IFS; IFS=:
  for d in $LD_LIBRARY_PATH; do [ -e "$d/libOpenCL.so.1" ] && have_loader=1; done
  IFS=$old_ifs
fi
if [ $have_loader = 0 ]; then
  if [ -e "$HERE/lib/libOpenCL.so.1" ]; then
    say "no libOpenCL.so.1 on this machine: using the bundled ICD loader ($HERE/lib)"
    LD_LIBRARY_PATH="$HERE/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export LD_LIBRARY_PATH
  else
    say "no libOpenCL.so.1 on this machine and none bundled; gpu-check will say so"
  fi
fi

# --- 2. the ICD registration -------------------------------------------------------------------
# Known OpenCL driver libraries (what a vendor .icd file names).
DRIVERS="libnvidia-opencl.so.1 libamdocl64.so libamdocl-orca64.so libamdocl32.so libigdrcl.so libintelocl.so libintelocl_emu.so libRusticlOpenCL.so.1 libMesaOpenCL.so.1 libpocl.so.2 libmali.so libcuda_opencl.so"
SEARCH="/usr/lib/x86_64-linux-gnu /usr/lib64 /usr/lib /usr/local/nvidia/lib64 /usr/local/nvidia/lib /usr/lib/wsl/lib /usr/lib/x86_64-linux-gnu/nvidia/current /usr/local/cuda/lib64 /opt/rocm/lib /opt/rocm/opencl/lib /opt/amdgpu-pro/lib64 /opt/amdgpu/lib64 /usr/lib/x86_64-linux-gnu/intel-opencl /opt/intel/opencl/lib64 /usr/local/lib"

# The stem of a driver library: libnvidia-opencl.so.550.54 -> libnvidia-opencl
stem() { b=$(basename -- "$1"); printf '%s\n' "${b%%.so*}"; }

find_driver() {  # prints the absolute path of $1, or nothing
  p=$(ldcache | awk -v n="$1" '$1 == n && /x86-64/ { print $NF; exit }')
  if [ -n "$p" ] && [ -e "$p" ]; then printf '%s\n' "$p"; return; fi
  old_ifs=$IFS; IFS=:
  for d in ${LD_LIBRARY_PATH:-}; do
    if [ -n "$d" ] && [ -e "$d/$1" ]; then IFS=$old_ifs; printf '%s\n' "$d/$1"; return; fi
  done
  IFS=$old_ifs
  for d in $SEARCH; do
    if [ -e "$d/$1" ]; then printf '%s\n' "$d/$1"; return; fi
  done
  # A driver installed only under a versioned name (libnvidia-opencl.so.550.54.14).
  for d in $SEARCH; do
    for f in "$d/$1".* ; do
      if [ -e "$f" ]; then printf '%s\n' "$f"; return; fi
    done
  done
}

if [ -n "${OCL_ICD_VENDORS:-}" ]; then
  say "OCL_ICD_VENDORS is set ($OCL_ICD_VENDORS): leaving the ICD registration as it is"
else
  VENDORS="$HERE/vendors"
  if ! mkdir -p "$VENDORS" 2>/dev/null || ! [ -w "$VENDORS" ]; then VENDORS=$(mktemp -d); fi
  rm -f "$VENDORS"/*.icd
  registered=""
  for icd in "${RNNRT_SYSTEM_VENDORS:-/etc/OpenCL/vendors}"/*.icd; do
    [ -e "$icd" ] || continue
    cp "$icd" "$VENDORS/"
    registered="$registered $(stem "$(head -n 1 "$icd")")"
  done
  added=0
  for lib in $DRIVERS; do
    case " $registered " in *" $(stem "$lib") "*) continue ;; esac
    path=$(find_driver "$lib")
    [ -n "$path" ] || continue
    printf '%s\n' "$path" > "$VENDORS/rnnrt-$(stem "$lib").icd"
    registered="$registered $(stem "$lib")"
    added=$((added + 1))
    say "found $lib without an ICD registration: registered $path in $VENDORS"
  done
  if ls "$VENDORS"/*.icd >/dev/null 2>&1; then
    OCL_ICD_VENDORS="$VENDORS"
    export OCL_ICD_VENDORS
    [ $added = 0 ] && say "using the registered drivers:$registered"
  else
    say "no OpenCL driver found (looked in /etc/OpenCL/vendors, ldconfig, LD_LIBRARY_PATH and: $SEARCH)"
  fi
fi

exec "$HERE/gpu-check" --models "$HERE/models" "$@"
