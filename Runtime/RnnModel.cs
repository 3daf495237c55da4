using CommunityToolkit.HighPerformance.Buffers;
using RnnRuntime.Backends;
using RnnRuntime.Model;
using RnnRuntime.Model.Torch;

namespace RnnRuntime;

/// <summary>
/// A trained network (recurrent modules with the linear layers and activations around them) loaded
/// from a PyTorch state_dict (safetensors, or torch.save's own zip format), prepared for one backend. Immutable: any number of threads may create sessions from one model at once.
/// </summary>
public sealed class RnnModel : IDisposable
{
    /// <summary>Refuse model files beyond this (spans are int-indexed).</summary>
    public const long MaxFileBytes = int.MaxValue - 64;

    private readonly RnnNetwork _network;
    private readonly IRnnBackend _backend;
    private readonly IPreparedRnn _prepared;
    private int _disposed;
    private int _leases = 1;   // the model's own, and one per live session state

    private RnnModel(RnnNetwork network, RnnOptions options)
    {
        _network = network.WithWeightFormat(options.WeightFormat);
        Threads = options.Threads == 0 ? Environment.ProcessorCount : options.Threads;
        Options = options;
        _backend = BackendRegistry.Create(options);
        try
        {
            _prepared = _backend.Prepare(this);
            // The packed copy is the one the model runs; keeping the tensors too would hold every weight twice.
            if (_backend.HoldsOwnWeights) _network = _network.WithoutWeightValues(_backend.Name);
        }
        catch
        {
            GC.SuppressFinalize(this);   // nothing was prepared: the finalizer has nothing to release
            _backend.Dispose();
            throw;
        }
    }

    /// <summary>Loads a .safetensors file, or a PyTorch torch.save file (.pt/.pth) of a state_dict.</summary>
    public static RnnModel Load(string path, RnnOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        if (Directory.Exists(path)) throw new IOException(FileKinds.Directory(path));
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        if (stream.Length > MaxFileBytes)
            throw new RnnModelException($"'{path}' is {stream.Length} bytes; model files up to {MaxFileBytes} bytes are supported");
        // Pooled scratch for the raw file: it lives only while the weights are converted.
        using MemoryOwner<byte> bytes = MemoryOwner<byte>.Allocate((int)stream.Length);
        stream.ReadExactly(bytes.Span);
        return Load(bytes.Span, options);
    }

    /// <summary>Loads a model file already in memory: safetensors, or a torch.save zip of a state_dict
    /// (or of a checkpoint dict holding one), recognised by its magic bytes.</summary>
    public static RnnModel Load(ReadOnlySpan<byte> safetensors, RnnOptions? options = null)
    {
        options ??= RnnOptions.Default;
        Validate(options);
        if (FileKinds.NotAModel(safetensors) is string notAModel) throw new RnnModelException(notAModel);
        // A torch.save file becomes the equivalent safetensors image; everything after that is shared.
        if (TorchArchive.Recognises(safetensors))
            return new RnnModel(NetworkLoader.Load(TorchArchive.ToSafetensors(safetensors), options), options);
        return new RnnModel(NetworkLoader.Load(safetensors, options), options);
    }

    /// <summary>Refuses options that no backend could honour, before the file is read.</summary>
    private static void Validate(RnnOptions options)
    {
        if (options.Threads < 0 || options.Threads > RnnOptions.MaxThreads)
            throw new ArgumentOutOfRangeException(nameof(options), options.Threads,
                $"RnnOptions.Threads is {options.Threads}; expected 0 (one per core), or 1..{RnnOptions.MaxThreads}");
        if (!Enum.IsDefined(options.WeightFormat))
            throw new ArgumentOutOfRangeException(nameof(options), options.WeightFormat,
                $"RnnOptions.WeightFormat is {(int)options.WeightFormat}; expected Float32, BFloat16 or Int8");
    }

    /// <summary>Threads each session computes with on a CPU backend: <see cref="RnnOptions.Threads"/> resolved (0 became this machine's core count).</summary>
    public int Threads { get; }

    /// <summary>How the weights are stored (<see cref="RnnOptions.WeightFormat"/>).</summary>
    public RnnWeightFormat WeightFormat => Options.WeightFormat;

    /// <summary>The options it was loaded with.</summary>
    public RnnOptions Options { get; }

    /// <summary>The whole network: its layers in forward order and the state layout, its weights in the
    /// format the model runs (values readable only where the backend keeps no copy of its own; see
    /// <see cref="WeightTensor.HasValues"/>: the reference backend's only).</summary>
    public RnnNetwork Network => _network;

    /// <summary>The layers in forward order (one recurrent module for a file without a layer list), each
    /// with its kind and widths; a <see cref="RecurrentLayer"/> with its cell, sizes and directions. Where
    /// <see cref="Cell"/>, <see cref="HiddenSize"/> and the like describe the first recurrent module only, this describes every layer.</summary>
    public IReadOnlyList<NetworkLayer> Layers => _network.Layers;

    /// <summary>The network's input width: floats per batch item in x.</summary>
    public int InputSize => _network.InputSize;

    /// <summary>The network's output width: floats per batch item in y (D*H for a lone recurrent module).</summary>
    public int OutputSize => _network.OutputSize;

    /// <summary>Whether any recurrent module is bidirectional: then only <see cref="RnnSession.Run(ReadOnlySpan{float}, int, Span{float})"/> works.</summary>
    public bool IsBidirectional => _network.IsBidirectional;

    // The first recurrent module's description: all of it for a file without a layer list. Always of
    // the network the model runs (converted, values dropped once packed), never of the loaded one.
    private RecurrentLayer FirstModule => _network.Recurrent[0];

    /// <summary>Cell of the first recurrent module only (<see cref="Layers"/> has every layer).</summary>
    public RnnCellKind Cell => FirstModule.Cell;
    /// <summary>Nonlinearity of the first recurrent module (RNN cells).</summary>
    public RnnNonlinearity Nonlinearity => FirstModule.Nonlinearity;
    /// <summary>Hidden size of the first recurrent module only (<see cref="Layers"/> has every layer).</summary>
    public int HiddenSize => FirstModule.HiddenSize;
    /// <summary>proj_size of the first recurrent module (an LSTM whose h is W_hr (o * tanh(c)), P wide); 0 for none.</summary>
    public int ProjSize => FirstModule.ProjSize;
    /// <summary>Layers of the first recurrent module's stack only (<see cref="Layers"/> has every layer of the network).</summary>
    public int NumLayers => FirstModule.NumLayers;
    /// <summary>Directions of the first recurrent module.</summary>
    public int NumDirections => FirstModule.NumDirections;
    /// <summary>Whether the first recurrent module has biases.</summary>
    public bool HasBias => FirstModule.HasBias;
    /// <summary>The module prefix of the first recurrent module ("" for none).</summary>
    public string Prefix => _network.Prefix;
    /// <summary>Name of the backend that runs this model ("auto" already resolved).</summary>
    public string Backend => _backend.Name;

    /// <summary>Weights of one layer and direction of the first recurrent module, PyTorch layout, in the
    /// format the model runs. Biases are always readable; the weight values only where the backend keeps
    /// no copy of its own (<see cref="WeightTensor.HasValues"/>: the reference backend; the CPU backends
    /// and OpenCL keep theirs packed or on the device).</summary>
    public LayerWeights Weights(int layer, int direction) => FirstModule.Weights(layer, direction);

    /// <summary>Floats in a state of batch size <paramref name="batchSize"/>: each recurrent module's h (L*D, B, H) (P for a projected LSTM), then c (L*D, B, H) for LSTM, in network order.</summary>
    public int StateLength(int batchSize)
    {
        long n = _network.StateFloatsPerItem * batchSize;
        return n <= int.MaxValue ? (int)n : throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"the state of {batchSize} sequences ({n} floats) is too large");
    }

    /// <summary>Bytes of weights and biases (what a batch-1 step has to read).</summary>
    public long WeightBytes => _network.WeightBytes;

    internal IPreparedRnn Prepared
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            return _prepared;
        }
    }

    /// <summary>The largest batch a session may have.</summary>
    public const int MaxBatchSize = 1 << 16;

    /// <summary>A new session of <paramref name="batchSize"/> independent streams, its state zeroed. Any thread may create sessions from one model at once.</summary>
    public RnnSession CreateSession(int batchSize = 1)
    {
        if (batchSize < 1 || batchSize > MaxBatchSize)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batch size must be in 1..{MaxBatchSize}");
        if (StateLength(batchSize) > int.MaxValue / 4)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "the state of this many sequences does not fit in memory");
        return new RnnSession(this, Prepared.CreateState(batchSize));
    }

    /// <summary>The network (or its one module) and the backend, as in messages.</summary>
    public override string ToString() => _network.Layers.Count == 1
        ? $"{Describe(FirstModule)} on {Backend}"
        : $"network {string.Join(" -> ", _network.Layers.Select(l => l is RecurrentLayer r ? Describe(r) : l.ToString()))} on {Backend}";

    private static string Describe(RecurrentLayer r) =>
        $"{r.Spec.Name}{(r.Cell == RnnCellKind.Rnn ? "_" + r.Nonlinearity.ToString().ToLowerInvariant() : "")} input {r.InputSize} hidden {r.HiddenSize}{(r.ProjSize > 0 ? $" proj {r.ProjSize}" : "")} layers {r.NumLayers}{(r.NumDirections == 2 ? " bidirectional" : "")}{(r.HasBias ? "" : " no-bias")}";

    /// <summary>
    /// Ends the model: no session can be created from it (ObjectDisposedException). Sessions already
    /// created keep working: each holds the model's prepared weights alive, and the backend's resources
    /// (packed weights, device memory, kernels) are released when the last of them is disposed too,
    /// never under a call. The same rule holds in C (rnnrt_model_free) and Python (Model.close).
    /// </summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        GC.SuppressFinalize(this);
        ReleaseLease();
    }

    /// <summary>A model nobody disposed releases its backend's resources when the GC finds it and its sessions.</summary>
    ~RnnModel()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0) ReleaseLease();
    }

    /// <summary>Keeps the prepared model alive for one more session state; refused once disposed.</summary>
    internal void AcquireLease()
    {
        while (true)
        {
            int n = Volatile.Read(ref _leases);
            ObjectDisposedException.ThrowIf(n <= 0 || _disposed != 0, this);
            if (Interlocked.CompareExchange(ref _leases, n + 1, n) == n) return;
        }
    }

    internal void ReleaseLease()
    {
        if (Interlocked.Decrement(ref _leases) != 0) return;
        _prepared?.Dispose();
        _backend?.Dispose();
    }
}
