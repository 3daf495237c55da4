"""librnnrt through ctypes: finding the library, its prototypes, rnnrt.Error. Needs neither numpy nor torch.

The library is looked for, the first one found wins:
  1. $RNNRT_LIBRARY: a path to librnnrt.so (or a folder holding it); it must load, nothing else is tried;
  2. beside the package: <package>/lib/librnnrt.so or librnnrt.so.MAJOR (a wheel that ships it);
  3. the source tree: <repository>/artifacts/native/librnnrt.so, when the package runs from
     Runtime.Native/python (what `Runtime.Native/native.sh publish` builds);
  4. the system: ctypes.util.find_library("rnnrt"), then librnnrt.so.MAJOR through the dynamic loader
     (LD_LIBRARY_PATH, ldconfig: what `./build.sh install PREFIX` installs).
The loader in librnnrt.so then finds its x86-64-v3/v4 builds in its own folder.
"""
import ctypes
import ctypes.util
import glob
import os
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
_SOURCE_ROOT = os.path.normpath(os.path.join(HERE, "..", "..", ".."))

# rnnrt_status, in rnnrt.h's order (the names are the library's own, from rnnrt_status_string).
OK, INVALID_ARGUMENT, SHAPE_MISMATCH, IO, FORMAT, BACKEND_UNAVAILABLE, INVALID_HANDLE, OUT_OF_MEMORY, INTERNAL = range(9)


class Error(Exception):
    """A failure of rnnrt: `status` is the status name ("RNNRT_IO", "RNNRT_SHAPE_MISMATCH", ... as
    rnnrt_status_string gives it), `code` its number, `message` what went wrong (rnnrt_last_error(),
    or the package's own check in the same words)."""

    def __init__(self, status, message, code=None):
        super().__init__(f"{status}: {message}")
        self.status, self.message, self.code = status, message, code


class ModelInfoStruct(ctypes.Structure):
    """struct rnnrt_model_info of rnnrt.h."""
    c_name = "rnnrt_model_info"
    _fields_ = [("struct_size", ctypes.c_uint32), ("cell", ctypes.c_int32), ("nonlinearity", ctypes.c_int32),
                ("input_size", ctypes.c_int32), ("hidden_size", ctypes.c_int32), ("num_layers", ctypes.c_int32),
                ("num_directions", ctypes.c_int32), ("output_size", ctypes.c_int32), ("has_bias", ctypes.c_int32),
                ("state_size", ctypes.c_int32), ("backend", ctypes.c_char * 16), ("layer_count", ctypes.c_int32),
                ("threads", ctypes.c_int32), ("weight_format", ctypes.c_int32), ("weight_bytes", ctypes.c_int64)]


class LayerInfoStruct(ctypes.Structure):
    """struct rnnrt_layer_info of rnnrt.h."""
    c_name = "rnnrt_layer_info"
    _fields_ = [("struct_size", ctypes.c_uint32), ("kind", ctypes.c_int32), ("input_size", ctypes.c_int32),
                ("output_size", ctypes.c_int32), ("cell", ctypes.c_int32), ("nonlinearity", ctypes.c_int32),
                ("hidden_size", ctypes.c_int32), ("num_layers", ctypes.c_int32), ("num_directions", ctypes.c_int32),
                ("proj_size", ctypes.c_int32), ("has_bias", ctypes.c_int32), ("state_size", ctypes.c_int32),
                ("name", ctypes.c_char * 64)]


class LoadOptionsStruct(ctypes.Structure):
    """struct rnnrt_load_options of rnnrt.h."""
    c_name = "rnnrt_load_options"
    _fields_ = [("struct_size", ctypes.c_uint32), ("backend", ctypes.c_char_p), ("prefix", ctypes.c_char_p),
                ("device", ctypes.c_char_p), ("layers", ctypes.POINTER(ctypes.c_char_p)),
                ("layer_count", ctypes.c_size_t), ("nonlinearity", ctypes.c_char_p),
                ("threads", ctypes.c_int32), ("weight_format", ctypes.c_int32)]


def _version():
    from . import __version__
    return __version__


def _major():
    """The soname's MAJOR (librnnrt.so.MAJOR): the package's major version, which is the library's."""
    major = _version().split(".", 1)[0]
    return major if major.isdigit() else None


def candidates():
    """Where the library is looked for, in order: [(where, path or name)]."""
    env = os.environ.get("RNNRT_LIBRARY")
    if env:
        return [("RNNRT_LIBRARY", os.path.join(env, "librnnrt.so") if os.path.isdir(env) else env)]
    major = _major()
    lib = os.path.join(HERE, "lib")
    out = [("package", os.path.join(lib, "librnnrt.so"))]
    out += [("package", p) for p in sorted(glob.glob(os.path.join(lib, f"librnnrt.so.{major or '[0-9]*'}")))]
    if os.path.isfile(os.path.join(_SOURCE_ROOT, "Directory.Build.props")):
        out.append(("source tree", os.path.join(_SOURCE_ROOT, "artifacts", "native", "librnnrt.so")))
    found = ctypes.util.find_library("rnnrt")
    if found:
        out.append(("system", found))
    if major:
        out.append(("system", f"librnnrt.so.{major}"))
    return out


_lock = threading.Lock()
_lib = None
_lib_path = None


def library():
    """The loaded librnnrt (a ctypes.CDLL with the prototypes of rnnrt.h set); loads it on first use.
    Raises Error("RNNRT_BACKEND_UNAVAILABLE", ...) naming every place tried when none loads."""
    global _lib, _lib_path
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is not None:
            return _lib
        tried = []
        for where, path in candidates():
            if os.sep in path and not os.path.exists(path):
                tried.append(f"{path} ({where}: not there)")
                continue
            try:
                lib = ctypes.CDLL(path)
            except OSError as e:
                tried.append(f"{path} ({where}: {e})")
                if where == "RNNRT_LIBRARY":
                    break
                continue
            _prototypes(lib)
            _lib, _lib_path = lib, getattr(lib, "_name", path)
            return lib
        raise Error("RNNRT_BACKEND_UNAVAILABLE", "rnnrt: librnnrt not found; tried " + "; ".join(tried) +
                    ". Set RNNRT_LIBRARY to librnnrt.so (Runtime.Native/native.sh publish builds it into "
                    "artifacts/native), or install it (./build.sh install PREFIX)", BACKEND_UNAVAILABLE)


def library_path():
    """The path (or name) librnnrt was loaded from; loads it first if needed."""
    library()
    return _lib_path


def library_version():
    """rnnrt_version() of the loaded library as "MAJOR.MINOR.PATCH"."""
    v = library().rnnrt_version()
    return f"{v >> 16}.{(v >> 8) & 255}.{v & 255}"


def prototypes():
    """(name, restype, argtypes) of every function of rnnrt.h the package calls (tests/test_abi.py
    compares them with the header)."""
    vp, size, i32, fp = ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int32, ctypes.c_void_p
    pvp, cp = ctypes.POINTER(ctypes.c_void_p), ctypes.c_char_p
    return [
        ("rnnrt_version", ctypes.c_uint32, []),
        ("rnnrt_last_error", cp, []),
        ("rnnrt_status_string", cp, [ctypes.c_int]),
        ("rnnrt_model_load_ex", ctypes.c_int, [cp, ctypes.POINTER(LoadOptionsStruct), pvp]),
        ("rnnrt_model_load_memory_ex", ctypes.c_int, [ctypes.c_char_p, size, ctypes.POINTER(LoadOptionsStruct), pvp]),
        ("rnnrt_model_info", ctypes.c_int, [vp, ctypes.POINTER(ModelInfoStruct)]),
        ("rnnrt_model_layer_info", ctypes.c_int, [vp, i32, ctypes.POINTER(LayerInfoStruct)]),
        ("rnnrt_model_free", None, [vp]),
        ("rnnrt_session_create", ctypes.c_int, [vp, i32, pvp]),
        ("rnnrt_session_step", ctypes.c_int, [vp, fp, size, fp, size]),
        ("rnnrt_session_run", ctypes.c_int, [vp, fp, size, fp, size]),
        ("rnnrt_session_reset", ctypes.c_int, [vp]),
        ("rnnrt_session_get_state", ctypes.c_int, [vp, fp, size]),
        ("rnnrt_session_set_state", ctypes.c_int, [vp, fp, size]),
        ("rnnrt_session_step_active", ctypes.c_int, [vp, vp, size, fp, size, fp, size]),
        ("rnnrt_session_reset_slot", ctypes.c_int, [vp, i32]),
        ("rnnrt_session_get_state_slot", ctypes.c_int, [vp, i32, fp, size]),
        ("rnnrt_session_set_state_slot", ctypes.c_int, [vp, i32, fp, size]),
        ("rnnrt_session_free", None, [vp]),
    ]


def _prototypes(lib):
    for name, res, args in prototypes():
        f = getattr(lib, name)
        f.restype, f.argtypes = res, args


def status_name(code):
    """rnnrt_status_string(code) as a str."""
    return library().rnnrt_status_string(code).decode("ascii", "replace")


def raise_for(code):
    """Raise the Error of a failed call: its status name and this thread's rnnrt_last_error()."""
    lib = library()
    raise Error(status_name(code), lib.rnnrt_last_error().decode("utf-8", "replace"), code)
