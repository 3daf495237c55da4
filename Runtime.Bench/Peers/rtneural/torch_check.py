#!/usr/bin/env python3
"""The per-sample networks against PyTorch: every engine's outputs, as the bench computes them, against
PyTorch's forward on the same weights. torch is never needed at bench time; this runs apart, on the files of

    dotnet Runtime.Bench/bin/Release/net10.0/Runtime.Bench.dll export-per-sample DIR
    (with RNNRT_RTNEURAL_DIR=artifacts/rtneural for the RTNeural engines; a build with -p:Peers=true adds ORT)

usage: /usr/bin/python3 Runtime.Bench/Peers/rtneural/torch_check.py DIR [TOLERANCE]   (default 1e-5)
Prints max |engine - torch| per network and engine over the 100 steps; exit 1 when one is above TOLERANCE.
The networks are rebuilt as nn.Modules (rec/lin, or RTNeural's lstm/lstm2/dense test model) and loaded
from NAME.safetensors with load_state_dict(strict=True), so a misnamed or misshaped tensor fails loudly.
"""
import glob
import json
import os
import struct
import sys

import numpy as np
import torch
from torch import nn


class RecNet(nn.Module):
    def __init__(self, cell, i, h, o):
        super().__init__()
        self.rec = cell(i, h)
        self.lin = nn.Linear(h, o)

    def forward(self, x):
        return self.lin(self.rec(x)[0])


class StackNet(nn.Module):
    def __init__(self, cell):
        super().__init__()
        self.kind = "lstm" if cell is nn.LSTM else "gru"
        setattr(self, self.kind, cell(1, 8))
        setattr(self, self.kind + "2", cell(8, 8, num_layers=3))
        self.dense = nn.Linear(8, 1)

    def forward(self, x):
        x = getattr(self, self.kind)(x)[0]
        x = getattr(self, self.kind + "2")(x)[0]
        return self.dense(x)


NETWORKS = {
    "lstm40": lambda: RecNet(nn.LSTM, 1, 40, 1),
    "lstm16": lambda: RecNet(nn.LSTM, 1, 16, 1),
    "gru40": lambda: RecNet(nn.GRU, 1, 40, 1),
    "lstm8x4": lambda: StackNet(nn.LSTM),
    "gru8x4": lambda: StackNet(nn.GRU),
    "gru64": lambda: RecNet(nn.GRU, 16, 64, 16),
    "lstm128": lambda: RecNet(nn.LSTM, 32, 128, 1),
}

DTYPES = {"F32": np.float32, "F16": np.float16, "F64": np.float64}


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, t in header.items():
        if name == "__metadata__":
            continue
        a, b = t["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[a:b], dtype=DTYPES[t["dtype"]]).reshape(t["shape"]).astype(np.float32).copy())
    return out


def main():
    d = sys.argv[1]
    tol = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-5
    torch.set_num_threads(1)
    worst = 0.0
    for name, make in NETWORKS.items():
        st = os.path.join(d, name + ".safetensors")
        if not os.path.exists(st):
            print(f"{name}: not exported")
            continue
        net = make().eval()
        net.load_state_dict(load_safetensors(st), strict=True)
        i = next(m for m in net.modules() if isinstance(m, (nn.LSTM, nn.GRU))).input_size
        x = np.fromfile(os.path.join(d, name + ".x.f32"), dtype=np.float32).reshape(-1, 1, i)
        with torch.no_grad():
            y = net(torch.from_numpy(x)).reshape(x.shape[0], -1).numpy().astype(np.float64)
        for f in sorted(glob.glob(os.path.join(d, name + ".*.y.f32"))):
            engine = os.path.basename(f)[len(name) + 1:-len(".y.f32")]
            got = np.fromfile(f, dtype=np.float32).astype(np.float64).reshape(y.shape)
            dev = float(np.abs(got - y).max())
            worst = max(worst, dev)
            print(f"{name:8s} {engine:20s} max |dev| vs torch {dev:.2e}{'' if dev <= tol else '  MISMATCH'}")
    print(f"torch_check: worst {worst:.2e} (tolerance {tol:.0e}), torch {torch.__version__}")
    return 0 if worst <= tol else 1


if __name__ == "__main__":
    sys.exit(main())
