using System.Runtime.CompilerServices;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// The vector operations the CPU kernels are written in, one implementation per width
/// (<see cref="Simd128"/>, <see cref="Simd256"/>, <see cref="Simd512"/>), and each width's tile policy.
/// The kernels are generic over a struct that
/// implements this, so the JIT compiles one specialised, fully inlined copy per width from one source.
/// A width implements only primitives, each a thin wrapper over one operation of its vector type;
/// the activations are written once on top of them in <see cref="SimdMath{S, TV}"/>, and a width's
/// <see cref="Tanh"/> and <see cref="Sigmoid"/> just forward there.
/// </summary>
internal unsafe interface ISimd<TV> where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    // The tile policy of MatMulTile: what this width's register file and the memory system favour
    // (the measurements are in BENCHMARKS.md, "Kernel notes"). None of it changes a result.

    /// <summary>Column vectors per strip of the many-rows tile (6 rows x this many): as many as the
    /// registers hold beside 6 rows of accumulators, a broadcast and the strip's weight vectors.</summary>
    static abstract int ManyRowsTileColumns { get; }

    /// <summary>Whether the many-rows tile asks for its weights 64 vectors ahead into L1 (the 2-row
    /// tile always does): where the hardware prefetcher alone falls behind the strip.</summary>
    static abstract bool PrefetchManyRowsTile { get; }

    /// <summary>Whether, from three row blocks on, the later row blocks of a strip pull the next strip
    /// into L2 while the first one's weights are found there.</summary>
    static abstract bool PrefetchNextStrip { get; }

    static abstract TV Zero { get; }
    static abstract TV Load(float* p);

    /// <summary>Count bfloat16 values at p (2*Count bytes), widened exactly to float32.</summary>
    static abstract TV LoadBFloat16(ushort* p);

    // The int8 integer kernel (MatMulTileInt8): int32 lanes in the float vector's bits.

    /// <summary>acc + per lane i: w[2i] * x0 + w[2i+1] * x1, int32 (vpmovsxbw + vpmaddwd); w holds 2*Count int8,
    /// xPair the int16 pair (x0, x1) in every 32-bit lane.</summary>
    static abstract TV MultiplyAddPairs(TV acc, sbyte* w, TV xPair);

    /// <summary>int32 lanes to float32 (rounded to nearest even above 2^24).</summary>
    static abstract TV ConvertInt32ToSingle(TV a);

    /// <summary>float32 lanes to int32, rounded to nearest even (finite, in range).</summary>
    static abstract TV ConvertToInt32RoundEven(TV a);

    /// <summary>The Count int32 lanes (each within int16) stored as Count int16 at p.</summary>
    static abstract void StoreInt16(short* p, TV a);
    static abstract void Store(float* p, TV v);

    /// <summary>A hint to fetch the cache line at p into L1 (never faults; a no-op without SSE).</summary>
    static abstract void Prefetch(float* p);

    /// <summary>A hint to fetch the cache line at p into L2 (never faults; a no-op without SSE).</summary>
    static abstract void PrefetchToL2(void* p);

    /// <summary>All lanes = *p.</summary>
    static abstract TV Broadcast(float* p);

    /// <summary>a * b + c, fused.</summary>
    static abstract TV MultiplyAdd(TV a, TV b, TV c);

    static abstract TV Add(TV a, TV b);
    static abstract TV Subtract(TV a, TV b);
    static abstract TV Multiply(TV a, TV b);

    static abstract TV Divide(TV a, TV b);

    /// <summary>-x.</summary>
    static abstract TV Negate(TV x);

    /// <summary>All lanes = value (a constant when value is one).</summary>
    static abstract TV Create(float value);

    /// <summary>min(a, b) as the hardware computes it (x86 minps: b where either is NaN or both are zero).</summary>
    static abstract TV MinNative(TV a, TV b);

    /// <summary>max(a, b) as the hardware computes it (x86 maxps: b where either is NaN or both are zero).</summary>
    static abstract TV MaxNative(TV a, TV b);

    static abstract TV And(TV a, TV b);
    static abstract TV Or(TV a, TV b);

    /// <summary>a &amp; ~b.</summary>
    static abstract TV AndNot(TV a, TV b);

    /// <summary>Per lane, all ones where a == b (never for NaN), else zero.</summary>
    static abstract TV CompareEqual(TV a, TV b);

    /// <summary>Per lane, all ones where a &lt; b, else zero.</summary>
    static abstract TV CompareLessThan(TV a, TV b);

    /// <summary>Per lane, all ones where a &lt;= b, else zero.</summary>
    static abstract TV CompareLessThanOrEqual(TV a, TV b);

    /// <summary>Per bit: a where mask is set, b elsewhere.</summary>
    static abstract TV ConditionalSelect(TV mask, TV a, TV b);

    // Integer lanes: these read and write the float vector's bits as 32-bit integers.

    /// <summary>All lanes hold the bits of value.</summary>
    static abstract TV CreateInt32(int value);

    static abstract TV AddInt32(TV a, TV b);
    static abstract TV SubtractInt32(TV a, TV b);
    static abstract TV ShiftLeftInt32(TV a, int count);

    /// <summary>max(x, 0).</summary>
    static abstract TV Relu(TV x);

    /// <summary>tanh, max abs error &lt;= 1e-6 over all floats; odd (keeps -0); NaN in, NaN out (<see cref="SimdMath{S, TV}.Tanh"/>).</summary>
    static abstract TV Tanh(TV x);

    /// <summary>1 / (1 + e^-x), max abs error &lt;= 1e-6 over all floats; exactly 0 and 1 at -inf and +inf; NaN in, NaN out (<see cref="SimdMath{S, TV}.Sigmoid"/>).</summary>
    static abstract TV Sigmoid(TV x);
}

/// <summary>A compile-time integer: generic kernels take these so the JIT drops the unused accumulators.</summary>
internal interface IConst
{
    static abstract int Value { get; }
}

internal readonly struct C1 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 1; } }
internal readonly struct C2 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 2; } }
internal readonly struct C3 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 3; } }
internal readonly struct C4 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 4; } }
internal readonly struct C5 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 5; } }
internal readonly struct C6 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 6; } }
internal readonly struct C7 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 7; } }
internal readonly struct C8 : IConst { public static int Value { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 8; } }
