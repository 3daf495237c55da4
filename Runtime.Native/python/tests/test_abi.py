"""The ctypes copy of the C ABI against include/rnnrt.h, as the C compiler measures it
(Runtime.Native/tests/abi.py; Runtime.Tests/NativeAbiTests.cs does the same for Exports.cs): every
prototype the package sets, every struct's size and field offsets, every status code and name, and
every constant the package spells out. Needs a C compiler; the library only for the names."""
import ctypes
import importlib.util
import os
import shutil

import pytest

from conftest import REPO

np = pytest.importorskip("numpy")   # rnnrt.runtime (the constants) imports it
from rnnrt import _native, runtime  # noqa: E402

if not shutil.which(os.environ.get("CC", "cc")):
    pytest.skip("no C compiler to measure rnnrt.h with", allow_module_level=True)

_spec = importlib.util.spec_from_file_location("abi", os.path.join(REPO, "Runtime.Native", "tests", "abi.py"))
abi = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(abi)
ABI = abi.measure()
STRUCTS = (_native.ModelInfoStruct, _native.LoadOptionsStruct, _native.LayerInfoStruct)


def type_class(t):
    """A ctypes type in abi.py's classes."""
    if t is None:
        return "void"
    if t in (ctypes.c_int, ctypes.c_int32):
        return "i32"
    if t is ctypes.c_uint32:
        return "u32"
    if t is ctypes.c_size_t:
        return "size"
    if t in (ctypes.c_void_p, ctypes.c_char_p) or issubclass(t, ctypes._Pointer) and t._type_ not in STRUCTS:
        return "ptr"
    if issubclass(t, ctypes._Pointer):
        return f"struct {t._type_.c_name}*"
    return repr(t)


def test_every_prototype_is_the_headers():
    functions = ABI["functions"]
    for name, res, args in _native.prototypes():
        assert name in functions, f"{name} is not in rnnrt.h"
        want = functions[name]
        assert (type_class(res), [type_class(a) for a in args]) == (want["ret"], want["params"]), name


def test_every_struct_has_the_headers_layout():
    assert sorted(s.c_name for s in STRUCTS) == sorted(ABI["structs"])
    for s in STRUCTS:
        c = ABI["structs"][s.c_name]
        assert ctypes.sizeof(s) == c["size"], s.c_name
        assert [f[0] for f in s._fields_] == [f["name"] for f in c["fields"]], s.c_name
        for f in c["fields"]:
            field = getattr(s, f["name"])
            assert (field.offset, field.size) == (f["offset"], f["size"]), f"{s.c_name}.{f['name']}"


def test_every_status_has_the_headers_code_and_name():
    for name, code in ABI["status"].items():
        assert getattr(_native, name[len("RNNRT_"):]) == code, name
    try:
        _native.library()
    except _native.Error:
        return   # the names come from the library; the codes are checked
    for name, code in ABI["status"].items():
        assert _native.status_name(code) == name


def test_every_constant_is_the_headers():
    spelled = {"RNNRT_THREADS_PER_CORE": runtime._THREADS_PER_CORE, "RNNRT_LAYER_RECURRENT": runtime._LAYER_RECURRENT}
    for prefix, table in (("RNNRT_CELL_", runtime._CELLS), ("RNNRT_NONLINEARITY_", runtime._NONLINEARITIES),
                          ("RNNRT_LAYER_", runtime._LAYER_KINDS)):
        spelled.update({prefix + name.upper(): value for value, name in table.items()})
    spelled.update({"RNNRT_WEIGHTS_" + name.upper(): value for name, value in runtime._WEIGHT_FORMATS.items()})
    assert spelled == ABI["constants"]
