using Silk.NET.OpenCL;

namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// One session on an OpenCL device: its own in-order command queue and its own kernel objects (kernel
/// arguments are per kernel object and not thread-safe, and a model is shared by threads), h and c in
/// device memory, and the device scratch of a sequence. h is double-buffered (h_a, h_b): every step
/// of every layer and direction reads one and writes the other, and since each of them takes the same
/// number of steps one parity bit says where the current state is. x and y of a Step travel through
/// pinned host buffers (CL_MEM_ALLOC_HOST_PTR, mapped once for the session's life).
/// Kernel arguments are set once, except the few that change per run (rows, steps, parity) or per
/// step (the step index), and those that name scratch buffers, reset when the scratch grows.
/// Nothing here allocates managed memory after construction, except growing the scratch for a
/// longer sequence than before (device memory; and never on the Step path).
/// </summary>
internal sealed unsafe class OpenCLState : RnnState
{
    // Argument indices of the step kernels (cl/steps.cl).
    private const uint ArgProj = 0, ArgProjStride = 1, ArgProjOff = 2, ArgWeightHh = 3, ArgBiasHn = 4,
        ArgHA = 5, ArgHB = 6, ArgC = 7, ArgHOff = 8, ArgY = 9, ArgYStride = 10, ArgYOff = 11, ArgSteps = 12,
        ArgReverse = 13, ArgParity0 = 14, ArgStep = 15, ArgBatch = 16, ArgHidden = 17, ArgHp = 18,
        ArgLanes = 19, ArgRelu = 20, ArgLocalH = 21, ArgLocalReduce = 22;

    // Argument indices of input_projection (cl/input_projection.cl).
    private const uint ArgA = 0, ArgRows = 1, ArgK = 2, ArgW = 3, ArgN = 4, ArgBias = 5, ArgOut = 6,
        ArgRowsLanes = 7, ArgRowsLocalA = 8, ArgRowsLocalReduce = 9;   // input_projection_rows only

    private readonly OpenCLPreparedRnn _prepared;
    private readonly CL _cl;
    private readonly int _layers, _directions, _hidden, _gates, _input;
    private readonly nint _queue;
    private readonly nint[] _projection;   // [L] input_projection kernels (short sequences, Step)
    private readonly nint[] _blocked;      // [L] input_projection_blocked kernels (M >= 4*TILE rows)
    private readonly nint[] _rows;         // [L] input_projection_rows kernels (M <= 4 rows), 0 where a layer's input does not fit local memory
    private readonly nint[] _step;         // [L*D] step kernels
    private nint _hA, _hB, _c;
    private nint _xPinned, _yPinned;       // ALLOC_HOST_PTR staging, mapped
    private float* _xHost, _yHost;
    private nint _xs, _ys, _mid0, _mid1, _proj; // scratch for `_capacity` steps
    private int _capacity;
    private int _parity;                   // 1: the current h is in h_b
    private readonly nuint* _sizes;        // global[2], local[2] for enqueues: native, so no per-call stackalloc or pinning
    private readonly int _stateFloats;
    private readonly int _batchBlock;      // batch items per step work-group
    private bool _released;

    public OpenCLState(OpenCLPreparedRnn prepared, int batchSize) : base(prepared.Model, batchSize)
    {
        _prepared = prepared;
        _cl = prepared.Api;
        RnnModel model = prepared.Model;
        _layers = model.NumLayers;
        _directions = model.NumDirections;
        _hidden = model.HiddenSize;
        _gates = model.Cell.GateCount();
        _input = model.InputSize;
        _stateFloats = _layers * _directions * batchSize * _hidden;
        _batchBlock = batchSize > 1 ? prepared.MaxBatchBlock : 1;
        _projection = new nint[_layers];
        _blocked = new nint[_layers];
        _rows = new nint[_layers];
        _step = new nint[_layers * _directions];
        _sizes = (nuint*)System.Runtime.InteropServices.NativeMemory.AllocZeroed(4, (nuint)sizeof(nuint));
        try
        {
            int status;
            OpenCLDeviceContext device = prepared.Device;
            _queue = OpenCLObjectCount.Created(_cl.CreateCommandQueue(device.Context, device.Info.Device, CommandQueueProperties.None, &status));
            ClStatusNames.ThrowIfFailed(status, "clCreateCommandQueue");
            _hA = CreateBuffer(MemFlags.ReadWrite, _stateFloats);
            _hB = CreateBuffer(MemFlags.ReadWrite, _stateFloats);
            if (model.Cell == RnnCellKind.Lstm) _c = CreateBuffer(MemFlags.ReadWrite, _stateFloats);
            _xPinned = CreateBuffer(MemFlags.ReadWrite | MemFlags.AllocHostPtr, batchSize * _input);
            _yPinned = CreateBuffer(MemFlags.ReadWrite | MemFlags.AllocHostPtr, batchSize * model.OutputSize);
            _xHost = Map(_xPinned, batchSize * _input);
            _yHost = Map(_yPinned, batchSize * model.OutputSize);

            for (int layer = 0; layer < _layers; layer++)
            {
                _projection[layer] = OpenCLObjectCount.Created(_cl.CreateKernel(device.Program, "input_projection", &status));
                ClStatusNames.ThrowIfFailed(status, "clCreateKernel");
                _blocked[layer] = OpenCLObjectCount.Created(_cl.CreateKernel(device.Program, "input_projection_blocked", &status));
                ClStatusNames.ThrowIfFailed(status, "clCreateKernel");
                SetFixedProjectionArgs(_projection[layer], layer);
                SetFixedProjectionArgs(_blocked[layer], layer);
                int inputWidth = model.Weights(layer, 0).InputSize;
                if (16L * inputWidth + 16L * device.StepWorkGroup <= device.StepLocalBytes)
                {
                    _rows[layer] = OpenCLObjectCount.Created(_cl.CreateKernel(device.Program, "input_projection_rows", &status));
                    ClStatusNames.ThrowIfFailed(status, "clCreateKernel");
                    SetFixedProjectionArgs(_rows[layer], layer);
                    SetInt(_rows[layer], ArgRowsLanes, LanesFor(inputWidth));
                    Check(_cl.SetKernelArg(_rows[layer], ArgRowsLocalA, (nuint)(16 * inputWidth), null), "clSetKernelArg");
                    Check(_cl.SetKernelArg(_rows[layer], ArgRowsLocalReduce, (nuint)(16 * device.StepWorkGroup), null), "clSetKernelArg");
                }
                for (int dir = 0; dir < _directions; dir++)
                {
                    _step[layer * _directions + dir] = OpenCLObjectCount.Created(_cl.CreateKernel(device.Program, prepared.StepKernelName(_batchBlock), &status));
                    ClStatusNames.ThrowIfFailed(status, "clCreateKernel");
                    SetFixedStepArgs(layer, dir);
                }
            }
            Grow(1);
            Reset();
        }
        catch
        {
            Dispose();   // the OpenCL objects made so far, and the base class's host buffers
            throw;
        }
    }

    private int Batch => BatchSize;
    private int OutputWidth => _directions * _hidden;
    private int ProjectionWidth => _directions * _gates * _hidden;

    /// <summary>Step: x through the pinned staging buffer up, one projection and one step kernel per
    /// layer, y through the pinned staging buffer down.</summary>
    public void Step(ReadOnlySpan<float> x, Span<float> y)
    {
        x.CopyTo(new Span<float>(_xHost, x.Length));
        Check(_cl.EnqueueWriteBuffer(_queue, _xs, false, 0, (nuint)(4 * x.Length), _xHost, 0, null, null), "clEnqueueWriteBuffer");
        EnqueueLayers(1);
        Check(_cl.EnqueueReadBuffer(_queue, _ys, true, 0, (nuint)(4 * y.Length), _yHost, 0, null, null), "clEnqueueReadBuffer");
        new ReadOnlySpan<float>(_yHost, y.Length).CopyTo(y);
    }

    /// <summary>A sequence: xs up once, T steps per layer and direction enqueued back to back, ys down
    /// once (the blocking read is the only wait).</summary>
    public void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys)
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
                EnqueueLayers(steps);
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

    private void EnqueueLayers(int steps)
    {
        OpenCLDeviceContext device = _prepared.Device;
        int rows = steps * Batch;
        int tile = device.Tile;
        int wg = device.StepWorkGroup;
        int lanes = Lanes;
        int groups = (_hidden + wg / lanes - 1) / (wg / lanes);
        int parity0 = _parity;
        nuint* global = _sizes, local = _sizes + 2;
        for (int layer = 0; layer < _layers; layer++)
        {
            // Up to 4 rows (a Step): lanes per output column; longer: one work-item per output of a
            // tile; long sequences: 4 x 4 outputs per work-item.
            if (rows <= 4 && _rows[layer] != 0)
            {
                nint projection = _rows[layer];
                int lanesPerColumn = LanesFor(_prepared.Model.Weights(layer, 0).InputSize);
                int columnsPerGroup = wg / lanesPerColumn;
                SetInt(projection, ArgRows, rows);
                global[0] = (nuint)((ProjectionWidth + columnsPerGroup - 1) / columnsPerGroup * wg);
                local[0] = (nuint)wg;
                Check(_cl.EnqueueNdrangeKernel(_queue, projection, 1, null, global, local, 0, null, null), "clEnqueueNDRangeKernel(input_projection_rows)");
            }
            else
            {
                bool blocked = rows >= 4 * tile;
                nint projection = blocked ? _blocked[layer] : _projection[layer];
                int span = blocked ? 4 * tile : tile;
                SetInt(projection, ArgRows, rows);
                global[0] = (nuint)((ProjectionWidth + span - 1) / span * tile);
                global[1] = (nuint)((rows + span - 1) / span * tile);
                local[0] = local[1] = (nuint)tile;
                Check(_cl.EnqueueNdrangeKernel(_queue, projection, 2, null, global, local, 0, null, null), "clEnqueueNDRangeKernel(input_projection)");
            }

            global[0] = (nuint)(groups * wg);
            global[1] = (nuint)((Batch + _batchBlock - 1) / _batchBlock);
            local[0] = (nuint)wg;
            local[1] = 1;
            for (int dir = 0; dir < _directions; dir++)
            {
                nint kernel = _step[layer * _directions + dir];
                SetInt(kernel, ArgSteps, steps);
                SetInt(kernel, ArgParity0, parity0);
                for (int s = 0; s < steps; s++)
                {
                    SetInt(kernel, ArgStep, s);
                    Check(_cl.EnqueueNdrangeKernel(_queue, kernel, 2, null, global, local, 0, null, null), "clEnqueueNDRangeKernel(step)");
                }
            }
        }
        _parity = (parity0 + steps) & 1;
    }

    /// <summary>Work-items per W_hh row: enough float4s to go around, at most the SIMD width.</summary>
    private int Lanes => LanesFor(_prepared.PaddedHidden / 4);

    /// <summary>Work-items that share a row of <paramref name="words"/> loads: a power of two, at most the SIMD width.</summary>
    private int LanesFor(int words)
    {
        int lanes = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, words));
        return Math.Min(lanes, _prepared.Device.LaneLimit);
    }

    private void SetFixedProjectionArgs(nint k, int layer)
    {
        SetInt(k, ArgK, _prepared.Model.Weights(layer, 0).InputSize);
        SetBuffer(k, ArgW, _prepared.WeightIh(layer));
        SetInt(k, ArgN, ProjectionWidth);
        SetBuffer(k, ArgBias, _prepared.BiasInput(layer));
    }

    private void SetFixedStepArgs(int layer, int dir)
    {
        nint k = _step[layer * _directions + dir];
        SetInt(k, ArgProjStride, ProjectionWidth);
        SetInt(k, ArgProjOff, dir * _gates * _hidden);
        SetBuffer(k, ArgWeightHh, _prepared.WeightHh(layer, dir));
        SetBuffer(k, ArgBiasHn, _prepared.BiasHn(layer, dir));
        SetBuffer(k, ArgHA, _hA);
        SetBuffer(k, ArgHB, _hB);
        SetBuffer(k, ArgC, _c);
        SetInt(k, ArgHOff, (layer * _directions + dir) * Batch * _hidden);
        SetInt(k, ArgYStride, OutputWidth);
        SetInt(k, ArgYOff, dir * _hidden);
        SetInt(k, ArgReverse, dir);
        SetInt(k, ArgBatch, Batch);
        SetInt(k, ArgHidden, _hidden);
        SetInt(k, ArgHp, _prepared.PaddedHidden);
        SetInt(k, ArgLanes, Lanes);
        SetInt(k, ArgRelu, _prepared.Model.Nonlinearity == RnnNonlinearity.Relu ? 1 : 0);
        Check(_cl.SetKernelArg(k, ArgLocalH, (nuint)(4 * _batchBlock * _prepared.PaddedHidden), null), "clSetKernelArg");
        Check(_cl.SetKernelArg(k, ArgLocalReduce, (nuint)(16 * _batchBlock * _prepared.Device.StepWorkGroup), null), "clSetKernelArg");
    }

    /// <summary>Makes the sequence scratch hold <paramref name="steps"/> steps (rounded up to a power of
    /// two so a slowly growing T does not reallocate every time) and points the kernels at it.</summary>
    private void Grow(int steps)
    {
        int capacity = (int)Math.Min(System.Numerics.BitOperations.RoundUpToPowerOf2((uint)steps), int.MaxValue);
        ReleaseScratch();
        long rows = (long)capacity * Batch;
        _xs = CreateBuffer(MemFlags.ReadWrite, rows * _input);
        _ys = CreateBuffer(MemFlags.ReadWrite, rows * OutputWidth);
        if (_layers > 1) _mid0 = CreateBuffer(MemFlags.ReadWrite, rows * OutputWidth);
        if (_layers > 2) _mid1 = CreateBuffer(MemFlags.ReadWrite, rows * OutputWidth);
        _proj = CreateBuffer(MemFlags.ReadWrite, rows * ProjectionWidth);
        _capacity = capacity;
        for (int layer = 0; layer < _layers; layer++)
        {
            nint input = layer == 0 ? _xs : (layer - 1) % 2 == 0 ? _mid0 : _mid1;
            nint output = layer == _layers - 1 ? _ys : layer % 2 == 0 ? _mid0 : _mid1;
            foreach (nint projection in (ReadOnlySpan<nint>)[_projection[layer], _blocked[layer], _rows[layer]])
            {
                if (projection == 0) continue;
                SetBuffer(projection, ArgA, input);
                SetBuffer(projection, ArgOut, _proj);
            }
            for (int dir = 0; dir < _directions; dir++)
            {
                nint k = _step[layer * _directions + dir];
                SetBuffer(k, ArgProj, _proj);
                SetBuffer(k, ArgY, output);
            }
        }
    }

    public override void Reset()
    {
        float zero = 0;
        nuint bytes = (nuint)(4L * _stateFloats);
        Check(_cl.EnqueueFillBuffer(_queue, _hA, &zero, sizeof(float), 0, bytes, 0, null, null), "clEnqueueFillBuffer");
        Check(_cl.EnqueueFillBuffer(_queue, _hB, &zero, sizeof(float), 0, bytes, 0, null, null), "clEnqueueFillBuffer");
        if (_c != 0) Check(_cl.EnqueueFillBuffer(_queue, _c, &zero, sizeof(float), 0, bytes, 0, null, null), "clEnqueueFillBuffer");
        Check(_cl.Finish(_queue), "clFinish");
    }

    public override void CopyTo(Span<float> destination)
    {
        nuint bytes = (nuint)(4L * _stateFloats);
        fixed (float* d = destination)
        {
            Check(_cl.EnqueueReadBuffer(_queue, CurrentH, _c == 0, 0, bytes, d, 0, null, null), "clEnqueueReadBuffer");
            if (_c != 0) Check(_cl.EnqueueReadBuffer(_queue, _c, true, 0, bytes, d + _stateFloats, 0, null, null), "clEnqueueReadBuffer");
        }
    }

    public override void CopyFrom(ReadOnlySpan<float> source)
    {
        nuint bytes = (nuint)(4L * _stateFloats);
        fixed (float* s = source)
        {
            Check(_cl.EnqueueWriteBuffer(_queue, CurrentH, _c == 0, 0, bytes, s, 0, null, null), "clEnqueueWriteBuffer");
            if (_c != 0) Check(_cl.EnqueueWriteBuffer(_queue, _c, true, 0, bytes, s + _stateFloats, 0, null, null), "clEnqueueWriteBuffer");
        }
    }

    private nint CurrentH => _parity == 0 ? _hA : _hB;

    private nint CreateBuffer(MemFlags flags, long floats)
    {
        int status;
        nint buffer = _cl.CreateBuffer(_prepared.Device.Context, flags, (nuint)(4 * Math.Max(1, floats)), null, &status);
        ClStatusNames.ThrowIfFailed(status, "clCreateBuffer");
        return OpenCLObjectCount.Created(buffer);
    }

    private float* Map(nint buffer, int floats)
    {
        int status;
        void* p = _cl.EnqueueMapBuffer(_queue, buffer, true, MapFlags.Read | MapFlags.Write, 0, (nuint)(4 * Math.Max(1, floats)), 0, null, null, &status);
        ClStatusNames.ThrowIfFailed(status, "clEnqueueMapBuffer");
        return (float*)p;
    }

    private void SetInt(nint kernel, uint index, int value) =>
        Check(_cl.SetKernelArg(kernel, index, sizeof(int), &value), "clSetKernelArg");

    private void SetBuffer(nint kernel, uint index, nint buffer) =>
        Check(_cl.SetKernelArg(kernel, index, (nuint)sizeof(nint), &buffer), "clSetKernelArg");

    private static void Check(int status, string call) => ClStatusNames.ThrowIfFailed(status, call);

    private void ReleaseScratch()
    {
        Release(ref _proj);
        Release(ref _mid1);
        Release(ref _mid0);
        Release(ref _ys);
        Release(ref _xs);
        _capacity = 0;
    }

    private void Release(ref nint buffer)
    {
        if (buffer == 0) return;
        _cl.ReleaseMemObject(buffer);
        OpenCLObjectCount.Released();
        buffer = 0;
    }

    private void ReleaseKernel(ref nint kernel)
    {
        if (kernel == 0) return;
        _cl.ReleaseKernel(kernel);
        OpenCLObjectCount.Released();
        kernel = 0;
    }

    /// <summary>Releases in reverse order of creation; every handle is zeroed once released.</summary>
    private void ReleaseAll()
    {
        if (_released) return;
        _released = true;
        if (_queue != 0) _cl.Finish(_queue);
        ReleaseScratch();
        for (int i = _step.Length - 1; i >= 0; i--)
        {
            ReleaseKernel(ref _step[i]);
        }
        for (int i = _projection.Length - 1; i >= 0; i--)
        {
            ReleaseKernel(ref _rows[i]);
            ReleaseKernel(ref _blocked[i]);
            ReleaseKernel(ref _projection[i]);
        }
        if (_yHost != null) _cl.EnqueueUnmapMemObject(_queue, _yPinned, _yHost, 0, null, null);
        if (_xHost != null) _cl.EnqueueUnmapMemObject(_queue, _xPinned, _xHost, 0, null, null);
        _yHost = _xHost = null;
        if (_queue != 0) _cl.Finish(_queue);
        Release(ref _yPinned);
        Release(ref _xPinned);
        Release(ref _c);
        Release(ref _hB);
        Release(ref _hA);
        if (_queue != 0)
        {
            _cl.ReleaseCommandQueue(_queue);
            OpenCLObjectCount.Released();
        }
        System.Runtime.InteropServices.NativeMemory.Free(_sizes);
    }

    protected override void Dispose(bool disposing)
    {
        ReleaseAll();
        base.Dispose(disposing);
    }
}
