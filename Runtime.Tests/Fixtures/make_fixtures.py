#!/usr/bin/python3
"""Writes the PyTorch reference fixtures that Runtime.Tests checks every backend against.

Run with Debian's interpreter (it owns python3-torch):  ./build.sh fixtures
For each case, <name>.safetensors is the model (a state_dict exactly as PyTorch names it) and
<name>.io.safetensors holds float32 tensors:
  x [T,B,I], h0 [L*D,B,H], (c0), y [T,B,D*H], h_n, (c_n)   as computed by PyTorch in float32
  y64, h_n64, (c_n64)                                      the same module recomputed in float64
Weights are drawn U(-k, k) with k = 1.5/sqrt(H) so that long sequences stay well-conditioned
(see DESIGN.md); F16/BF16 cases store rounded weights and compute with exactly those values.
Also writes the bundled model of the main job: Runtime.Bench/Models/gru_i64_h256.safetensors.
Tests never need torch: the outputs are committed.
"""
import json
import math
import os
import struct
import sys

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
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


def make_module(cell, I, H, L, bi, bias, relu):
    kw = dict(input_size=I, hidden_size=H, num_layers=L, bidirectional=bi, bias=bias)
    if cell == "rnn":
        return torch.nn.RNN(nonlinearity="relu" if relu else "tanh", **kw)
    return {"gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell](**kw)


def case(name, cell, I, H, L=1, bi=False, B=1, T=7, bias=True, relu=False, dtype="F32", prefix="",
         extra=None, metadata=None, seed=0):
    torch.manual_seed(seed)
    m = make_module(cell, I, H, L, bi, bias, relu)
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
    h0 = (torch.rand(L * D, B, H) * 2 - 1) * 0.5
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
    save_safetensors(os.path.join(HERE, name + ".io.safetensors"), io)
    drift = (y.double() - y64).abs().max().item()
    print(f"{name:28s} {cell} I={I} H={H} L={L} D={D} B={B} T={T} bias={bias} {dtype}: "
          f"|y32 - y64| max {drift:.2e}")


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


if __name__ == "__main__":
    sys.exit(main())
