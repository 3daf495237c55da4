#!/usr/bin/env python3
"""Tiny valid models for seeding afl++ (python3, no packages needed).

The committed fixtures are 2-200 KB, almost all of it weights that the loader only converts; afl++
mutates small inputs far faster, and afl-cmin keeps the smallest input for each edge. These cover
the loader's paths with hidden size 2 and input size 3: every cell kind, 1 or 2 layers, one or two
directions, with or without biases, F32/F16/BF16, a module prefix, and __metadata__ (consistent, or
nonlinearity relu for an RNN). Writes seed-<name>.safetensors into the folder given (default: the
folder ./build.sh fuzz seeds from, Runtime.Tests/Fuzz/corpus).
"""
import json
import os
import random
import struct
import sys

GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def encode(values, dtype):
    if dtype == "F32":
        return struct.pack("<%df" % len(values), *values)
    if dtype == "F16":
        return struct.pack("<%de" % len(values), *values)
    # BF16: the top half of the float32 bits.
    return b"".join(struct.pack("<I", struct.unpack("<I", struct.pack("<f", v))[0])[2:] for v in values)


def model(cell, layers, dirs, bias, dtype, prefix, metadata, hidden=2, inputs=3):
    rng = random.Random("%s%d%d%d%s%s%s" % (cell, layers, dirs, bias, dtype, prefix, metadata))
    rows = GATES[cell] * hidden
    tensors = []
    for k in range(layers):
        width = inputs if k == 0 else dirs * hidden
        for d in range(dirs):
            sfx = "_l%d%s" % (k, "_reverse" if d else "")
            tensors.append(("weight_ih" + sfx, [rows, width]))
            tensors.append(("weight_hh" + sfx, [rows, hidden]))
            if bias:
                tensors.append(("bias_ih" + sfx, [rows]))
                tensors.append(("bias_hh" + sfx, [rows]))
    size = {"F32": 4, "F16": 2, "BF16": 2}[dtype]
    header, data, offset = {}, b"", 0
    if metadata == "full":
        header["__metadata__"] = {"cell": cell.upper(), "input_size": str(inputs), "hidden_size": str(hidden),
                                  "num_layers": str(layers), "bidirectional": "true" if dirs == 2 else "false"}
    elif metadata == "relu":
        header["__metadata__"] = {"nonlinearity": "relu"}
    for name, shape in tensors:
        count = 1
        for s in shape:
            count *= s
        values = [round(rng.uniform(-0.7, 0.7), 3) for _ in range(count)]
        header[prefix + name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + count * size]}
        data += encode(values, dtype)
        offset += count * size
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "corpus")
    os.makedirs(out, exist_ok=True)
    cases = []
    for cell in GATES:
        for layers, dirs in ((1, 1), (2, 1), (1, 2), (2, 2)):
            cases.append((cell, layers, dirs, True, "F32", "", "none"))
        cases.append((cell, 1, 1, False, "F32", "", "none"))
        cases.append((cell, 2, 2, False, "F32", "", "none"))
        cases.append((cell, 1, 1, True, "F16", "", "none"))
        cases.append((cell, 1, 2, True, "BF16", "", "none"))
        cases.append((cell, 1, 1, True, "F32", "m.", "none"))
        cases.append((cell, 2, 1, True, "F32", "", "full"))
    cases.append(("rnn", 1, 1, True, "F32", "", "relu"))
    cases.append(("rnn", 2, 2, True, "F32", "", "relu"))
    for c in cases:
        cell, layers, dirs, bias, dtype, prefix, metadata = c
        name = "seed-%s-l%d%s%s-%s%s%s.safetensors" % (cell, layers, "-bi" if dirs == 2 else "", "" if bias else "-nobias",
                                                       dtype.lower(), "-prefixed" if prefix else "",
                                                       "" if metadata == "none" else "-meta-" + metadata)
        with open(os.path.join(out, name), "wb") as f:
            f.write(model(*c))
    print("%d seeds in %s" % (len(cases), out))


if __name__ == "__main__":
    main()
