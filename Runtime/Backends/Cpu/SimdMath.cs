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
    // e^x for x already clamped to [-87, 88] (so 2^n stays a normal float). Cephes expf: range
    // reduction by ln 2 in two parts, degree-6 polynomial, ~1 ulp.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TV ExpClamped(TV x)
    {
        // Round x*log2(e) to nearest with the 1.5*2^23 trick: the integer lands in the low mantissa bits.
        TV magic = S.Create(12582912f);
        TV t = S.MultiplyAdd(x, S.Create(1.44269504088896341f), magic);
        TV n = S.Subtract(t, magic);
        TV ni = S.SubtractInt32(t, magic);
        TV r = S.MultiplyAdd(n, S.Create(-0.693359375f), x);
        r = S.MultiplyAdd(n, S.Create(2.12194440e-4f), r);
        TV p = S.Create(1.9875691500e-4f);
        p = S.MultiplyAdd(p, r, S.Create(1.3981999507e-3f));
        p = S.MultiplyAdd(p, r, S.Create(8.3334519073e-3f));
        p = S.MultiplyAdd(p, r, S.Create(4.1665795894e-2f));
        p = S.MultiplyAdd(p, r, S.Create(1.6666665459e-1f));
        p = S.MultiplyAdd(p, r, S.Create(5.0000001201e-1f));
        p = S.Add(S.MultiplyAdd(p, S.Multiply(r, r), r), S.Create(1f));
        TV scale = S.ShiftLeftInt32(S.AddInt32(ni, S.CreateInt32(127)), 23);
        return S.Multiply(p, scale);
    }

    /// <summary>See <see cref="ISimd{TV}.Tanh"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Tanh(TV x)
    {
        TV sign = S.Create(-0f);
        // |x| >= 10 gives 1 - 4e-9, which is 1f: clamping there is exact and keeps exp finite.
        TV a = S.MinNative(S.AndNot(x, sign), S.Create(10f));
        TV e = ExpClamped(S.Add(a, a));
        TV t = S.Subtract(S.Create(1f), S.Divide(S.Create(2f), S.Add(e, S.Create(1f))));
        // Odd function: put the sign back (tanh(-0) = -0). Below 2^-12, tanh(x) = x to within x^3/3,
        // under half an ulp, which keeps tiny and subnormal arguments exact instead of cancelling to 0.
        // NaN fails both compares and passes through.
        TV result = S.Or(t, S.And(x, sign));
        result = S.ConditionalSelect(S.CompareLessThan(a, S.Create(1f / 4096)), x, result);
        return S.ConditionalSelect(S.CompareEqual(x, x), result, x);
    }

    /// <summary>See <see cref="ISimd{TV}.Sigmoid"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Sigmoid(TV x)
    {
        TV m = S.Negate(x);
        TV limit = S.Create(88f);
        TV e = ExpClamped(S.MaxNative(S.MinNative(m, limit), S.Create(-87f)));
        TV s = S.Divide(S.Create(1f), S.Add(S.Create(1f), e));
        // Below x = -88 the true value (< 6e-39) is taken as 0, which makes sigmoid(-inf) exactly 0.
        return S.ConditionalSelect(S.CompareEqual(x, x), S.And(s, S.CompareLessThanOrEqual(m, limit)), x);
    }
}
