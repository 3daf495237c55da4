using System.Runtime.CompilerServices;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// The activations, written once in the primitives of <see cref="ISimd{TV}"/>: each width's
/// <c>Tanh</c> and <c>Sigmoid</c> forward here, and the JIT inlines the lot into one specialised copy
/// per width. The operations and their order are what define the results bit for bit: keep the
/// multiply-adds fused and the min/max native.
/// </summary>
internal static class SimdMath<S, TV> where S : ISimd<TV> where TV : struct
{
    /// <summary>
    /// See <see cref="ISimd{TV}.Tanh"/>. A rational function, odd degree 13 over even degree 6 (Eigen's
    /// float tanh coefficients), on |x| clamped to 7.9053 where it meets 1 to within 3e-7: one divide
    /// and no exp, so the chain a cell epilogue waits on is about two thirds of exp's.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh(TV x)
    {
        TV sign = S.Create(-0f);
        TV a = S.AndNot(x, sign);
        TV c = S.MinNative(a, S.Create(7.90531110763549805f));
        TV c2 = S.Multiply(c, c);
        TV p = S.MultiplyAdd(c2, S.Create(-2.76076847742355e-16f), S.Create(2.00018790482477e-13f));
        p = S.MultiplyAdd(c2, p, S.Create(-8.60467152213735e-11f));
        p = S.MultiplyAdd(c2, p, S.Create(5.12229709037114e-08f));
        p = S.MultiplyAdd(c2, p, S.Create(1.48572235717979e-05f));
        p = S.MultiplyAdd(c2, p, S.Create(6.37261928875436e-04f));
        p = S.MultiplyAdd(c2, p, S.Create(4.89352455891786e-03f));
        TV q = S.MultiplyAdd(c2, S.Create(1.19825839466702e-06f), S.Create(1.18534705686654e-04f));
        q = S.MultiplyAdd(c2, q, S.Create(2.26843463243900e-03f));
        q = S.MultiplyAdd(c2, q, S.Create(4.89352518554385e-03f));
        TV t = S.Divide(S.Multiply(p, c), q);
        // From |x| = 9 tanh is 1 in float; below 2^-12 it is x to within half an ulp (which keeps tiny and
        // subnormal arguments exact); odd (the sign put back keeps tanh(-0) = -0); NaN fails every compare and passes through.
        t = S.ConditionalSelect(S.CompareLessThan(a, S.Create(9f)), t, S.Create(1f));
        TV result = S.Or(t, S.And(x, sign));
        result = S.ConditionalSelect(S.CompareLessThan(a, S.Create(1f / 4096)), x, result);
        return S.ConditionalSelect(S.CompareEqual(x, x), result, x);
    }

    /// <summary>See <see cref="ISimd{TV}.Sigmoid"/>: 1/2 + tanh(x/2)/2, exactly 0 and 1 where tanh saturates.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid(TV x)
    {
        TV half = S.Create(0.5f);
        return S.MultiplyAdd(half, Tanh(S.Multiply(x, half)), half);
    }
}
