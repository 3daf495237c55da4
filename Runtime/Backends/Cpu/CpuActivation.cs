using System.Runtime.CompilerServices;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu;

/// <summary>One elementwise function on a vector, as a struct so loops generic over it inline it.</summary>
internal interface IVectorFunction<TV> where TV : struct
{
    static abstract TV Apply(TV v);
}

/// <summary>
/// The elementwise layers' kernels on the CPU (tanh, relu, sigmoid, and add_input, which adds the network's
/// input), over dense (rows, width) values, and the activation structs that linear layers fuse into
/// their epilogue. The math is the cell epilogues' (<see cref="ISimd{TV}"/>), so a tanh layer and a
/// tanh gate round the same way.
/// </summary>
internal static unsafe class CpuActivation<S, TV> where S : ISimd<TV> where TV : struct
{
    public readonly struct Identity : IVectorFunction<TV>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Apply(TV v) => v;
    }

    public readonly struct Tanh : IVectorFunction<TV>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Apply(TV v) => S.Tanh(v);
    }

    public readonly struct Relu : IVectorFunction<TV>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Apply(TV v) => S.Relu(v);
    }

    public readonly struct Sigmoid : IVectorFunction<TV>
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static TV Apply(TV v) => S.Sigmoid(v);
    }

    /// <summary>y = f(x) over n floats (x and y may be the same); the tail through a padded copy.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Map<TAct>(CpuState s, float* x, long n, float* y) where TAct : struct, IVectorFunction<TV>
    {
        int V = S.Count;
        long i = 0;
        for (; i + V <= n; i += V) S.Store(y + i, TAct.Apply(S.Load(x + i)));
        if (i == n) return;
        int rest = (int)(n - i);
        float* t = s.Tail.Pointer;
        new Span<float>(t, V).Clear();
        new ReadOnlySpan<float>(x + i, rest).CopyTo(new Span<float>(t, rest));
        S.Store(t, TAct.Apply(S.Load(t)));
        new ReadOnlySpan<float>(t, rest).CopyTo(new Span<float>(y + i, rest));
    }

    /// <summary>y = x + input over n floats (add_input).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Add(float* x, float* input, long n, float* y)
    {
        int V = S.Count;
        long i = 0;
        for (; i + V <= n; i += V) S.Store(y + i, S.Add(S.Load(x + i), S.Load(input + i)));
        for (; i < n; i++) y[i] = x[i] + input[i];
    }
}
