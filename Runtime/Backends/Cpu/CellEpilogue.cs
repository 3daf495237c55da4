using System.Runtime.CompilerServices;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// The gate math of one group of V hidden units of one batch row, run as soon as the recurrent
/// product has summed that group's G column vectors (while they are still in L1). gx holds
/// W_ih x + b_ih (+ b_hh where the cell allows folding), gh holds W_hh h (+ b_hn for GRU), both in
/// the packed column order (gate g of the group at g*V). The new h goes to <c>hNew</c> (h itself is
/// still being read by the product); c is updated in place.
/// </summary>
internal static unsafe class CellEpilogue<S, TV> where S : ISimd<TV> where TV : struct
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Rnn(float* gx, float* gh, float* hNew, bool relu)
    {
        TV a = S.Add(S.Load(gx), S.Load(gh));
        S.Store(hNew, relu ? S.Relu(a) : S.Tanh(a));
    }

    /// <summary>Gates r, z, n: n = tanh(gx_n + r * (W_hn h + b_hn)), h' = n + z * (h - n).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Gru(float* gx, float* gh, float* h, float* hNew)
    {
        int V = S.Count;
        TV r = S.Sigmoid(S.Add(S.Load(gx), S.Load(gh)));
        TV z = S.Sigmoid(S.Add(S.Load(gx + V), S.Load(gh + V)));
        TV n = S.Tanh(S.MultiplyAdd(r, S.Load(gh + 2 * V), S.Load(gx + 2 * V)));
        S.Store(hNew, S.MultiplyAdd(z, S.Subtract(S.Load(h), n), n));
    }

    /// <summary>Gates i, f, g, o: c' = f c + i g, h' = o tanh(c').</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Lstm(float* gx, float* gh, float* c, float* hNew)
    {
        int V = S.Count;
        TV i = S.Sigmoid(S.Add(S.Load(gx), S.Load(gh)));
        TV f = S.Sigmoid(S.Add(S.Load(gx + V), S.Load(gh + V)));
        TV g = S.Tanh(S.Add(S.Load(gx + 2 * V), S.Load(gh + 2 * V)));
        TV o = S.Sigmoid(S.Add(S.Load(gx + 3 * V), S.Load(gh + 3 * V)));
        TV cNew = S.MultiplyAdd(f, S.Load(c), S.Multiply(i, g));
        S.Store(c, cNew);
        S.Store(hNew, S.Multiply(o, S.Tanh(cNew)));
    }
}
