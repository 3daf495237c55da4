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

    /// <summary>
    /// The network's layers in forward order, for a file saved as a plain state_dict: module prefixes
    /// (a linear or recurrent module's name in the state_dict) and the names tanh, relu, sigmoid and
    /// add_input, e.g. <c>["fc_in", "tanh", "gru", "fc", "sigmoid"]</c>. Null: the file's own
    /// <c>rnnrt.network</c> layer list (written by <c>rnnrt.save</c>), else the file's one recurrent
    /// module. With a layer list, <see cref="Prefix"/> (if set) is put in front of every module name.
    /// </summary>
    public IReadOnlyList<string>? Layers { get; init; }

    /// <summary>
    /// The activation of nn.RNN modules, which a state_dict does not record: null takes it from the
    /// file (a layer list's per-module <c>nonlinearity</c>, else <c>__metadata__</c> "nonlinearity"),
    /// and where the file says nothing either, tanh, PyTorch's own default. Where the file says the
    /// other one, loading fails rather than guess. GRU and LSTM modules have none (Relu on a file of
    /// one GRU or LSTM is an error).
    /// </summary>
    public RnnNonlinearity? Nonlinearity { get; init; }

    /// <summary>Every option at its default.</summary>
    public static RnnOptions Default { get; } = new();
}
