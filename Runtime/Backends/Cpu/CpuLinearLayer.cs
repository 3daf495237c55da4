using System.Runtime.CompilerServices;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu;

/// <summary>What a linear layer's epilogue applies to W x + b before it stores the row: an activation
/// that followed it in the network, fused here so the value is written once.</summary>
internal enum LinearEpilogue
{
    Identity,
    Tanh,
    Relu,
    Sigmoid,
}

/// <summary>
/// nn.Linear on the CPU: the same packed panels and register-tiled product as the gates
/// (<see cref="PackedMatrix"/> with one gate, <see cref="MatMulTile{S, TV}"/>), the bias as the
/// accumulators' start, then the epilogue (identity or the fused activation) writes each row out.
/// A Step computes B rows; a Run computes all T*B rows at once, in blocks of <see cref="RowBlock"/>
/// rows so that the padded sums stay in cache between the product and the epilogue.
/// </summary>
internal sealed unsafe class CpuLinearLayer<S, TV> where S : ISimd<TV> where TV : struct
{
    /// <summary>Rows of the product per block: enough for the many-rows tile to run at full rate.</summary>
    public const int RowBlock = 256;

    private readonly PackedMatrix _w;
    private readonly LinearEpilogue _epilogue;

    public CpuLinearLayer(LinearLayer layer, LinearEpilogue epilogue)
    {
        _w = new PackedMatrix(layer.Weight, layer.Bias, 1, layer.OutputWidth, S.Count);
        _epilogue = epilogue;
        Inputs = layer.InputWidth;
        Outputs = layer.OutputWidth;
        ColumnFloats = _w.PaddedColumns * S.Count;
    }

    public int Inputs { get; }
    public int Outputs { get; }

    /// <summary>Floats per row of the padded sums.</summary>
    public int ColumnFloats { get; }

    /// <summary>y (rows, Outputs) dense = epilogue(W x + b) for x (rows, Inputs) with row stride xStride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(CpuState s, float* x, nint xStride, long rows, float* y)
    {
        nint cf = ColumnFloats;
        float* sums = s.LinearSums(Math.Min(rows, RowBlock) * cf);
        for (long r0 = 0; r0 < rows; r0 += RowBlock)
        {
            int n = (int)Math.Min(RowBlock, rows - r0);
            for (int p = 0; p < _w.Panels; p++)
                MatMulTile<S, TV>.Panel(_w, p, x + r0 * xStride, xStride, n, sums, cf);
            float* out0 = y + r0 * Outputs;
            switch (_epilogue)
            {
                case LinearEpilogue.Tanh: Store<CpuActivation<S, TV>.Tanh>(sums, n, out0); break;
                case LinearEpilogue.Relu: Store<CpuActivation<S, TV>.Relu>(sums, n, out0); break;
                case LinearEpilogue.Sigmoid: Store<CpuActivation<S, TV>.Sigmoid>(sums, n, out0); break;
                default: Store<CpuActivation<S, TV>.Identity>(sums, n, out0); break;
            }
        }
    }

    /// <summary>Each padded row of sums through the activation into its dense row of y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Store<TAct>(float* sums, int rows, float* y) where TAct : struct, IVectorFunction<TV>
    {
        int V = S.Count, width = Outputs;
        nint cf = ColumnFloats;
        for (int r = 0; r < rows; r++)
        {
            float* src = sums + r * cf, dst = y + (nint)r * width;
            int j = 0;
            for (; j + V <= width; j += V) S.Store(dst + j, TAct.Apply(S.Load(src + j)));
            if (j < width)
            {
                // The padded row has whole vectors: compute the last one there, copy its valid part.
                S.Store(src + j, TAct.Apply(S.Load(src + j)));
                new ReadOnlySpan<float>(src + j, width - j).CopyTo(new Span<float>(dst + j, width - j));
            }
        }
    }

    public void Dispose() => _w.Dispose();
}
