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

    // 6 x 2 is BLIS's Haswell shape: 12 accumulators, 2 weight vectors and a broadcast in 16 registers.
    // At 2 vectors a strip is too thin for the hardware prefetcher alone; pulling the next strip did not pay.
    public static int ManyRowsTileColumns { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 2; }
    public static bool PrefetchManyRowsTile { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => true; }
    public static bool PrefetchNextStrip { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => false; }

    public static Vector256<float> Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector256<float>.Zero;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Load(float* p) => Vector256.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> LoadBFloat16(ushort* p)
    {
        // vpmovzxwd from memory, then the 16 bits move to the top of each float.
        if (Avx2.IsSupported) return Avx2.ShiftLeftLogical(Avx2.ConvertToVector256Int32(p), 16).AsSingle();
        Vector128<ushort> v = Vector128.Load(p);
        return Vector256.ShiftLeft(Vector256.Create(Vector128.WidenLower(v), Vector128.WidenUpper(v)), 16).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MultiplyAddPairs(Vector256<float> acc, sbyte* w, Vector256<float> xPair)
    {
        if (Avx2.IsSupported) return (acc.AsInt32() + Avx2.MultiplyAddAdjacent(Avx2.ConvertToVector256Int16(w), xPair.AsInt16())).AsSingle();
        return MultiplyAddPairsSoftware(acc, w, xPair);
    }

    private static Vector256<float> MultiplyAddPairsSoftware(Vector256<float> acc, sbyte* w, Vector256<float> xPair)
    {
        int* r = stackalloc int[8];
        acc.AsInt32().Store(r);
        int x0 = xPair.AsInt16().GetElement(0), x1 = xPair.AsInt16().GetElement(1);
        for (int i = 0; i < 8; i++) r[i] += w[2 * i] * x0 + w[2 * i + 1] * x1;
        return Vector256.Load(r).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ConvertInt32ToSingle(Vector256<float> a) => Vector256.ConvertToSingle(a.AsInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ConvertToInt32RoundEven(Vector256<float> a) =>
        Avx.IsSupported ? Avx.ConvertToVector256Int32(a).AsSingle() : Vector256.ConvertToInt32(Vector256.Round(a)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreInt16(short* p, Vector256<float> a) => Vector256.Narrow(a.AsInt32(), a.AsInt32()).GetLower().Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* p, Vector256<float> v) => v.Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Prefetch(float* p)
    {
        if (Sse.IsSupported) Sse.Prefetch0(p);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void PrefetchToL2(void* p)
    {
        if (Sse.IsSupported) Sse.Prefetch1(p);
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
    public static Vector256<float> Divide(Vector256<float> a, Vector256<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Negate(Vector256<float> x) => -x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Create(float value) => Vector256.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MinNative(Vector256<float> a, Vector256<float> b) => Vector256.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> MaxNative(Vector256<float> a, Vector256<float> b) => Vector256.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> And(Vector256<float> a, Vector256<float> b) => a & b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Or(Vector256<float> a, Vector256<float> b) => a | b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> AndNot(Vector256<float> a, Vector256<float> b) => Vector256.AndNot(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> CompareEqual(Vector256<float> a, Vector256<float> b) => Vector256.Equals(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> CompareLessThan(Vector256<float> a, Vector256<float> b) => Vector256.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> CompareLessThanOrEqual(Vector256<float> a, Vector256<float> b) => Vector256.LessThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ConditionalSelect(Vector256<float> mask, Vector256<float> a, Vector256<float> b) => Vector256.ConditionalSelect(mask, a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> CreateInt32(int value) => Vector256.Create(value).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> AddInt32(Vector256<float> a, Vector256<float> b) => (a.AsInt32() + b.AsInt32()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> SubtractInt32(Vector256<float> a, Vector256<float> b) => (a.AsInt32() - b.AsInt32()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ShiftLeftInt32(Vector256<float> a, int count) => Vector256.ShiftLeft(a.AsInt32(), count).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Relu(Vector256<float> x) => Vector256.Max(x, Vector256<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Tanh(Vector256<float> x) => SimdMath<Simd256, Vector256<float>>.Tanh(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> Sigmoid(Vector256<float> x) => SimdMath<Simd256, Vector256<float>>.Sigmoid(x);
}
