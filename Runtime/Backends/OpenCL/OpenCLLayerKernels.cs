using Silk.NET.OpenCL;

namespace RnnRuntime.Backends.OpenCL;

/// <summary>
/// The OpenCL objects one session owns, on its own queue: kernels (their arguments are per kernel
/// object and not thread-safe, and a model is shared by threads) and buffers, each counted and
/// released once, in reverse order of creation.
/// </summary>
internal unsafe class OpenCLSessionObjects(OpenCLDeviceContext device, nint queue)
{
    private readonly List<nint> _kernels = [];

    public OpenCLDeviceContext Device => device;
    public CL Api => device.Api;
    public nint Queue => queue;

    /// <summary>global[2], local[2] for enqueues: native, so no per-call stackalloc or pinning.</summary>
    public nuint* Sizes;

    public nint Kernel(string name)
    {
        int status;
        nint kernel = OpenCLObjectCount.Created(Api.CreateKernel(device.Program, name, &status));
        ClStatusNames.ThrowIfFailed(status, "clCreateKernel");
        _kernels.Add(kernel);
        return kernel;
    }

    public nint Buffer(MemFlags flags, long floats)
    {
        int status;
        nint buffer = Api.CreateBuffer(device.Context, flags, (nuint)(4 * Math.Max(1, floats)), null, &status);
        ClStatusNames.ThrowIfFailed(status, "clCreateBuffer");
        return OpenCLObjectCount.Created(buffer);
    }

    public void Release(ref nint buffer)
    {
        if (buffer == 0) return;
        Api.ReleaseMemObject(buffer);
        OpenCLObjectCount.Released();
        buffer = 0;
    }

    public void SetInt(nint kernel, uint index, int value) => Check(Api.SetKernelArg(kernel, index, sizeof(int), &value), "clSetKernelArg");

    public void SetBuffer(nint kernel, uint index, nint buffer) => Check(Api.SetKernelArg(kernel, index, (nuint)sizeof(nint), &buffer), "clSetKernelArg");

    public void SetLocal(nint kernel, uint index, long bytes) => Check(Api.SetKernelArg(kernel, index, (nuint)bytes, null), "clSetKernelArg");

    public void Enqueue(nint kernel, uint dims, string what) =>
        Check(Api.EnqueueNdrangeKernel(queue, kernel, dims, null, Sizes, Sizes + 2, 0, null, null), what);

    public static void Check(int status, string call) => ClStatusNames.ThrowIfFailed(status, call);

    /// <summary>Work-items that share a row of <paramref name="words"/> loads: a power of two, at most the SIMD width.</summary>
    public int LanesFor(int words)
    {
        int lanes = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, words));
        return Math.Min(lanes, device.LaneLimit);
    }

    public void ReleaseKernels()
    {
        for (int i = _kernels.Count - 1; i >= 0; i--)
        {
            Api.ReleaseKernel(_kernels[i]);
            OpenCLObjectCount.Released();
        }
        _kernels.Clear();
    }
}

/// <summary>
/// c = a W^T + bias for `rows` rows of a (cl/input_projection.cl): a recurrent module's input
/// projection or a linear layer. Up to 4 rows (a Step): lanes per output column; longer: one
/// work-item per output of a tile; long sequences: 4 x 4 outputs per work-item.
/// </summary>
internal sealed class OpenCLProjection
{
    // Argument indices of the input_projection kernels.
    private const uint ArgA = 0, ArgRows = 1, ArgK = 2, ArgW = 3, ArgN = 4, ArgBias = 5, ArgOut = 6,
        ArgRowsLanes = 7, ArgRowsLocalA = 8, ArgRowsLocalReduce = 9;   // input_projection_rows only

    private readonly OpenCLSessionObjects _o;
    private readonly nint _plain, _blocked, _rows;   // _rows is 0 where a row of a does not fit local memory
    private readonly int _k, _n, _lanes;

    public OpenCLProjection(OpenCLSessionObjects o, int k, int n, nint weight, nint bias)
    {
        _o = o;
        _k = k;
        _n = n;
        _plain = o.Kernel("input_projection");
        _blocked = o.Kernel("input_projection_blocked");
        OpenCLDeviceContext device = o.Device;
        if (16L * k + 16L * device.StepWorkGroup <= device.StepLocalBytes)
        {
            _rows = o.Kernel("input_projection_rows");
            _lanes = o.LanesFor(k);
            o.SetInt(_rows, ArgRowsLanes, _lanes);
            o.SetLocal(_rows, ArgRowsLocalA, 16L * k);
            o.SetLocal(_rows, ArgRowsLocalReduce, 16L * device.StepWorkGroup);
        }
        foreach (nint kernel in (ReadOnlySpan<nint>)[_plain, _blocked, _rows])
        {
            if (kernel == 0) continue;
            o.SetInt(kernel, ArgK, k);
            o.SetBuffer(kernel, ArgW, weight);
            o.SetInt(kernel, ArgN, n);
            o.SetBuffer(kernel, ArgBias, bias);
        }
    }

    public void Bind(nint input, nint output)
    {
        foreach (nint kernel in (ReadOnlySpan<nint>)[_plain, _blocked, _rows])
        {
            if (kernel == 0) continue;
            _o.SetBuffer(kernel, ArgA, input);
            _o.SetBuffer(kernel, ArgOut, output);
        }
    }

    public unsafe void Enqueue(int rows)
    {
        OpenCLDeviceContext device = _o.Device;
        nuint* global = _o.Sizes, local = _o.Sizes + 2;
        if (rows <= 4 && _rows != 0)
        {
            int wg = device.StepWorkGroup, columnsPerGroup = wg / _lanes;
            _o.SetInt(_rows, ArgRows, rows);
            global[0] = (nuint)((_n + columnsPerGroup - 1) / columnsPerGroup * wg);
            local[0] = (nuint)wg;
            _o.Enqueue(_rows, 1, "clEnqueueNDRangeKernel(input_projection_rows)");
            return;
        }
        int tile = device.Tile;
        bool blocked = rows >= 4 * tile;
        nint kernel = blocked ? _blocked : _plain;
        int span = blocked ? 4 * tile : tile;
        _o.SetInt(kernel, ArgRows, rows);
        global[0] = (nuint)((_n + span - 1) / span * tile);
        global[1] = (nuint)((rows + span - 1) / span * tile);
        local[0] = local[1] = (nuint)tile;
        _o.Enqueue(kernel, 2, "clEnqueueNDRangeKernel(input_projection)");
    }
}

/// <summary>tanh, relu, sigmoid or add_input over n floats (cl/elementwise.cl).</summary>
internal sealed class OpenCLElementwise
{
    private const uint ArgX = 0, ArgInput = 1, ArgY = 2, ArgN = 3, ArgKind = 4;
    private const int Workgroup = 64;

    private readonly OpenCLSessionObjects _o;
    private readonly nint _kernel;
    private readonly int _width;

    public OpenCLElementwise(OpenCLSessionObjects o, Model.LayerKind kind, int width)
    {
        _o = o;
        _width = width;
        _kernel = o.Kernel("elementwise");
        o.SetInt(_kernel, ArgKind, kind switch
        {
            Model.LayerKind.Tanh => 0,
            Model.LayerKind.Relu => 1,
            Model.LayerKind.Sigmoid => 2,
            Model.LayerKind.AddInput => 3,
            _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not an elementwise layer"),
        });
    }

    public void Bind(nint x, nint networkInput, nint y)
    {
        _o.SetBuffer(_kernel, ArgX, x);
        _o.SetBuffer(_kernel, ArgInput, networkInput);
        _o.SetBuffer(_kernel, ArgY, y);
    }

    public unsafe void Enqueue(int rows)
    {
        int n = rows * _width;
        _o.SetInt(_kernel, ArgN, n);
        _o.Sizes[0] = (nuint)((n + Workgroup - 1) / Workgroup * Workgroup);
        _o.Sizes[2] = Workgroup;
        _o.Enqueue(_kernel, 1, "clEnqueueNDRangeKernel(elementwise)");
    }
}
