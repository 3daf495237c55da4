using System.Runtime.CompilerServices;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// The gate math of one group of V hidden units of one batch row, run as soon as the recurrent
/// product has summed that group's G column vectors (while they are still in L1). gx holds
/// W_ih x + b_ih (+ b_hh where the cell allows folding), gh holds W_hh h (+ b_hn for GRU), both in
/// the packed column order (gate g of the group at g*V). The new h goes to <c>hNew</c> (h itself is
/// still being read by the product); c is updated in place. One struct per cell kind, so a loop
/// generic over it compiles to straight-line vector code.
/// </summary>
internal static unsafe class CellEpilogue<S, TV> where S : ISimd<TV> where TV : struct
{
    public readonly struct RnnTanh : ICellEpilogue
    {
        public static int Gates => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Finish(float* gx, float* gh, float* h, float* c, float* hNew) => Finish(gx, gh, S.Count, h, c, hNew);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Finish(float* gx, float* gh, nint stride, float* h, float* c, float* hNew) =>
            S.Store(hNew, S.Tanh(S.Add(S.Load(gx), S.Load(gh))));

        public static bool ReadsH => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void FinishSummed(float* g, nint stride, float* c, float* hNew) => S.Store(hNew, S.Tanh(S.Load(g)));
    }

    public readonly struct RnnRelu : ICellEpilogue
    {
        public static int Gates => 1;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Finish(float* gx, float* gh, float* h, float* c, float* hNew) => Finish(gx, gh, S.Count, h, c, hNew);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Finish(float* gx, float* gh, nint stride, float* h, float* c, float* hNew) =>
            S.Store(hNew, S.Relu(S.Add(S.Load(gx), S.Load(gh))));

        public static bool ReadsH => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void FinishSummed(float* g, nint stride, float* c, float* hNew) => S.Store(hNew, S.Relu(S.Load(g)));
    }

    /// <summary>Gates r, z, n: n = tanh(gx_n + r * (W_hn h + b_hn)), h' = n + z * (h - n).</summary>
    public readonly struct Gru : ICellEpilogue
    {
        public static int Gates => 3;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Finish(float* gx, float* gh, float* h, float* c, float* hNew) => Finish(gx, gh, S.Count, h, c, hNew);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Finish(float* gx, float* gh, nint stride, float* h, float* c, float* hNew)
        {
            TV r = S.Sigmoid(S.Add(S.Load(gx), S.Load(gh)));
            TV z = S.Sigmoid(S.Add(S.Load(gx + stride), S.Load(gh + stride)));
            TV n = S.Tanh(S.MultiplyAdd(r, S.Load(gh + 2 * stride), S.Load(gx + 2 * stride)));
            S.Store(hNew, S.MultiplyAdd(z, S.Subtract(S.Load(h), n), n));
        }

        public static bool ReadsH => true;

        /// <summary>Never called: b_hn keeps the GRU's two sums apart.</summary>
        public static void FinishSummed(float* g, nint stride, float* c, float* hNew) => throw new InvalidOperationException("a GRU keeps W_hn h + b_hn apart from the input side");
    }

    /// <summary>Gates i, f, g, o: c' = f c + i g, h' = o tanh(c').</summary>
    public readonly struct Lstm : ICellEpilogue
    {
        public static int Gates => 4;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Finish(float* gx, float* gh, float* h, float* c, float* hNew) => Finish(gx, gh, S.Count, h, c, hNew);

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Finish(float* gx, float* gh, nint stride, float* h, float* c, float* hNew)
        {
            TV i = S.Sigmoid(S.Add(S.Load(gx), S.Load(gh)));
            TV f = S.Sigmoid(S.Add(S.Load(gx + stride), S.Load(gh + stride)));
            TV g = S.Tanh(S.Add(S.Load(gx + 2 * stride), S.Load(gh + 2 * stride)));
            TV o = S.Sigmoid(S.Add(S.Load(gx + 3 * stride), S.Load(gh + 3 * stride)));
            TV cNew = S.MultiplyAdd(f, S.Load(c), S.Multiply(i, g));
            S.Store(c, cNew);
            S.Store(hNew, S.Multiply(o, S.Tanh(cNew)));
        }

        public static bool ReadsH => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void FinishSummed(float* g, nint stride, float* c, float* hNew)
        {
            TV i = S.Sigmoid(S.Load(g));
            TV f = S.Sigmoid(S.Load(g + stride));
            TV gg = S.Tanh(S.Load(g + 2 * stride));
            TV o = S.Sigmoid(S.Load(g + 3 * stride));
            TV cNew = S.MultiplyAdd(f, S.Load(c), S.Multiply(i, gg));
            S.Store(c, cNew);
            S.Store(hNew, S.Multiply(o, S.Tanh(cNew)));
        }
    }
}

/// <summary>The gate math of one cell kind on one group of V units (see <see cref="CellEpilogue{S, TV}"/>).</summary>
internal unsafe interface ICellEpilogue
{
    /// <summary>h and c point at V valid floats (c: LSTM only); hNew receives the new h. Gate g of the
    /// group is at g*V (the panel products' packed order).</summary>
    static abstract void Finish(float* gx, float* gh, float* h, float* c, float* hNew);

    /// <summary>The same with gate g at g*<paramref name="stride"/> (the latency kernel's row order, stride H).</summary>
    static abstract void Finish(float* gx, float* gh, nint stride, float* h, float* c, float* hNew);

    /// <summary>G: gates per unit.</summary>
    static abstract int Gates { get; }

    /// <summary>Whether the gate math reads the old h (GRU's h' = n + z (h - n)); the others read only c.</summary>
    static abstract bool ReadsH { get; }

    /// <summary>The same from one sum per gate, where the cell adds its input and recurrent sums anyway
    /// (RNN, LSTM: every bias folds into the input side); the latency kernel sums both into one register.</summary>
    static abstract void FinishSummed(float* g, nint stride, float* c, float* hNew);
}
