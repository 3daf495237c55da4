"""rnnrt from Python: run trained recurrent networks (librnnrt), and export them from PyTorch.

    import numpy as np
    import rnnrt
    with rnnrt.Model("net.safetensors") as model, model.session(batch=1) as s:
        y = s.step(np.zeros(model.info.input_size, np.float32))    # one frame -> [O]
        ys = s.run(np.zeros((100, 1, model.info.input_size), np.float32))   # [T, B, I] -> [T, B, O]

    rnnrt.save(net, "net.safetensors")                          # an nn.Sequential
    rnnrt.save(net, "net.safetensors",                          # any other module: name the
               layers=["fc_in", "tanh", "gru", "fc", "sigmoid"])  # layers in forward order

Model and Session need numpy and librnnrt (found through $RNNRT_LIBRARY, the package's lib/ folder,
the source tree's artifacts/native, then the system: see rnnrt._native); save needs only torch.
Importing rnnrt needs neither: each is imported when first used.
"""
import os as _os
import re as _re

from ._native import Error, library_path, library_version


def _find_version():
    # The source tree: pyproject.toml beside the package is the one place the version is written
    # (the version = "X.Y.Z" of its [project] table).
    here = _os.path.dirname(_os.path.abspath(__file__))
    try:
        with open(_os.path.join(here, "..", "pyproject.toml"), encoding="utf-8") as f:
            table, fields = None, {}
            for line in f:
                if line.startswith("["):
                    table = line.strip()
                m = _re.match(r'(name|version)\s*=\s*"([^"]+)"', line)
                if m and table == "[project]":
                    fields.setdefault(m.group(1), m.group(2))
            if fields.get("name") == "rnnrt" and "version" in fields:
                return fields["version"]
    except OSError:
        pass
    try:  # installed: the distribution's metadata
        from importlib.metadata import version
        return version("rnnrt")
    except Exception:
        return "0+unknown"


__version__ = _find_version()


def save(module, path, layers=None):
    """Write a PyTorch network to one .safetensors file that rnnrt loads as is; returns its layer
    list. See rnnrt.export.save (needs torch, imported on first use)."""
    from . import export
    return export.save(module, path, layers)


def layers_of(module, layers=None):
    """The layer list save() would write for `module`. See rnnrt.export.layers_of (needs torch)."""
    from . import export
    return export.layers_of(module, layers)


_LAZY = {"Model": "runtime", "Session": "runtime", "ModelInfo": "runtime", "LayerInfo": "runtime", "ACTIVATIONS": "export"}


def __getattr__(name):  # Model/Session import numpy, ACTIVATIONS torch: only when asked for
    if name in _LAZY:
        import importlib
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'rnnrt' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__all__ = ["Model", "Session", "ModelInfo", "LayerInfo", "Error", "save", "layers_of", "ACTIVATIONS",
           "library_path", "library_version", "__version__"]
