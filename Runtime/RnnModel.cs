using CommunityToolkit.HighPerformance.Buffers;
using RnnRuntime.Backends;
using RnnRuntime.Model;

namespace RnnRuntime;

/// <summary>
/// A trained RNN, GRU or LSTM loaded from a PyTorch state_dict in safetensors form, prepared for one
/// backend. Immutable: any number of threads may create sessions from one model at once.
/// </summary>
public sealed class RnnModel : IDisposable
{
    /// <summary>Refuse model files beyond this (spans are int-indexed).</summary>
    public const long MaxFileBytes = int.MaxValue - 64;

    private readonly RnnWeights _weights;
    private readonly IRnnBackend _backend;
    private readonly IPreparedRnn _prepared;
    private int _disposed;

    private RnnModel(RnnWeights weights, RnnOptions options)
    {
        _weights = weights;
        Options = options;
        _backend = BackendRegistry.Create(options);
        try
        {
            _prepared = _backend.Prepare(this);
        }
        catch
        {
            _backend.Dispose();
            throw;
        }
    }

    /// <summary>Loads a .safetensors file.</summary>
    public static RnnModel Load(string path, RnnOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
        if (stream.Length > MaxFileBytes)
            throw new RnnModelException($"'{path}' is {stream.Length} bytes; model files up to {MaxFileBytes} bytes are supported");
        // Pooled scratch for the raw file: it lives only while the weights are converted.
        using MemoryOwner<byte> bytes = MemoryOwner<byte>.Allocate((int)stream.Length);
        stream.ReadExactly(bytes.Span);
        return Load(bytes.Span, options);
    }

    /// <summary>Loads safetensors bytes already in memory.</summary>
    public static RnnModel Load(ReadOnlySpan<byte> safetensors, RnnOptions? options = null)
    {
        options ??= RnnOptions.Default;
        return new RnnModel(PyTorchRnnLoader.Load(safetensors, options), options);
    }

    public RnnOptions Options { get; }
    public RnnCellKind Cell => _weights.Cell;
    public RnnNonlinearity Nonlinearity => _weights.Nonlinearity;
    public int InputSize => _weights.InputSize;
    public int HiddenSize => _weights.HiddenSize;
    public int NumLayers => _weights.NumLayers;
    public int NumDirections => _weights.NumDirections;
    public bool IsBidirectional => NumDirections == 2;
    public bool HasBias => _weights.HasBias;
    /// <summary>Width of one output row: D*H.</summary>
    public int OutputSize => NumDirections * HiddenSize;
    /// <summary>The module prefix the tensors were found under ("" for none).</summary>
    public string Prefix => _weights.Prefix.TrimEnd('.');
    /// <summary>Name of the backend that runs this model ("auto" already resolved).</summary>
    public string Backend => _backend.Name;

    /// <summary>Weights of one layer and direction, PyTorch layout.</summary>
    public LayerWeights Weights(int layer, int direction) => _weights.Layers[layer * NumDirections + direction];

    /// <summary>Floats in a state of batch size <paramref name="batchSize"/>: h (L*D, B, H), then c for LSTM.</summary>
    public int StateLength(int batchSize)
    {
        long n = (Cell == RnnCellKind.Lstm ? 2L : 1L) * NumLayers * NumDirections * batchSize * HiddenSize;
        return n <= int.MaxValue ? (int)n : throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"the state of {batchSize} sequences ({n} floats) is too large");
    }

    /// <summary>Bytes of float32 weights (what a batch-1 step has to read).</summary>
    public long WeightBytes => _weights.Layers.Sum(l => 4L * (l.WeightIhFlat.Length + l.WeightHhFlat.Length + 2L * l.Rows));

    internal IPreparedRnn Prepared
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed != 0, this);
            return _prepared;
        }
    }

    internal bool IsDisposed => _disposed != 0;

    public const int MaxBatchSize = 1 << 16;

    public RnnSession CreateSession(int batchSize = 1)
    {
        if (batchSize < 1 || batchSize > MaxBatchSize)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, $"batch size must be in 1..{MaxBatchSize}");
        if (StateLength(batchSize) > int.MaxValue / 4)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "the state of this many sequences does not fit in memory");
        return new RnnSession(this, Prepared.CreateState(batchSize));
    }

    public override string ToString() =>
        $"{Cell.Name()}{(Cell == RnnCellKind.Rnn ? "_" + Nonlinearity.ToString().ToLowerInvariant() : "")} input {InputSize} hidden {HiddenSize} layers {NumLayers}{(IsBidirectional ? " bidirectional" : "")}{(HasBias ? "" : " no-bias")} on {Backend}";

    /// <summary>Releases the backend's resources (device memory, kernels). Sessions must be disposed first.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0) return;
        _prepared.Dispose();
        _backend.Dispose();
    }
}
