using System.Runtime.CompilerServices;

namespace RnnRuntime.Backends.Cpu.Latency;

/// <summary>
/// The latency kernel: sums (N vectors) = init + W1 x1 + W2 x2 for one batch row, the weights of
/// each source stored k-major for this block of N output vectors (<see cref="ColumnMatrix"/>), so one
/// broadcast x[k] meets N weight vectors read in order. N is a type argument fixed at prepare time:
/// the JIT keeps every accumulator in a register and unrolls the loop body. When N is small the depth
/// is split over TS interleaved partial sums (N * TS &gt;= 8 chains, enough to hide FMA latency), added
/// in a fixed order at the end, so Step and Run give the same bits.
/// </summary>
internal static unsafe class LatencyGemv<S, TV> where S : ISimd<TV> where TV : struct
{
    /// <summary>The most output vectors of one block: accumulators that fit the register file with the
    /// broadcast inputs beside them (32 registers with AVX-512, 16 below).</summary>
    public static int MaxVectors => S.Count >= 16 ? 16 : 12;

    /// <summary>The kernel for blocks of n vectors (1..MaxVectors): chosen once when a layer is prepared.</summary>
    public static delegate*<float*, nint, float*, float*, nint, float*, float*, float*, void> For(int n) => n switch
    {
        1 => &Block<C1>,
        2 => &Block<C2>,
        3 => &Block<C3>,
        4 => &Block<C4>,
        5 => &Block<C5>,
        6 => &Block<C6>,
        7 => &Block<C7>,
        8 => &Block<C8>,
        9 => &Block<C9>,
        10 => &Block<C10>,
        11 => &Block<C11>,
        12 => &Block<C12>,
        13 => &Block<C13>,
        14 => &Block<C14>,
        15 => &Block<C15>,
        16 => &Block<C16>,
        _ => throw new ArgumentOutOfRangeException(nameof(n), n, "a latency block holds 1 to 16 vectors"),
    };

    /// <summary>
    /// sums[0 .. N*V) = init + sum over k &lt; d1 of x1[k] w1[k] + sum over k &lt; d2 of x2[k] w2[k],
    /// where w[k] is the N*V floats at w + k*N*V. Either depth may be 0.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Block<TN>(float* x1, nint d1, float* w1, float* x2, nint d2, float* w2, float* init, float* sums) where TN : IConst
    {
        int N = TN.Value, V = S.Count;
        TV a0 = S.Load(init), a1 = N > 1 ? S.Load(init + V) : S.Zero, a2 = N > 2 ? S.Load(init + 2 * V) : S.Zero, a3 = N > 3 ? S.Load(init + 3 * V) : S.Zero;
        TV a4 = N > 4 ? S.Load(init + 4 * V) : S.Zero, a5 = N > 5 ? S.Load(init + 5 * V) : S.Zero, a6 = N > 6 ? S.Load(init + 6 * V) : S.Zero, a7 = N > 7 ? S.Load(init + 7 * V) : S.Zero;
        TV a8 = N > 8 ? S.Load(init + 8 * V) : S.Zero, a9 = N > 9 ? S.Load(init + 9 * V) : S.Zero, a10 = N > 10 ? S.Load(init + 10 * V) : S.Zero, a11 = N > 11 ? S.Load(init + 11 * V) : S.Zero;
        TV a12 = N > 12 ? S.Load(init + 12 * V) : S.Zero, a13 = N > 13 ? S.Load(init + 13 * V) : S.Zero, a14 = N > 14 ? S.Load(init + 14 * V) : S.Zero, a15 = N > 15 ? S.Load(init + 15 * V) : S.Zero;
        Accumulate<TN>(x1, d1, w1, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7, ref a8, ref a9, ref a10, ref a11, ref a12, ref a13, ref a14, ref a15);
        Accumulate<TN>(x2, d2, w2, ref a0, ref a1, ref a2, ref a3, ref a4, ref a5, ref a6, ref a7, ref a8, ref a9, ref a10, ref a11, ref a12, ref a13, ref a14, ref a15);
        // Partial sums of a split depth: chain j holds output j % N; add them in a fixed order.
        int TS = Split(N);
        if (TS == 8) a0 = S.Add(S.Add(S.Add(a0, a1), S.Add(a2, a3)), S.Add(S.Add(a8, a9), S.Add(a10, a11)));
        else if (TS == 4)
        {
            // N = 2 or 3: chains N*s + n for s = 0..3.
            if (N == 2) { a0 = S.Add(S.Add(a0, a2), S.Add(a4, a6)); a1 = S.Add(S.Add(a1, a3), S.Add(a5, a7)); }
            else { a0 = S.Add(S.Add(a0, a3), S.Add(a6, a9)); a1 = S.Add(S.Add(a1, a4), S.Add(a7, a10)); a2 = S.Add(S.Add(a2, a5), S.Add(a8, a11)); }
        }
        else if (TS == 2)
        {
            // N = 4..7: chains n and N + n.
            if (N == 4) { a0 = S.Add(a0, a4); a1 = S.Add(a1, a5); a2 = S.Add(a2, a6); a3 = S.Add(a3, a7); }
            else if (N == 5) { a0 = S.Add(a0, a5); a1 = S.Add(a1, a6); a2 = S.Add(a2, a7); a3 = S.Add(a3, a8); a4 = S.Add(a4, a9); }
            else if (N == 6) { a0 = S.Add(a0, a6); a1 = S.Add(a1, a7); a2 = S.Add(a2, a8); a3 = S.Add(a3, a9); a4 = S.Add(a4, a10); a5 = S.Add(a5, a11); }
            else { a0 = S.Add(a0, a7); a1 = S.Add(a1, a8); a2 = S.Add(a2, a9); a3 = S.Add(a3, a10); a4 = S.Add(a4, a11); a5 = S.Add(a5, a12); a6 = S.Add(a6, a13); }
        }
        S.Store(sums, a0);
        if (N > 1) S.Store(sums + V, a1);
        if (N > 2) S.Store(sums + 2 * V, a2);
        if (N > 3) S.Store(sums + 3 * V, a3);
        if (N > 4) S.Store(sums + 4 * V, a4);
        if (N > 5) S.Store(sums + 5 * V, a5);
        if (N > 6) S.Store(sums + 6 * V, a6);
        if (N > 7) S.Store(sums + 7 * V, a7);
        if (N > 8) S.Store(sums + 8 * V, a8);
        if (N > 9) S.Store(sums + 9 * V, a9);
        if (N > 10) S.Store(sums + 10 * V, a10);
        if (N > 11) S.Store(sums + 11 * V, a11);
        if (N > 12) S.Store(sums + 12 * V, a12);
        if (N > 13) S.Store(sums + 13 * V, a13);
        if (N > 14) S.Store(sums + 14 * V, a14);
        if (N > 15) S.Store(sums + 15 * V, a15);
    }

    /// <summary>Partial sums per output vector: enough chains (N * TS &gt;= 8) to cover FMA latency.
    /// N = 1 uses a0-a3 and a8-a11: 8 in all.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int Split(int n) => n >= 8 ? 1 : n >= 4 ? 2 : n >= 2 ? 4 : 8;

    /// <summary>
    /// The chains over one source. Chain j takes depth k = k0 + j / N against output vector j % N,
    /// except for N = 1, whose 8 chains are 0-3 and 8-11 (so the same fixed reduction tree serves it).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate<TN>(float* x, nint depth, float* w, ref TV a0, ref TV a1, ref TV a2, ref TV a3, ref TV a4, ref TV a5, ref TV a6, ref TV a7,
        ref TV a8, ref TV a9, ref TV a10, ref TV a11, ref TV a12, ref TV a13, ref TV a14, ref TV a15) where TN : IConst
    {
        int N = TN.Value, TS = Split(N), V = S.Count;
        nint row = (nint)N * V, k = 0;
        if (N == 1)
        {
            // 8 chains: depths k..k+7 into a0, a1, a2, a3, a8, a9, a10, a11 (the tree above adds 4-7 and 12-15, which stay 0).
            for (; k + 8 <= depth; k += 8)
            {
                float* wk = w + k * row;
                a0 = S.MultiplyAdd(S.Load(wk), S.Broadcast(x + k), a0);
                a1 = S.MultiplyAdd(S.Load(wk + V), S.Broadcast(x + k + 1), a1);
                a2 = S.MultiplyAdd(S.Load(wk + 2 * V), S.Broadcast(x + k + 2), a2);
                a3 = S.MultiplyAdd(S.Load(wk + 3 * V), S.Broadcast(x + k + 3), a3);
                a8 = S.MultiplyAdd(S.Load(wk + 4 * V), S.Broadcast(x + k + 4), a8);
                a9 = S.MultiplyAdd(S.Load(wk + 5 * V), S.Broadcast(x + k + 5), a9);
                a10 = S.MultiplyAdd(S.Load(wk + 6 * V), S.Broadcast(x + k + 6), a10);
                a11 = S.MultiplyAdd(S.Load(wk + 7 * V), S.Broadcast(x + k + 7), a11);
            }
        }
        else if (TS > 1)
        {
            for (; k + TS <= depth; k += TS)
            {
                float* wk = w + k * row;
                TV b0 = S.Broadcast(x + k), b1 = S.Broadcast(x + k + 1);
                TV b2 = TS > 2 ? S.Broadcast(x + k + 2) : b0, b3 = TS > 2 ? S.Broadcast(x + k + 3) : b0;
                // Chain j: depth k + j / N, output j % N, at wk + (j / N) * row + (j % N) * V = wk + j * V.
                a0 = S.MultiplyAdd(S.Load(wk), Pick(0 / N, b0, b1, b2, b3), a0);
                a1 = S.MultiplyAdd(S.Load(wk + V), Pick(1 / N, b0, b1, b2, b3), a1);
                a2 = S.MultiplyAdd(S.Load(wk + 2 * V), Pick(2 / N, b0, b1, b2, b3), a2);
                a3 = S.MultiplyAdd(S.Load(wk + 3 * V), Pick(3 / N, b0, b1, b2, b3), a3);
                a4 = S.MultiplyAdd(S.Load(wk + 4 * V), Pick(4 / N, b0, b1, b2, b3), a4);
                a5 = S.MultiplyAdd(S.Load(wk + 5 * V), Pick(5 / N, b0, b1, b2, b3), a5);
                a6 = S.MultiplyAdd(S.Load(wk + 6 * V), Pick(6 / N, b0, b1, b2, b3), a6);
                a7 = S.MultiplyAdd(S.Load(wk + 7 * V), Pick(7 / N, b0, b1, b2, b3), a7);
                if (N * TS > 8)
                {
                    a8 = S.MultiplyAdd(S.Load(wk + 8 * V), Pick(8 / N, b0, b1, b2, b3), a8);
                    a9 = S.MultiplyAdd(S.Load(wk + 9 * V), Pick(9 / N, b0, b1, b2, b3), a9);
                }
                if (N * TS > 10)
                {
                    a10 = S.MultiplyAdd(S.Load(wk + 10 * V), Pick(10 / N, b0, b1, b2, b3), a10);
                    a11 = S.MultiplyAdd(S.Load(wk + 11 * V), Pick(11 / N, b0, b1, b2, b3), a11);
                }
                if (N * TS > 12)
                {
                    a12 = S.MultiplyAdd(S.Load(wk + 12 * V), Pick(12 / N, b0, b1, b2, b3), a12);
                    a13 = S.MultiplyAdd(S.Load(wk + 13 * V), Pick(13 / N, b0, b1, b2, b3), a13);
                }
            }
        }
        // One depth at a time: every chain of split s = 0 (and all chains when N >= 8).
        for (; k < depth; k++)
        {
            float* wk = w + k * row;
            TV b = S.Broadcast(x + k);
            a0 = S.MultiplyAdd(S.Load(wk), b, a0);
            if (N > 1) a1 = S.MultiplyAdd(S.Load(wk + V), b, a1);
            if (N > 2) a2 = S.MultiplyAdd(S.Load(wk + 2 * V), b, a2);
            if (N > 3) a3 = S.MultiplyAdd(S.Load(wk + 3 * V), b, a3);
            if (N > 4) a4 = S.MultiplyAdd(S.Load(wk + 4 * V), b, a4);
            if (N > 5) a5 = S.MultiplyAdd(S.Load(wk + 5 * V), b, a5);
            if (N > 6) a6 = S.MultiplyAdd(S.Load(wk + 6 * V), b, a6);
            if (N > 7) a7 = S.MultiplyAdd(S.Load(wk + 7 * V), b, a7);
            if (N > 8) a8 = S.MultiplyAdd(S.Load(wk + 8 * V), b, a8);
            if (N > 9) a9 = S.MultiplyAdd(S.Load(wk + 9 * V), b, a9);
            if (N > 10) a10 = S.MultiplyAdd(S.Load(wk + 10 * V), b, a10);
            if (N > 11) a11 = S.MultiplyAdd(S.Load(wk + 11 * V), b, a11);
            if (N > 12) a12 = S.MultiplyAdd(S.Load(wk + 12 * V), b, a12);
            if (N > 13) a13 = S.MultiplyAdd(S.Load(wk + 13 * V), b, a13);
            if (N > 14) a14 = S.MultiplyAdd(S.Load(wk + 14 * V), b, a14);
            if (N > 15) a15 = S.MultiplyAdd(S.Load(wk + 15 * V), b, a15);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV Pick(int s, TV b0, TV b1, TV b2, TV b3) => s == 0 ? b0 : s == 1 ? b1 : s == 2 ? b2 : b3;
}

internal readonly struct C9 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 9; } }
internal readonly struct C10 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 10; } }
internal readonly struct C11 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 11; } }
internal readonly struct C12 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 12; } }
internal readonly struct C13 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 13; } }
internal readonly struct C14 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 14; } }
internal readonly struct C15 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 15; } }
internal readonly struct C16 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 16; } }
