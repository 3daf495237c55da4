namespace RnnRuntime.Model;

/// <summary>
/// A loaded network: its layers in forward order, checked to chain (each layer's input width is the
/// previous layer's output width; the first's is the network's input). Immutable. It also fixes the
/// layout of a session's state: the recurrent modules in network order, each h (L*D, B, H) then, for
/// an LSTM, c (L*D, B, H).
/// </summary>
public sealed class RnnNetwork
{
    private readonly NetworkLayer[] _layers;
    private readonly RecurrentLayer[] _recurrent;
    private readonly long[] _stateStart;   // per recurrent module: floats per batch item before it

    internal RnnNetwork(NetworkLayer[] layers, int inputSize, string prefix)
    {
        _layers = layers;
        InputSize = inputSize;
        OutputSize = layers[^1].OutputWidth;
        Prefix = prefix;
        _recurrent = layers.OfType<RecurrentLayer>().ToArray();
        _stateStart = new long[_recurrent.Length + 1];
        for (int m = 0; m < _recurrent.Length; m++) _stateStart[m + 1] = _stateStart[m] + _recurrent[m].StateFloatsPerItem;
        IsBidirectional = _recurrent.Any(r => r.NumDirections == 2);
        MaxWidth = Math.Max(inputSize, layers.Max(l => l.OutputWidth));
    }

    /// <summary>
    /// This network with every weight matrix (W_ih, W_hh, W_hr, linear W) converted to
    /// <paramref name="format"/> once; biases stay float32 and the float32 copy is not kept, so the
    /// model holds only the narrow weights. Float32 is this network itself.
    /// </summary>
    internal RnnNetwork WithWeightFormat(RnnWeightFormat format)
    {
        WeightElementType type = format switch
        {
            RnnWeightFormat.Float32 => WeightElementType.Float32,
            RnnWeightFormat.BFloat16 => WeightElementType.BFloat16,
            RnnWeightFormat.Int8 => WeightElementType.Int8,
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "expected Float32, BFloat16 or Int8"),
        };
        if (type == WeightElementType.Float32) return this;
        return MapWeights((w, name) => w.ConvertTo(type, name), type);
    }

    /// <summary>
    /// This network with the same shapes, element types and biases but no weight values: what a model
    /// keeps once <paramref name="backend"/> has prepared its own copy (packed, or on a device), so that
    /// the weights are held once. See <see cref="WeightTensor.HasValues"/>.
    /// </summary>
    internal RnnNetwork WithoutWeightValues(string backend) => MapWeights((w, _) => w.WithoutValues(backend), WeightType);

    private RnnNetwork MapWeights(Func<WeightTensor, string, WeightTensor> map, WeightElementType type) => new(_layers.Select(l => l switch
    {
        RecurrentLayer r => r.MapWeights(map),
        LinearLayer f => f.MapWeights(map),
        _ => l,
    }).ToArray(), InputSize, Prefix) { WeightType = type };

    /// <summary>How every weight matrix of this network is stored.</summary>
    public WeightElementType WeightType { get; private init; } = WeightElementType.Float32;

    /// <summary>The layers in forward order.</summary>
    public IReadOnlyList<NetworkLayer> Layers => _layers;

    /// <summary>The recurrent modules, in network order.</summary>
    public IReadOnlyList<RecurrentLayer> Recurrent => _recurrent;

    /// <summary>The network's input width: floats per batch item in x.</summary>
    public int InputSize { get; }
    /// <summary>The network's output width: floats per batch item in y.</summary>
    public int OutputSize { get; }

    /// <summary>The widest value between layers (the input included).</summary>
    public int MaxWidth { get; }

    /// <summary>Whether any recurrent module is bidirectional (then only whole sequences run).</summary>
    public bool IsBidirectional { get; }

    /// <summary>The module prefix of a one-module network ("" for none); of the first recurrent module otherwise.</summary>
    public string Prefix { get; }

    /// <summary>Floats of state per batch item, all modules.</summary>
    public long StateFloatsPerItem => _stateStart[^1];

    /// <summary>Where module <paramref name="module"/>'s h starts in a state of <paramref name="batch"/> items; its c follows h.</summary>
    public long StateOffset(int module, int batch) => _stateStart[module] * batch;

    /// <summary>Bytes of weights and biases: what a batch-1 step has to read.</summary>
    public long WeightBytes => _layers.Sum(l => l switch
    {
        RecurrentLayer r => r.WeightBytes,
        LinearLayer f => f.Weight.Bytes + 4L * f.OutputWidth,
        _ => 0L,
    });
}
