using RnnRuntime.Model;

namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// A network uploaded to one OpenCL device: every recurrent module's and linear layer's weights,
/// once. Immutable after construction and shared by all sessions; everything mutable (queue, kernels
/// with their arguments, h/c, the values between layers) lives in <see cref="OpenCLState"/>.
/// </summary>
internal sealed class OpenCLNetwork : IPreparedRnn
{
    private readonly OpenCLWeights _weights;
    private readonly object?[] _layers;   // per network layer: OpenCLRecurrentModule, OpenCLLinearLayer, or null (elementwise)
    private int _disposed;

    public OpenCLNetwork(RnnModel model, OpenCLDeviceInfo device)
    {
        Model = model;
        Device = OpenCLDeviceContext.Acquire(device);
        _weights = new OpenCLWeights(Device);
        try
        {
            int module = 0;
            _layers = model.Network.Layers.Select(l => l switch
            {
                RecurrentLayer r => new OpenCLRecurrentModule(r, module++, _weights, Device),
                LinearLayer f => (object?)new OpenCLLinearLayer(f, _weights),
                _ => null,
            }).ToArray();
        }
        catch
        {
            _weights.ReleaseAll();
            Device.Release();
            throw;
        }
    }

    public RnnModel Model { get; }
    public OpenCLDeviceContext Device { get; }

    /// <summary>The prepared part of network layer <paramref name="index"/>: a module, a linear layer, or null.</summary>
    public object? Layer(int index) => _layers[index];

    public RnnState CreateState(int batchSize)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return new OpenCLState(this, batchSize);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _weights.ReleaseAll();
        Device.Release();
    }
}
