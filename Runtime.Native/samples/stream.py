#!/usr/bin/env python3
"""stream.py: the C sample in Python, through the rnnrt package (numpy; no copies per step).

    python3 stream.py [model.safetensors] [steps] [--layers=a,b,c]

Any network the library loads: a file saved by rnnrt.save carries its layer list; a plain state_dict
of a whole network takes it from --layers (module prefixes and tanh/relu/sigmoid/add_input).
Run from the source tree it uses Runtime.Native/python and artifacts/native (or $RNNRT_LIBRARY).
"""
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
if os.path.isdir(os.path.join(HERE, "..", "python", "rnnrt")):   # the source tree's package first
    sys.path.insert(0, os.path.join(HERE, "..", "python"))
import numpy as np  # noqa: E402
import rnnrt  # noqa: E402

ARGS = [a for a in sys.argv[1:] if not a.startswith("--layers")]
LAYERS = next((a.split("=", 1)[1].split(",") for a in sys.argv[1:] if a.startswith("--layers=")), None)
MODEL = ARGS[0] if len(ARGS) > 0 else os.path.join(ROOT, "Runtime.Bench", "Models", "gru_i64_h256.safetensors")
STEPS = int(ARGS[1]) if len(ARGS) > 1 else 1000
if STEPS < 1:
    sys.exit("stream.py: steps must be at least 1")


def main():
    with rnnrt.Model(MODEL, layers=LAYERS) as model, model.session(batch=1) as session:
        info = model.info
        frames = np.random.default_rng(1234).uniform(-1, 1, (STEPS, info.input_size)).astype(np.float32)
        y = np.empty(info.output_size, np.float32)
        micros = np.empty(STEPS)
        for t in range(STEPS):
            start = time.perf_counter_ns()
            session.step(frames[t], out=y)   # frames[t] is a C-contiguous row: passed by pointer
            micros[t] = (time.perf_counter_ns() - start) / 1000
        micros.sort()
        print(f"librnnrt {rnnrt.library_version()} from Python (rnnrt {rnnrt.__version__}, {rnnrt.library_path()}), model {MODEL}")
        print(f"  {info.layer_count} layer(s), input {info.input_size}, output {info.output_size}, first recurrent module "
              f"{info.cell} hidden {info.hidden_size} x {info.num_layers} on backend {info.backend}")
        print(f"  {STEPS} steps: p50 {micros[STEPS // 2]:.2f} us, p99 {micros[int(STEPS * 0.99)]:.2f} us "
              f"per step (Python call included); y[0] = {y[0]:.6f}")


if __name__ == "__main__":
    try:
        main()
    except rnnrt.Error as e:
        print(f"stream.py: {e}", file=sys.stderr)
        sys.exit(1)
