"""rnnrt.save: one PyTorch network -> one .safetensors file with its layer list.

A network is an ordered list of layers, applied per time step to [T, B, features]:
  linear              nn.Linear                   tensors <prefix>.weight, <prefix>.bias
  rnn / gru / lstm    nn.RNN / nn.GRU / nn.LSTM   tensors <prefix>.weight_ih_l0 ... (PyTorch's names)
                      nn.RNNCell / GRUCell / LSTMCell, stepped over the sequence: <prefix>.weight_ih ...
  tanh, relu, sigmoid nn.Tanh / nn.ReLU / nn.Sigmoid, or the name alone
  add_input           the network's input x_t added to the current value (a residual skip)
The file holds those modules' tensors under their state_dict names (float32) and, in
__metadata__["rnnrt.network"], the JSON {"version": 1, "layers": [{"kind": ..., "prefix": ...}, ...]}:
every entry names its kind, and an rnn its "nonlinearity", so the runtime never guesses.
Anything rnnrt would run differently from PyTorch is refused with a ValueError instead of written.

A layer-list entry (save's layers=, and the runtime's RnnOptions.Layers / load options / Model(layers=))
is a module name ("fc"), or says its kind and parameters: "linear:fc", "gru:encoder.gru",
"rnn(relu):rnn" = "rnn(nonlinearity=relu):rnn", "tanh"; in the JSON {"kind": "rnn", "prefix": "rnn",
"nonlinearity": "relu"}. Kinds rnnrt does not run yet (embedding, layer_norm, gelu, leaky_relu(0.2)...)
are refused by name.
"""
import json
import struct
import sys

import torch
from torch import nn

ACTIVATIONS = {"tanh": nn.Tanh, "relu": nn.ReLU, "sigmoid": nn.Sigmoid}
ADD_INPUT = "add_input"
_RECURRENT = {nn.RNN: "rnn", nn.GRU: "gru", nn.LSTM: "lstm"}
_CELLS = {nn.RNNCell: "rnn", nn.GRUCell: "gru", nn.LSTMCell: "lstm"}
# Kinds a layer list may name that rnnrt does not run yet (Runtime/Model/LayerKinds.cs), with their parameters.
_NOT_YET = {"embedding": (), "layer_norm": ("eps",), "batch_norm": ("eps",), "conv1d": ("stride", "padding", "dilation", "groups"),
            "prelu": (), "gelu": ("approximate",), "leaky_relu": ("negative_slope",), "elu": ("alpha",), "silu": (),
            "hardtanh": ("min_val", "max_val"), "softplus": ("beta", "threshold"), "softmax": ("dim",), "log_softmax": ("dim",)}
_PARAMS = {"linear": (), "rnn": ("nonlinearity",), "gru": (), "lstm": (), "tanh": (), "relu": (), "sigmoid": (), ADD_INPUT: ()}
_SUPPORTED = ("nn.Linear, nn.RNN, nn.GRU, nn.LSTM (proj_size included), nn.RNNCell, nn.GRUCell, nn.LSTMCell, "
              "nn.Tanh, nn.ReLU, nn.Sigmoid, "
              "nn.Sequential of these; nn.Dropout* and nn.Identity are skipped")
# Identity at inference: skipped wherever they appear.
_SKIPPED = tuple(getattr(nn, n) for n in ("Identity", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
                                          "AlphaDropout", "FeatureAlphaDropout") if hasattr(nn, n))


def layers_of(module, layers=None):
    """The layer list that save() would write for `module`, as a list of dicts
    ({"kind": "gru", "prefix": "gru"}, {"kind": "tanh"}, ...). Raises what save() raises."""
    return _plan(module, layers)[0]


def save(module, path, layers=None):
    """Write `module` as an rnnrt network to the .safetensors file `path`; returns the layer list.

    layers: None for an nn.Sequential (its children in order, nested Sequentials expanded,
        Dropout/Identity skipped) or for a single nn.Linear/RNN/GRU/LSTM (prefix "").
        For any other module, the names in forward order: child modules (dotted paths such as
        "encoder.gru" work; a named nn.Sequential is expanded), "tanh", "relu", "sigmoid",
        "add_input". Example: layers=["fc_in", "tanh", "gru", "fc", "sigmoid"]. An entry may say
        its module's kind, which is then checked: "linear:fc_in", "gru:gru", "rnn(relu):rnn".

    Only the listed modules' tensors are written, converted to float32, under their state_dict
    names. The module is not modified (its train/eval mode included); rnnrt always computes
    the inference forward, with recurrent modules in the [T, B, features] layout.

    An nn.LSTM with proj_size > 0 is written with its weight_hr_l{k} tensors (P, H); its output
    and h are P wide, its c H wide.

    Raises ValueError, naming the layer and why, for: a module type rnnrt does not run, a subclass of a supported type (its forward may differ), a name that is
    neither a child nor an activation, a child holding tensors the list leaves out, widths that
    do not chain (add_input included), an empty list, a list without a recurrent module,
    non-floating tensors, and tensors other
    than the plain ones (weight norm, parametrizations, extra buffers).
    """
    entries, tensors = _plan(module, layers)
    doc = json.dumps({"version": 1, "layers": entries}, separators=(",", ":"))
    _write_safetensors(path, tensors, {"rnnrt.network": doc})
    return entries


def _plan(module, layers):
    """Resolve and check the layer list: (entries for the JSON, [(tensor name, tensor)])."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(module).__name__}")
    if layers is None:
        if type(module) not in (nn.Sequential, nn.Linear, *_RECURRENT, *_CELLS):
            raise ValueError(f"{type(module).__name__} is not a plain nn.Sequential, so rnnrt cannot know its "
                             f"forward order: pass layers=[...] naming its child modules and activations "
                             f"in forward order, e.g. layers=['fc_in', 'tanh', 'gru', 'fc', 'sigmoid']")
        items = _expand("", module)
    else:
        if isinstance(layers, str):
            raise TypeError("layers must be a list of names, not one string")
        items = [item for name in layers for item in _resolve(module, name)]
    if not items:
        raise ValueError("the layer list is empty: a network needs at least one layer")

    entries, tensors, seen, covered = [], [], set(), set()
    width = net_input = None  # width None: still at the network's input (its width not yet known)
    for index, (kind, prefix, child) in enumerate(items):
        if child is None:  # an activation or add_input
            if kind == ADD_INPUT and width is not None and width != net_input:
                raise ValueError(f"layer {index} add_input: the network's input has {net_input} features "
                                 f"but the value at that point has {width}; the widths must match")
            entries.append({"kind": kind})
            continue
        where = f"layer {index} '{prefix}' ({type(child).__name__})"
        kind, expected, in_width, out_width = _describe(where, child)
        found = child.state_dict(keep_vars=True)
        if set(found) != set(expected):
            raise ValueError(f"{where} holds tensors {sorted(found)} where rnnrt expects exactly {expected}; "
                             f"weight norm, parametrizations and extra buffers are not supported "
                             f"(remove them, e.g. torch.nn.utils.remove_weight_norm, before saving)")
        for name in expected:
            t = found[name]
            full = f"{prefix}.{name}" if prefix else name
            if not t.is_floating_point():
                raise ValueError(f"{where}: tensor '{full}' is {t.dtype}, not floating point; "
                                 f"rnnrt needs float weights")
            covered.add(id(t))
            if full not in seen:
                seen.add(full)
                tensors.append((full, t))
        if width is None:
            net_input = in_width
        elif width != in_width:
            raise ValueError(f"{where} takes {in_width} input features but the layer before it gives "
                             f"{width}; the widths do not chain")
        width = out_width
        entry = {"kind": kind, "prefix": prefix}
        if kind == "rnn":
            entry["nonlinearity"] = child.nonlinearity
        entries.append(entry)
    if width is None:
        raise ValueError("the layer list has no linear or recurrent layer, so the network's widths are unknown")
    if not any(e["kind"] in ("rnn", "gru", "lstm") for e in entries):
        raise ValueError("the layer list has no nn.RNN, nn.GRU or nn.LSTM; rnnrt runs recurrent networks "
                         "(a session's state lives in those modules)")

    for name, t in module.state_dict(keep_vars=True).items():
        if id(t) not in covered:
            owner = name.rpartition(".")[0]
            what = (f"child '{owner}' ({type(module.get_submodule(owner)).__name__})" if owner
                    else f"{type(module).__name__} itself")
            raise ValueError(f"{what} holds tensor '{name}' but is not in the layer list, so the saved "
                             f"network would compute something other than the module's forward: list it "
                             f"in layers (in forward order), or remove it if the forward does not use it")
    return entries, tensors


def parse_entry(entry):
    """A layer-list string -> (kind or None, {parameter: value}, prefix or None), the runtime's grammar:
    "fc" -> (None, {}, "fc"); "linear:fc" -> ("linear", {}, "fc"); "rnn(relu):rnn" ->
    ("rnn", {"nonlinearity": "relu"}, "rnn"); "tanh" -> ("tanh", {}, None). Raises ValueError."""
    s = entry.strip()
    head, colon, prefix = s.partition(":")
    head, prefix = head.strip(), (prefix.strip() if colon else None)
    if not colon and "(" not in head:
        return (s, {}, None) if s in _PARAMS and s not in ("linear", "rnn", "gru", "lstm") else (None, {}, s)
    kind, _, args = head.partition("(")
    kind = kind.strip()
    if kind in _NOT_YET:
        raise ValueError(f"'{entry}': {kind} is not supported yet; rnnrt runs {', '.join(_PARAMS)}")
    if kind not in _PARAMS:
        raise ValueError(f"'{entry}': unknown kind '{kind}'; expected kind:prefix with a kind of {', '.join(_PARAMS)}")
    has_tensors = kind in ("linear", "rnn", "gru", "lstm")
    if has_tensors and prefix is None:
        raise ValueError(f"'{entry}': {kind} needs its module's name: '{head}:NAME'")
    if not has_tensors and prefix is not None:
        raise ValueError(f"'{entry}': {kind} has no tensors, so no module name: write '{head}'")
    params = {}
    if "(" in head:
        if not head.endswith(")"):
            raise ValueError(f"'{entry}': '{head}' does not end with ')'")
        inner = args[:-1].strip()
        for i, arg in enumerate(inner.split(",") if inner else []):
            key, eq, value = arg.partition("=")
            key, value = (key.strip(), value.strip()) if eq else (_PARAMS[kind][i] if i < len(_PARAMS[kind]) else None, arg.strip())
            if key not in _PARAMS[kind]:
                raise ValueError(f"'{entry}': {kind} takes {', '.join(_PARAMS[kind]) or 'no parameters'}")
            if key in params:
                raise ValueError(f"'{entry}': parameter '{key}' is given twice")
            params[key] = value
    return kind, params, prefix


def _resolve(root, name):
    """One entry of `layers` -> [(kind, prefix, module or None), ...]."""
    if not isinstance(name, str):
        raise TypeError(f"layers entries must be names (str), got {type(name).__name__}: {name!r}")
    said, params, module_name = parse_entry(name)
    if said is not None and module_name is not None:
        # kind:prefix -- the module must be exactly that kind (and an rnn that nonlinearity).
        try:
            child = root.get_submodule(module_name)
        except AttributeError:
            raise ValueError(f"'{name}': '{module_name}' is not a child module of {type(root).__name__}") from None
        where = f"'{name}' ({type(child).__name__})"
        kind = _describe(where, child)[0] if type(child) is not nn.Sequential else "a Sequential"
        if kind != said:
            raise ValueError(f"{where} is {kind}, not {said}")
        if said == "rnn" and params.get("nonlinearity", child.nonlinearity) != child.nonlinearity:
            raise ValueError(f"{where} has nonlinearity '{child.nonlinearity}', not '{params['nonlinearity']}'")
        return [(None, module_name, child)]
    if said is not None:
        name = said
    try:
        child = root.get_submodule(name)
    except AttributeError:
        child = None
    if name in ACTIVATIONS or name == ADD_INPUT:
        if child is not None and type(child) is not ACTIVATIONS.get(name):
            raise ValueError(f"'{name}' is both an rnnrt layer name and a child module "
                             f"({type(child).__name__}); rename the child")
        return [(name, name, None)]
    if child is None:
        raise ValueError(f"'{name}' is neither a child module of {type(root).__name__} nor one of "
                         f"{sorted(ACTIVATIONS)} or '{ADD_INPUT}'"
                         + (f"; {name} is not supported yet" if name in _NOT_YET else ""))
    return _expand(name, child)


def _expand(prefix, module):
    """A module -> layer items: Sequentials expanded (children prefixed), skipped types dropped."""
    if type(module) is nn.Sequential:
        return [item for name, child in module.named_children()
                for item in _expand(f"{prefix}.{name}" if prefix else name, child)]
    if type(module) in _SKIPPED:
        return []
    for kind, cls in ACTIVATIONS.items():
        if type(module) is cls:
            return [(kind, prefix, None)]
    return [(None, prefix, module)]


def _describe(where, m):
    """(kind, tensor names in file order, input width, output width) of a Linear/RNN/GRU/LSTM."""
    t = type(m)
    if t is nn.Linear:
        return "linear", ["weight"] + (["bias"] if m.bias is not None else []), m.in_features, m.out_features
    if t in _RECURRENT:
        d, proj = (2 if m.bidirectional else 1), getattr(m, "proj_size", 0)
        # PyTorch's state_dict order: weight_ih, weight_hh, biases, then weight_hr (proj_size > 0).
        names = [f"{w}_l{k}{s}" for k in range(m.num_layers) for s in ("", "_reverse")[:d]
                 for w in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if m.bias else ())
                 + (("weight_hr",) if proj > 0 else ())]
        return _RECURRENT[t], names, m.input_size, (proj if proj > 0 else m.hidden_size) * d
    if t in _CELLS:
        # A cell stepped over time by the caller's loop is a one-layer module: the same tensors
        # without the _l0 suffix, and rnnrt's Step is exactly the cell's forward.
        return _CELLS[t], ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if m.bias else []), m.input_size, m.hidden_size
    base = next((c for c in (nn.Linear, *_RECURRENT, *_CELLS, *ACTIVATIONS.values()) if isinstance(m, c)), None)
    if base is not None:
        raise ValueError(f"{where} is a subclass of nn.{base.__name__} whose forward may differ; "
                         f"rnnrt only takes nn.{base.__name__} itself")
    hint = "" if m.state_dict() else ("; if it only reshapes or picks a recurrent module's output, "
                                      "pass layers=[...] without it")
    raise ValueError(f"{where}: rnnrt has no layer for {type(m).__name__} (supported: {_SUPPORTED}){hint}")


def _f32_bytes(t):
    """Little-endian float32 bytes of a tensor; numpy when present, else the array module."""
    t = t.detach().to("cpu", torch.float32).contiguous()
    try:
        return t.numpy().astype("<f4", copy=False).tobytes()
    except (ImportError, RuntimeError):  # torch without numpy
        import array
        a = array.array("f", t.reshape(-1).tolist())
        if sys.byteorder == "big":
            a.byteswap()
        return a.tobytes()


def _write_safetensors(path, tensors, metadata):
    """safetensors by hand: u64 LE header length, JSON header padded with spaces to 8, raw data."""
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, t in tensors:
        blob = _f32_bytes(t)
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for blob in blobs:
            f.write(blob)
