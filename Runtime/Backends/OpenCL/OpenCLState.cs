using Silk.NET.OpenCL;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// One session on an OpenCL device: its own in-order command queue, the session part of every layer
/// (<see cref="OpenCLModuleKernels"/> for recurrent modules with their h and c, an
/// <see cref="OpenCLProjection"/> for linear layers, an <see cref="OpenCLElementwise"/> kernel for the
/// rest) and the device scratch of a sequence: the input, the output, the values between layers
/// (two, alternating), between a module's own layers, and the input projections. The network stays
/// on the device from the input's upload to the output's read-back.
/// x and y of a Step travel through pinned host buffers (CL_MEM_ALLOC_HOST_PTR, mapped once for the
/// session's life). Nothing here allocates managed memory after construction, except growing the
/// scratch for a longer sequence than before (device memory; and never on the Step path).
/// </summary>
internal sealed unsafe class OpenCLState : RnnState
{
    private readonly OpenCLNetwork _network;
    private readonly OpenCLSessionObjects _o;
    private readonly CL _cl;
    private readonly nint _queue;
    private readonly object[] _layers;            // per network layer: OpenCLModuleKernels, OpenCLProjection or OpenCLElementwise
    private readonly OpenCLModuleKernels[] _modules;
    private readonly int _input, _output, _maxWidth, _maxProjection, _maxModuleWidth;
    private nint _xPinned, _yPinned;              // ALLOC_HOST_PTR staging, mapped
    private float* _xHost, _yHost;
    private nint _xs, _ys, _between0, _between1, _mid0, _mid1, _proj;   // scratch for `_capacity` steps
    private int _capacity;
    private int _parity;                          // 1: the current h of every module is in its h_b
    private bool _released;

    public OpenCLState(OpenCLNetwork network, int batchSize) : base(network.Model, batchSize)
    {
        _network = network;
        _cl = network.Device.Api;
        RnnNetwork net = network.Model.Network;
        _input = net.InputSize;
        _output = net.OutputSize;
        _maxWidth = net.MaxWidth;
        _maxProjection = net.Recurrent.Max(r => r.NumDirections * r.Spec.Gates * r.HiddenSize);
        _maxModuleWidth = net.Recurrent.Max(r => r.NumLayers > 1 ? r.OutputWidth : 0);
        _layers = new object[net.Layers.Count];
        _modules = new OpenCLModuleKernels[net.Recurrent.Count];
        try
        {
            int status;
            OpenCLDeviceContext device = network.Device;
            _queue = OpenCLObjectCount.Created(_cl.CreateCommandQueue(device.Context, device.Info.Device, CommandQueueProperties.None, &status));
            ClStatusNames.ThrowIfFailed(status, "clCreateCommandQueue");
            _o = new OpenCLSessionObjects(device, _queue)
            {
                Sizes = (nuint*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(4, (nuint)sizeof(nuint)),
            };
            _xPinned = _o.Buffer(MemFlags.ReadWrite | MemFlags.AllocHostPtr, batchSize * _input);
            _yPinned = _o.Buffer(MemFlags.ReadWrite | MemFlags.AllocHostPtr, batchSize * _output);
            _xHost = Map(_xPinned, batchSize * _input);
            _yHost = Map(_yPinned, batchSize * _output);
            for (int i = 0; i < _layers.Length; i++)
            {
                _layers[i] = network.Layer(i) switch
                {
                    OpenCLRecurrentModule m => _modules[m.Module] = new OpenCLModuleKernels(_o, m, batchSize),
                    OpenCLLinearLayer f => new OpenCLProjection(_o, f.Layer.InputWidth, f.Layer.OutputWidth, f.Weight, f.Bias),
                    _ => new OpenCLElementwise(_o, net.Layers[i].Kind, net.Layers[i].OutputWidth),
                };
            }
            Grow(1);
            Reset();
        }
        catch
        {
            ReleaseAll();
            throw;
        }
    }

    /// <summary>Step: x through the pinned staging buffer up, every layer once, y through the pinned
    /// staging buffer down.</summary>
    internal override void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        x.CopyTo(new Span<float>(_xHost, x.Length));
        Check(_cl.EnqueueWriteBuffer(_queue, _xs, false, 0, (nuint)(4 * x.Length), _xHost, 0, null, null), "clEnqueueWriteBuffer");
        EnqueueNetwork(1);
        Check(_cl.EnqueueReadBuffer(_queue, _ys, true, 0, (nuint)(4 * y.Length), _yHost, 0, null, null), "clEnqueueReadBuffer");
        new ReadOnlySpan<float>(_yHost, y.Length).CopyTo(y);
    }

    /// <summary>A sequence: xs up once, every layer over all steps enqueued back to back, ys down
    /// once (the blocking read is the only wait).</summary>
    internal override void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys)
    {
        if (steps > _capacity) Grow(steps);
        fixed (float* xp = xs)
        fixed (float* yp = ys)
        {
            bool done = false;
            try
            {
                // Non-blocking: xs stays pinned until the blocking read below, which the in-order
                // queue completes after the write.
                Check(_cl.EnqueueWriteBuffer(_queue, _xs, false, 0, (nuint)(4L * xs.Length), xp, 0, null, null), "clEnqueueWriteBuffer");
                EnqueueNetwork(steps);
                Check(_cl.EnqueueReadBuffer(_queue, _ys, true, 0, (nuint)(4L * ys.Length), yp, 0, null, null), "clEnqueueReadBuffer");
                done = true;
            }
            finally
            {
                // After a failed enqueue the device must stop touching xs/ys before they are unpinned.
                if (!done) _cl.Finish(_queue);
            }
        }
    }

    private void EnqueueNetwork(int steps)
    {
        int rows = steps * BatchSize;
        foreach (object layer in _layers)
        {
            switch (layer)
            {
                case OpenCLModuleKernels m: m.Enqueue(steps, _parity); break;
                case OpenCLProjection f: f.Enqueue(rows); break;
                case OpenCLElementwise e: e.Enqueue(rows); break;
            }
        }
        _parity = (_parity + steps) & 1;
    }

    /// <summary>Makes the sequence scratch hold <paramref name="steps"/> steps (rounded up to a power of
    /// two so a slowly growing T does not reallocate every time) and points the kernels at it.</summary>
    private void Grow(int steps)
    {
        int capacity = (int)Math.Min(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)steps), int.MaxValue);
        ReleaseScratch();
        long rows = (long)capacity * BatchSize;
        _xs = _o.Buffer(MemFlags.ReadWrite, rows * _input);
        _ys = _o.Buffer(MemFlags.ReadWrite, rows * _output);
        if (_layers.Length > 1) _between0 = _o.Buffer(MemFlags.ReadWrite, rows * _maxWidth);
        if (_layers.Length > 2) _between1 = _o.Buffer(MemFlags.ReadWrite, rows * _maxWidth);
        if (_maxModuleWidth > 0) _mid0 = _o.Buffer(MemFlags.ReadWrite, rows * _maxModuleWidth);
        if (_modules.Any(m => m.Layers > 2)) _mid1 = _o.Buffer(MemFlags.ReadWrite, rows * _maxModuleWidth);
        _proj = _o.Buffer(MemFlags.ReadWrite, rows * _maxProjection);
        _capacity = capacity;
        for (int i = 0; i < _layers.Length; i++)
        {
            nint input = i == 0 ? _xs : (i - 1) % 2 == 0 ? _between0 : _between1;
            nint output = i == _layers.Length - 1 ? _ys : i % 2 == 0 ? _between0 : _between1;
            switch (_layers[i])
            {
                case OpenCLModuleKernels m: m.Bind(input, output, _mid0, _mid1, _proj); break;
                case OpenCLProjection f: f.Bind(input, output); break;
                case OpenCLElementwise e: e.Bind(input, _xs, output); break;
            }
        }
    }

    public override void Reset()
    {
        float zero = 0;
        foreach (OpenCLModuleKernels m in _modules)
        {
            nuint bytes = (nuint)(4L * m.StateFloats);
            Check(_cl.EnqueueFillBuffer(_queue, m.H(0), &zero, sizeof(float), 0, bytes, 0, null, null), "clEnqueueFillBuffer");
            Check(_cl.EnqueueFillBuffer(_queue, m.H(1), &zero, sizeof(float), 0, bytes, 0, null, null), "clEnqueueFillBuffer");
            if (m.C != 0) Check(_cl.EnqueueFillBuffer(_queue, m.C, &zero, sizeof(float), 0, (nuint)(4L * m.CellFloats), 0, null, null), "clEnqueueFillBuffer");
        }
        Check(_cl.Finish(_queue), "clFinish");
    }

    /// <summary>Every module's h then c, at its offset in the GetState layout; one wait at the end.</summary>
    public override void CopyTo(Span<float> destination)
    {
        fixed (float* d = destination)
        {
            for (int i = 0; i < _modules.Length; i++)
            {
                OpenCLModuleKernels m = _modules[i];
                float* at = d + Model.Network.StateOffset(i, BatchSize);
                nuint bytes = (nuint)(4L * m.StateFloats);
                Check(_cl.EnqueueReadBuffer(_queue, m.H(_parity), false, 0, bytes, at, 0, null, null), "clEnqueueReadBuffer");
                if (m.C != 0) Check(_cl.EnqueueReadBuffer(_queue, m.C, false, 0, (nuint)(4L * m.CellFloats), at + m.StateFloats, 0, null, null), "clEnqueueReadBuffer");
            }
            Check(_cl.Finish(_queue), "clFinish");
        }
    }

    public override void CopyFrom(ReadOnlySpan<float> source)
    {
        fixed (float* s = source)
        {
            for (int i = 0; i < _modules.Length; i++)
            {
                OpenCLModuleKernels m = _modules[i];
                float* at = s + Model.Network.StateOffset(i, BatchSize);
                nuint bytes = (nuint)(4L * m.StateFloats);
                Check(_cl.EnqueueWriteBuffer(_queue, m.H(_parity), false, 0, bytes, at, 0, null, null), "clEnqueueWriteBuffer");
                if (m.C != 0) Check(_cl.EnqueueWriteBuffer(_queue, m.C, false, 0, (nuint)(4L * m.CellFloats), at + m.StateFloats, 0, null, null), "clEnqueueWriteBuffer");
            }
            Check(_cl.Finish(_queue), "clFinish");
        }
    }

    private float* Map(nint buffer, int floats)
    {
        int status;
        void* p = _cl.EnqueueMapBuffer(_queue, buffer, true, MapFlags.Read | MapFlags.Write, 0, (nuint)(4 * Math.Max(1, floats)), 0, null, null, &status);
        ClStatusNames.ThrowIfFailed(status, "clEnqueueMapBuffer");
        return (float*)p;
    }

    private static void Check(int status, string call) => ClStatusNames.ThrowIfFailed(status, call);

    private void ReleaseScratch()
    {
        if (_o is null) return;
        _o.Release(ref _proj);
        _o.Release(ref _mid1);
        _o.Release(ref _mid0);
        _o.Release(ref _between1);
        _o.Release(ref _between0);
        _o.Release(ref _ys);
        _o.Release(ref _xs);
        _capacity = 0;
    }

    /// <summary>Releases in reverse order of creation; every handle is zeroed once released.</summary>
    private void ReleaseAll()
    {
        if (_released) return;
        _released = true;
        if (_queue == 0) return;
        _cl.Finish(_queue);
        if (_o is not null)
        {
            ReleaseScratch();
            _o.ReleaseKernels();
            for (int i = _modules.Length - 1; i >= 0; i--) _modules[i]?.ReleaseBuffers();
            if (_yHost != null) _cl.EnqueueUnmapMemObject(_queue, _yPinned, _yHost, 0, null, null);
            if (_xHost != null) _cl.EnqueueUnmapMemObject(_queue, _xPinned, _xHost, 0, null, null);
            _yHost = _xHost = null;
            _cl.Finish(_queue);
            _o.Release(ref _yPinned);
            _o.Release(ref _xPinned);
            System.Runtime.InteropServices.NativeMemory.Free(_o.Sizes);
        }
        _cl.ReleaseCommandQueue(_queue);
        OpenCLObjectCount.Released();
    }

    protected override void Dispose(bool disposing)
    {
        ReleaseAll();
        base.Dispose(disposing);
    }
}
