using System.Runtime.CompilerServices;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// The int8 product: the integer method. Each row of x is quantised to int16 once per product
/// (<see cref="WeightTensor.QuantiseInput"/>: dynamic, symmetric, one scale s_x per row), the
/// weights stay int8 in memory and are widened to int16 in registers, and vpmaddwd sums two depths
/// per int32 lane (32 multiply-adds per 512-bit instruction) in exact integer arithmetic; the
/// last depth block ends with fma(float(sum), scale_row * s_x, bias). It beat widening int8 to
/// float32 and FMA, which costs two more instructions per vector of weights (BENCHMARKS.md, "Which
/// int8 method won").
/// <para>
/// Integer sums do not depend on order, so every tile shape, depth block and thread split gives the
/// same bits, and so do a Step and a Run (the quantisation is a function of the row alone).
/// Tile shapes, rows x column vectors: 1 x 2..8 (batch 1), 2 x 2..4 (two rows) and 3..6 x 2 for
/// many rows at every width (not the float kernel's wider many-rows strip with AVX-512).
/// </para>
/// </summary>
internal static unsafe class MatMulTileInt8<S, TV> where S : ISimd<TV> where TV : struct
{
    /// <summary>
    /// The rows of x quantised for <paramref name="m"/> (see <see cref="MatMulTile{S, TV}.Input"/>) into
    /// <paramref name="xq"/> (rows x StoredDepth int16; a zero pads an odd depth) and <paramref name="sx"/>
    /// (one s_x per row).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static PanelInput Quantise(PackedMatrix m, float* x, nint xStride, int rows, short* xq, float* sx)
    {
        int depth = m.Depth, stored = m.StoredDepth;
        int limit = WeightTensor.Int8InputLimit(depth);
        for (int r = 0; r < rows; r++)
        {
            sx[r] = Quantise(x + r * xStride, depth, xq + (nint)r * stored, limit);
            if (stored > depth) xq[(nint)r * stored + depth] = 0;
        }
        return new PanelInput(x, xStride, xq, sx);
    }

    /// <summary>As <see cref="MatMulTile{S, TV}.Panel(PackedMatrix, int, in PanelInput, int, float*, nint)"/>,
    /// for a matrix of int8 weights in the pair layout and rows quantised by <see cref="Quantise(PackedMatrix, float*, nint, int, short*, float*)"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Panel(PackedMatrix m, int p, short* xq, float* sx, int rows, float* o, nint oStride)
    {
        nint V = S.Count;
        int stored = m.StoredDepth, pairs = stored / 2, width = m.WidthOf(p);
        int* xp = (int*)xq;   // one int32 = the pair (x[2j], x[2j+1])
        nint xpStride = pairs;
        nint first = (nint)p * PackedMatrix.PanelWidth * V;
        nint pairStride = 2 * m.DepthStride(p), sliceStride = 4 * V;   // bytes
        byte* w = m.Panel(p);
        float* bias = m.Bias + first, scale = m.Scale + first;
        o += first;
        if (rows == 1)
        {
            Dispatch(width, 1, xp, xpStride, pairs, w, sliceStride, pairStride, null, 0, o, oStride, scale, bias, sx);
            return;
        }
        if (rows == 2)
        {
            for (int c0 = 0; c0 < width; c0 += 4)
                Dispatch(Math.Min(4, width - c0), 2, xp, xpStride, pairs, w + (c0 / 2) * sliceStride, sliceStride, pairStride,
                    null, 0, o + c0 * V, oStride, scale + c0 * V, bias + c0 * V, sx);
            return;
        }
        // Many rows: depth blocks of 8 KiB strips (2 column vectors x 2V bytes per pair), the int32
        // partial sums waiting in `o` (as float bits) between blocks.
        int kc = 8192 / (4 * S.Count);
        for (int k0 = 0; k0 < pairs; k0 += kc)
        {
            int kn = Math.Min(kc, pairs - k0);
            bool last = k0 + kn == pairs;
            for (int c0 = 0; c0 < width; c0 += 2)
            {
                byte* wBlock = w + (c0 / 2) * sliceStride + k0 * pairStride;
                for (int r = 0; r < rows; r += 6)
                {
                    float* oBlock = o + r * oStride + c0 * V;
                    Dispatch(2, Math.Min(6, rows - r), xp + r * xpStride + k0, xpStride, kn, wBlock, sliceStride, pairStride,
                        k0 == 0 ? null : oBlock, oStride, oBlock, oStride, last ? scale + c0 * V : null, bias + c0 * V, sx + r);
                }
            }
        }
    }

    /// <summary>Vectorised <see cref="WeightTensor.QuantiseInput"/>, bit for bit: the same max, s, 1/s and round-to-even products.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Quantise(float* x, int n, short* q, int limit)
    {
        int V = S.Count, i = 0;
        TV max = S.Zero, probe = S.Zero, sign = S.Create(-0f), zero = S.Zero;
        for (; i + V <= n; i += V)
        {
            TV v = S.Load(x + i);
            max = S.MaxNative(max, S.AndNot(v, sign));
            probe = S.Add(probe, S.Multiply(v, zero));   // NaN if any lane is NaN or infinite
        }
        float* lanes = stackalloc float[64];
        S.Store(lanes, max);
        float m = 0, bad = 0;
        for (int l = 0; l < V; l++) m = MathF.Max(m, lanes[l]);
        S.Store(lanes, probe);
        for (int l = 0; l < V; l++) bad += lanes[l];
        for (int t = i; t < n; t++)
        {
            m = MathF.Max(m, MathF.Abs(x[t]));
            bad += x[t] * 0;
        }
        if (!float.IsFinite(m) || float.IsNaN(bad))
        {
            new Span<short>(q, n).Clear();
            return float.NaN;
        }
        if (m == 0)
        {
            new Span<short>(q, n).Clear();
            return 0;
        }
        float s = m / limit, inv = 1f / s;
        TV invV = S.Create(inv);
        i = 0;
        for (; i + V <= n; i += V) S.StoreInt16(q + i, S.ConvertToInt32RoundEven(S.Multiply(S.Load(x + i), invV)));
        for (; i < n; i++) q[i] = (short)MathF.Round(x[i] * inv);
        return s;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dispatch(int tn, int tb, int* x, nint xStride, int pairs, byte* w, nint sliceStride, nint pairStride,
        float* start, nint startStride, float* o, nint oStride, float* scale, float* bias, float* sx)
    {
        switch (tb)
        {
            case 1:
                switch (tn)
                {
                    case 2: Tile<C2, C1>(x, xStride, pairs, w, sliceStride, pairStride, start, startStride, o, oStride, scale, bias, sx); return;
                    case 4: Tile<C4, C1>(x, xStride, pairs, w, sliceStride, pairStride, start, startStride, o, oStride, scale, bias, sx); return;
                    case 6: Tile<C6, C1>(x, xStride, pairs, w, sliceStride, pairStride, start, startStride, o, oStride, scale, bias, sx); return;
                    case 8: Tile<C8, C1>(x, xStride, pairs, w, sliceStride, pairStride, start, startStride, o, oStride, scale, bias, sx); return;
                }
                break;
            case 2:
                switch (tn)
                {
                    case 2: Tile<C2, C2>(x, xStride, pairs, w, sliceStride, pairStride, start, startStride, o, oStride, scale, bias, sx); return;
                    case 4: Tile<C4, C2>(x, xStride, pairs, w, sliceStride, pairStride, start, startStride, o, oStride, scale, bias, sx); return;
                }
                break;
            default:
                if (tn != 2) break;
                switch (tb)
                {
                    case 3: Tile<C2, C3>(x, xStride, pairs, w, sliceStride, pairStride, start, startStride, o, oStride, scale, bias, sx); return;
                    case 4: Tile<C2, C4>(x, xStride, pairs, w, sliceStride, pairStride, start, startStride, o, oStride, scale, bias, sx); return;
                    case 5: Tile<C2, C5>(x, xStride, pairs, w, sliceStride, pairStride, start, startStride, o, oStride, scale, bias, sx); return;
                    case 6: Tile<C2, C6>(x, xStride, pairs, w, sliceStride, pairStride, start, startStride, o, oStride, scale, bias, sx); return;
                }
                break;
        }
        throw new InvalidOperationException($"no {tb}x{tn} int8 tile");
    }

    /// <summary>
    /// Column vector n of the tile at pair j: w + (n/2)*sliceStride + j*pairStride + (n%2)*2V bytes.
    /// start: int32 partial sums (null: from zero); scale non-null: the last block, which converts.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TN, TB>(int* x, nint xStride, int pairs, byte* w, nint sliceStride, nint pairStride,
        float* start, nint startStride, float* o, nint oStride, float* scale, float* bias, float* sx)
        where TN : IConst where TB : IConst
    {
        nint V = S.Count, VB = 2 * S.Count;
        int n = TN.Value, b = TB.Value;
        // acc[r * 8 + c]: the JIT keeps these in registers (constant indices after unrolling).
        TV a00 = S.Zero, a01 = S.Zero, a02 = S.Zero, a03 = S.Zero, a04 = S.Zero, a05 = S.Zero, a06 = S.Zero, a07 = S.Zero;
        TV a10 = S.Zero, a11 = S.Zero, a12 = S.Zero, a13 = S.Zero;
        TV a20 = S.Zero, a21 = S.Zero, a30 = S.Zero, a31 = S.Zero, a40 = S.Zero, a41 = S.Zero, a50 = S.Zero, a51 = S.Zero;
        if (start != null)
        {
            a00 = S.Load(start); a01 = S.Load(start + V);
            if (n > 2) { a02 = S.Load(start + 2 * V); a03 = S.Load(start + 3 * V); }
            if (b > 1) { a10 = S.Load(start + startStride); a11 = S.Load(start + startStride + V); }
            if (b > 1 && n > 2) { a12 = S.Load(start + startStride + 2 * V); a13 = S.Load(start + startStride + 3 * V); }
            if (b > 2) { a20 = S.Load(start + 2 * startStride); a21 = S.Load(start + 2 * startStride + V); }
            if (b > 3) { a30 = S.Load(start + 3 * startStride); a31 = S.Load(start + 3 * startStride + V); }
            if (b > 4) { a40 = S.Load(start + 4 * startStride); a41 = S.Load(start + 4 * startStride + V); }
            if (b > 5) { a50 = S.Load(start + 5 * startStride); a51 = S.Load(start + 5 * startStride + V); }
        }
        byte* p0 = w, p1 = w + sliceStride, p2 = w + 2 * sliceStride, p3 = w + 3 * sliceStride;
        for (nint j = 0, off = 0; j < pairs; j++, off += pairStride)
        {
            TV x0 = S.CreateInt32(x[j]);
            if (b == 1)
            {
                a00 = S.MultiplyAddPairs(a00, (sbyte*)(p0 + off), x0);
                a01 = S.MultiplyAddPairs(a01, (sbyte*)(p0 + off + VB), x0);
                if (n > 2) a02 = S.MultiplyAddPairs(a02, (sbyte*)(p1 + off), x0);
                if (n > 3) a03 = S.MultiplyAddPairs(a03, (sbyte*)(p1 + off + VB), x0);
                if (n > 4) a04 = S.MultiplyAddPairs(a04, (sbyte*)(p2 + off), x0);
                if (n > 5) a05 = S.MultiplyAddPairs(a05, (sbyte*)(p2 + off + VB), x0);
                if (n > 6) a06 = S.MultiplyAddPairs(a06, (sbyte*)(p3 + off), x0);
                if (n > 7) a07 = S.MultiplyAddPairs(a07, (sbyte*)(p3 + off + VB), x0);
                continue;
            }
            S.Prefetch((float*)(p0 + off + 16 * pairStride));
            a00 = S.MultiplyAddPairs(a00, (sbyte*)(p0 + off), x0);
            a01 = S.MultiplyAddPairs(a01, (sbyte*)(p0 + off + VB), x0);
            if (n > 2) a02 = S.MultiplyAddPairs(a02, (sbyte*)(p1 + off), x0);
            if (n > 3) a03 = S.MultiplyAddPairs(a03, (sbyte*)(p1 + off + VB), x0);
            TV x1 = S.CreateInt32(x[j + xStride]);
            a10 = S.MultiplyAddPairs(a10, (sbyte*)(p0 + off), x1);
            a11 = S.MultiplyAddPairs(a11, (sbyte*)(p0 + off + VB), x1);
            if (n > 2) a12 = S.MultiplyAddPairs(a12, (sbyte*)(p1 + off), x1);
            if (n > 3) a13 = S.MultiplyAddPairs(a13, (sbyte*)(p1 + off + VB), x1);
            if (b > 2)
            {
                TV x2 = S.CreateInt32(x[j + 2 * xStride]);
                a20 = S.MultiplyAddPairs(a20, (sbyte*)(p0 + off), x2);
                a21 = S.MultiplyAddPairs(a21, (sbyte*)(p0 + off + VB), x2);
            }
            if (b > 3)
            {
                TV x3 = S.CreateInt32(x[j + 3 * xStride]);
                a30 = S.MultiplyAddPairs(a30, (sbyte*)(p0 + off), x3);
                a31 = S.MultiplyAddPairs(a31, (sbyte*)(p0 + off + VB), x3);
            }
            if (b > 4)
            {
                TV x4 = S.CreateInt32(x[j + 4 * xStride]);
                a40 = S.MultiplyAddPairs(a40, (sbyte*)(p0 + off), x4);
                a41 = S.MultiplyAddPairs(a41, (sbyte*)(p0 + off + VB), x4);
            }
            if (b > 5)
            {
                TV x5 = S.CreateInt32(x[j + 5 * xStride]);
                a50 = S.MultiplyAddPairs(a50, (sbyte*)(p0 + off), x5);
                a51 = S.MultiplyAddPairs(a51, (sbyte*)(p0 + off + VB), x5);
            }
        }

        if (scale == null)
        {
            // Not the last depth block: the int32 sums wait in o.
            S.Store(o, a00); S.Store(o + V, a01);
            if (n > 2) { S.Store(o + 2 * V, a02); S.Store(o + 3 * V, a03); }
            if (b > 1) { S.Store(o + oStride, a10); S.Store(o + oStride + V, a11); }
            if (b > 1 && n > 2) { S.Store(o + oStride + 2 * V, a12); S.Store(o + oStride + 3 * V, a13); }
            if (b > 2) { S.Store(o + 2 * oStride, a20); S.Store(o + 2 * oStride + V, a21); }
            if (b > 3) { S.Store(o + 3 * oStride, a30); S.Store(o + 3 * oStride + V, a31); }
            if (b > 4) { S.Store(o + 4 * oStride, a40); S.Store(o + 4 * oStride + V, a41); }
            if (b > 5) { S.Store(o + 5 * oStride, a50); S.Store(o + 5 * oStride + V, a51); }
            return;
        }
        Finish(o, 0, a00, scale, bias, sx[0]); Finish(o, V, a01, scale, bias, sx[0]);
        if (n > 2) { Finish(o, 2 * V, a02, scale, bias, sx[0]); Finish(o, 3 * V, a03, scale, bias, sx[0]); }
        if (n > 4) { Finish(o, 4 * V, a04, scale, bias, sx[0]); Finish(o, 5 * V, a05, scale, bias, sx[0]); }
        if (n > 6) { Finish(o, 6 * V, a06, scale, bias, sx[0]); Finish(o, 7 * V, a07, scale, bias, sx[0]); }
        if (b > 1)
        {
            Finish(o + oStride, 0, a10, scale, bias, sx[1]); Finish(o + oStride, V, a11, scale, bias, sx[1]);
            if (n > 2) { Finish(o + oStride, 2 * V, a12, scale, bias, sx[1]); Finish(o + oStride, 3 * V, a13, scale, bias, sx[1]); }
        }
        if (b > 2) { Finish(o + 2 * oStride, 0, a20, scale, bias, sx[2]); Finish(o + 2 * oStride, V, a21, scale, bias, sx[2]); }
        if (b > 3) { Finish(o + 3 * oStride, 0, a30, scale, bias, sx[3]); Finish(o + 3 * oStride, V, a31, scale, bias, sx[3]); }
        if (b > 4) { Finish(o + 4 * oStride, 0, a40, scale, bias, sx[4]); Finish(o + 4 * oStride, V, a41, scale, bias, sx[4]); }
        if (b > 5) { Finish(o + 5 * oStride, 0, a50, scale, bias, sx[5]); Finish(o + 5 * oStride, V, a51, scale, bias, sx[5]); }
    }

    /// <summary>o[at..] = float(acc) * (scale * s_x) + bias: the product scale * s_x rounded to float32 first, as the reference does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Finish(float* o, nint at, TV acc, float* scale, float* bias, float sx) =>
        S.Store(o + at, S.MultiplyAdd(S.ConvertInt32ToSingle(acc), S.Multiply(S.Load(scale + at), S.Create(sx)), S.Load(bias + at)));
}
