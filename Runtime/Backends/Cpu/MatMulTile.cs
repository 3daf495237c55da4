using System.Runtime.CompilerServices;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// The one matrix kernel every CPU product goes through: the input projection of a whole sequence
/// (T*B rows), the input projection of one step (B rows) and the recurrent product (B rows of h).
/// It computes a register tile of TB rows x TN column vectors of out = bias + x * W over the full depth
/// K, streaming one panel of a <see cref="PackedMatrix"/>: per k, TN vector loads and TB broadcasts
/// feed TN*TB fused multiply-adds. Shapes: TB = 1 with TN &lt;= 8 (batch-1 steps: 8 independent
/// accumulators hide the FMA latency while the weights stream by), TB = 2 with TN &lt;= 4, and
/// TB &lt;= 6 with TN &lt;= 2 (the 6x2 tile of BLIS's Haswell kernel: 12 accumulators, 2 weight
/// vectors and one broadcast fit the 16 AVX2 registers).
/// Every accumulator sums k = 0..K-1 in order from its bias, whatever the tile shape, so a step and a
/// sequence compute bit-identical results.
/// </summary>
internal static unsafe class MatMulTile<S, TV> where S : ISimd<TV> where TV : struct
{
    /// <summary>
    /// Panel <paramref name="p"/> of <paramref name="m"/> for <paramref name="rows"/> rows of x:
    /// out[r * outStride + c*V .. ] for the panel's column vectors c.
    /// </summary>
    public static void Panel(PackedMatrix m, int p, float* x, nint xStride, int rows, float* o, nint oStride)
    {
        int V = S.Count;
        int width = m.WidthOf(p), depth = m.Depth;
        nint first = (nint)p * PackedMatrix.PanelWidth * V;
        float* w = m.Panel(p), bias = m.Bias + first;
        nint wStride = (nint)width * V;
        o += first;
        if (rows == 1)
        {
            Dispatch(width, 1, x, xStride, depth, w, wStride, bias, o, oStride);
            return;
        }
        int slice = rows == 2 ? 4 : 2;
        for (int c0 = 0; c0 < width; c0 += slice)
        {
            int tn = Math.Min(slice, width - c0);
            nint cOff = (nint)c0 * V;
            for (int r = 0; r < rows; r += 6)
            {
                int tb = Math.Min(6, rows - r);
                Dispatch(tn, tb, x + r * xStride, xStride, depth, w + cOff, wStride, bias + cOff, o + r * oStride + cOff, oStride);
            }
        }
    }

    private static void Dispatch(int tn, int tb, float* x, nint xStride, int depth, float* w, nint wStride, float* bias, float* o, nint oStride)
    {
        switch (tb)
        {
            case 1:
                switch (tn)
                {
                    case 1: Tile<C1, C1>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 2: Tile<C2, C1>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 3: Tile<C3, C1>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 4: Tile<C4, C1>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 5: Tile<C5, C1>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 6: Tile<C6, C1>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 7: Tile<C7, C1>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 8: Tile<C8, C1>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                }
                break;
            case 2:
                switch (tn)
                {
                    case 1: Tile<C1, C2>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 2: Tile<C2, C2>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 3: Tile<C3, C2>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 4: Tile<C4, C2>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                }
                break;
            default:
                switch (tb * 8 + tn)
                {
                    case 25: Tile<C1, C3>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 26: Tile<C2, C3>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 33: Tile<C1, C4>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 34: Tile<C2, C4>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 41: Tile<C1, C5>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 42: Tile<C2, C5>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 49: Tile<C1, C6>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                    case 50: Tile<C2, C6>(x, xStride, depth, w, wStride, bias, o, oStride); return;
                }
                break;
        }
        throw new InvalidOperationException($"no {tb}x{tn} tile");
    }

    private static void Tile<TN, TB>(float* x, nint xStride, int depth, float* w, nint wStride, float* bias, float* o, nint oStride)
        where TN : IConst where TB : IConst
    {
        nint V = S.Count;
        TV a00 = S.Load(bias);
        TV a01 = TN.Value > 1 ? S.Load(bias + 1 * V) : S.Zero;
        TV a02 = TN.Value > 2 ? S.Load(bias + 2 * V) : S.Zero;
        TV a03 = TN.Value > 3 ? S.Load(bias + 3 * V) : S.Zero;
        TV a04 = TN.Value > 4 ? S.Load(bias + 4 * V) : S.Zero;
        TV a05 = TN.Value > 5 ? S.Load(bias + 5 * V) : S.Zero;
        TV a06 = TN.Value > 6 ? S.Load(bias + 6 * V) : S.Zero;
        TV a07 = TN.Value > 7 ? S.Load(bias + 7 * V) : S.Zero;
        TV a10 = TB.Value > 1 ? S.Load(bias) : S.Zero;
        TV a11 = TB.Value > 1 && TN.Value > 1 ? S.Load(bias + 1 * V) : S.Zero;
        TV a12 = TB.Value > 1 && TN.Value > 2 ? S.Load(bias + 2 * V) : S.Zero;
        TV a13 = TB.Value > 1 && TN.Value > 3 ? S.Load(bias + 3 * V) : S.Zero;
        TV a20 = TB.Value > 2 ? S.Load(bias) : S.Zero;
        TV a21 = TB.Value > 2 && TN.Value > 1 ? S.Load(bias + 1 * V) : S.Zero;
        TV a30 = TB.Value > 3 ? S.Load(bias) : S.Zero;
        TV a31 = TB.Value > 3 && TN.Value > 1 ? S.Load(bias + 1 * V) : S.Zero;
        TV a40 = TB.Value > 4 ? S.Load(bias) : S.Zero;
        TV a41 = TB.Value > 4 && TN.Value > 1 ? S.Load(bias + 1 * V) : S.Zero;
        TV a50 = TB.Value > 5 ? S.Load(bias) : S.Zero;
        TV a51 = TB.Value > 5 && TN.Value > 1 ? S.Load(bias + 1 * V) : S.Zero;
        float* xk = x;
        float* wk = w;
        for (nint k = 0; k < depth; k++, xk++, wk += wStride)
        {
            if (TB.Value == 1)
            {
                TV b0 = S.Broadcast(xk);
                a00 = S.MultiplyAdd(S.Load(wk), b0, a00);
                if (TN.Value > 1) a01 = S.MultiplyAdd(S.Load(wk + 1 * V), b0, a01);
                if (TN.Value > 2) a02 = S.MultiplyAdd(S.Load(wk + 2 * V), b0, a02);
                if (TN.Value > 3) a03 = S.MultiplyAdd(S.Load(wk + 3 * V), b0, a03);
                if (TN.Value > 4) a04 = S.MultiplyAdd(S.Load(wk + 4 * V), b0, a04);
                if (TN.Value > 5) a05 = S.MultiplyAdd(S.Load(wk + 5 * V), b0, a05);
                if (TN.Value > 6) a06 = S.MultiplyAdd(S.Load(wk + 6 * V), b0, a06);
                if (TN.Value > 7) a07 = S.MultiplyAdd(S.Load(wk + 7 * V), b0, a07);
            }
            else
            {
                TV w0 = S.Load(wk);
                TV w1 = TN.Value > 1 ? S.Load(wk + V) : S.Zero;
                TV w2 = TN.Value > 2 ? S.Load(wk + 2 * V) : S.Zero;
                TV w3 = TN.Value > 3 ? S.Load(wk + 3 * V) : S.Zero;
                {
                    TV b0 = S.Broadcast(xk);
                    a00 = S.MultiplyAdd(w0, b0, a00);
                    if (TN.Value > 1) a01 = S.MultiplyAdd(w1, b0, a01);
                    if (TN.Value > 2) a02 = S.MultiplyAdd(w2, b0, a02);
                    if (TN.Value > 3) a03 = S.MultiplyAdd(w3, b0, a03);
                }
                if (TB.Value > 1)
                {
                    TV b1 = S.Broadcast(xk + 1 * xStride);
                    a10 = S.MultiplyAdd(w0, b1, a10);
                    if (TN.Value > 1) a11 = S.MultiplyAdd(w1, b1, a11);
                    if (TN.Value > 2) a12 = S.MultiplyAdd(w2, b1, a12);
                    if (TN.Value > 3) a13 = S.MultiplyAdd(w3, b1, a13);
                }
                if (TB.Value > 2)
                {
                    TV b2 = S.Broadcast(xk + 2 * xStride);
                    a20 = S.MultiplyAdd(w0, b2, a20);
                    if (TN.Value > 1) a21 = S.MultiplyAdd(w1, b2, a21);
                }
                if (TB.Value > 3)
                {
                    TV b3 = S.Broadcast(xk + 3 * xStride);
                    a30 = S.MultiplyAdd(w0, b3, a30);
                    if (TN.Value > 1) a31 = S.MultiplyAdd(w1, b3, a31);
                }
                if (TB.Value > 4)
                {
                    TV b4 = S.Broadcast(xk + 4 * xStride);
                    a40 = S.MultiplyAdd(w0, b4, a40);
                    if (TN.Value > 1) a41 = S.MultiplyAdd(w1, b4, a41);
                }
                if (TB.Value > 5)
                {
                    TV b5 = S.Broadcast(xk + 5 * xStride);
                    a50 = S.MultiplyAdd(w0, b5, a50);
                    if (TN.Value > 1) a51 = S.MultiplyAdd(w1, b5, a51);
                }
            }
        }

        S.Store(o, a00);
        if (TN.Value > 1) S.Store(o + 1 * V, a01);
        if (TN.Value > 2) S.Store(o + 2 * V, a02);
        if (TN.Value > 3) S.Store(o + 3 * V, a03);
        if (TN.Value > 4) S.Store(o + 4 * V, a04);
        if (TN.Value > 5) S.Store(o + 5 * V, a05);
        if (TN.Value > 6) S.Store(o + 6 * V, a06);
        if (TN.Value > 7) S.Store(o + 7 * V, a07);
        if (TB.Value > 1)
        {
            float* o1 = o + 1 * oStride;
            S.Store(o1, a10);
            if (TN.Value > 1) S.Store(o1 + 1 * V, a11);
            if (TN.Value > 2) S.Store(o1 + 2 * V, a12);
            if (TN.Value > 3) S.Store(o1 + 3 * V, a13);
        }
        if (TB.Value > 2)
        {
            float* o2 = o + 2 * oStride;
            S.Store(o2, a20);
            if (TN.Value > 1) S.Store(o2 + 1 * V, a21);
        }
        if (TB.Value > 3)
        {
            float* o3 = o + 3 * oStride;
            S.Store(o3, a30);
            if (TN.Value > 1) S.Store(o3 + 1 * V, a31);
        }
        if (TB.Value > 4)
        {
            float* o4 = o + 4 * oStride;
            S.Store(o4, a40);
            if (TN.Value > 1) S.Store(o4 + 1 * V, a41);
        }
        if (TB.Value > 5)
        {
            float* o5 = o + 5 * oStride;
            S.Store(o5, a50);
            if (TN.Value > 1) S.Store(o5 + 1 * V, a51);
        }
    }
}
