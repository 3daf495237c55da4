using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RnnRuntime.Backends.Cpu.Plan;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu.Latency;

/// <summary>
/// A small linear layer on the latency kernel: W by column (<see cref="ColumnMatrix"/> with one gate),
/// each row of the input summed by <see cref="LatencyGemv{S, TV}"/> from the bias, then the fused
/// activation <typeparamref name="TAct"/> (identity, or the tanh / relu / sigmoid that followed it in
/// the network) on the way out. Rows go one after another, so Step and Run give the same bits.
/// </summary>
internal sealed unsafe class LatencyLinearStep<S, TV, TAct> : CpuLayerStep, ILatencyLinear
    where S : ISimd<TV> where TV : struct where TAct : struct, IVectorFunction<TV>
{
    private readonly ColumnMatrix _w;
    private readonly float[] _bias;
    private readonly float* _biasPointer;
    private readonly nint[] _kernels;
    private readonly int _outputs;

    public LatencyLinearStep(LinearLayer layer)
    {
        int V = S.Count;
        _outputs = layer.OutputWidth;
        _w = new ColumnMatrix(layer.Weight, V, LatencyGemv<S, TV>.MaxVectors);
        _bias = ColumnMatrix.PinnedRows(layer.Bias, _outputs, V);
        _biasPointer = (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_bias));
        _kernels = new nint[_w.Blocks];
        for (int b = 0; b < _w.Blocks; b++) _kernels[b] = (nint)LatencyGemv<S, TV>.For(_w.BlockVectors[b]);
    }

    /// <summary><paramref name="shapes"/> (a weight-free copy of this layer) with its weights back as a tensor.</summary>
    public LinearLayer WithWeights(LinearLayer shapes) => new(shapes.Index, shapes.Name, _w.ToWeightTensor(), shapes.Bias.ToArray(), shapes.HasBias);

    public override int OutputWidth => _outputs;

    public override string Path => "latency";

    /// <summary>One row of padded sums.</summary>
    public override long ScratchFloats => (long)_w.Vectors * S.Count;

    public override void Step(CpuState s, float* x, nint xStride, float* y) => Rows(s, x, xStride, s.Rows, y);

    public override void Run(CpuState s, float* xs, nint xStride, int steps, float* ys) => Rows(s, xs, xStride, (long)steps * s.Rows, ys);

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Rows(CpuState s, float* x, nint xStride, long rows, float* y)
    {
        int V = S.Count, O = _outputs;
        nint I = _w.Depth;
        float* sums = s.LayerScratch;
        nint[] kernels = _kernels;
        for (long r = 0; r < rows; r++)
        {
            float* xr = x + r * xStride, yr = y + r * O;
            nint offset = 0;
            for (int k = 0; k < kernels.Length; k++)
            {
                var kernel = (delegate*<float*, nint, float*, float*, nint, float*, float*, float*, void>)kernels[k];
                kernel(xr, I, _w.Block(k), null, 0, null, _biasPointer + offset, sums + offset);
                offset += (nint)_w.BlockVectors[k] * V;
            }
            int j = 0;
            for (; j + V <= O; j += V) S.Store(yr + j, TAct.Apply(S.Load(sums + j)));
            if (j < O)
            {
                // The sums are whole vectors: finish the last one there, copy its valid part.
                S.Store(sums + j, TAct.Apply(S.Load(sums + j)));
                PartialVector<S, TV>.CopyTail(sums + j, yr + j, O - j);
            }
        }
    }
}
