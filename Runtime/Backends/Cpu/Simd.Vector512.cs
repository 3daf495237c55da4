using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnRuntime.Backends.Cpu;

/// <summary>16 floats per vector: the <c>avx512</c> backend. Written only with the portable Vector512 API, so it also runs (in software, slowly) where AVX-512 is absent, which is how the tests exercise it on AVX2-only machines.</summary>
internal readonly unsafe struct Simd512 : ISimd<Vector512<float>>
{
    public static int Count
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512<float>.Count;
    }

    public static Vector512<float> Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512<float>.Zero;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* p) => Vector512.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* p, Vector512<float> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(float* p)
    {
        if (Sse.IsSupported) Sse.Prefetch0(p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Broadcast(float* p) => Vector512.Create(*p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAdd(Vector512<float> a, Vector512<float> b, Vector512<float> c) => Vector512.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Add(Vector512<float> a, Vector512<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Subtract(Vector512<float> a, Vector512<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Multiply(Vector512<float> a, Vector512<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Relu(Vector512<float> x) => Vector512.Max(x, Vector512<float>.Zero);

    // e^x for x already clamped to [-87, 88] (so 2^n stays a normal float). Cephes expf: range
    // reduction by ln 2 in two parts, degree-6 polynomial, ~1 ulp.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpClamped(Vector512<float> x)
    {
        // Round x*log2(e) to nearest with the 1.5*2^23 trick: the integer lands in the low mantissa bits.
        Vector512<float> magic = Vector512.Create(12582912f);
        Vector512<float> t = Vector512.FusedMultiplyAdd(x, Vector512.Create(1.44269504088896341f), magic);
        Vector512<float> n = t - magic;
        Vector512<int> ni = t.AsInt32() - magic.AsInt32();
        Vector512<float> r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        Vector512<float> p = Vector512.Create(1.9875691500e-4f);
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.3981999507e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(8.3334519073e-3f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(4.1665795894e-2f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(1.6666665459e-1f));
        p = Vector512.FusedMultiplyAdd(p, r, Vector512.Create(5.0000001201e-1f));
        p = Vector512.FusedMultiplyAdd(p, r * r, r) + Vector512<float>.One;
        Vector512<float> scale = Vector512.ShiftLeft(ni + Vector512.Create(127), 23).AsSingle();
        return p * scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x)
    {
        Vector512<float> sign = Vector512.Create(-0f);
        // |x| >= 10 gives 1 - 4e-9, which is 1f: clamping there is exact and keeps exp finite.
        Vector512<float> a = Vector512.MinNative(Vector512.AndNot(x, sign), Vector512.Create(10f));
        Vector512<float> e = ExpClamped(a + a);
        Vector512<float> t = Vector512<float>.One - Vector512.Create(2f) / (e + Vector512<float>.One);
        // Odd function: put the sign back (tanh(-0) = -0). Below 2^-12, tanh(x) = x to within x^3/3,
        // under half an ulp, which keeps tiny and subnormal arguments exact instead of cancelling to 0.
        // NaN fails both compares and passes through.
        Vector512<float> result = t | (x & sign);
        result = Vector512.ConditionalSelect(Vector512.LessThan(a, Vector512.Create(1f / 4096)), x, result);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), result, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x)
    {
        Vector512<float> m = -x;
        Vector512<float> limit = Vector512.Create(88f);
        Vector512<float> e = ExpClamped(Vector512.MaxNative(Vector512.MinNative(m, limit), Vector512.Create(-87f)));
        Vector512<float> s = Vector512<float>.One / (Vector512<float>.One + e);
        // Below x = -88 the true value (< 6e-39) is taken as 0, which makes sigmoid(-inf) exactly 0.
        s &= Vector512.LessThanOrEqual(m, limit);
        return Vector512.ConditionalSelect(Vector512.Equals(x, x), s, x);
    }
}
