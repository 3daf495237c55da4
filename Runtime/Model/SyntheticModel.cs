namespace RnnRuntime.Model;

/// <summary>
/// Seeded random models in PyTorch's state_dict layout, as safetensors bytes: for tests, benchmarks
/// and device checks that need a model of a given shape. Weights and biases are drawn U(-k, k) with
/// k = 1.5/sqrt(H), which keeps W_hh's spectral radius near 0.87: long sequences stay well-conditioned,
/// so float32 backends can be compared with the double-precision reference (at U(-0.6, 0.6) and hidden 256 the recurrence is chaotic: float32 and float64 drift apart by 2.0 in 200 steps). PyTorch's own
/// default, k = 1/sqrt(H), would also do; larger scales make the recurrence chaotic.
/// </summary>
internal static class SyntheticModel
{
    public static byte[] Create(RnnCellKind cell, int input, int hidden, int layers = 1, bool bidirectional = false,
        bool bias = true, bool relu = false, int seed = 1, string prefix = "", int projSize = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(input, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hidden, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        var rng = new Random(seed);
        var tensors = new List<(string, int[], float[])>();
        AddRecurrent(tensors, rng, prefix, cell, input, hidden, layers, bidirectional, bias, projSize);
        var metadata = relu ? new Dictionary<string, string> { ["nonlinearity"] = "relu" } : null;
        return SafetensorsWriter.Write(tensors, metadata);
    }

    /// <summary>The tensors of one nn.RNN/GRU/LSTM module under <paramref name="prefix"/> ("" or ending in '.').
    /// <paramref name="projSize"/> P &gt; 0 (LSTM only, P &lt; H): PyTorch's proj_size, with weight_hr (P, H) after
    /// each layer and direction's biases, W_hh (4H, P) and layer k &gt; 0's W_ih (4H, D*P).</summary>
    internal static void AddRecurrent(List<(string, int[], float[])> tensors, Random rng, string prefix, RnnCellKind cell,
        int input, int hidden, int layers, bool bidirectional, bool bias, int projSize = 0)
    {
        if (projSize != 0 && (cell != RnnCellKind.Lstm || projSize < 0 || projSize >= hidden))
            throw new ArgumentOutOfRangeException(nameof(projSize), projSize, "proj_size is for LSTMs only, 0 < proj_size < hidden");
        float k = 1.5f / MathF.Sqrt(hidden);
        int rows = cell.GateCount() * hidden, dirs = bidirectional ? 2 : 1;
        int h = projSize > 0 ? projSize : hidden;   // h's width
        for (int layer = 0; layer < layers; layer++)
        {
            int width = layer == 0 ? input : dirs * h;
            for (int dir = 0; dir < dirs; dir++)
            {
                string suffix = $"_l{layer}{(dir == 1 ? "_reverse" : "")}";
                tensors.Add((prefix + "weight_ih" + suffix, [rows, width], Uniform(rng, rows * width, k)));
                tensors.Add((prefix + "weight_hh" + suffix, [rows, h], Uniform(rng, rows * h, k)));
                if (bias)
                {
                    tensors.Add((prefix + "bias_ih" + suffix, [rows], Uniform(rng, rows, k)));
                    tensors.Add((prefix + "bias_hh" + suffix, [rows], Uniform(rng, rows, k)));
                }
                if (projSize > 0) tensors.Add((prefix + "weight_hr" + suffix, [projSize, hidden], Uniform(rng, projSize * hidden, k)));
            }
        }
    }

    /// <summary>count values drawn U(-scale, scale).</summary>
    public static float[] Uniform(Random rng, int count, float scale)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return values;
    }
}

/// <summary>
/// Seeded random networks (linear layers, activations, recurrent modules, add_input) as safetensors
/// bytes, with the layer list in the <c>rnnrt.network</c> metadata as <c>rnnrt.save</c> writes it, or
/// without it (a plain state_dict, loaded with <see cref="RnnOptions.Layers"/> = <see cref="LayerNames"/>).
/// Recurrent weights as <see cref="SyntheticModel"/>; linear weights U(-1/sqrt(in), 1/sqrt(in)), PyTorch's default.
/// </summary>
internal sealed class SyntheticNetwork(int seed = 1)
{
    private readonly Random _rng = new(seed);
    private readonly List<(string, int[], float[])> _tensors = [];
    private readonly List<string> _layers = [];
    private readonly List<string> _names = [];
    private bool _relu;

    /// <summary>The layer list as RnnOptions.Layers takes it.</summary>
    public IReadOnlyList<string> LayerNames => _names;

    public SyntheticNetwork Linear(string name, int inputs, int outputs, bool bias = true)
    {
        float k = 1f / MathF.Sqrt(inputs);
        _tensors.Add((name + ".weight", [outputs, inputs], SyntheticModel.Uniform(_rng, outputs * inputs, k)));
        if (bias) _tensors.Add((name + ".bias", [outputs], SyntheticModel.Uniform(_rng, outputs, k)));
        _layers.Add($"{{\"kind\":\"linear\",\"prefix\":\"{name}\"}}");
        // A bias-free linear layer's one weight is an embedding's too: the list says which.
        _names.Add(bias ? name : "linear:" + name);
        return this;
    }

    /// <summary>A tensor of no layer (a module rnnrt does not run, an optimizer's state), left out of the layer list.</summary>
    public SyntheticNetwork Unlisted(string name, params int[] shape)
    {
        _tensors.Add((name, shape, SyntheticModel.Uniform(_rng, shape.Aggregate(1, (a, b) => a * b), 0.5f)));
        return this;
    }

    /// <summary>tanh, relu, sigmoid or add_input.</summary>
    public SyntheticNetwork Then(string elementwise)
    {
        _layers.Add($"{{\"kind\":\"{elementwise}\"}}");
        _names.Add(elementwise);
        return this;
    }

    public SyntheticNetwork Recurrent(string name, RnnCellKind cell, int input, int hidden, int layers = 1, bool bidirectional = false,
        bool bias = true, bool relu = false, int projSize = 0)
    {
        SyntheticModel.AddRecurrent(_tensors, _rng, name + ".", cell, input, hidden, layers, bidirectional, bias, projSize);
        string nonlinearity = cell == RnnCellKind.Rnn ? $",\"nonlinearity\":\"{(relu ? "relu" : "tanh")}\"" : "";
        _layers.Add($"{{\"kind\":\"{cell.Name()}\",\"prefix\":\"{name}\"{nonlinearity}}}");
        _names.Add(name);
        _relu |= relu;
        return this;
    }

    /// <summary>The file; <paramref name="withLayerList"/> false leaves the layer list out (a plain state_dict).</summary>
    public byte[] Build(bool withLayerList = true)
    {
        if (!withLayerList && _relu) throw new InvalidOperationException("a ReLU RNN needs the layer list to say so");
        var metadata = withLayerList
            ? new Dictionary<string, string> { [LayerList.MetadataKey] = $"{{\"version\":{LayerList.Version},\"layers\":[{string.Join(",", _layers)}]}}" }
            : null;
        return SafetensorsWriter.Write(_tensors, metadata);
    }
}
