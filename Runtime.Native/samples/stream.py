#!/usr/bin/env python3
"""stream.py: the C sample in Python, through ctypes (no numpy needed).

    RNNRT_LIBRARY=artifacts/native/librnnrt.so python3 stream.py [model.safetensors] [steps] [--layers a,b,c]

Any network the library loads: a file saved by rnnrt.save carries its layer list; a plain state_dict
of a whole network takes it from --layers (module prefixes and tanh/relu/sigmoid/add_input), which
goes through rnnrt_model_load_ex.
"""
import ctypes
import os
import random
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
LIBRARY = os.environ.get("RNNRT_LIBRARY", os.path.join(ROOT, "artifacts", "native", "librnnrt.so"))
ARGS = [a for a in sys.argv[1:] if not a.startswith("--layers")]
LAYERS = next((a.split("=", 1)[1].split(",") for a in sys.argv[1:] if a.startswith("--layers=")), None)
MODEL = ARGS[0] if len(ARGS) > 0 else os.path.join(ROOT, "Runtime.Bench", "Models", "gru_i64_h256.safetensors")
STEPS = int(ARGS[1]) if len(ARGS) > 1 else 1000

STATUS = ["OK", "INVALID_ARGUMENT", "SHAPE_MISMATCH", "IO", "FORMAT", "BACKEND_UNAVAILABLE",
          "INVALID_HANDLE", "OUT_OF_MEMORY", "INTERNAL"]


class ModelInfo(ctypes.Structure):
    """struct rnnrt_model_info of rnnrt.h."""
    _fields_ = [("struct_size", ctypes.c_uint32), ("cell", ctypes.c_int32), ("nonlinearity", ctypes.c_int32),
                ("input_size", ctypes.c_int32), ("hidden_size", ctypes.c_int32), ("num_layers", ctypes.c_int32),
                ("num_directions", ctypes.c_int32), ("output_size", ctypes.c_int32), ("has_bias", ctypes.c_int32),
                ("state_size", ctypes.c_int32), ("backend", ctypes.c_char * 16), ("layer_count", ctypes.c_int32)]


class LoadOptions(ctypes.Structure):
    """struct rnnrt_load_options of rnnrt.h."""
    _fields_ = [("struct_size", ctypes.c_uint32), ("backend", ctypes.c_char_p), ("prefix", ctypes.c_char_p),
                ("device", ctypes.c_char_p), ("layers", ctypes.POINTER(ctypes.c_char_p)), ("layer_count", ctypes.c_size_t)]


class RnnrtError(Exception):
    pass


lib = ctypes.CDLL(LIBRARY)
# Handles are opaque: keep them as c_void_p and never look inside.
lib.rnnrt_version.restype = ctypes.c_uint32
lib.rnnrt_last_error.restype = ctypes.c_char_p
lib.rnnrt_model_load.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
lib.rnnrt_model_load_ex.argtypes = [ctypes.c_char_p, ctypes.POINTER(LoadOptions), ctypes.POINTER(ctypes.c_void_p)]
lib.rnnrt_model_info.argtypes = [ctypes.c_void_p, ctypes.POINTER(ModelInfo)]
lib.rnnrt_model_free.argtypes = [ctypes.c_void_p]
lib.rnnrt_model_free.restype = None
lib.rnnrt_session_create.argtypes = [ctypes.c_void_p, ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p)]
FloatPtr = ctypes.POINTER(ctypes.c_float)
lib.rnnrt_session_step.argtypes = [ctypes.c_void_p, FloatPtr, ctypes.c_size_t, FloatPtr, ctypes.c_size_t]
lib.rnnrt_session_free.argtypes = [ctypes.c_void_p]
lib.rnnrt_session_free.restype = None


def check(status):
    if status != 0:
        name = STATUS[status] if 0 <= status < len(STATUS) else str(status)
        raise RnnrtError(f"RNNRT_{name}: {lib.rnnrt_last_error().decode('utf-8', 'replace')}")


def main():
    model = ctypes.c_void_p()
    if LAYERS:
        names = (ctypes.c_char_p * len(LAYERS))(*[n.encode() for n in LAYERS])
        options = LoadOptions(struct_size=ctypes.sizeof(LoadOptions), layers=names, layer_count=len(LAYERS))
        check(lib.rnnrt_model_load_ex(MODEL.encode(), ctypes.byref(options), ctypes.byref(model)))
    else:
        check(lib.rnnrt_model_load(MODEL.encode(), None, ctypes.byref(model)))
    try:
        info = ModelInfo(struct_size=ctypes.sizeof(ModelInfo))
        check(lib.rnnrt_model_info(model, ctypes.byref(info)))
        session = ctypes.c_void_p()
        check(lib.rnnrt_session_create(model, 1, ctypes.byref(session)))
        try:
            n_in, n_out = info.input_size, info.output_size
            x = (ctypes.c_float * n_in)()
            y = (ctypes.c_float * n_out)()
            rng = random.Random(1234)
            frames = [[rng.uniform(-1, 1) for _ in range(n_in)] for _ in range(STEPS)]
            micros = []
            for frame in frames:
                x[:] = frame
                start = time.perf_counter_ns()
                check(lib.rnnrt_session_step(session, x, n_in, y, n_out))
                micros.append((time.perf_counter_ns() - start) / 1000)
            micros.sort()
            v = lib.rnnrt_version()
            print(f"librnnrt {v >> 16}.{(v >> 8) & 255}.{v & 255} from Python (ctypes), model {MODEL}")
            print(f"  {info.layer_count} layer(s), input {n_in}, output {n_out}, first recurrent module hidden {info.hidden_size} "
                  f"x {info.num_layers} on backend {info.backend.decode()}")
            print(f"  {STEPS} steps: p50 {micros[len(micros) // 2]:.2f} us, p99 {micros[int(len(micros) * 0.99)]:.2f} us "
                  f"per step (ctypes call included); y[0] = {y[0]:.6f}")
        finally:
            lib.rnnrt_session_free(session)
    finally:
        lib.rnnrt_model_free(model)


if __name__ == "__main__":
    try:
        main()
    except RnnrtError as e:
        print(f"stream.py: {e}", file=sys.stderr)
        sys.exit(1)
