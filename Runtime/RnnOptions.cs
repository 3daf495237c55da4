namespace RnnRuntime;

/// <summary>How a model is loaded and which backend runs it.</summary>
public sealed record RnnOptions
{
    /// <summary>"auto" | "reference" | "sse" | "neon" | "avx2" | "avx512" | "opencl" (<see cref="Backends.BackendRegistry.Available"/> lists what runs here).</summary>
    public string Backend { get; init; } = "auto";

    /// <summary>
    /// Where the network lives in the file: the module prefix of the RNN to load (e.g. "encoder.gru"),
    /// or of the whole network (a training checkpoint's "model"; with <see cref="Layers"/>, put in
    /// front of every module name). Only the tensors under it must all belong to a layer, so a
    /// checkpoint's optimizer state is left alone. Null: the whole file, which then must hold exactly
    /// one RNN module (without a layer list) and no tensor that no layer uses.
    /// </summary>
    public string? Prefix { get; init; }

    /// <summary>
    /// OpenCL device: null picks the first GPU (else the first device); a number is an index into
    /// the list of all devices of all platforms; anything else is a case-insensitive substring of
    /// the device name.
    /// </summary>
    public string? Device { get; init; }

    /// <summary>
    /// The network's layers in forward order, for a file saved as a plain state_dict, e.g.
    /// <c>["fc_in", "tanh", "gru", "fc", "sigmoid"]</c>. Each entry is a module prefix (a linear or
    /// recurrent module's name in the state_dict, its kind read from its tensors where they fit no
    /// other kind), an activation (tanh, relu, sigmoid, add_input), or says its kind and parameters as
    /// the file's <c>rnnrt.network</c> JSON does: <c>"linear:fc"</c> (<c>{"kind": "linear", "prefix": "fc"}</c>),
    /// <c>"gru:"</c> (a module at the root of the file), <c>"rnn(relu):rnn"</c> =
    /// <c>"rnn(nonlinearity=relu):rnn"</c>. Kinds not run yet (layer_norm, embedding, gelu,
    /// leaky_relu(0.2), ...) are refused by name. Every tensor (under <see cref="Prefix"/>) must belong
    /// to a listed layer, or loading fails naming the rest. Null: the file's own <c>rnnrt.network</c>
    /// layer list (written by <c>rnnrt.save</c>), else the file's one recurrent module. With a layer
    /// list, <see cref="Prefix"/> (if set) is put in front of every module name.
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

    /// <summary>
    /// Threads that compute one session's Step and Run on the CPU backends: 1 (the default) runs on
    /// the calling thread only, so a latency-sensitive program keeps its other cores; 0 is one per
    /// core of this machine (<see cref="Environment.ProcessorCount"/>); n is n (1..<see cref="MaxThreads"/>).
    /// Each session gets its own n - 1 workers when it is created. The reference and OpenCL backends
    /// ignore it. Results are bit-identical to one thread's.
    /// </summary>
    public int Threads { get; init; } = 1;

    /// <summary>The most <see cref="Threads"/> may ask for.</summary>
    public const int MaxThreads = 256;

    /// <summary>
    /// How the weights are stored once loaded: float32 (the default, the file's values), bfloat16 or
    /// int8 with per-row scales (<see cref="RnnWeightFormat"/>). The conversion happens once, at load,
    /// and the model keeps only the converted copy (<see cref="RnnModel.WeightBytes"/>); biases and
    /// arithmetic stay float32. The reference and CPU backends (sse, neon, avx2, avx512) run all three;
    /// opencl runs Float32 only and refuses the others at load with an <see cref="RnnBackendUnavailableException"/>.
    /// </summary>
    public RnnWeightFormat WeightFormat { get; init; } = RnnWeightFormat.Float32;

    /// <summary>The largest float32 layer (bytes of one layer and direction's weights) that runs on the
    /// CPU backends' latency kernels; tests move it to put a model on either path.</summary>
    internal long LatencyMaxWeightBytes { get; init; } = Backends.Cpu.Latency.LatencyPath.DefaultMaxWeightBytes;

    /// <summary>Every option at its default.</summary>
    public static RnnOptions Default { get; } = new();
}
