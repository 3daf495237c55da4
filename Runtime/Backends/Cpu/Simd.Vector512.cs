using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace RnnRuntime.Backends.Cpu;

/// <summary>16 floats per vector: the <c>avx512</c> backend. Written with the portable Vector512 API
/// except where AVX-512F/BW have the one instruction (the bfloat16 widening, vpmovsxbw + vpmaddwd,
/// the round-to-even conversion) and for SSE's prefetch hints, each behind its IsSupported test with a
/// portable fallback, so it also runs (in software, slowly) where
/// AVX-512 is absent, which is how the tests exercise it on AVX2-only machines.</summary>
internal readonly unsafe struct Simd512 : ISimd<Vector512<float>>
{
    public static int Count
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512<float>.Count;
    }

    // 6 x 4 in 32 registers (24 accumulators, 4 weight vectors, a broadcast) beat 6 x 2; the hardware
    // prefetcher follows a 4-vector strip by itself (software prefetch only competed with it), and
    // pulling the next strip into L2 paid from three row blocks on.
    public static int ManyRowsTileColumns { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 4; }
    public static bool PrefetchManyRowsTile { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => false; }
    public static bool PrefetchNextStrip { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => true; }

    public static Vector512<float> Zero
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get => Vector512<float>.Zero;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Load(float* p) => Vector512.Load(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> LoadBFloat16(ushort* p)
    {
        if (Avx512F.IsSupported) return Avx512F.ShiftLeftLogical(Avx512F.ConvertToVector512Int32(Vector256.Load(p)), 16).AsSingle();
        Vector256<ushort> v = Vector256.Load(p);
        return Vector512.ShiftLeft(Vector512.Create(Vector256.WidenLower(v), Vector256.WidenUpper(v)), 16).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MultiplyAddPairs(Vector512<float> acc, sbyte* w, Vector512<float> xPair)
    {
        if (Avx512BW.IsSupported) return (acc.AsInt32() + Avx512BW.MultiplyAddAdjacent(Avx512BW.ConvertToVector512Int16(Vector256.Load(w)), xPair.AsInt16())).AsSingle();
        return MultiplyAddPairsSoftware(acc, w, xPair);
    }

    private static Vector512<float> MultiplyAddPairsSoftware(Vector512<float> acc, sbyte* w, Vector512<float> xPair)
    {
        int* r = stackalloc int[16];
        acc.AsInt32().Store(r);
        int x0 = xPair.AsInt16().GetElement(0), x1 = xPair.AsInt16().GetElement(1);
        for (int i = 0; i < 16; i++) r[i] += w[2 * i] * x0 + w[2 * i + 1] * x1;
        return Vector512.Load(r).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ConvertInt32ToSingle(Vector512<float> a) => Vector512.ConvertToSingle(a.AsInt32());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ConvertToInt32RoundEven(Vector512<float> a) =>
        Avx512F.IsSupported ? Avx512F.ConvertToVector512Int32(a).AsSingle() : Vector512.ConvertToInt32(Vector512.Round(a)).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void StoreInt16(short* p, Vector512<float> a) => Vector512.Narrow(a.AsInt32(), a.AsInt32()).GetLower().Store(p);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(float* p, Vector512<float> v) => v.Store(p);

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
    public static Vector512<float> Divide(Vector512<float> a, Vector512<float> b) => a / b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Negate(Vector512<float> x) => -x;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Create(float value) => Vector512.Create(value);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MinNative(Vector512<float> a, Vector512<float> b) => Vector512.MinNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> MaxNative(Vector512<float> a, Vector512<float> b) => Vector512.MaxNative(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> And(Vector512<float> a, Vector512<float> b) => a & b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Or(Vector512<float> a, Vector512<float> b) => a | b;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> AndNot(Vector512<float> a, Vector512<float> b) => Vector512.AndNot(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> CompareEqual(Vector512<float> a, Vector512<float> b) => Vector512.Equals(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> CompareLessThan(Vector512<float> a, Vector512<float> b) => Vector512.LessThan(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> CompareLessThanOrEqual(Vector512<float> a, Vector512<float> b) => Vector512.LessThanOrEqual(a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ConditionalSelect(Vector512<float> mask, Vector512<float> a, Vector512<float> b) => Vector512.ConditionalSelect(mask, a, b);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> CreateInt32(int value) => Vector512.Create(value).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> AddInt32(Vector512<float> a, Vector512<float> b) => (a.AsInt32() + b.AsInt32()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> SubtractInt32(Vector512<float> a, Vector512<float> b) => (a.AsInt32() - b.AsInt32()).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ShiftLeftInt32(Vector512<float> a, int count) => Vector512.ShiftLeft(a.AsInt32(), count).AsSingle();

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Relu(Vector512<float> x) => Vector512.Max(x, Vector512<float>.Zero);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Tanh(Vector512<float> x) => SimdMath<Simd512, Vector512<float>>.Tanh(x);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> Sigmoid(Vector512<float> x) => SimdMath<Simd512, Vector512<float>>.Sigmoid(x);
}
