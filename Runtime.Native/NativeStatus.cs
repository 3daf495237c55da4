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

/// <summary>struct rnnrt_model_info in include/rnnrt.h (version 1 layout; the field order is ABI).</summary>
#pragma warning disable CS0649 // StructSize is written by the caller, in C
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

    /// <summary>The struct's size in its first version (it ended at Backend): the least a caller may pass.</summary>
    public const int FirstVersionSize = 56;
}

/// <summary>struct rnnrt_load_options of rnnrt.h (a newer caller's struct may be longer: only the fields
/// that fit in StructSize are read).</summary>
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

    /// <summary>The struct's size in its first version (it ended at LayerCount): the least a caller may pass.</summary>
    public const int FirstVersionSize = 48;

    /// <summary>Whether a caller's struct of <paramref name="structSize"/> bytes has the field ending at <paramref name="end"/>.</summary>
    public static bool Has(uint structSize, int end) => structSize >= (uint)end;
}
#pragma warning restore CS0649
