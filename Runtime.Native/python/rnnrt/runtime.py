"""rnnrt.Model and rnnrt.Session: librnnrt from Python, numpy float32 arrays in and out.

Arrays go to the library as pointers into their memory: a C-contiguous float32 input is used as it is,
anything else is converted once (np.ascontiguousarray); an output is written where the library puts
it, into `out=` when given (then nothing is allocated per call).
"""
import ctypes
import os
from dataclasses import dataclass

import numpy as np

from . import _native
from ._native import Error  # noqa: F401 (rnnrt.runtime.Error is rnnrt.Error)

_F32 = np.dtype(np.float32)
_CELLS = {1: "rnn", 3: "gru", 4: "lstm"}
_NONLINEARITIES = {0: "tanh", 1: "relu"}
_WEIGHT_FORMATS = {"float32": 0, "bfloat16": 1, "int8": 2}
_WEIGHT_FORMAT_NAMES = {v: k for k, v in _WEIGHT_FORMATS.items()}


@dataclass(frozen=True)
class ModelInfo:
    """struct rnnrt_model_info. cell ... has_bias describe the network's first recurrent module only
    (Model.layers describes every layer); input_size, output_size and state_size (floats per batch
    item) the whole network."""
    cell: str            # "rnn", "gru" or "lstm" (RNNRT_CELL_RNN / _GRU / _LSTM)
    nonlinearity: str    # "tanh" or "relu" (an Elman RNN's; GRU and LSTM report "tanh")
    input_size: int      # I
    hidden_size: int     # H
    num_layers: int      # L
    num_directions: int  # D: 1, or 2 when bidirectional (then only Session.run works)
    output_size: int     # O
    has_bias: bool
    state_size: int      # the get_state/set_state floats per batch item
    backend: str         # the backend that runs it, "auto" resolved
    layer_count: int     # layers of the network (1 for a file of one recurrent module)
    threads: int         # threads per session on a CPU backend (0 resolved to the core count)
    weight_format: str   # "float32", "bfloat16" or "int8"
    weight_bytes: int    # bytes of weights and biases a batch-1 step reads, in that format


_LAYER_RECURRENT = 2   # RNNRT_LAYER_RECURRENT: its kind is the cell's name
_LAYER_KINDS = {1: "linear", 3: "tanh", 4: "relu", 5: "sigmoid", 6: "add_input"}   # the other RNNRT_LAYER_*
_THREADS_PER_CORE = -1   # RNNRT_THREADS_PER_CORE


@dataclass(frozen=True)
class LayerInfo:
    """struct rnnrt_layer_info: one layer of the network. Fields that do not apply to its kind are 0."""
    kind: str            # the layer-list name: "linear", "rnn", "gru", "lstm", "tanh", "relu", "sigmoid", "add_input"
    name: str            # a linear or recurrent layer's module prefix in the file, else the kind
    input_size: int      # floats per batch item it reads
    output_size: int     # floats per batch item it writes
    hidden_size: int     # recurrent: H
    num_layers: int      # recurrent: L
    num_directions: int  # recurrent: D
    proj_size: int       # recurrent: an LSTM's proj_size P (0 for none)
    nonlinearity: str    # recurrent: "tanh" or "relu" (an Elman RNN's; GRU and LSTM report "tanh"); else ""
    has_bias: bool       # linear and recurrent
    state_size: int      # floats of session state per batch item it holds


def _error(code, message):
    """The package's own checks fail like the library does: rnnrt_status_string's name, a message."""
    return Error(_native.status_name(code), message, code)


def _closed(what):
    return _error(_native.INVALID_HANDLE, f"rnnrt.{what}: used after close()")


def _shape_error(message):
    return _error(_native.SHAPE_MISMATCH, message)


def _as_input(a):
    """A C-contiguous float32 ndarray holding `a`: `a` itself when it already is one."""
    if type(a) is np.ndarray and a.dtype == _F32 and a.flags.c_contiguous:
        return a
    return np.ascontiguousarray(a, dtype=_F32)


def _check_out(out, shape, name):
    if not isinstance(out, np.ndarray) or out.dtype != _F32 or not out.flags.c_contiguous or not out.flags.writeable:
        raise _error(_native.INVALID_ARGUMENT, f"{name}: out must be a writeable C-contiguous float32 numpy array")
    if out.shape != shape:
        raise _shape_error(f"{name}: out has shape {list(out.shape)}; expected {list(shape)}")
    return out


class _Handle:
    """What Model and Session share: `with` frees the handle, and so does the GC when nobody did."""

    _handle = None

    @property
    def closed(self):
        return self._handle is None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Model(_Handle):
    """A loaded, immutable network (librnnrt's rnnrt_model).

        with rnnrt.Model("net.safetensors") as model, model.session() as s:
            y = s.step(x)

    path: a .safetensors file (str or os.PathLike). backend: "auto" (the fastest here), "reference",
    "sse", "neon", "avx2", "avx512" or "opencl". prefix: the module prefix to load ("encoder.gru"), or with a layer
    list put in front of every module name. device: the OpenCL device (an index or part of its name).
    layers: the layer list of a plain state_dict in forward order: module prefixes, "kind:prefix"
    ("linear:fc", "gru:" for a module at the root), "rnn(relu):rnn", and "tanh"/"relu"/"sigmoid"/
    "add_input" (a file written by rnnrt.save carries its own). Every tensor of the file (under prefix)
    must belong to a listed layer, else loading fails naming the rest. nonlinearity: an
    nn.RNN's "tanh" or "relu", which a plain state_dict does not record (None: the file's word, else tanh).
    threads: threads per session on a CPU backend (1, the default: the calling thread only; 0: one per
    core; n: n, up to 256). weight_format: "float32" (the default), "bfloat16" or "int8" (per-row
    scales), the weights' storage once loaded; arithmetic stays float32 (int8 products quantise their
    input per row to int16). The CPU backends run all three; "opencl" raises RNNRT_BACKEND_UNAVAILABLE
    for the narrow ones.
    Raises rnnrt.Error (RNNRT_IO, RNNRT_FORMAT, RNNRT_BACKEND_UNAVAILABLE, ...).
    """

    def __init__(self, path, backend="auto", *, prefix=None, device=None, layers=None, nonlinearity=None,
                 threads=1, weight_format="float32"):
        self._handle = None
        self._load(os.fsencode(path), None, backend, prefix, device, layers, nonlinearity, threads, weight_format)

    @classmethod
    def from_bytes(cls, data, backend="auto", *, prefix=None, device=None, layers=None, nonlinearity=None,
                   threads=1, weight_format="float32"):
        """The same from the bytes of a .safetensors file (read during the call only)."""
        self = cls.__new__(cls)
        self._handle = None
        self._load(None, bytes(data), backend, prefix, device, layers, nonlinearity, threads, weight_format)
        return self

    def _load(self, path, data, backend, prefix, device, layers, nonlinearity, threads, weight_format):
        if isinstance(threads, bool) or not isinstance(threads, int) or not 0 <= threads <= 256:
            raise _error(1, f"threads is {threads!r}; expected 0 (one per core) or 1..256")
        if weight_format not in _WEIGHT_FORMATS:
            raise _error(1, f"weight_format is {weight_format!r}; expected \"float32\", \"bfloat16\" or \"int8\"")
        lib = _native.library()
        o = _native.LoadOptionsStruct(struct_size=ctypes.sizeof(_native.LoadOptionsStruct))
        o.backend = None if backend is None else str(backend).encode()
        o.prefix = None if prefix is None else str(prefix).encode()
        o.device = None if device is None else str(device).encode()
        o.nonlinearity = None if nonlinearity is None else str(nonlinearity).encode()
        o.threads = _THREADS_PER_CORE if threads == 0 else threads   # C: 0 is the default (1)
        o.weight_format = _WEIGHT_FORMATS[weight_format]
        if layers is not None:
            if isinstance(layers, (str, bytes)):
                raise TypeError("layers must be a list of names, not one string")
            names = [str(n).encode() for n in layers]
            o.layers = (ctypes.c_char_p * max(len(names), 1))(*names)
            o.layer_count = len(names)
        h = ctypes.c_void_p()
        st = (lib.rnnrt_model_load_ex(path, ctypes.byref(o), ctypes.byref(h)) if data is None else
              lib.rnnrt_model_load_memory_ex(data, len(data), ctypes.byref(o), ctypes.byref(h)))
        if st != 0:
            _native.raise_for(st)
        self._lib, self._handle = lib, h.value
        i = _native.ModelInfoStruct(struct_size=ctypes.sizeof(_native.ModelInfoStruct))
        st = lib.rnnrt_model_info(self._handle, ctypes.byref(i))
        if st != 0:
            self.close()
            _native.raise_for(st)
        self._info = ModelInfo(_CELLS.get(i.cell, str(i.cell)), _NONLINEARITIES.get(i.nonlinearity, str(i.nonlinearity)),
                               i.input_size, i.hidden_size, i.num_layers, i.num_directions, i.output_size,
                               bool(i.has_bias), i.state_size, i.backend.decode(), i.layer_count,
                               i.threads, _WEIGHT_FORMAT_NAMES.get(i.weight_format, str(i.weight_format)), i.weight_bytes)
        layers = []
        for index in range(i.layer_count):
            li = _native.LayerInfoStruct(struct_size=ctypes.sizeof(_native.LayerInfoStruct))
            st = lib.rnnrt_model_layer_info(self._handle, index, ctypes.byref(li))
            if st != 0:
                self.close()
                _native.raise_for(st)
            recurrent = li.kind == _LAYER_RECURRENT
            layers.append(LayerInfo(
                _CELLS.get(li.cell, str(li.cell)) if recurrent else _LAYER_KINDS.get(li.kind, str(li.kind)),
                li.name.decode("utf-8", "replace"), li.input_size, li.output_size, li.hidden_size, li.num_layers,
                li.num_directions, li.proj_size,
                _NONLINEARITIES.get(li.nonlinearity, str(li.nonlinearity)) if recurrent else "",
                bool(li.has_bias), li.state_size))
        self._layers = tuple(layers)

    @property
    def info(self):
        """ModelInfo: every field of rnnrt_model_info."""
        if self._handle is None:
            raise _closed("Model")
        return self._info

    @property
    def layers(self):
        """The network's layers in forward order, a tuple of LayerInfo (rnnrt_model_layer_info). Where
        `info` describes the first recurrent module only, this describes every layer."""
        if self._handle is None:
            raise _closed("Model")
        return self._layers

    def session(self, batch=1):
        """A new Session of `batch` streams (1..65536), zero state."""
        return Session(self, batch)

    def close(self):
        """Frees the model (rnnrt_model_free) and refuses new sessions; sessions made from it keep
        working, since a session keeps its model alive (as in C and C#). Idempotent."""
        h, self._handle = self._handle, None
        if h is not None:
            self._lib.rnnrt_model_free(h)

    def __repr__(self):
        if self._handle is None:
            return "<rnnrt.Model closed>"
        i = self._info
        return (f"<rnnrt.Model {i.layer_count} layer(s), input {i.input_size}, output {i.output_size}, "
                f"{i.cell} hidden {i.hidden_size} x {i.num_layers}, backend {i.backend}>")


class Session(_Handle):
    """The state of `batch` streams through a Model (librnnrt's rnnrt_session): one thread at a time.

    step(x) takes x [B, I] (or [I] when batch is 1) and returns y [B, O] (or [O]); run(xs) takes
    xs [T, B, I] (or [T, I] when batch is 1) and returns ys [T, B, O] (or [T, O]). out= receives the
    result instead of a new array (a writeable C-contiguous float32 array of exactly that shape) and
    is returned. The state is each recurrent module's h [L*D, B, H] (then c for an LSTM), flat.
    """

    def __init__(self, model, batch=1):
        self._handle = None
        if model._handle is None:
            raise _closed("Model")
        lib = model._lib
        batch = int(batch)
        if not -2 ** 31 <= batch < 2 ** 31:   # the library checks 1..65536; an int32 must reach it
            raise _error(_native.INVALID_ARGUMENT, f"rnnrt.Model.session: batch {batch} is out of range (1..65536)")
        h = ctypes.c_void_p()
        st = lib.rnnrt_session_create(model._handle, batch, ctypes.byref(h))
        if st != 0:
            _native.raise_for(st)
        self._lib, self._handle, self.model, self.batch = lib, h.value, model, int(batch)
        i = model._info
        self._in, self._out, self._state = i.input_size, i.output_size, i.state_size * self.batch
        self._step, self._run = lib.rnnrt_session_step, lib.rnnrt_session_run
        self._xc = self._yc = (None, 0)

    @property
    def info(self):
        """The model's ModelInfo (also after the model was closed)."""
        return self.model._info

    def step(self, x, out=None, active=None):
        """One time step: x [B, I] (or [I] for batch 1) -> y [B, O] (or [O]); updates the state.
        With active= (a sequence of k distinct slots), steps those slots only: x [k, I] -> y [k, O],
        row j being slot active[j]; every other slot keeps its state (rnnrt_session_step_active)."""
        h = self._handle
        if h is None:
            raise _closed("Session")
        if active is not None:
            return self._step_active(h, x, out, active)
        x = _as_input(x)
        B, I, O = self.batch, self._in, self._out
        if x.shape == (B, I):
            shape = (B, O)
        elif x.shape == (I,) and B == 1:
            shape = (O,)
        else:
            raise _shape_error(f"rnnrt.Session.step: x has shape {list(x.shape)}; expected [{B}, {I}] "
                               f"(batch {B} x input {I})" + (f" or [{I}]" if B == 1 else ""))
        # The last x and out and their data pointers: a streaming loop passes the same arrays every
        # time, and an array's memory cannot move while this reference holds it (numpy refuses resize).
        xc, yc = self._xc, self._yc
        px = xc[1] if xc[0] is x else self._remember_x(x)
        if out is None:
            y = np.empty(shape, _F32)
            py = y.ctypes.data
        else:
            y = out
            if yc[0] is y and y.shape == shape and y.dtype == _F32:
                py = yc[1]
            else:
                py = self._remember_out(_check_out(y, shape, "rnnrt.Session.step"))
        st = self._step(h, px, B * I, py, B * O)
        if st != 0:
            _native.raise_for(st)
        return y

    def _step_active(self, h, x, out, active):
        a = np.asarray(active)
        if a.ndim != 1 or (a.size and a.dtype.kind not in "iu"):
            raise _error(_native.INVALID_ARGUMENT, f"rnnrt.Session.step: active must be a flat sequence of slot numbers (ints); got shape {list(a.shape)}, dtype {a.dtype}")
        if a.size and (a.min() < -2 ** 31 or a.max() >= 2 ** 31):
            raise _error(_native.INVALID_ARGUMENT, f"rnnrt.Session.step: active holds a slot out of range; expected 0..{self.batch - 1}")
        a = np.ascontiguousarray(a, dtype=np.int32)
        k, I, O = a.size, self._in, self._out
        x = _as_input(x)
        if x.shape != (k, I):
            raise _shape_error(f"rnnrt.Session.step: x has shape {list(x.shape)}; expected [{k}, {I}] ({k} active slots x input {I})")
        y = np.empty((k, O), _F32) if out is None else _check_out(out, (k, O), "rnnrt.Session.step")
        st = self._lib.rnnrt_session_step_active(h, a.ctypes.data, k, x.ctypes.data, k * I, y.ctypes.data, k * O)
        if st != 0:
            _native.raise_for(st)
        return y

    def _remember_x(self, x):
        p = x.ctypes.data
        self._xc = (x, p)
        return p

    def _remember_out(self, y):
        p = y.ctypes.data
        self._yc = (y, p)
        return p

    def run(self, xs, out=None):
        """A whole sequence from the current state: xs [T, B, I] (or [T, I] for batch 1) ->
        ys [T, B, O] (or [T, O]); leaves the final state in the session. Works when bidirectional."""
        h = self._handle
        if h is None:
            raise _closed("Session")
        xs = _as_input(xs)
        B, I, O = self.batch, self._in, self._out
        T = xs.shape[0] if xs.ndim else 0
        if xs.shape == (T, B, I):
            shape = (T, B, O)
        elif xs.shape == (T, I) and B == 1:
            shape = (T, O)
        else:
            raise _shape_error(f"rnnrt.Session.run: xs has shape {list(xs.shape)}; expected [T, {B}, {I}] "
                               f"(steps x batch {B} x input {I})" + (f" or [T, {I}]" if B == 1 else ""))
        ys = np.empty(shape, _F32) if out is None else _check_out(out, shape, "rnnrt.Session.run")
        st = self._run(h, xs.ctypes.data, T, ys.ctypes.data, T * B * O)
        if st != 0:
            _native.raise_for(st)
        return ys

    def _slot(self, slot, function):
        slot = int(slot)
        if not 0 <= slot < self.batch:
            raise _error(_native.INVALID_ARGUMENT, f"rnnrt.Session.{function}: slot is {slot}; expected 0..{self.batch - 1}")
        return slot

    def get_state(self, out=None, slot=None):
        """The state as one flat float32 array of batch * info.state_size floats: each recurrent
        module's h [L*D, B, H], then (LSTM) c [L*D, B, H], modules in network order. With slot=b,
        stream b's state alone: info.state_size floats, the layout of a batch-1 session's state."""
        if self._handle is None:
            raise _closed("Session")
        if slot is not None:
            b, n = self._slot(slot, "get_state"), self.info.state_size
            s = np.empty(n, _F32) if out is None else _check_out(out, (n,), "rnnrt.Session.get_state")
            st = self._lib.rnnrt_session_get_state_slot(self._handle, b, s.ctypes.data, n)
            if st != 0:
                _native.raise_for(st)
            return s
        s = np.empty(self._state, _F32) if out is None else _check_out(out, (self._state,), "rnnrt.Session.get_state")
        st = self._lib.rnnrt_session_get_state(self._handle, s.ctypes.data, self._state)
        if st != 0:
            _native.raise_for(st)
        return s

    def set_state(self, state, slot=None):
        """Replaces the state: any array of batch * info.state_size finite floats in the get_state
        layout (PyTorch's h0 [L*D, B, H] as it is, for a lone GRU or RNN). With slot=b, replaces
        stream b's state alone (info.state_size floats, as get_state(slot=b)); the others keep theirs."""
        if self._handle is None:
            raise _closed("Session")
        s = _as_input(state)
        if slot is not None:
            b, n = self._slot(slot, "set_state"), self.info.state_size
            if s.size != n:
                raise _shape_error(f"rnnrt.Session.set_state: state has {s.size} floats (shape {list(s.shape)}); "
                                   f"expected {n} (one slot's state: state_size {n})")
            st = self._lib.rnnrt_session_set_state_slot(self._handle, b, s.ctypes.data, n)
            if st != 0:
                _native.raise_for(st)
            return
        if s.size != self._state:
            raise _shape_error(f"rnnrt.Session.set_state: state has {s.size} floats (shape {list(s.shape)}); "
                               f"expected {self._state} (batch {self.batch} x state_size {self.info.state_size})")
        st = self._lib.rnnrt_session_set_state(self._handle, s.ctypes.data, self._state)
        if st != 0:
            _native.raise_for(st)

    def reset(self, slot=None):
        """Zero state, as after creation; with slot=b, stream b's state alone (the others keep theirs)."""
        if self._handle is None:
            raise _closed("Session")
        if slot is not None:
            st = self._lib.rnnrt_session_reset_slot(self._handle, self._slot(slot, "reset"))
        else:
            st = self._lib.rnnrt_session_reset(self._handle)
        if st != 0:
            _native.raise_for(st)

    def close(self):
        """Frees the session (rnnrt_session_free). Idempotent."""
        h, self._handle = self._handle, None
        self._xc = self._yc = (None, 0)
        if h is not None:
            self._lib.rnnrt_session_free(h)

    def __repr__(self):
        return f"<rnnrt.Session batch {self.batch}{' closed' if self._handle is None else ''}>"
