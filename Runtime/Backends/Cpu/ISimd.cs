using System.Runtime.CompilerServices;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// The vector operations the CPU kernels are written in, one implementation per width
/// (<see cref="Simd256"/>, <see cref="Simd512"/>). The kernels are generic over a struct that
/// implements this, so the JIT compiles one specialised, fully inlined copy per width from one source.
/// </summary>
internal unsafe interface ISimd<TV> where TV : struct
{
    /// <summary>Floats per vector.</summary>
    static abstract int Count { get; }

    static abstract TV Zero { get; }
    static abstract TV Load(float* p);
    static abstract void Store(float* p, TV v);

    /// <summary>A hint to fetch the cache line at p into L1 (never faults; a no-op without SSE).</summary>
    static abstract void Prefetch(float* p);

    /// <summary>All lanes = *p.</summary>
    static abstract TV Broadcast(float* p);

    /// <summary>a * b + c, fused.</summary>
    static abstract TV MultiplyAdd(TV a, TV b, TV c);

    static abstract TV Add(TV a, TV b);
    static abstract TV Subtract(TV a, TV b);
    static abstract TV Multiply(TV a, TV b);

    /// <summary>max(x, 0).</summary>
    static abstract TV Relu(TV x);

    /// <summary>tanh, max abs error &lt;= 1e-6 over all floats; odd (keeps -0); NaN in, NaN out.</summary>
    static abstract TV Tanh(TV x);

    /// <summary>1 / (1 + e^-x), max abs error &lt;= 1e-6 over all floats; exactly 0 and 1 at -inf and +inf; NaN in, NaN out.</summary>
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
