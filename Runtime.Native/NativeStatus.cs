using System.Runtime.InteropServices;

namespace RnnRuntime.Native;

/// <summary>rnnrt_status in include/rnnrt.h; the numbers are ABI.</summary>
internal enum NativeStatus
{
    Ok = 0,
    InvalidArgument = 1,
    ShapeMismatch = 2,
    Io = 3,
    Format = 4,
    BackendUnavailable = 5,
    InvalidHandle = 6,
    OutOfMemory = 7,
    Internal = 8,
}

// The structs of include/rnnrt.h, field for field in C's order with C's alignment (Sequential), so
// each offset is the compiler's, never a sum written by hand. Every one starts with struct_size: a
// caller's struct may be older (shorter) or newer (longer) than ours, and only the fields that fit in
// struct_size are touched (Exports.Has). NativeAbiTests compares sizes and offsets with C's offsetof.

/// <summary>struct rnnrt_model_info.</summary>
#pragma warning disable CS0649 // StructSize is written by the caller, in C
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeModelInfo
{
    public const int BackendChars = 16;

    public uint StructSize;
    public int Cell;
    public int Nonlinearity;
    public int InputSize;
    public int HiddenSize;
    public int NumLayers;
    public int NumDirections;
    public int OutputSize;
    public int HasBias;
    public int StateSize;
    public fixed byte Backend[BackendChars];
    public int LayerCount;
    public int Threads;
    public int WeightFormat;
    public long WeightBytes;

    /// <summary>The struct's size in its first version, the least a caller may pass: it ended at Backend,
    /// where LayerCount begins (NativeAbiTests checks both offsets).</summary>
    public const int FirstVersionSize = 56;
}

/// <summary>struct rnnrt_load_options.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeLoadOptions
{
    public uint StructSize;
    public byte* Backend;
    public byte* Prefix;
    public byte* Device;
    public byte** Layers;
    public nuint LayerCount;
    public byte* Nonlinearity;
    public int Threads;
    public int WeightFormat;

    /// <summary>The struct's size in its first version, the least a caller may pass: it ended at LayerCount,
    /// where Nonlinearity begins (NativeAbiTests checks both offsets).</summary>
    public const int FirstVersionSize = 48;
}

/// <summary>struct rnnrt_layer_info.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct NativeLayerInfo
{
    public const int NameChars = 64;

    public uint StructSize;
    public int Kind;
    public int InputSize;
    public int OutputSize;
    public int Cell;
    public int Nonlinearity;
    public int HiddenSize;
    public int NumLayers;
    public int NumDirections;
    public int ProjSize;
    public int HasBias;
    public int StateSize;
    public fixed byte Name[NameChars];

    /// <summary>The first version is this one.</summary>
    public static int FirstVersionSize => sizeof(NativeLayerInfo);
}

/// <summary>The values of rnnrt_layer_info.kind (RNNRT_LAYER_*); the numbers are ABI.</summary>
internal enum NativeLayerKind
{
    Linear = 1,
    Recurrent = 2,
    Tanh = 3,
    Relu = 4,
    Sigmoid = 5,
    AddInput = 6,
}
#pragma warning restore CS0649
