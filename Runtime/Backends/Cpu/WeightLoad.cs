using System.Runtime.CompilerServices;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// How the float kernel (<see cref="MatMulTile{S, TV}"/>) reads one vector of weights of a
/// <see cref="PackedMatrix"/>: float32 as is, bfloat16 widened exactly to float32 in registers. The
/// kernels are generic over it, so each element type gets its own specialised copy and the float32 one
/// is unchanged. Int8 has a kernel of its own (<see cref="MatMulTileInt8{S, TV}"/>).
/// </summary>
internal unsafe interface IWeightLoad
{
    /// <summary>Bytes per element.</summary>
    static abstract int Size { get; }

    /// <summary>The element type this loader reads.</summary>
    static abstract WeightElementType Type { get; }

    /// <summary>S.Count weights at p as float32.</summary>
    static abstract TV Load<S, TV>(byte* p) where S : ISimd<TV> where TV : struct;
}

internal readonly unsafe struct Float32Weights : IWeightLoad
{
    public static int Size { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 4; }
    public static WeightElementType Type => WeightElementType.Float32;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<S, TV>(byte* p) where S : ISimd<TV> where TV : struct => S.Load((float*)p);
}

internal readonly unsafe struct BFloat16Weights : IWeightLoad
{
    public static int Size { [MethodImpl(MethodImplOptions.AggressiveInlining)] get => 2; }
    public static WeightElementType Type => WeightElementType.BFloat16;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static TV Load<S, TV>(byte* p) where S : ISimd<TV> where TV : struct => S.LoadBFloat16((ushort*)p);
}
