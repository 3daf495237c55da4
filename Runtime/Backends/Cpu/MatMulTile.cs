using System.Runtime.CompilerServices;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// A product's input rows, prepared once for all its panels (<see cref="MatMulTile{S, TV}.Input"/>):
/// X / XStride, and for an int8 matrix Xq (rows x StoredDepth int16) and Sx (one scale per row).
/// </summary>
internal readonly unsafe struct PanelInput(float* x, nint xStride, short* xq, float* sx)
{
    public readonly float* X = x;
    public readonly nint XStride = xStride;
    public readonly short* Xq = xq;
    public readonly float* Sx = sx;
}

/// <summary>
/// The one matrix kernel every CPU product goes through: the input projection of a sequence (T*B
/// rows, or chunks of them), the input projection of one step (B rows) and the recurrent product
/// (B rows of h).
/// <para>
/// A register tile of TB rows x TN column vectors computes out = start + x * W over a depth K (start:
/// the packed bias, or the tile's own partial sums when the depth is blocked), streaming slices of a
/// <see cref="PackedMatrix"/> panel: per k, TN vector loads and TB broadcasts feed TN*TB fused
/// multiply-adds. Shapes: TB = 1 with TN &lt;= 8 (batch-1 steps: 8 independent accumulators keep
/// both FMA pipes busy while the weights stream by), TB = 2 with TN &lt;= 4, and for many rows
/// TB &lt;= 6 with TN = the width's <see cref="ISimd{TV}.ManyRowsTileColumns"/>. When to prefetch is
/// the width's tile policy too (<see cref="ISimd{TV}"/>), so nothing here tests the width; the depth
/// block (<see cref="DepthBlock"/>) is the same for all.
/// </para>
/// <para>
/// The kernels are compiled fully optimized on first call (AggressiveOptimization): a tier-0 copy
/// of vector code, with every vector operation a call, is tens of times slower, and a program that
/// steps a stream needs its first steps as fast as the rest.
/// </para>
/// Every accumulator sums k = 0..K-1 in order from its bias whatever the tile shape or depth
/// blocking, so a step and a sequence compute bit-identical results.
/// </summary>
internal static unsafe class MatMulTile<S, TV> where S : ISimd<TV> where TV : struct
{
    /// <summary>
    /// The rows of x as the kernels of <paramref name="m"/> read them, made once per product rather than
    /// once per panel: the float rows themselves, and for an int8 matrix also their int16 quantisation
    /// (in the session's scratch <paramref name="slot"/>, 0 or 1, so two inputs can be live at once:
    /// a step's x and h). Valid until the session prepares another input in the same slot.
    /// </summary>
    public static PanelInput Input(CpuState s, PackedMatrix m, float* x, nint xStride, int rows, int slot = 0)
    {
        if (m.ElementType != Model.WeightElementType.Int8) return new PanelInput(x, xStride, null, null);
        s.Int8Input(slot, rows, m.StoredDepth, out float* sx, out short* xq);
        return MatMulTileInt8<S, TV>.Quantise(m, x, xStride, rows, xq, sx);
    }

    /// <summary>
    /// Panel <paramref name="p"/> of <paramref name="m"/> for <paramref name="rows"/> rows of x, prepared
    /// by <see cref="Input"/> for this matrix: out[r * oStride + c*V ..] for the panel's column vectors c.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Panel(PackedMatrix m, int p, in PanelInput x, int rows, float* o, nint oStride)
    {
        switch (m.ElementType)
        {
            case Model.WeightElementType.BFloat16: Panel<BFloat16Weights>(m, p, x.X, x.XStride, rows, o, oStride); break;
            case Model.WeightElementType.Int8: MatMulTileInt8<S, TV>.Panel(m, p, x.Xq, x.Sx, rows, o, oStride); break;
            default: Panel<Float32Weights>(m, p, x.X, x.XStride, rows, o, oStride); break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Panel<TW>(PackedMatrix m, int p, float* x, nint xStride, int rows, float* o, nint oStride) where TW : IWeightLoad
    {
        nint V = S.Count, E = TW.Size;
        int width = m.WidthOf(p), depth = m.Depth;
        nint first = (nint)p * PackedMatrix.PanelWidth * V;
        nint sliceStride = m.SliceStride(p) * E, depthStride = m.DepthStride(p) * E;   // bytes
        byte* w = m.Panel(p);
        float* bias = m.Bias + first;
        o += first;
        if (rows == 1)
        {
            Dispatch<TW>(width, 1, x, xStride, depth, w, sliceStride, depthStride, bias, 0, o, oStride);
            return;
        }
        if (rows == 2)
        {
            for (int c0 = 0; c0 < width; c0 += 4)
                Dispatch<TW>(Math.Min(4, width - c0), 2, x, xStride, depth, w + (c0 / 2) * sliceStride, sliceStride, depthStride,
                    bias + c0 * V, 0, o + c0 * V, oStride);
            return;
        }

        // Many rows (a sequence's input projection, big batches): block the depth so that the
        // KC-deep strip of weights stays in cache (see DepthBlock) while every row block streams past it.
        // The sums wait in `o` between blocks, which changes no rounding: k still runs 0..K-1 in order.
        int kc = DepthBlock, strip = S.ManyRowsTileColumns;
        for (int k0 = 0; k0 < depth; k0 += kc)
        {
            int kn = Math.Min(kc, depth - k0);
            for (int c0 = 0; c0 < width; c0 += strip)
            {
                int tn = Math.Min(strip, width - c0);
                byte* wBlock = w + (c0 / 2) * sliceStride + k0 * depthStride;
                // The first row block streams this strip from wherever it is (L3, DRAM) and the later
                // ones find it in L2; where the width's policy says so, those later blocks each pull a
                // 128-byte column of the next strip into L2 meanwhile (S.PrefetchNextStrip).
                byte* next = S.PrefetchNextStrip && rows > 12 ? NextStrip(w, c0 + strip, width, k0, kn, depth, sliceStride, depthStride) : null;
                nint rowBytes = (nint)tn * V * E;
                for (int r = 0; r < rows; r += 6)
                {
                    nint column = (r / 6 - 1) * (nint)128;
                    byte* ahead = next != null && r > 0 && column < rowBytes ? next + column : null;
                    float* oBlock = o + r * oStride + c0 * V;
                    Dispatch<TW>(tn, Math.Min(6, rows - r), x + r * xStride + k0, xStride, kn, wBlock, sliceStride, depthStride,
                        k0 == 0 ? bias + c0 * V : oBlock, k0 == 0 ? 0 : oStride, oBlock, oStride, ahead);
                }
            }
        }
    }

    /// <summary>Start of the strip after the one at column vector <paramref name="c"/> - strip in this
    /// depth block: the next strip of the block, else the first of the next block, else none (the
    /// next panel is the caller's).</summary>
    private static byte* NextStrip(byte* w, int c, int width, int k0, int kn, int depth, nint sliceStride, nint depthStride) =>
        c < width ? w + (c / 2) * sliceStride + k0 * depthStride : k0 + kn < depth ? w + (k0 + kn) * depthStride : null;

    /// <summary>
    /// Depth per block in the many-rows path, every width and element type: a strip (128 KiB of float32
    /// at 4 vectors of 16, 32 KiB at 2 of 8) stays in L2 while the row blocks stream past it, and the
    /// partial sums make few round trips through `o` (BENCHMARKS.md, "Kernel notes").
    /// </summary>
    private const int DepthBlock = 512;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dispatch<TW>(int tn, int tb, float* x, nint xStride, int depth, byte* w, nint sliceStride, nint depthStride, float* start, nint startStride, float* o, nint oStride,
        byte* ahead = null) where TW : IWeightLoad
    {
        switch (tb)
        {
            case 1:
                switch (tn)
                {
                    case 2: Tile<C2, C1, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                    case 4: Tile<C4, C1, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                    case 6: Tile<C6, C1, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                    case 8: Tile<C8, C1, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                }
                break;
            case 2:
                switch (tn)
                {
                    case 2: Tile<C2, C2, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                    case 4: Tile<C4, C2, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                }
                break;
            default:
                if (tn == 4)
                {
                    switch (tb)
                    {
                        case 3: Tile<C4, C3, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                        case 4: Tile<C4, C4, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                        case 5: Tile<C4, C5, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                        case 6: Tile<C4, C6, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                    }
                    break;
                }
                if (tn != 2) break;
                switch (tb)
                {
                    case 3: Tile<C2, C3, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                    case 4: Tile<C2, C4, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                    case 5: Tile<C2, C5, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                    case 6: Tile<C2, C6, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, ahead); return;
                }
                break;
        }
        throw new InvalidOperationException($"no {tb}x{tn} tile");
    }

    /// <summary>
    /// Column vector n of the tile at depth k is at w + (n/2)*sliceStride + k*depthStride + (n%2)*V
    /// (see <see cref="PackedMatrix"/>).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile<TN, TB, TW>(float* x, nint xStride, int depth, byte* w, nint sliceStride, nint depthStride, float* start, nint startStride, float* o, nint oStride,
        byte* ahead)
        where TN : IConst where TB : IConst where TW : IWeightLoad
    {
        nint V = S.Count, VB = S.Count * TW.Size;   // a vector of weights is VB bytes
        TV a00 = S.Load(start);
        TV a01 = TN.Value > 1 ? S.Load(start + 1 * V) : S.Zero;
        TV a02 = TN.Value > 2 ? S.Load(start + 2 * V) : S.Zero;
        TV a03 = TN.Value > 3 ? S.Load(start + 3 * V) : S.Zero;
        TV a04 = TN.Value > 4 ? S.Load(start + 4 * V) : S.Zero;
        TV a05 = TN.Value > 5 ? S.Load(start + 5 * V) : S.Zero;
        TV a06 = TN.Value > 6 ? S.Load(start + 6 * V) : S.Zero;
        TV a07 = TN.Value > 7 ? S.Load(start + 7 * V) : S.Zero;
        TV a10 = TB.Value > 1 ? S.Load(start + 1 * startStride) : S.Zero;
        TV a11 = TB.Value > 1 && TN.Value > 1 ? S.Load(start + 1 * startStride + 1 * V) : S.Zero;
        TV a12 = TB.Value > 1 && TN.Value > 2 ? S.Load(start + 1 * startStride + 2 * V) : S.Zero;
        TV a13 = TB.Value > 1 && TN.Value > 3 ? S.Load(start + 1 * startStride + 3 * V) : S.Zero;
        TV a20 = TB.Value > 2 ? S.Load(start + 2 * startStride) : S.Zero;
        TV a21 = TB.Value > 2 && TN.Value > 1 ? S.Load(start + 2 * startStride + 1 * V) : S.Zero;
        TV a22 = TB.Value > 2 && TN.Value > 2 ? S.Load(start + 2 * startStride + 2 * V) : S.Zero;
        TV a23 = TB.Value > 2 && TN.Value > 3 ? S.Load(start + 2 * startStride + 3 * V) : S.Zero;
        TV a30 = TB.Value > 3 ? S.Load(start + 3 * startStride) : S.Zero;
        TV a31 = TB.Value > 3 && TN.Value > 1 ? S.Load(start + 3 * startStride + 1 * V) : S.Zero;
        TV a32 = TB.Value > 3 && TN.Value > 2 ? S.Load(start + 3 * startStride + 2 * V) : S.Zero;
        TV a33 = TB.Value > 3 && TN.Value > 3 ? S.Load(start + 3 * startStride + 3 * V) : S.Zero;
        TV a40 = TB.Value > 4 ? S.Load(start + 4 * startStride) : S.Zero;
        TV a41 = TB.Value > 4 && TN.Value > 1 ? S.Load(start + 4 * startStride + 1 * V) : S.Zero;
        TV a42 = TB.Value > 4 && TN.Value > 2 ? S.Load(start + 4 * startStride + 2 * V) : S.Zero;
        TV a43 = TB.Value > 4 && TN.Value > 3 ? S.Load(start + 4 * startStride + 3 * V) : S.Zero;
        TV a50 = TB.Value > 5 ? S.Load(start + 5 * startStride) : S.Zero;
        TV a51 = TB.Value > 5 && TN.Value > 1 ? S.Load(start + 5 * startStride + 1 * V) : S.Zero;
        TV a52 = TB.Value > 5 && TN.Value > 2 ? S.Load(start + 5 * startStride + 2 * V) : S.Zero;
        TV a53 = TB.Value > 5 && TN.Value > 3 ? S.Load(start + 5 * startStride + 3 * V) : S.Zero;
        byte* p0 = w, p1 = w + sliceStride, p2 = w + 2 * sliceStride, p3 = w + 3 * sliceStride;
        float* xk = x;
        nint step = depthStride;
        for (nint off = 0, end = depth * step; off < end; off += step, xk++)
        {
            if (TB.Value == 1)
            {
                TV b0 = S.Broadcast(xk);
                a00 = S.MultiplyAdd(TW.Load<S, TV>(p0 + off), b0, a00);
                if (TN.Value > 1) a01 = S.MultiplyAdd(TW.Load<S, TV>(p0 + off + VB), b0, a01);
                if (TN.Value > 2) a02 = S.MultiplyAdd(TW.Load<S, TV>(p1 + off), b0, a02);
                if (TN.Value > 3) a03 = S.MultiplyAdd(TW.Load<S, TV>(p1 + off + VB), b0, a03);
                if (TN.Value > 4) a04 = S.MultiplyAdd(TW.Load<S, TV>(p2 + off), b0, a04);
                if (TN.Value > 5) a05 = S.MultiplyAdd(TW.Load<S, TV>(p2 + off + VB), b0, a05);
                if (TN.Value > 6) a06 = S.MultiplyAdd(TW.Load<S, TV>(p3 + off), b0, a06);
                if (TN.Value > 7) a07 = S.MultiplyAdd(TW.Load<S, TV>(p3 + off + VB), b0, a07);
            }
            else
            {
                // Few rows share each weight here, so the stream can outrun the hardware prefetcher
                // when the weights come from L3 or DRAM: the 2-row tile, and the many-rows tile where
                // the width's policy says so, ask 64 vectors ahead (S.PrefetchManyRowsTile).
                if (ahead != null)
                {
                    // Two lines of the strip after this one, into L2 (see the many-rows loop in Panel).
                    S.PrefetchToL2(ahead + off);
                    S.PrefetchToL2(ahead + off + 64);
                }
                if (TB.Value == 2 || S.PrefetchManyRowsTile)
                {
                    S.Prefetch((float*)(p0 + off + 64 * VB));
                    if (TN.Value > 2) S.Prefetch((float*)(p1 + off + 64 * VB));
                }
                TV w0 = TW.Load<S, TV>(p0 + off);
                TV w1 = TW.Load<S, TV>(p0 + off + VB);
                TV w2 = TN.Value > 2 ? TW.Load<S, TV>(p1 + off) : S.Zero;
                TV w3 = TN.Value > 3 ? TW.Load<S, TV>(p1 + off + VB) : S.Zero;
                {
                    TV b0 = S.Broadcast(xk);
                    a00 = S.MultiplyAdd(w0, b0, a00);
                    a01 = S.MultiplyAdd(w1, b0, a01);
                    if (TN.Value > 2) a02 = S.MultiplyAdd(w2, b0, a02);
                    if (TN.Value > 3) a03 = S.MultiplyAdd(w3, b0, a03);
                }
                if (TB.Value > 1)
                {
                    TV b1 = S.Broadcast(xk + 1 * xStride);
                    a10 = S.MultiplyAdd(w0, b1, a10);
                    a11 = S.MultiplyAdd(w1, b1, a11);
                    if (TN.Value > 2) a12 = S.MultiplyAdd(w2, b1, a12);
                    if (TN.Value > 3) a13 = S.MultiplyAdd(w3, b1, a13);
                }
                if (TB.Value > 2)
                {
                    TV b2 = S.Broadcast(xk + 2 * xStride);
                    a20 = S.MultiplyAdd(w0, b2, a20);
                    a21 = S.MultiplyAdd(w1, b2, a21);
                    if (TN.Value > 2) a22 = S.MultiplyAdd(w2, b2, a22);
                    if (TN.Value > 3) a23 = S.MultiplyAdd(w3, b2, a23);
                }
                if (TB.Value > 3)
                {
                    TV b3 = S.Broadcast(xk + 3 * xStride);
                    a30 = S.MultiplyAdd(w0, b3, a30);
                    a31 = S.MultiplyAdd(w1, b3, a31);
                    if (TN.Value > 2) a32 = S.MultiplyAdd(w2, b3, a32);
                    if (TN.Value > 3) a33 = S.MultiplyAdd(w3, b3, a33);
                }
                if (TB.Value > 4)
                {
                    TV b4 = S.Broadcast(xk + 4 * xStride);
                    a40 = S.MultiplyAdd(w0, b4, a40);
                    a41 = S.MultiplyAdd(w1, b4, a41);
                    if (TN.Value > 2) a42 = S.MultiplyAdd(w2, b4, a42);
                    if (TN.Value > 3) a43 = S.MultiplyAdd(w3, b4, a43);
                }
                if (TB.Value > 5)
                {
                    TV b5 = S.Broadcast(xk + 5 * xStride);
                    a50 = S.MultiplyAdd(w0, b5, a50);
                    a51 = S.MultiplyAdd(w1, b5, a51);
                    if (TN.Value > 2) a52 = S.MultiplyAdd(w2, b5, a52);
                    if (TN.Value > 3) a53 = S.MultiplyAdd(w3, b5, a53);
                }
            }
        }

        S.Store(o, a00);
        S.Store(o + 1 * V, a01);
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
            S.Store(o1 + 1 * V, a11);
            if (TN.Value > 2) S.Store(o1 + 2 * V, a12);
            if (TN.Value > 3) S.Store(o1 + 3 * V, a13);
        }
        if (TB.Value > 2)
        {
            float* o2 = o + 2 * oStride;
            S.Store(o2, a20);
            S.Store(o2 + 1 * V, a21);
            if (TN.Value > 2) S.Store(o2 + 2 * V, a22);
            if (TN.Value > 3) S.Store(o2 + 3 * V, a23);
        }
        if (TB.Value > 3)
        {
            float* o3 = o + 3 * oStride;
            S.Store(o3, a30);
            S.Store(o3 + 1 * V, a31);
            if (TN.Value > 2) S.Store(o3 + 2 * V, a32);
            if (TN.Value > 3) S.Store(o3 + 3 * V, a33);
        }
        if (TB.Value > 4)
        {
            float* o4 = o + 4 * oStride;
            S.Store(o4, a40);
            S.Store(o4 + 1 * V, a41);
            if (TN.Value > 2) S.Store(o4 + 2 * V, a42);
            if (TN.Value > 3) S.Store(o4 + 3 * V, a43);
        }
        if (TB.Value > 5)
        {
            float* o5 = o + 5 * oStride;
            S.Store(o5, a50);
            S.Store(o5 + 1 * V, a51);
            if (TN.Value > 2) S.Store(o5 + 2 * V, a52);
            if (TN.Value > 3) S.Store(o5 + 3 * V, a53);
        }
    }
}
