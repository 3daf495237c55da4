using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnRuntime.Backends.Cpu;

/// <summary>8 floats per vector: the <c>avx2</c> backend (AVX2 + FMA when the JIT has them).</summary>
internal readonly unsafe struct Simd256 : ISimd<Vector256<float>>
{
    public static int Count
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector256<float>.Count;
    }

    public static Vector256<float> Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector256<float>.Zero;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* p) => Vector256.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* p, Vector256<float> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(float* p)
    {
        if (Sse.IsSupported) Sse.Prefetch0(p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Broadcast(float* p) => Vector256.Create(*p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAdd(Vector256<float> a, Vector256<float> b, Vector256<float> c) => Vector256.FusedMultiplyAdd(a, b, c);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Add(Vector256<float> a, Vector256<float> b) => a + b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Subtract(Vector256<float> a, Vector256<float> b) => a - b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Multiply(Vector256<float> a, Vector256<float> b) => a * b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Relu(Vector256<float> x) => Vector256.Max(x, Vector256<float>.Zero);

    // e^x for x already clamped to [-87, 88] (so 2^n stays a normal float). Cephes expf: range
    // reduction by ln 2 in two parts, degree-6 polynomial, ~1 ulp.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpClamped(Vector256<float> x)
    {
        // Round x*log2(e) to nearest with the 1.5*2^23 trick: the integer lands in the low mantissa bits.
        Vector256<float> magic = Vector256.Create(12582912f);
        Vector256<float> t = Vector256.FusedMultiplyAdd(x, Vector256.Create(1.44269504088896341f), magic);
        Vector256<float> n = t - magic;
        Vector256<int> ni = t.AsInt32() - magic.AsInt32();
        Vector256<float> r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693359375f), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(2.12194440e-4f), r);
        Vector256<float> p = Vector256.Create(1.9875691500e-4f);
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.3981999507e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(8.3334519073e-3f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(4.1665795894e-2f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(1.6666665459e-1f));
        p = Vector256.FusedMultiplyAdd(p, r, Vector256.Create(5.0000001201e-1f));
        p = Vector256.FusedMultiplyAdd(p, r * r, r) + Vector256<float>.One;
        Vector256<float> scale = Vector256.ShiftLeft(ni + Vector256.Create(127), 23).AsSingle();
        return p * scale;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x)
    {
        Vector256<float> sign = Vector256.Create(-0f);
        // |x| >= 10 gives 1 - 4e-9, which is 1f: clamping there is exact and keeps exp finite.
        Vector256<float> a = Vector256.MinNative(Vector256.AndNot(x, sign), Vector256.Create(10f));
        Vector256<float> e = ExpClamped(a + a);
        Vector256<float> t = Vector256<float>.One - Vector256.Create(2f) / (e + Vector256<float>.One);
        // Odd function: put the sign back (tanh(-0) = -0). Below 2^-12, tanh(x) = x to within x^3/3,
        // under half an ulp, which keeps tiny and subnormal arguments exact instead of cancelling to 0.
        // NaN fails both compares and passes through.
        Vector256<float> result = t | (x & sign);
        result = Vector256.ConditionalSelect(Vector256.LessThan(a, Vector256.Create(1f / 4096)), x, result);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), result, x);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x)
    {
        Vector256<float> m = -x;
        Vector256<float> limit = Vector256.Create(88f);
        Vector256<float> e = ExpClamped(Vector256.MaxNative(Vector256.MinNative(m, limit), Vector256.Create(-87f)));
        Vector256<float> s = Vector256<float>.One / (Vector256<float>.One + e);
        // Below x = -88 the true value (< 6e-39) is taken as 0, which makes sigmoid(-inf) exactly 0.
        s &= Vector256.LessThanOrEqual(m, limit);
        return Vector256.ConditionalSelect(Vector256.Equals(x, x), s, x);
    }
}
