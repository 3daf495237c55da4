using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

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
/// TB &lt;= 6 with TN = 2 on AVX2 (BLIS's Haswell shape: 12 accumulators, 2 weight vectors and a
/// broadcast fit in 16 registers) or TN = 4 with AVX-512 (24 accumulators in 32 registers: Run b16
/// at hidden 1024 0.86-0.93x of the 6 x 2 tile's time, same run of the bench).
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
        if (!m.Int8Pairs) return new PanelInput(x, xStride, null, null);
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
            case Model.WeightElementType.Int8 when m.Int8Pairs: MatMulTileInt8<S, TV>.Panel(m, p, x.Xq, x.Sx, rows, o, oStride); break;
            // Int8 widened to float32 and FMA'd: kept for Int8MethodBench, the comparison that chose the integer kernel.
            case Model.WeightElementType.Int8: Panel<Int8Weights>(m, p, x.X, x.XStride, rows, o, oStride); break;
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
        float* bias = m.Bias + first, scale = TW.Scaled ? m.Scale + first : null;
        o += first;
        // Int8 sums start from zero and end with fma(sum, scale, bias); the others start at the bias.
        float* start = TW.Scaled ? null : bias;
        if (rows == 1)
        {
            Dispatch<TW>(width, 1, x, xStride, depth, w, sliceStride, depthStride, start, 0, o, oStride, scale, bias);
            return;
        }
        if (rows == 2)
        {
            for (int c0 = 0; c0 < width; c0 += 4)
                Dispatch<TW>(Math.Min(4, width - c0), 2, x, xStride, depth, w + (c0 / 2) * sliceStride, sliceStride, depthStride,
                    Offset(start, c0 * V), 0, o + c0 * V, oStride, Offset(scale, c0 * V), bias + c0 * V);
            return;
        }

        // Many rows (a sequence's input projection, big batches): block the depth so that the
        // KC-deep strip of weights stays in cache (see DepthBlock) while every row block streams past it.
        // The sums wait in `o` between blocks, which changes no rounding: k still runs 0..K-1 in order
        // (an int8 sum is scaled only after its last block).
        int kc = DepthBlock<TW>();
        // Column vectors per strip: 4 with AVX-512's 32 registers (a 6 x 4 tile: 24 accumulators, 4
        // weight vectors, a broadcast), 2 with AVX2's 16 (6 x 2).
        int strip = S.Count >= 16 ? 4 : 2;
        for (int k0 = 0; k0 < depth; k0 += kc)
        {
            int kn = Math.Min(kc, depth - k0);
            bool last = k0 + kn == depth;
            for (int c0 = 0; c0 < width; c0 += strip)
            {
                int tn = Math.Min(strip, width - c0);
                byte* wBlock = w + (c0 / 2) * sliceStride + k0 * depthStride;
                // The first row block streams this strip from wherever it is (L3 or DRAM for a big
                // W_hh) and the later blocks find it in L2, which would leave the memory system idle
                // while they run. With AVX-512 and three or more row blocks (a batch of 13 or more,
                // a sequence's projection), blocks 1, 2, .. each pull a 128-byte column of the next
                // strip's rows into L2 instead, so the next first block finds its weights there. Measured
                // (`tileprobe`, on/off interleaved in one process): 16 rows x 1024 x 3072-4096 from
                // 66-77 to 70-88 GFLOP/s, 24 rows +10-15%; no change at 1600 rows; with two row blocks
                // (7-12 rows) it did not pay, so they leave it to the hardware.
                byte* next = S.Count >= 16 && rows > 12 ? NextStrip(w, c0 + strip, width, k0, kn, depth, sliceStride, depthStride) : null;
                nint rowBytes = (nint)tn * V * E;
                for (int r = 0; r < rows; r += 6)
                {
                    nint column = (r / 6 - 1) * (nint)128;
                    byte* ahead = next != null && r > 0 && column < rowBytes ? next + column : null;
                    float* oBlock = o + r * oStride + c0 * V;
                    Dispatch<TW>(tn, Math.Min(6, rows - r), x + r * xStride + k0, xStride, kn, wBlock, sliceStride, depthStride,
                        k0 == 0 ? Offset(start, c0 * V) : oBlock, k0 == 0 ? 0 : oStride, oBlock, oStride,
                        last ? Offset(scale, c0 * V) : null, bias + c0 * V, ahead);
                }
            }
        }
    }

    /// <summary>Start of the strip after the one at column vector <paramref name="c"/> - strip in this
    /// depth block: the next strip of the block, else the first of the next block, else none (the
    /// next panel is the caller's).</summary>
    private static byte* NextStrip(byte* w, int c, int width, int k0, int kn, int depth, nint sliceStride, nint depthStride) =>
        c < width ? w + (c / 2) * sliceStride + k0 * depthStride : k0 + kn < depth ? w + (k0 + kn) * depthStride : null;

    /// <summary>8 vectors of zeros (the widest tile row), 64-byte aligned, never written or freed.</summary>
    private static readonly float* Zeros = AllocateZeros(8 * 16);

    private static float* AllocateZeros(int floats)
    {
        void* p = NativeMemory.AlignedAlloc((nuint)(floats * sizeof(float)), 64);
        NativeMemory.Clear(p, (nuint)(floats * sizeof(float)));
        return (float*)p;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float* Offset(float* p, nint by) => p == null ? null : p + by;

    /// <summary>
    /// Depth per block in the many-rows path: 512 depths, so a strip is 128 KiB of float32 with
    /// AVX-512 (4 vectors) and 32 KiB with AVX2 (2 vectors): it stays in L2 while the row blocks
    /// stream past it, and each block's partial sums make few round trips through `o` (T*B rows of
    /// them in a sequence's projection). Measured on the Zen 5 VM (`tileprobe`, configurations
    /// interleaved in one process): 512 against the earlier 64 took a 1600 x 1024 x 4096 product from
    /// 77 to 90 GFLOP/s with AVX-512 (97-112 in quieter minutes) and 56 to 74 with AVX2; the 16-row
    /// recurrent shape gained less (49 to 52 in the same run). Narrow weights keep the same depth per
    /// block (the order of sums never depends on it).
    /// </summary>
    private static int DepthBlock<TW>() where TW : IWeightLoad => 512;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dispatch<TW>(int tn, int tb, float* x, nint xStride, int depth, byte* w, nint sliceStride, nint depthStride, float* start, nint startStride, float* o, nint oStride,
        float* scale, float* bias, byte* ahead = null) where TW : IWeightLoad
    {
        switch (tb)
        {
            case 1:
                switch (tn)
                {
                    case 2: Tile<C2, C1, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                    case 4: Tile<C4, C1, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                    case 6: Tile<C6, C1, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                    case 8: Tile<C8, C1, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                }
                break;
            case 2:
                switch (tn)
                {
                    case 2: Tile<C2, C2, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                    case 4: Tile<C4, C2, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                }
                break;
            default:
                if (tn == 4)
                {
                    switch (tb)
                    {
                        case 3: Tile<C4, C3, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                        case 4: Tile<C4, C4, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                        case 5: Tile<C4, C5, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                        case 6: Tile<C4, C6, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                    }
                    break;
                }
                if (tn != 2) break;
                switch (tb)
                {
                    case 3: Tile<C2, C3, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                    case 4: Tile<C2, C4, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                    case 5: Tile<C2, C5, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
                    case 6: Tile<C2, C6, TW>(x, xStride, depth, w, sliceStride, depthStride, start, startStride, o, oStride, scale, bias, ahead); return;
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
        float* scale, float* bias, byte* ahead)
        where TN : IConst where TB : IConst where TW : IWeightLoad
    {
        nint V = S.Count, VB = S.Count * TW.Size;   // a vector of weights is VB bytes
        if (start == null)
        {
            // From zero (int8's first depth block): a zero row to load from keeps one code path below.
            start = Zeros;
            startStride = 0;
        }
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
                // when the weights come from L3 or DRAM (the recurrent product of a batch). With AVX2
                // (and at two rows) ask 64 vectors of weights ahead: 2 KiB of float32, 16 depths in
                // the 2x4 tile's strip, 32 in the 6x2's. With AVX-512's 6x4 tile, re-measured on the
                // Zen 5 VM (`tileprobe`), no software prefetch was faster: 16 rows against a 16 MiB
                // matrix 1.5 against 2.3 ms, 6 rows 0.6 against 1.6 ms (the hardware prefetcher alone
                // follows the strip; the extra requests only compete with it).
                if (ahead != null)
                {
                    // Two lines of the strip after this one, into L2 (see the many-rows loop in Panel).
                    S.PrefetchToL2(ahead + off);
                    S.PrefetchToL2(ahead + off + 64);
                }
                if (TB.Value == 2 || S.Count < 16)
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

        if (TW.Scaled && scale != null)
        {
            // int8: the sums of q * x become scale * sum + bias, one rounding per output.
            TV s0 = S.Load(scale), s1 = S.Load(scale + V), b0 = S.Load(bias), b1 = S.Load(bias + V);
            TV s2 = TN.Value > 2 ? S.Load(scale + 2 * V) : S.Zero, b2 = TN.Value > 2 ? S.Load(bias + 2 * V) : S.Zero;
            TV s3 = TN.Value > 3 ? S.Load(scale + 3 * V) : S.Zero, b3 = TN.Value > 3 ? S.Load(bias + 3 * V) : S.Zero;
            a00 = S.MultiplyAdd(a00, s0, b0);
            a01 = S.MultiplyAdd(a01, s1, b1);
            if (TN.Value > 2) a02 = S.MultiplyAdd(a02, s2, b2);
            if (TN.Value > 3) a03 = S.MultiplyAdd(a03, s3, b3);
            if (TN.Value > 4) a04 = S.MultiplyAdd(a04, S.Load(scale + 4 * V), S.Load(bias + 4 * V));
            if (TN.Value > 5) a05 = S.MultiplyAdd(a05, S.Load(scale + 5 * V), S.Load(bias + 5 * V));
            if (TN.Value > 6) a06 = S.MultiplyAdd(a06, S.Load(scale + 6 * V), S.Load(bias + 6 * V));
            if (TN.Value > 7) a07 = S.MultiplyAdd(a07, S.Load(scale + 7 * V), S.Load(bias + 7 * V));
            if (TB.Value > 1)
            {
                a10 = S.MultiplyAdd(a10, s0, b0);
                a11 = S.MultiplyAdd(a11, s1, b1);
                if (TN.Value > 2) a12 = S.MultiplyAdd(a12, s2, b2);
                if (TN.Value > 3) a13 = S.MultiplyAdd(a13, s3, b3);
            }
            if (TB.Value > 2) { a20 = S.MultiplyAdd(a20, s0, b0); a21 = S.MultiplyAdd(a21, s1, b1); }
            if (TB.Value > 2 && TN.Value > 2) { a22 = S.MultiplyAdd(a22, s2, b2); a23 = S.MultiplyAdd(a23, s3, b3); }
            if (TB.Value > 3) { a30 = S.MultiplyAdd(a30, s0, b0); a31 = S.MultiplyAdd(a31, s1, b1); }
            if (TB.Value > 3 && TN.Value > 2) { a32 = S.MultiplyAdd(a32, s2, b2); a33 = S.MultiplyAdd(a33, s3, b3); }
            if (TB.Value > 4) { a40 = S.MultiplyAdd(a40, s0, b0); a41 = S.MultiplyAdd(a41, s1, b1); }
            if (TB.Value > 4 && TN.Value > 2) { a42 = S.MultiplyAdd(a42, s2, b2); a43 = S.MultiplyAdd(a43, s3, b3); }
            if (TB.Value > 5) { a50 = S.MultiplyAdd(a50, s0, b0); a51 = S.MultiplyAdd(a51, s1, b1); }
            if (TB.Value > 5 && TN.Value > 2) { a52 = S.MultiplyAdd(a52, s2, b2); a53 = S.MultiplyAdd(a53, s3, b3); }
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
