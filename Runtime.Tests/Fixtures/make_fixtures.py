#!/usr/bin/python3
"""Writes the PyTorch reference fixtures that Runtime.Tests checks every backend against.

Run with Debian's interpreter (it owns python3-torch):  ./build.sh fixtures
For each case, <name>.safetensors is the model (a state_dict exactly as PyTorch names it) and
<name>.io.safetensors holds float32 tensors:
  x [T,B,I], h0 [L*D,B,H], (c0), y [T,B,D*H], h_n, (c_n)   as computed by PyTorch in float32
  (an LSTM with proj_size P: h0 and h_n [L*D,B,P], c0 and c_n [L*D,B,H], y [T,B,D*P])
  y64, h_n64, (c_n64)                                      the same module recomputed in float64
Weights are drawn U(-k, k) with k = 1.5/sqrt(H) so that long sequences stay well-conditioned
(see DESIGN.md); F16/BF16 cases store rounded weights and compute with exactly those values.
Also writes the bundled model of the main job: Runtime.Bench/Models/gru_i64_h256.safetensors.

Networks (net_*, layout of NETWORK_SPEC.md): small nn.Modules with their own forward; the model is
written by rnnrt.save (Runtime.Native/python), except net_options_layers, a plain state_dict whose
layer list is in its io file's metadata ("layers", a JSON array of names) for RnnOptions.Layers.
<name>.io.safetensors: x [T,B,I], state0 [S], y [T,B,O], state_n [S], y64, state_n64 with
S the whole network's state: recurrent modules in network order, each h (L*D,B,H) then (LSTM) c;
metadata "bidirectional" ("true": Run only). Recurrent weights U(-k, k), Linear default init.
Tests never need torch: the outputs are committed.

torch.save files (*_pt_*.pt, PyTorch's own zip format, read without Python by Runtime/Model/Torch):
<name>.pt is the model, <name>.io.safetensors as above (metadata "prefix": the module prefix the
loader finds). gru_pt_l1_b1 a plain state_dict; lstm_pt_checkpoint_l1_b2 a training checkpoint
(epoch, model_state_dict, an Adam's optimizer state after one step); gru_pt_strided_l2_b1
non-contiguous tensors and storage offsets; rnn_pt_shared_l1_b3 every entry a view of one storage, two names for one view;
lstm_pt_f64_l1_b1 a .double() module (float32-exact weights). Refusals (no io file):
torch_whole_module.pt (torch.save(nn.GRU)), torch_whole_custom_module.pt (a __main__ class),
torch_legacy.pt (_use_new_zipfile_serialization=False), torch_script.pt (torch.jit.script().save).

Trained networks (Trained/, for the weight-format accuracy tests; `make_fixtures.py --only trained`):
small networks trained here with a fixed seed, in well under a minute of CPU, to predict the next
sample of a noisy sum of sines (x_t -> x_{t+1}); written by rnnrt.save with a held-out set.
<name>.io.safetensors: x [1000,B,1], target [1000,B,1] (x shifted by one step), state0 [S] (zeros),
y [1000,B,1] PyTorch float32, state_n [S], y64, state_n64; metadata "mse" (float32 loss),
"baseline_mse" (the loss of predicting x_t itself), "noise_mse" (the noise's own variance: the floor).

A file holding more than its module (lstm_prefixed_l1_b1's head, a checkpoint's model and optimizer)
says in its io metadata "prefix" where the module is: every tensor is used or loading fails, so the
tests load it with RnnOptions.Prefix.

Strict/ (`make_fixtures.py --only strict`): what must fail to load, naming what is wrong (issue 22).
fc_gru_fc.pt the state_dict of Linear(16,16) -> GRU(16,32) -> Linear(32,32), with its io file
(x, state0, y, state_n; metadata "layers"); fc_gru_fc_checkpoint.pt the same under "model" beside an
Adam's state; ln_gru.pt, bn_gru.pt, emb_gru.pt (Embedding(100,12)), emb12_gru.pt (Embedding(12,12)):
modules of kinds rnnrt does not run yet; array.npy, arrays.npz, layers.json, gru.onnx: not models.
Packed sequences (Lengths/, for the many-streams tests; `make_fixtures.py --only lengths`): one module
each (uni- and bidirectional, stacked, LSTM with proj_size, two with batch_first=True), batch 5 with
lengths [3, T, 1, 5, 2] packed with enforce_sorted=False. <name>.io.safetensors: x, lengths (floats),
h0 [c0], y (pad_packed_sequence, total_length=T), h_n [c_n]; metadata "batch_first".
"""
import copy
from collections import OrderedDict
import json
import math
import os
import struct
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # one core, and no spinning BLAS threads
import torch  # noqa: E402
from torch import nn  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "Runtime.Native", "python"))
import rnnrt  # noqa: E402
BUNDLED = os.path.join(HERE, "..", "..", "Runtime.Bench", "Models", "gru_i64_h256.safetensors")


def tensor_bytes(t, dtype):
    t = t.detach().contiguous().cpu()
    if dtype == "F32":
        return t.float().numpy().tobytes()
    if dtype == "F16":
        return t.half().numpy().tobytes()
    if dtype == "BF16":
        return t.bfloat16().view(torch.int16).numpy().tobytes()
    raise ValueError(dtype)


def save_safetensors(path, tensors, dtype="F32", metadata=None):
    """tensors: list of (name, tensor). Written by hand: the safetensors package is not in Debian."""
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = metadata
    for name, t in tensors:
        blob = tensor_bytes(t, dtype)
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def make_module(cell, I, H, L, bi, bias, relu, proj=0):
    kw = dict(input_size=I, hidden_size=H, num_layers=L, bidirectional=bi, bias=bias)
    if proj:
        kw["proj_size"] = proj
    if cell == "rnn":
        return torch.nn.RNN(nonlinearity="relu" if relu else "tanh", **kw)
    return {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](**kw)


def case(name, cell, I, H, L=1, bi=False, B=1, T=7, bias=True, relu=False, dtype="F32", prefix="",
         extra=None, metadata=None, seed=0, proj=0):
    torch.manual_seed(seed)
    m = make_module(cell, I, H, L, bi, bias, relu, proj)
    k = 1.5 / math.sqrt(H)
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-k, k)
            # Compute with exactly the values the file stores.
            if dtype == "F16":
                p.copy_(p.half().float())
            elif dtype == "BF16":
                p.copy_(p.bfloat16().float())
    D = 2 if bi else 1
    x = torch.rand(T, B, I) * 2 - 1
    h0 = (torch.rand(L * D, B, proj or H) * 2 - 1) * 0.5
    c0 = (torch.rand(L * D, B, H) * 2 - 1) * 0.5
    with torch.no_grad():
        if cell == "lstm":
            y, (hn, cn) = m(x, (h0, c0))
            y64, (hn64, cn64) = m.double()(x.double(), (h0.double(), c0.double()))
        else:
            y, hn = m(x, h0)
            y64, hn64 = m.double()(x.double(), h0.double())

    meta = dict(metadata or {})
    if relu:
        meta["nonlinearity"] = "relu"
    state = [(prefix + n, t.float()) for n, t in m.state_dict().items()]
    state += extra or []
    save_safetensors(os.path.join(HERE, name + ".safetensors"), state, dtype, meta or None)

    io = [("x", x), ("h0", h0)] + ([("c0", c0)] if cell == "lstm" else [])
    io += [("y", y), ("h_n", hn)] + ([("c_n", cn)] if cell == "lstm" else [])
    io += [("y64", y64), ("h_n64", hn64)] + ([("c_n64", cn64)] if cell == "lstm" else [])
    # A file holding more than the module (extra): the io is the module's alone, loaded by its prefix.
    save_safetensors(os.path.join(HERE, name + ".io.safetensors"), io,
                     metadata={"prefix": prefix.rstrip(".")} if extra and prefix else None)
    drift = (y.double() - y64).abs().max().item()
    print(f"{name:28s} {cell} I={I} H={H}{f' P={proj}' if proj else ''} L={L} D={D} B={B} T={T} bias={bias} {dtype}: "
          f"|y32 - y64| max {drift:.2e}")


# --- Networks: each a module with PyTorch's own forward(x, states) -> (y, states) ---

class GuitarML(nn.Module):  # an amp model: LSTM -> Linear, plus the dry input
    LAYERS = ["lstm", "fc", "add_input"]

    def __init__(self):
        super().__init__()
        self.lstm, self.fc = nn.LSTM(1, 40), nn.Linear(40, 1)

    def forward(self, x, s):
        y, s0 = self.lstm(x, s[0])
        return self.fc(y) + x, [s0]


class Denoiser(nn.Module):  # RNNoise-like: dense, two GRUs, dense gains
    LAYERS = ["fc_in", "tanh", "gru1", "gru2", "fc", "sigmoid"]

    def __init__(self):
        super().__init__()
        self.fc_in, self.gru1, self.gru2, self.fc = nn.Linear(42, 24), nn.GRU(24, 24), nn.GRU(24, 48), nn.Linear(48, 22)

    def forward(self, x, s):
        y, s0 = self.gru1(torch.tanh(self.fc_in(x)), s[0])
        y, s1 = self.gru2(y, s[1])
        return torch.sigmoid(self.fc(y)), [s0, s1]


class RTNeural(nn.Module):  # two LSTM modules (the second a 3-layer stack) and a dense output
    LAYERS = ["lstm1", "lstm2", "fc"]

    def __init__(self):
        super().__init__()
        self.lstm1, self.lstm2, self.fc = nn.LSTM(1, 8), nn.LSTM(8, 8, num_layers=3), nn.Linear(8, 1)

    def forward(self, x, s):
        y, s0 = self.lstm1(x, s[0])
        y, s1 = self.lstm2(y, s[1])
        return self.fc(y), [s0, s1]


class BiGruHead(nn.Module):
    LAYERS = ["gru", "fc"]

    def __init__(self):
        super().__init__()
        self.gru, self.fc = nn.GRU(13, 37, num_layers=2, bidirectional=True), nn.Linear(74, 5)

    def forward(self, x, s):
        y, s0 = self.gru(x, s[0])
        return self.fc(y), [s0]


class OptionsLayers(nn.Module):
    LAYERS = ["fc_in", "relu", "gru", "fc", "tanh"]

    def __init__(self):
        super().__init__()
        self.fc_in, self.gru, self.fc = nn.Linear(13, 37), nn.GRU(37, 37), nn.Linear(37, 13)

    def forward(self, x, s):
        y, s0 = self.gru(torch.relu(self.fc_in(x)), s[0])
        return torch.tanh(self.fc(y)), [s0]


class Odd(nn.Module):  # a relu Elman RNN between dense layers, sigmoid, input skip
    LAYERS = ["fc_in", "relu", "rnn", "fc", "sigmoid", "add_input"]

    def __init__(self):
        super().__init__()
        self.fc_in, self.rnn, self.fc = nn.Linear(13, 37), nn.RNN(37, 37, nonlinearity="relu"), nn.Linear(37, 13)

    def forward(self, x, s):
        y, s0 = self.rnn(torch.relu(self.fc_in(x)), s[0])
        return torch.sigmoid(self.fc(y)) + x, [s0]


class NoBias(nn.Module):
    LAYERS = ["fc_in", "lstm", "fc"]

    def __init__(self):
        super().__init__()
        self.fc_in, self.lstm, self.fc = nn.Linear(13, 37, bias=False), nn.LSTM(37, 37, bias=False), nn.Linear(37, 13, bias=False)

    def forward(self, x, s):
        y, s0 = self.lstm(self.fc_in(x), s[0])
        return self.fc(y), [s0]


class ProjHead(nn.Module):  # an LSTM with proj_size (h is P wide) under a dense head
    LAYERS = ["lstm", "fc"]

    def __init__(self):
        super().__init__()
        self.lstm, self.fc = nn.LSTM(13, 37, num_layers=2, proj_size=11), nn.Linear(11, 5)

    def forward(self, x, s):
        y, s0 = self.lstm(x, s[0])
        return self.fc(y), [s0]


def flat_state(states):
    """rnnrt's state layout: per recurrent module h (L*D,B,H), then c for an LSTM."""
    return torch.cat([t.reshape(-1) for s in states for t in (s if isinstance(s, tuple) else (s,))])


def net_case(name, cls, B, T, seed, plain=False):
    torch.manual_seed(seed)
    net = cls()
    recurrent = [net.get_submodule(n) for n in cls.LAYERS if isinstance(getattr(net, n, None), nn.RNNBase)]
    with torch.no_grad():
        for m in recurrent:
            k = 1.5 / math.sqrt(m.hidden_size)
            for p in m.parameters():
                p.uniform_(-k, k)
    first = net.get_submodule(cls.LAYERS[0])
    I = first.input_size if isinstance(first, nn.RNNBase) else first.in_features
    x = torch.rand(T, B, I) * 2 - 1
    state0 = []
    for m in recurrent:
        shape = (m.num_layers * (2 if m.bidirectional else 1), B, m.hidden_size)
        hshape = shape[:2] + (getattr(m, "proj_size", 0) or m.hidden_size,)   # h is P wide with proj_size
        h0 = (torch.rand(hshape) * 2 - 1) * 0.5
        state0.append((h0, (torch.rand(shape) * 2 - 1) * 0.5) if isinstance(m, nn.LSTM) else h0)

    model = os.path.join(HERE, name + ".safetensors")
    meta = {"bidirectional": "true" if any(m.bidirectional for m in recurrent) else "false"}
    if plain:
        save_safetensors(model, list(net.state_dict().items()))
        meta["layers"] = json.dumps(cls.LAYERS)
    else:
        rnnrt.save(net, model, layers=cls.LAYERS)
    as64 = (lambda s: tuple(t.double() for t in s) if isinstance(s, tuple) else s.double())
    with torch.no_grad():
        y, state_n = net(x, state0)
        y64, state_n64 = copy.deepcopy(net).double()(x.double(), [as64(s) for s in state0])
    io = [("x", x), ("state0", flat_state(state0)), ("y", y), ("state_n", flat_state(state_n)),
          ("y64", y64), ("state_n64", flat_state(state_n64))]
    save_safetensors(os.path.join(HERE, name + ".io.safetensors"), io, metadata=meta)
    drift = (y.double() - y64).abs().max().item()
    state_drift = (flat_state(state_n).double() - flat_state(state_n64)).abs().max().item()
    print(f"{name:20s} {' '.join(cls.LAYERS)} B={B} T={T} I={I} O={y.shape[-1]} S={flat_state(state0).numel()}: "
          f"|y32 - y64| max {drift:.2e}, |state_n32 - state_n64| max {state_drift:.2e}")


# --- torch.save files: PyTorch's own format, read by Runtime/Model/Torch without Python ---

def uniform_module(m, seed):
    torch.manual_seed(seed)
    k = 1.5 / math.sqrt(m.hidden_size)
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-k, k)
    return m


def pt_io(name, cell, m, B, T, seed, prefix=""):
    """The io file of a .pt case: m's own forward in float32 and float64 from the same weights."""
    torch.manual_seed(seed)
    L, D, H, I = m.num_layers, 2 if m.bidirectional else 1, m.hidden_size, m.input_size
    x = torch.rand(T, B, I) * 2 - 1
    h0 = (torch.rand(L * D, B, H) * 2 - 1) * 0.5
    c0 = (torch.rand(L * D, B, H) * 2 - 1) * 0.5
    m32, m64 = copy.deepcopy(m).float(), copy.deepcopy(m).double()
    with torch.no_grad():
        if cell == "lstm":
            y, (hn, cn) = m32(x, (h0, c0))
            y64, (hn64, cn64) = m64(x.double(), (h0.double(), c0.double()))
        else:
            y, hn = m32(x, h0)
            y64, hn64 = m64(x.double(), h0.double())
    io = [("x", x), ("h0", h0)] + ([("c0", c0)] if cell == "lstm" else [])
    io += [("y", y), ("h_n", hn)] + ([("c_n", cn)] if cell == "lstm" else [])
    io += [("y64", y64), ("h_n64", hn64)] + ([("c_n64", cn64)] if cell == "lstm" else [])
    save_safetensors(os.path.join(HERE, name + ".io.safetensors"), io, metadata={"prefix": prefix} if prefix else None)
    print(f"{name:28s} {cell} I={I} H={H} L={L} D={D} B={B} T={T} .pt: |y32 - y64| max {(y.double() - y64).abs().max().item():.2e}")


def pt_path(name):
    return os.path.join(HERE, name + ".pt")


class Tagger(nn.Module):  # the module a checkpoint saves: an LSTM and a head that rnnrt ignores
    def __init__(self):
        super().__init__()
        self.lstm, self.fc = nn.LSTM(5, 12), nn.Linear(12, 3)

    def forward(self, x):
        return self.fc(self.lstm(x)[0])


def shared_storage_case():
    # Shared storage: every parameter a view into one flat buffer (as a flattened-parameter
    # optimizer leaves them), and two names for one view: bias_hh_l0 is bias_ih_l0 (the module's
    # two biases made equal first), so every name is one the module uses.
    r = uniform_module(nn.RNN(7, 11), 204)
    with torch.no_grad():
        r.bias_hh_l0.copy_(r.bias_ih_l0)
    sd = r.state_dict()
    flat = torch.cat([t.reshape(-1) for n, t in sd.items() if n != "bias_hh_l0"])
    views, at = {}, 0
    for n, t in sd.items():
        if n == "bias_hh_l0":
            continue
        views[n] = flat[at:at + t.numel()].view(t.shape)
        at += t.numel()
    views["bias_hh_l0"] = views["bias_ih_l0"]
    torch.save(views, pt_path("rnn_pt_shared_l1_b3"))
    pt_io("rnn_pt_shared_l1_b3", "rnn", r, B=3, T=6, seed=204)


def torch_save_cases():
    # A plain state_dict, as torch.save(model.state_dict(), path) writes it.
    g = uniform_module(nn.GRU(6, 10), 201)
    torch.save(g.state_dict(), pt_path("gru_pt_l1_b1"))
    pt_io("gru_pt_l1_b1", "gru", g, B=1, T=8, seed=201)

    # A training checkpoint: epoch, the model's state_dict, and an Adam that took one step.
    torch.manual_seed(202)
    net = Tagger()
    uniform_module(net.lstm, 202)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss = net(torch.rand(4, 2, 5)).square().mean()
    loss.backward()
    opt.step()
    torch.save({"epoch": 3, "model_state_dict": net.state_dict(), "optimizer": opt.state_dict(), "loss": loss.item()},
               pt_path("lstm_pt_checkpoint_l1_b2"))
    pt_io("lstm_pt_checkpoint_l1_b2", "lstm", net.lstm, B=2, T=7, seed=202, prefix="model_state_dict.lstm")

    # Non-contiguous tensors: a transposed layout, a slice with a storage offset and a row stride,
    # a bias sliced out of a longer vector.
    g = uniform_module(nn.GRU(5, 9, num_layers=2), 203)
    sd = g.state_dict()
    w = sd["weight_hh_l0"]
    sd["weight_hh_l0"] = w.t().contiguous().t()
    w = sd["weight_ih_l0"]
    big = torch.zeros(w.shape[0] + 3, w.shape[1] + 4)
    big[2:2 + w.shape[0], 3:3 + w.shape[1]] = w
    sd["weight_ih_l0"] = big[2:2 + w.shape[0], 3:3 + w.shape[1]]
    b = sd["bias_ih_l1"]
    longer = torch.zeros(b.numel() + 11)
    longer[7:7 + b.numel()] = b
    sd["bias_ih_l1"] = longer[7:7 + b.numel()]
    assert not sd["weight_hh_l0"].is_contiguous() and not sd["weight_ih_l0"].is_contiguous()
    assert sd["weight_ih_l0"].storage_offset() > 0 and sd["bias_ih_l1"].storage_offset() > 0
    torch.save(sd, pt_path("gru_pt_strided_l2_b1"))
    pt_io("gru_pt_strided_l2_b1", "gru", g, B=1, T=6, seed=203)

    shared_storage_case()

    # An F64 module: float32-exact weights, stored as float64.
    lstm = uniform_module(nn.LSTM(4, 8), 205).double()
    torch.save(lstm.state_dict(), pt_path("lstm_pt_f64_l1_b1"))
    pt_io("lstm_pt_f64_l1_b1", "lstm", lstm, B=1, T=6, seed=205)

    # What rnnrt refuses, each with advice: a whole pickled module (torch's own class and one of
    # this script's), the legacy format, a TorchScript archive.
    g = uniform_module(nn.GRU(3, 4), 206)
    torch.save(g, pt_path("torch_whole_module"))
    torch.save(Tagger(), pt_path("torch_whole_custom_module"))
    torch.save(g.state_dict(), pt_path("torch_legacy"), _use_new_zipfile_serialization=False)
    torch.jit.script(g).save(pt_path("torch_script"))
    print("torch.save refusals: torch_whole_module, torch_whole_custom_module, torch_legacy, torch_script")


def main():
    torch.set_num_threads(1)
    head = [("head.weight", torch.rand(5, 37)), ("head.bias", torch.rand(5))]
    case("rnn_tanh_l1_b1", "rnn", 13, 37, T=9, seed=1)
    case("rnn_relu_l2_b3", "rnn", 13, 37, L=2, B=3, relu=True, seed=2)
    case("rnn_tanh_bi_l2_b3", "rnn", 13, 37, L=2, bi=True, B=3, seed=3)
    case("rnn_nobias_l1_b1", "rnn", 8, 16, bias=False, seed=4)
    case("gru_l1_b1", "gru", 13, 37, T=9, seed=5)
    case("gru_l2_b3", "gru", 13, 37, L=2, B=3, seed=6)
    case("gru_bi_l2_b3", "gru", 13, 37, L=2, bi=True, B=3, seed=7)
    case("gru_nobias_bi_l1_b3", "gru", 13, 37, bi=True, B=3, bias=False, seed=8)
    case("gru_f16_l2_b1", "gru", 13, 37, L=2, dtype="F16", seed=9)
    case("gru_bf16_l1_b3", "gru", 13, 37, B=3, dtype="BF16", seed=10)
    case("lstm_l1_b1", "lstm", 13, 37, T=9, seed=11)
    case("lstm_l2_b3", "lstm", 13, 37, L=2, B=3, seed=12)
    case("lstm_bi_l2_b3", "lstm", 13, 37, L=2, bi=True, B=3, seed=13)
    case("lstm_nobias_l1_b3", "lstm", 13, 37, B=3, bias=False, seed=14)
    case("lstm_f16_bi_l1_b1", "lstm", 13, 37, bi=True, dtype="F16", seed=15)
    case("lstm_prefixed_l1_b1", "lstm", 13, 37, prefix="encoder.lstm.", extra=head, seed=16)
    case("gru_meta_l2_b1", "gru", 13, 37, L=2, seed=17,
         metadata={"cell": "gru", "input_size": "13", "hidden_size": "37", "num_layers": "2", "bidirectional": "false"})
    case("gru_long_t1000_b1", "gru", 16, 32, T=1000, seed=18)
    case("lstm_long_t1000_b2", "lstm", 16, 32, B=2, T=1000, seed=19)
    case("rnn_h64_l1_b1", "rnn", 64, 64, T=20, seed=20)

    # The main job's bundled model: a seeded GRU, input 64, hidden 256.
    torch.manual_seed(2024)
    g = torch.nn.GRU(64, 256)
    k = 1.5 / math.sqrt(256)
    with torch.no_grad():
        for p in g.parameters():
            p.uniform_(-k, k)
    os.makedirs(os.path.dirname(BUNDLED), exist_ok=True)
    save_safetensors(BUNDLED, list(g.state_dict().items()))
    print("bundled model:", os.path.normpath(BUNDLED))

    net_case("net_guitarml", GuitarML, B=1, T=12, seed=101)
    net_case("net_denoiser", Denoiser, B=3, T=10, seed=102)
    net_case("net_rtneural", RTNeural, B=2, T=11, seed=103)
    net_case("net_bigru_head", BiGruHead, B=3, T=9, seed=104)
    net_case("net_options_layers", OptionsLayers, B=2, T=10, seed=105, plain=True)
    net_case("net_odd", Odd, B=3, T=10, seed=106)
    net_case("net_nobias", NoBias, B=1, T=9, seed=107)
    torch_save_cases()
    write_cells()
    write_projections()
    write_trained()


def write_projections():
    """LSTMs with proj_size: h (and y per direction) P wide, c H wide; odd sizes."""
    case("lstm_proj_l2_b3", "lstm", 13, 37, L=2, B=3, T=9, seed=21, proj=11)
    case("lstm_proj_bi_l2_b3", "lstm", 13, 37, L=2, bi=True, B=3, T=9, seed=22, proj=11)
    net_case("net_lstm_proj_head", ProjHead, B=3, T=9, seed=108)


def cell_case(name, cell, I, H, B, T, seed, bias=True, relu=False, prefix="", say_relu=True):
    """An nn.RNNCell / GRUCell / LSTMCell stepped by a Python loop, the way people stream with them:
    the model file is the cell's plain state_dict (names without _l0), the io file the module layout
    with L*D = 1. A ReLU cell's file records nothing unless say_relu: the io metadata then tells the
    test to load it with RnnOptions.Nonlinearity."""
    torch.manual_seed(seed)
    kw = dict(input_size=I, hidden_size=H, bias=bias)
    m = {"rnn": lambda: nn.RNNCell(nonlinearity="relu" if relu else "tanh", **kw),
         "gru": lambda: nn.GRUCell(**kw), "lstm": lambda: nn.LSTMCell(**kw)}[cell]()
    k = 1.5 / math.sqrt(H)
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-k, k)
    x = torch.rand(T, B, I) * 2 - 1
    h0 = (torch.rand(1, B, H) * 2 - 1) * 0.5
    c0 = (torch.rand(1, B, H) * 2 - 1) * 0.5

    def run(mod, xs, h, c):
        ys = []
        for t in range(xs.shape[0]):
            if cell == "lstm":
                h, c = mod(xs[t], (h, c))
            else:
                h = mod(xs[t], h)
            ys.append(h)
        return torch.stack(ys), h[None], (c[None] if cell == "lstm" else None)

    with torch.no_grad():
        y, hn, cn = run(m, x, h0[0], c0[0])
        y64, hn64, cn64 = run(copy.deepcopy(m).double(), x.double(), h0[0].double(), c0[0].double())
    meta = {"nonlinearity": "relu"} if relu and say_relu else None
    save_safetensors(os.path.join(HERE, name + ".safetensors"), [(prefix + n, t) for n, t in m.state_dict().items()], metadata=meta)
    io = [("x", x), ("h0", h0)] + ([("c0", c0)] if cell == "lstm" else [])
    io += [("y", y), ("h_n", hn)] + ([("c_n", cn)] if cell == "lstm" else [])
    io += [("y64", y64), ("h_n64", hn64)] + ([("c_n64", cn64)] if cell == "lstm" else [])
    save_safetensors(os.path.join(HERE, name + ".io.safetensors"), io,
                     metadata={"nonlinearity": "relu"} if relu and not say_relu else None)
    print(f"{name:28s} {cell} cell I={I} H={H} B={B} T={T}: |y32 - y64| max {(y.double() - y64).abs().max().item():.2e}")


def plain_relu_case(name, I, H, L, B, T, seed):
    """nn.RNN(nonlinearity='relu') saved with a plain state_dict: the file cannot say relu, so the io
    metadata asks the test to load it with RnnOptions.Nonlinearity (without it, tanh, as PyTorch's default)."""
    torch.manual_seed(seed)
    m = nn.RNN(I, H, num_layers=L, nonlinearity="relu")
    k = 1.5 / math.sqrt(H)
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-k, k)
    x = torch.rand(T, B, I) * 2 - 1
    h0 = (torch.rand(L, B, H) * 2 - 1) * 0.5
    with torch.no_grad():
        y, hn = m(x, h0)
        y64, hn64 = copy.deepcopy(m).double()(x.double(), h0.double())
    save_safetensors(os.path.join(HERE, name + ".safetensors"), list(m.state_dict().items()))
    save_safetensors(os.path.join(HERE, name + ".io.safetensors"),
                     [("x", x), ("h0", h0), ("y", y), ("h_n", hn), ("y64", y64), ("h_n64", hn64)],
                     metadata={"nonlinearity": "relu"})
    print(f"{name:28s} rnn relu, plain state_dict I={I} H={H} L={L} B={B} T={T}")


# --- Trained networks: accuracy you can decide with, per weight format ---

class TrainedGru(nn.Module):  # GRU -> Linear head
    LAYERS = ["gru", "fc"]

    def __init__(self):
        super().__init__()
        self.gru, self.fc = nn.GRU(1, 64), nn.Linear(64, 1)

    def forward(self, x, s):
        y, s0 = self.gru(x, s[0])
        return self.fc(y), [s0]


class TrainedLstm(nn.Module):  # two-layer LSTM -> Linear head, a hidden size that is no multiple of a vector
    LAYERS = ["lstm", "fc"]

    def __init__(self):
        super().__init__()
        self.lstm, self.fc = nn.LSTM(1, 45, num_layers=2), nn.Linear(45, 1)

    def forward(self, x, s):
        y, s0 = self.lstm(x, s[0])
        return self.fc(y), [s0]


NOISE = 0.1


def noisy_sines(g, T, B):
    """[T+1, B, 1]: per sequence, three sines of random period (6..30 steps), amplitude and phase, plus N(0, NOISE^2)."""
    t = torch.arange(T + 1, dtype=torch.float64).reshape(-1, 1)
    x = torch.zeros(T + 1, B, dtype=torch.float64)
    for _ in range(3):
        period = 6 + 24 * torch.rand(B, generator=g, dtype=torch.float64)
        amp = 0.2 + 0.3 * torch.rand(B, generator=g, dtype=torch.float64)
        phase = 2 * math.pi * torch.rand(B, generator=g, dtype=torch.float64)
        x += amp * torch.sin(2 * math.pi * t / period + phase)
    x += NOISE * torch.randn(T + 1, B, generator=g, dtype=torch.float64)
    return x.float().unsqueeze(-1)


def zero_state(net, B):
    state = []
    for n in net.LAYERS:
        m = getattr(net, n, None)
        if isinstance(m, nn.RNNBase):
            shape = (m.num_layers, B, m.hidden_size)
            state.append((torch.zeros(shape), torch.zeros(shape)) if isinstance(m, nn.LSTM) else torch.zeros(shape))
    return state


def trained_case(name, cls, seed, iterations=1500, B_test=4, T_test=1000):
    import time
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    net = cls()
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, iterations)
    start = time.process_time()
    for it in range(iterations):
        data = noisy_sines(g, 100, 32)
        y, _ = net(data[:-1], zero_state(net, 32))
        loss = ((y[20:] - data[1:][20:]) ** 2).mean()   # the first steps warm the state
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    cpu = time.process_time() - start
    held = noisy_sines(torch.Generator().manual_seed(seed + 1), T_test, B_test)
    x, target = held[:-1], held[1:]
    state0 = zero_state(net, B_test)
    as64 = (lambda s: tuple(t.double() for t in s) if isinstance(s, tuple) else s.double())
    with torch.no_grad():
        y, state_n = net(x, state0)
        y64, state_n64 = copy.deepcopy(net).double()(x.double(), [as64(s) for s in state0])
    mse = ((y - target) ** 2).mean().item()
    baseline = ((x - target) ** 2).mean().item()
    folder = os.path.join(HERE, "Trained")
    os.makedirs(folder, exist_ok=True)
    rnnrt.save(net, os.path.join(folder, name + ".safetensors"), layers=cls.LAYERS)
    io = [("x", x), ("target", target), ("state0", flat_state(state0)), ("y", y), ("state_n", flat_state(state_n)),
          ("y64", y64), ("state_n64", flat_state(state_n64))]
    meta = {"mse": repr(mse), "baseline_mse": repr(baseline), "noise_mse": repr(NOISE ** 2),
            "bidirectional": "false"}
    save_safetensors(os.path.join(folder, name + ".io.safetensors"), io, metadata=meta)
    print(f"{name:20s} trained {iterations} Adam steps in {cpu:.1f} s CPU: held-out MSE {mse:.5f} "
          f"(predicting x_t: {baseline:.5f}; noise floor {NOISE ** 2:.5f})")


def write_trained():
    trained_case("trained_gru_h64", TrainedGru, seed=301)
    trained_case("trained_lstm_h45_l2", TrainedLstm, seed=302, iterations=1200)


def write_cells():
    cell_case("rnn_cell_tanh_b1", "rnn", 13, 37, B=1, T=9, seed=201)
    cell_case("rnn_cell_relu_b3", "rnn", 13, 37, B=3, T=9, seed=202, relu=True, say_relu=False)
    cell_case("gru_cell_b3", "gru", 13, 37, B=3, T=9, seed=203)
    cell_case("gru_cell_nobias_b1", "gru", 13, 37, B=1, T=9, seed=204, bias=False)
    cell_case("lstm_cell_prefixed_b2", "lstm", 13, 37, B=2, T=9, seed=205, prefix="encoder.lstm.")
    plain_relu_case("rnn_relu_plain_l2_b3", 13, 37, L=2, B=3, T=9, seed=206)



# --- Strict/: what must not load silently (issue 22): `make_fixtures.py --only strict` ---

class FcGruFc(nn.Module):  # the network: Linear(16, 16) -> GRU(16, 32) -> Linear(32, 32)
    LAYERS = ["fc_in", "gru", "fc"]

    def __init__(self):
        super().__init__()
        self.fc_in, self.gru, self.fc = nn.Linear(16, 16), nn.GRU(16, 32), nn.Linear(32, 32)

    def forward(self, x, s):
        y, s0 = self.gru(self.fc_in(x), s[0])
        return self.fc(y), [s0]


def write_strict():
    """Fixtures/Strict: torch.save files whose network is more than one recurrent module, modules of
    kinds rnnrt does not run yet, and files that are not models at all."""
    folder = os.path.join(HERE, "Strict")
    os.makedirs(folder, exist_ok=True)
    at = lambda name: os.path.join(folder, name)

    torch.manual_seed(301)
    net = FcGruFc()
    x = torch.rand(6, 2, 16) * 2 - 1
    h0 = (torch.rand(1, 2, 32) * 2 - 1) * 0.5
    with torch.no_grad():
        y, (hn,) = net(x, [h0])
    torch.save(net.state_dict(), at("fc_gru_fc.pt"))
    save_safetensors(at("fc_gru_fc.io.safetensors"), [("x", x), ("state0", h0), ("y", y), ("state_n", hn)],
                     metadata={"layers": json.dumps(FcGruFc.LAYERS)})
    # A training checkpoint of it: the model under "model", an Adam's state beside it.
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    net(x, [h0])[0].square().mean().backward()
    before = copy.deepcopy(net.state_dict())
    opt.step()
    net.load_state_dict(before)   # the io file's weights; the step filled the optimizer's state
    assert opt.state_dict()["state"]
    torch.save({"epoch": 5, "model": net.state_dict(), "optimizer": opt.state_dict()}, at("fc_gru_fc_checkpoint.pt"))

    # Kinds rnnrt does not run yet, in plain state_dicts.
    torch.manual_seed(302)
    torch.save(nn.Sequential(OrderedDict(fc_in=nn.Linear(16, 16), ln=nn.LayerNorm(16), gru=nn.GRU(16, 8))).state_dict(), at("ln_gru.pt"))
    bn = nn.Sequential(OrderedDict(bn=nn.BatchNorm1d(16), gru=nn.GRU(16, 8)))
    bn.bn(torch.rand(4, 16))   # one training step: num_batches_tracked 1, running stats moved
    torch.save(bn.state_dict(), at("bn_gru.pt"))
    torch.save(nn.Sequential(OrderedDict(emb=nn.Embedding(100, 12), gru=nn.GRU(12, 8))).state_dict(), at("emb_gru.pt"))
    torch.save(nn.Sequential(OrderedDict(emb=nn.Embedding(12, 12), gru=nn.GRU(12, 8))).state_dict(), at("emb12_gru.pt"))

    # Files that are not models.
    import numpy as np
    np.save(at("array.npy"), np.arange(6, dtype=np.float32))
    np.savez(at("arrays.npz"), x=np.arange(6, dtype=np.float32))
    with open(at("layers.json"), "w") as f:
        json.dump({"version": 1, "layers": [{"kind": "gru", "prefix": "gru"}]}, f)
    try:
        torch.onnx.export(nn.GRU(4, 8), (torch.rand(3, 1, 4),), at("gru.onnx"))
    except Exception as e:   # the exporter needs the onnx package; the committed file stays
        print(f"gru.onnx not written ({type(e).__name__}: {e})")
    print("Strict/: " + ", ".join(sorted(os.listdir(folder))))
# --- Sequence lengths (Lengths/, `make_fixtures.py --only lengths`): PyTorch's packed sequences ---
#
# Batch 5 with lengths 1..T in no order, packed with pack_padded_sequence(enforce_sorted=False), run from
# a random h0 (c0) and unpacked with pad_packed_sequence(total_length=T): y is zero past each sequence's
# end, h_n (c_n) each sequence's state at its own end (a backward direction's at its step 0). The io
# file holds x, lengths (as floats), h0 [c0], y, h_n [c_n]; its metadata says batch_first. With
# batch_first=True modules x is [B, T, I] and y [B, T, O].

LENGTHS = os.path.join(HERE, "Lengths")


def lengths_case(name, cell, I, H, L=1, bi=False, proj=0, batch_first=False, seed=0, B=5, T=6):
    torch.manual_seed(seed)
    m = make_module(cell, I, H, L, bi, True, False, proj)
    if batch_first:
        kw = dict(input_size=I, hidden_size=H, num_layers=L, bidirectional=bi, batch_first=True)
        if proj:
            kw["proj_size"] = proj
        m = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](**kw)
    k = 1.5 / math.sqrt(H)
    with torch.no_grad():
        for p in m.parameters():
            p.uniform_(-k, k)
    D = 2 if bi else 1
    lengths = torch.tensor([3, T, 1, 5, 2][:B])
    x = torch.rand(B, T, I) * 2 - 1 if batch_first else torch.rand(T, B, I) * 2 - 1
    h0 = (torch.rand(L * D, B, proj or H) * 2 - 1) * 0.5
    c0 = (torch.rand(L * D, B, H) * 2 - 1) * 0.5
    packed = torch.nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    with torch.no_grad():
        if cell == "lstm":
            out, (hn, cn) = m(packed, (h0, c0))
        else:
            out, hn = m(packed, h0)
    y, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=batch_first, total_length=T)
    os.makedirs(LENGTHS, exist_ok=True)
    save_safetensors(os.path.join(LENGTHS, name + ".safetensors"), [(n, t.float()) for n, t in m.state_dict().items()])
    io = [("x", x), ("lengths", lengths.float()), ("h0", h0)] + ([("c0", c0)] if cell == "lstm" else [])
    io += [("y", y), ("h_n", hn)] + ([("c_n", cn)] if cell == "lstm" else [])
    save_safetensors(os.path.join(LENGTHS, name + ".io.safetensors"), io,
                     metadata={"batch_first": "true" if batch_first else "false"})
    print(f"{name:28s} {cell} I={I} H={H}{f' P={proj}' if proj else ''} L={L} D={D} B={B} T={T} lengths={lengths.tolist()}"
          f"{' batch_first' if batch_first else ''}")


def write_lengths():
    torch.set_num_threads(1)
    lengths_case("rnn_l1", "rnn", 4, 7, seed=301)
    lengths_case("rnn_bi_l2", "rnn", 4, 7, L=2, bi=True, seed=302)
    lengths_case("gru_l2", "gru", 4, 7, L=2, seed=303)
    lengths_case("gru_bi_l2", "gru", 4, 7, L=2, bi=True, seed=304)
    lengths_case("lstm_bi_l1", "lstm", 4, 7, bi=True, seed=305)
    lengths_case("lstm_proj_bi_l2", "lstm", 4, 7, L=2, bi=True, proj=3, seed=306)
    lengths_case("gru_bi_l2_bf", "gru", 4, 7, L=2, bi=True, batch_first=True, seed=307)
    lengths_case("lstm_proj_l2_bf", "lstm", 4, 7, L=2, proj=3, batch_first=True, seed=308)


if __name__ == "__main__":
    if sys.argv[1:] == ["--only", "trained"]:
        torch.set_num_threads(1)
        sys.exit(write_trained())
    if sys.argv[1:] == ["--only", "strict"]:
        torch.set_num_threads(1)
        sys.exit(write_strict())
    if sys.argv[1:] == ["--only", "lengths"]:
        sys.exit(write_lengths())
    if sys.argv[1:]:
        sys.exit(f"usage: {sys.argv[0]} [--only trained|strict|lengths]")
    sys.exit(main())
