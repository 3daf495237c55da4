namespace RnnRuntime;

/// <summary>How a model is loaded and which backend runs it.</summary>
public sealed record RnnOptions
{
    /// <summary>"auto" | "reference" | "avx2" | "avx512" | "opencl".</summary>
    public string Backend { get; init; } = "auto";

    /// <summary>
    /// Module prefix of the RNN tensors to load (e.g. "encoder.gru"), needed only when a state_dict
    /// holds more than one RNN module. Null: the file must hold exactly one.
    /// </summary>
    public string? Prefix { get; init; }

    /// <summary>
    /// OpenCL device: null picks the first GPU (else the first device); a number is an index into
    /// the list of all devices of all platforms; anything else is a case-insensitive substring of
    /// the device name.
    /// </summary>
    public string? Device { get; init; }

    public static RnnOptions Default { get; } = new();
}
