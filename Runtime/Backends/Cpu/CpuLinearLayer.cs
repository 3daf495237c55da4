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
/// With several threads a block's product is split by panels (<see cref="CpuPanelProduct{S, TV}"/>)
/// and the epilogue runs on the calling thread after the join; a narrow layer is too small to share.
/// </summary>
internal sealed unsafe class CpuLinearLayer<S, TV> where S : ISimd<TV> where TV : struct
{
    /// <summary>Rows of the product per block: enough for the many-rows tile to run at full rate.</summary>
    public const int RowBlock = 256;

    private readonly PackedMatrix _w;
    private readonly LinearEpilogue _epilogue;
    private readonly bool _narrow;

    public CpuLinearLayer(LinearLayer layer, LinearEpilogue epilogue)
    {
        _w = new PackedMatrix(layer.Weight, layer.Bias, 1, layer.OutputWidth, S.Count);
        _epilogue = epilogue;
        Inputs = layer.InputWidth;
        Outputs = layer.OutputWidth;
        ColumnFloats = _w.PaddedColumns * S.Count;
        // Int8 goes through the panel product even when narrow: its integer kernel is the only int8 arithmetic.
        _narrow = _w.PaddedColumns <= 4 && _w.ElementType != WeightElementType.Int8;
    }

    public int Inputs { get; }
    public int Outputs { get; }

    /// <summary>Floats per row of the padded sums.</summary>
    public int ColumnFloats { get; }

    /// <summary>The most parts its product can be cut into (a narrow layer stays on the calling thread).</summary>
    public int MaxParts => _narrow ? 1 : _w.Panels;

    /// <summary>y (rows, Outputs) dense = epilogue(W x + b) for x (rows, Inputs) with row stride xStride.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Forward(CpuState s, float* x, nint xStride, long rows, float* y)
    {
        nint cf = ColumnFloats;
        float* sums = s.LinearSums(Math.Min(rows, RowBlock) * cf);
        for (long r0 = 0; r0 < rows; r0 += RowBlock)
        {
            int n = (int)Math.Min(RowBlock, rows - r0);
            if (_narrow)
            {
                // Step and Run use the same per-row kernel here, so they stay bit-identical.
                for (int r = 0; r < n; r++)
                {
                    float* xr = x + (r0 + r) * xStride, o = sums + r * cf;
                    switch (_w.ElementType)
                    {
                        case WeightElementType.BFloat16: NarrowRow<BFloat16Weights>(xr, o); break;
                        default: NarrowRow<Float32Weights>(xr, o); break;
                    }
                }
            }
            else CpuPanelProduct<S, TV>.Run(s, _w, x + r0 * xStride, xStride, n, sums, cf);
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

    /// <summary>
    /// One row of a narrow layer (at most 4 column vectors: a head of up to 2V or 4V outputs). The
    /// register tile would give it only TN chains of K dependent FMAs, so FMA latency, not bandwidth,
    /// would set its time (BENCHMARKS.md, "Kernel notes").
    /// Here every column's depth is split into TS interleaved partial sums (TN * TS = 8 chains in
    /// flight), added in a fixed order at the end: ((s0 + s1) + (s2 + s3)), s0 starting at the bias.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void NarrowRow<TW>(float* x, float* o) where TW : IWeightLoad
    {
        if (_w.PaddedColumns == 2) NarrowRow<C2, C4, TW>(x, o);
        else NarrowRow<C4, C2, TW>(x, o);
    }

    /// <summary>(Float32 and bfloat16 only: an int8 layer goes through the integer panel kernel.)</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void NarrowRow<TN, TS, TW>(float* x, float* o) where TN : IConst where TS : IConst where TW : IWeightLoad
    {
        nint V = S.Count, VB = V * TW.Size, ds = _w.DepthStride(0) * TW.Size;   // bytes
        int depth = _w.Depth, step = TS.Value;
        byte* w = _w.Panel(0);
        float* bias = _w.Bias;
        TV s00 = S.Load(bias), s10 = S.Load(bias + V);
        TV s20 = TN.Value > 2 ? S.Load(bias + 2 * V) : S.Zero, s30 = TN.Value > 2 ? S.Load(bias + 3 * V) : S.Zero;
        TV s01 = S.Zero, s11 = S.Zero, s21 = S.Zero, s31 = S.Zero;
        TV s02 = S.Zero, s12 = S.Zero, s03 = S.Zero, s13 = S.Zero;
        int k = 0;
        for (; k + step <= depth; k += step)
        {
            byte* wk = w + k * ds;
            TV x0 = S.Broadcast(x + k), x1 = S.Broadcast(x + k + 1);
            s00 = S.MultiplyAdd(TW.Load<S, TV>(wk), x0, s00);
            s10 = S.MultiplyAdd(TW.Load<S, TV>(wk + VB), x0, s10);
            s01 = S.MultiplyAdd(TW.Load<S, TV>(wk + ds), x1, s01);
            s11 = S.MultiplyAdd(TW.Load<S, TV>(wk + ds + VB), x1, s11);
            if (TN.Value > 2)
            {
                s20 = S.MultiplyAdd(TW.Load<S, TV>(wk + 2 * VB), x0, s20);
                s30 = S.MultiplyAdd(TW.Load<S, TV>(wk + 3 * VB), x0, s30);
                s21 = S.MultiplyAdd(TW.Load<S, TV>(wk + ds + 2 * VB), x1, s21);
                s31 = S.MultiplyAdd(TW.Load<S, TV>(wk + ds + 3 * VB), x1, s31);
            }
            if (TS.Value > 2)
            {
                TV x2 = S.Broadcast(x + k + 2), x3 = S.Broadcast(x + k + 3);
                s02 = S.MultiplyAdd(TW.Load<S, TV>(wk + 2 * ds), x2, s02);
                s12 = S.MultiplyAdd(TW.Load<S, TV>(wk + 2 * ds + VB), x2, s12);
                s03 = S.MultiplyAdd(TW.Load<S, TV>(wk + 3 * ds), x3, s03);
                s13 = S.MultiplyAdd(TW.Load<S, TV>(wk + 3 * ds + VB), x3, s13);
            }
        }
        for (; k < depth; k++)
        {
            byte* wk = w + k * ds;
            TV xk = S.Broadcast(x + k);
            s00 = S.MultiplyAdd(TW.Load<S, TV>(wk), xk, s00);
            s10 = S.MultiplyAdd(TW.Load<S, TV>(wk + VB), xk, s10);
            if (TN.Value > 2)
            {
                s20 = S.MultiplyAdd(TW.Load<S, TV>(wk + 2 * VB), xk, s20);
                s30 = S.MultiplyAdd(TW.Load<S, TV>(wk + 3 * VB), xk, s30);
            }
        }
        if (TS.Value > 2)
        {
            S.Store(o, S.Add(S.Add(s00, s01), S.Add(s02, s03)));
            S.Store(o + V, S.Add(S.Add(s10, s11), S.Add(s12, s13)));
        }
        else
        {
            S.Store(o, S.Add(s00, s01));
            S.Store(o + V, S.Add(s10, s11));
            S.Store(o + 2 * V, S.Add(s20, s21));
            S.Store(o + 3 * V, S.Add(s30, s31));
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
