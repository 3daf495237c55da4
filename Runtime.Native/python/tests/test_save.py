"""Tests of rnnrt.save / rnnrt.layers_of.  Run: /usr/bin/python3 -m pytest -q Runtime.Native/python/tests"""
import json
import os
import struct
import sys

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import rnnrt  # noqa: E402


def read_safetensors(path):
    """Parse a file independently of rnnrt's writer: (metadata, {name: (dtype, shape, tensor)})."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    raw = data[8:8 + n]
    assert n % 8 == 0 and raw == raw.rstrip(b" ") + b" " * (len(raw) - len(raw.rstrip(b" ")))
    header = json.loads(raw)
    meta = header.pop("__metadata__", {})
    assert all(isinstance(v, str) for v in meta.values())
    body, out, end = data[8 + n:], {}, 0
    for name, e in header.items():  # written back to back, in header order, covering the body
        a, b = e["data_offsets"]
        assert a == end and b - a == 4 * _numel(e["shape"]), name
        end = b
        t = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32).reshape(e["shape"])
        out[name] = (e["dtype"], e["shape"], t)
    assert end == len(body)
    return meta, out


def _numel(shape):
    n = 1
    for s in shape:
        n *= s
    return n


def network(meta):
    doc = json.loads(meta["rnnrt.network"])
    assert doc["version"] == 1 and set(doc) == {"version", "layers"}
    return doc["layers"]


def run_file(path, x):
    """Evaluate a saved network from the file alone (zero initial state), as rnnrt should."""
    meta, tensors = read_safetensors(path)
    return run_layers({n: v[2] for n, v in tensors.items()}, network(meta), x)[0]


def run_layers(t, layers, x, state0=None):
    """A network from its tensors and layer list -> (y, flat final state); state0 flat as rnnrt's."""
    y, state, state_n, B = x, state0, [], x.shape[1]
    for layer in layers:
        kind, p = layer["kind"], layer.get("prefix", "")
        key = (lambda n: f"{p}.{n}" if p else n)
        if kind == "linear":
            y = nn.functional.linear(y, t[key("weight")], t.get(key("bias")))
        elif kind in ("rnn", "gru", "lstm"):
            w, h = t[key("weight_ih_l0")], t[key("weight_hh_l0")].shape[1]
            hr = t.get(key("weight_hr_l0"))   # (P, H): an LSTM with proj_size P; W_hh is (4H, P)
            hidden = hr.shape[1] if hr is not None else h
            depth = sum(1 for n in t if n.startswith(key("weight_ih_l")) and not n.endswith("_reverse"))
            bi = key("weight_ih_l0_reverse") in t
            kw = dict(num_layers=depth, bias=key("bias_ih_l0") in t, bidirectional=bi)
            if kind == "rnn":
                kw["nonlinearity"] = layer.get("nonlinearity", "tanh")
            if hr is not None:
                kw["proj_size"] = hr.shape[0]
            m = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}[kind](w.shape[1], hidden, **kw)
            m.load_state_dict({n[len(key("")):]: v for n, v in t.items() if n.startswith(key(""))})
            s0 = None
            if state is not None:
                # h (L*D, B, P or H), then an LSTM's c (L*D, B, H)
                shape, count = (depth * (2 if bi else 1), B, h), depth * (2 if bi else 1) * B * h
                s0 = state[:count].reshape(shape)
                if kind == "lstm":
                    cshape, ccount = (depth * (2 if bi else 1), B, hidden), depth * (2 if bi else 1) * B * hidden
                    s0, state = (s0, state[count:count + ccount].reshape(cshape)), state[count + ccount:]
                else:
                    state = state[count:]
            y, s = m(y, s0)
            state_n += list(s) if kind == "lstm" else [s]
        elif kind == "add_input":
            y = y + x
        else:
            y = getattr(torch, kind)(y)
    return y, torch.cat([s.reshape(-1) for s in state_n] + [torch.zeros(0)])


class Denoiser(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc_in = nn.Linear(6, 5)
        self.gru = nn.GRU(5, 7, num_layers=2)
        self.act = nn.Sigmoid()
        self.fc = nn.Linear(7, 6)

    def forward(self, x):
        return torch.relu(self.fc(self.gru(self.act(torch.tanh(self.fc_in(x))))[0])) + x


LAYERS = ["fc_in", "tanh", "act", "gru", "fc", "relu", "add_input"]


def test_custom_module_file_format(tmp_path):
    torch.manual_seed(0)
    net, path = Denoiser(), tmp_path / "net.safetensors"
    assert rnnrt.save(net, path, layers=LAYERS) == rnnrt.layers_of(net, LAYERS)
    meta, tensors = read_safetensors(path)
    assert list(meta) == ["rnnrt.network"]
    assert network(meta) == [
        {"kind": "linear", "prefix": "fc_in"}, {"kind": "tanh"}, {"kind": "sigmoid"},
        {"kind": "gru", "prefix": "gru"}, {"kind": "linear", "prefix": "fc"}, {"kind": "relu"},
        {"kind": "add_input"}]
    sd = net.state_dict()
    assert list(tensors) == ["fc_in.weight", "fc_in.bias"] + [f"gru.{n}" for n in net.gru.state_dict()] + \
        ["fc.weight", "fc.bias"]
    for name, (dtype, shape, t) in tensors.items():
        assert dtype == "F32" and shape == list(sd[name].shape) and torch.equal(t, sd[name])


def test_saved_network_computes_the_forward(tmp_path):
    torch.manual_seed(1)
    net, path = Denoiser(), tmp_path / "net.safetensors"
    rnnrt.save(net, path, layers=LAYERS)
    x = torch.randn(9, 2, 6)
    with torch.no_grad():
        assert torch.allclose(run_file(path, x), net(x), atol=1e-6)


def test_sequential_default_expands_nested_and_skips_identity(tmp_path):
    body = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.3), nn.ReLU(),
                         nn.Sequential(nn.Identity(), nn.Linear(8, 8, bias=False), nn.Sigmoid()), nn.Tanh())
    net = Holder(body=body, gru=nn.GRU(8, 5))
    path = tmp_path / "seq.safetensors"
    rnnrt.save(net, path, layers=["body", "gru"])
    meta, tensors = read_safetensors(path)
    assert network(meta) == [{"kind": "linear", "prefix": "body.0"}, {"kind": "relu"},
                             {"kind": "linear", "prefix": "body.3.1"}, {"kind": "sigmoid"}, {"kind": "tanh"},
                             {"kind": "gru", "prefix": "gru"}]
    assert {n: v[1] for n, v in tensors.items() if n.startswith("body")} == {
        "body.0.weight": [8, 4], "body.0.bias": [8], "body.3.1.weight": [8, 8]}
    x = torch.randn(3, 2, 4)
    with torch.no_grad():
        assert torch.allclose(run_file(path, x), net.gru(body.eval()(x))[0], atol=1e-6)


def test_single_module_has_empty_prefix_and_pytorch_names(tmp_path):
    path = tmp_path / "lstm.safetensors"
    lstm = nn.LSTM(3, 4, num_layers=2, bidirectional=True, bias=False)
    assert rnnrt.save(lstm, path) == [{"kind": "lstm", "prefix": ""}]
    _, tensors = read_safetensors(path)
    assert list(tensors) == list(lstm.state_dict())
    assert "weight_hh_l1_reverse" in tensors and tensors["weight_ih_l1"][1] == [16, 8]


def test_nested_prefixes_and_named_sequential(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.encoder = nn.Module()
            self.encoder.lstm = nn.LSTM(3, 5)
            self.head = nn.Sequential(nn.Linear(5, 2), nn.Tanh())

    path = tmp_path / "nested.safetensors"
    assert rnnrt.save(Net(), path, layers=["encoder.lstm", "head"]) == [
        {"kind": "lstm", "prefix": "encoder.lstm"}, {"kind": "linear", "prefix": "head.0"}, {"kind": "tanh"}]
    _, tensors = read_safetensors(path)
    assert sorted(tensors) == sorted(["encoder.lstm.weight_ih_l0", "encoder.lstm.weight_hh_l0",
                                      "encoder.lstm.bias_ih_l0", "encoder.lstm.bias_hh_l0",
                                      "head.0.weight", "head.0.bias"])


def test_rnn_nonlinearity_is_recorded():
    for act in ("tanh", "relu"):
        net = nn.Sequential(nn.RNN(3, 4, nonlinearity=act))
        assert rnnrt.layers_of(net) == [{"kind": "rnn", "prefix": "0", "nonlinearity": act}]


def test_module_is_not_modified_and_other_float_types_become_f32(tmp_path):
    net = nn.Sequential(nn.GRU(3, 4), nn.Linear(4, 2)).double().train()
    before = {n: t.clone() for n, t in net.state_dict().items()}
    path = tmp_path / "f64.safetensors"
    rnnrt.save(net, path)
    assert net.training and all(m.training for m in net.modules())
    assert all(t.dtype == torch.float64 and torch.equal(t, before[n]) for n, t in net.state_dict().items())
    _, tensors = read_safetensors(path)
    assert all(v[0] == "F32" and torch.equal(v[2], before[n].float()) for n, v in tensors.items())


def test_writes_the_same_bytes_without_numpy(tmp_path, monkeypatch):
    net = nn.Sequential(nn.Linear(3, 5), nn.LSTM(5, 4, num_layers=2))
    rnnrt.save(net, tmp_path / "numpy.safetensors")

    def no_numpy(self):
        raise RuntimeError("Numpy is not available")
    monkeypatch.setattr(torch.Tensor, "numpy", no_numpy)
    rnnrt.save(net, tmp_path / "plain.safetensors")
    assert (tmp_path / "numpy.safetensors").read_bytes() == (tmp_path / "plain.safetensors").read_bytes()


def test_shared_module_listed_twice_is_written_once(tmp_path):
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.gru = nn.GRU(4, 4)

    path = tmp_path / "twice.safetensors"
    rnnrt.save(Net(), path, layers=["fc", "tanh", "fc", "gru"])
    meta, tensors = read_safetensors(path)
    assert [n for n in tensors if n.startswith("fc")] == ["fc.weight", "fc.bias"] and len(network(meta)) == 4


# --- refusals: a ValueError that names the layer and why, and no file ---

class Holder(nn.Module):
    """A custom module holding the given children under the given names."""
    def __init__(self, **children):
        super().__init__()
        for name, child in children.items():
            setattr(self, name, child)


class MyLinear(nn.Linear):
    def forward(self, x):
        return super().forward(x) * 2


class First(nn.Module):
    """The usual glue that picks a recurrent module's output inside an nn.Sequential."""
    def forward(self, out):
        return out[0]


def _weight_normed():
    return torch.nn.utils.weight_norm(nn.Linear(4, 4))


def _int_linear():
    fc = nn.Linear(4, 4)
    fc.weight = nn.Parameter(torch.ones(4, 4, dtype=torch.int32), requires_grad=False)
    return fc


def _own_parameter():
    h = Holder(fc=nn.Linear(4, 4), gru=nn.GRU(4, 4))
    h.scale = nn.Parameter(torch.ones(4))
    return h


REFUSALS = {
    "conv1d": (nn.Sequential(nn.Conv1d(4, 4, 1)), None, ["'0'", "Conv1d", "no layer"]),
    "stateless_custom": (nn.Sequential(nn.GRU(4, 4), First(), nn.Linear(4, 4)), None,
                        ["'1' (First)", "no layer", "pass layers=[...] without it"]),
    "layernorm": (nn.Sequential(nn.Linear(4, 4), nn.LayerNorm(4)), None, ["'1'", "LayerNorm"]),
    "embedding": (Holder(emb=nn.Embedding(10, 4), gru=nn.GRU(4, 4)), ["emb", "gru"], ["'emb'", "Embedding"]),
    "gelu": (nn.Sequential(nn.Linear(4, 4), nn.GELU()), None, ["'1'", "GELU"]),
    "subclass": (nn.Sequential(MyLinear(4, 4)), None, ["MyLinear", "subclass of nn.Linear"]),
    "unknown_name": (Holder(fc=nn.Linear(4, 4)), ["fc", "gelu"], ["'gelu'", "neither a child"]),
    "parameter_name": (Holder(fc=nn.Linear(4, 4)), ["fc.weight"], ["'fc.weight'", "neither a child"]),
    "unlisted_child": (Holder(fc=nn.Linear(4, 4), gru=nn.GRU(4, 4)), ["gru"], ["'fc'", "Linear", "list it"]),
    "unlisted_in_sequential": (Holder(body=nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 4)), gru=nn.GRU(4, 4)),
                               ["body.0", "gru"], ["'body.1'", "Linear", "list it"]),
    "own_parameter": (_own_parameter(), ["fc", "gru"], ["Holder itself", "'scale'", "list it"]),
    "linear_width": (nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(5, 4)), None,
                     ["layer 2 '2' (Linear)", "takes 5", "gives 6"]),
    "recurrent_width": (Holder(fc=nn.Linear(4, 6), gru=nn.GRU(5, 4)), ["fc", "gru"], ["'gru' (GRU)", "takes 5"]),
    "add_input_width": (Holder(gru=nn.GRU(4, 6)), ["gru", "add_input"], ["add_input", "input has 4", "has 6"]),
    "empty_list": (Holder(fc=nn.Linear(4, 4)), [], ["empty"]),
    "empty_sequential": (nn.Sequential(nn.Dropout()), None, ["empty"]),
    "only_activations": (nn.Sequential(nn.Tanh()), None, ["no linear or recurrent layer"]),
    "no_recurrent_module": (nn.Sequential(nn.Linear(4, 8), nn.ReLU()), None, ["no nn.RNN, nn.GRU or nn.LSTM"]),
    "custom_without_layers": (Holder(fc=nn.Linear(4, 4)), None, ["Holder", "layers=["]),
    "non_floating": (nn.Sequential(_int_linear()), None, ["'0.weight'", "torch.int32", "not floating"]),
    "weight_norm": (nn.Sequential(_weight_normed()), None, ["'0' (Linear)", "weight_g", "weight norm"]),
    "name_clash": (Holder(tanh=nn.Linear(4, 4)), ["tanh"], ["'tanh'", "Linear", "rename"]),
}


def test_lstm_projection_is_written_and_recomputes(tmp_path):
    """proj_size > 0: weight_hr_l{k}[_reverse] (P, H) in PyTorch's order, output width D*P, and
    the file alone reproduces the forward and the state h (L*D, B, P) then c (L*D, B, H)."""
    torch.manual_seed(3)
    net, path = Holder(lstm=nn.LSTM(5, 9, num_layers=2, bidirectional=True, proj_size=4), fc=nn.Linear(8, 3)), tmp_path / "p.safetensors"
    assert rnnrt.save(net, path, layers=["lstm", "fc"]) == [{"kind": "lstm", "prefix": "lstm"}, {"kind": "linear", "prefix": "fc"}]
    meta, tensors = read_safetensors(path)
    assert list(tensors) == [f"lstm.{n}" for n in net.lstm.state_dict()] + ["fc.weight", "fc.bias"]
    assert tensors["lstm.weight_hr_l1_reverse"][1] == [4, 9] and tensors["lstm.weight_hh_l0"][1] == [36, 4]
    x = torch.randn(6, 2, 5)
    state0 = torch.randn(4 * 2 * 4 + 4 * 2 * 9)
    h0, c0 = state0[:32].reshape(4, 2, 4), state0[32:].reshape(4, 2, 9)
    with torch.no_grad():
        y_ref, (hn, cn) = net.lstm(x, (h0, c0))
        y, state_n = run_layers({n: v[2] for n, v in tensors.items()}, network(meta), x, state0)
        assert torch.allclose(y, net.fc(y_ref), atol=1e-6)
    assert torch.allclose(state_n, torch.cat([hn.reshape(-1), cn.reshape(-1)]), atol=1e-6)


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refuses(case, tmp_path):
    module, layers, words = REFUSALS[case]
    path = tmp_path / "never.safetensors"
    with pytest.raises(ValueError) as e:
        rnnrt.save(module, path, layers=layers)
    for w in words:
        assert w in str(e.value), str(e.value)
    assert not path.exists()


def test_layers_must_be_a_list_of_names():
    with pytest.raises(TypeError):
        rnnrt.layers_of(Holder(fc=nn.Linear(4, 4)), "fc")
    with pytest.raises(TypeError):
        rnnrt.layers_of(Holder(fc=nn.Linear(4, 4)), [nn.Linear(4, 4)])


FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "Runtime.Tests", "Fixtures")
NETS = sorted(f[:-len(".io.safetensors")] for f in os.listdir(FIXTURES) if f.startswith("net_")
              and f.endswith(".io.safetensors")) if os.path.isdir(FIXTURES) else []


@pytest.mark.parametrize("name", NETS)
def test_network_fixture_recomputes_from_its_files(name):
    """The committed net_* fixtures: the model file alone (its layer list, or the io file's "layers"
    for a plain state_dict) reproduces PyTorch's y and state_n from x and state0."""
    meta, tensors = read_safetensors(os.path.join(FIXTURES, name + ".safetensors"))
    io_meta, io = read_safetensors(os.path.join(FIXTURES, name + ".io.safetensors"))
    t = {n: v[2] for n, v in tensors.items()}
    if "layers" in io_meta:
        assert "rnnrt.network" not in meta
        kinds = {1: "rnn", 3: "gru", 4: "lstm"}
        layers = [{"kind": n} if n in rnnrt.ACTIVATIONS or n == "add_input" else
                  {"kind": "linear", "prefix": n} if f"{n}.weight" in t else
                  {"kind": kinds[t[f"{n}.weight_hh_l0"].shape[0] // t[f"{n}.weight_hh_l0"].shape[1]], "prefix": n}
                  for n in json.loads(io_meta["layers"])]
    else:
        layers = network(meta)
    with torch.no_grad():
        y, state_n = run_layers(t, layers, io["x"][2], io["state0"][2])
    assert torch.allclose(y, io["y"][2], atol=1e-5) and torch.allclose(state_n, io["state_n"][2], atol=1e-5)
    assert torch.allclose(io["y"][2], io["y64"][2], atol=1e-5)
    assert io_meta["bidirectional"] == ("true" if any(n.endswith("_reverse") for n in t) else "false")


def test_readme_example_runs(tmp_path, monkeypatch):
    readme = open(os.path.join(FIXTURES, "..", "..", "Runtime.Native", "README.md")).read()
    code = readme.split("```python\n", 1)[1].split("```\n", 1)[0]
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {})
    meta, _ = read_safetensors(tmp_path / "net.safetensors")
    assert [layer["kind"] for layer in network(meta)] == ["linear", "tanh", "gru", "linear", "sigmoid"]
    assert {p.name for p in tmp_path.iterdir()} == {"net.safetensors", "gru.safetensors"}


def test_cells_are_one_layer_modules_with_their_own_names(tmp_path):
    class Streamer(nn.Module):
        def __init__(self):
            super().__init__()
            self.cell, self.head = nn.LSTMCell(3, 6), nn.Linear(6, 2)

    path = tmp_path / "cell.safetensors"
    assert rnnrt.save(Streamer(), path, layers=["cell", "head"]) == [
        {"kind": "lstm", "prefix": "cell"}, {"kind": "linear", "prefix": "head"}]
    _, tensors = read_safetensors(path)
    assert {n: v[1] for n, v in tensors.items() if n.startswith("cell")} == {
        "cell.weight_ih": [24, 3], "cell.weight_hh": [24, 6], "cell.bias_ih": [24], "cell.bias_hh": [24]}
    relu = rnnrt.save(nn.RNNCell(3, 4, nonlinearity="relu", bias=False), tmp_path / "relu.safetensors")
    assert relu == [{"kind": "rnn", "prefix": "", "nonlinearity": "relu"}]


def test_every_written_entry_names_its_kind(tmp_path):
    """The runtime never guesses a saved file's kinds: each entry says it (and an rnn its nonlinearity)."""
    net = Holder(fc_in=nn.Linear(4, 6), rnn=nn.RNN(6, 5, nonlinearity="relu"), fc=nn.Linear(5, 2, bias=False))
    path = tmp_path / "n.safetensors"
    layers = rnnrt.save(net, path, layers=["fc_in", "tanh", "rnn", "fc"])
    assert layers == [{"kind": "linear", "prefix": "fc_in"}, {"kind": "tanh"},
                      {"kind": "rnn", "prefix": "rnn", "nonlinearity": "relu"}, {"kind": "linear", "prefix": "fc"}]
    assert network(read_safetensors(path)[0]) == layers
    # The explicit entries of RnnOptions.Layers mean the same, and are checked against the modules.
    assert rnnrt.layers_of(net, ["linear:fc_in", " tanh ", "rnn(relu):rnn", "linear : fc"]) == layers
    assert rnnrt.layers_of(net, ["linear:fc_in", "tanh", "rnn(nonlinearity=relu):rnn", "linear:fc"]) == layers
    assert rnnrt.layers_of(nn.GRU(3, 4), ["gru:"]) == [{"kind": "gru", "prefix": ""}]


@pytest.mark.parametrize("entry, words", [
    ("lstm:rnn", "'lstm:rnn' (RNN) is rnn, not lstm"),
    ("rnn(tanh):rnn", "has nonlinearity 'relu', not 'tanh'"),
    ("rnn(bias=False):rnn", "'rnn(bias=False):rnn': rnn takes nonlinearity"),
    ("rnn(relu, nonlinearity=relu):rnn", "parameter 'nonlinearity' is given twice"),
    ("rnn(relu:rnn", "'rnn(relu' does not end with ')'"),
    ("rnn(relu)", "rnn needs its module's name: 'rnn(relu):NAME'"),
    ("tanh:rnn", "tanh has no tensors, so no module name: write 'tanh'"),
    ("dense:rnn", "unknown kind 'dense'; expected kind:prefix with a kind of linear, rnn, gru, lstm"),
    ("linear:head", "'linear:head': 'head' is not a child module of Holder"),
    ("leaky_relu(0.2)", "'leaky_relu(0.2)': leaky_relu is not supported yet"),
    ("embedding:rnn", "'embedding:rnn': embedding is not supported yet"),
    ("gelu", "'gelu' is neither a child module of Holder nor one of ['relu', 'sigmoid', 'tanh'] or 'add_input'; gelu is not supported yet"),
])
def test_explicit_entries_are_checked(entry, words):
    net = Holder(rnn=nn.RNN(6, 5, nonlinearity="relu"))
    with pytest.raises(ValueError) as e:
        rnnrt.layers_of(net, [entry] if entry.startswith(("rnn", "lstm", "dense", "embedding")) else ["rnn", entry])
    assert words in str(e.value), str(e.value)
