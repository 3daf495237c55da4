"""Export trained PyTorch networks for the rnnrt runtime.

    import rnnrt
    rnnrt.save(net, "net.safetensors")                          # an nn.Sequential
    rnnrt.save(net, "net.safetensors",                          # any other module: name the
               layers=["fc_in", "tanh", "gru", "fc", "sigmoid"])  # layers in forward order

The file is one .safetensors file that rnnrt's RnnModel.Load / rnnrt_model_load read as is.
Only torch is needed (numpy is used when present).
"""
from .export import ACTIVATIONS, layers_of, save

__all__ = ["save", "layers_of", "ACTIVATIONS"]
