"""The PyTorch fixtures of Runtime.Tests/Fixtures read with numpy alone (the layout of
Runtime.Tests/Support/PyTorchFixture.cs): <name>.safetensors is the model, <name>.io.safetensors
PyTorch's x, h0/(c0) or state0, y, h_n/(c_n) or state_n; metadata "layers" for a plain state_dict."""
import json
import os
import struct

import numpy as np

from conftest import FIXTURES


def read_safetensors(path):
    """(metadata, {name: float32 array}) of an F32-only safetensors file."""
    data = open(path, "rb").read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {})
    body = data[8 + n:]
    out = {}
    for name, e in header.items():
        assert e["dtype"] == "F32", (path, name)
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(body[a:b], dtype="<f4").reshape(e["shape"]).astype(np.float32)
    return meta, out


def names():
    if not os.path.isdir(FIXTURES):
        return []
    return sorted(f[:-len(".io.safetensors")] for f in os.listdir(FIXTURES) if f.endswith(".io.safetensors"))


class Fixture:
    def __init__(self, name):
        self.name = name
        # The model is NAME.safetensors, or NAME.pt for the torch.save cases (PyTorch's own format).
        self.model_path = os.path.join(FIXTURES, name + ".safetensors")
        if not os.path.exists(self.model_path):
            self.model_path = os.path.join(FIXTURES, name + ".pt")
        meta, t = read_safetensors(os.path.join(FIXTURES, name + ".io.safetensors"))
        self.layers = json.loads(meta["layers"]) if "layers" in meta else None
        self.nonlinearity = meta.get("nonlinearity")   # a plain ReLU state_dict: the file cannot say it
        self.prefix = meta.get("prefix")   # a checkpoint: where its model lives (the rest is not the network)
        self.x, self.y = t["x"], t["y"]
        self.steps, self.batch = self.x.shape[0], self.x.shape[1]
        if "state0" in t:
            self.state0, self.state_n = t["state0"], t["state_n"]
        else:  # h0 then c0: the get_state layout
            self.state0 = np.concatenate([t["h0"].ravel()] + ([t["c0"].ravel()] if "c0" in t else []))
            self.state_n = np.concatenate([t["h_n"].ravel()] + ([t["c_n"].ravel()] if "c_n" in t else []))
        self.bidirectional = meta.get("bidirectional") == "true" or "_bi" in name

    def options(self):
        o = {} if self.layers is None else {"layers": self.layers}
        if self.nonlinearity is not None:
            o["nonlinearity"] = self.nonlinearity
        if self.prefix is not None:
            o["prefix"] = self.prefix
        return o
