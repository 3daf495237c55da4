using System.Globalization;

namespace RnnRuntime.Model;

/// <summary>The kinds of layer a network is made of (the names used in layer lists).</summary>
public enum LayerKind
{
    /// <summary>nn.Linear: y = W x + b.</summary>
    Linear,
    /// <summary>Elementwise tanh.</summary>
    Tanh,
    /// <summary>Elementwise max(x, 0).</summary>
    Relu,
    /// <summary>Elementwise 1 / (1 + e^-x).</summary>
    Sigmoid,
    /// <summary>A whole nn.RNN / nn.GRU / nn.LSTM stack (layers, directions) with PyTorch's semantics.</summary>
    Recurrent,
    /// <summary>Adds the network's input x_t to the current value (a skip around the whole network).</summary>
    AddInput,
}

/// <summary>
/// One layer of a network: what it is and the widths it maps between, per time step and batch item.
/// Immutable; the session owns every mutable value.
/// </summary>
public abstract class NetworkLayer
{
    private protected NetworkLayer(int index, string name, int inputWidth, int outputWidth)
    {
        Index = index;
        Name = name;
        InputWidth = inputWidth;
        OutputWidth = outputWidth;
    }

    /// <summary>What the layer is.</summary>
    public abstract LayerKind Kind { get; }

    /// <summary>Position in the network, from 0.</summary>
    public int Index { get; }

    /// <summary>The module prefix of its tensors in the file (linear, recurrent), else its kind name.</summary>
    public string Name { get; }

    /// <summary>Floats per time step and batch item it reads.</summary>
    public int InputWidth { get; }
    /// <summary>Floats per time step and batch item it writes.</summary>
    public int OutputWidth { get; }

    /// <summary>Whether it computes in place on its input (activations, add_input): no weights, same width.</summary>
    public bool IsElementwise => Kind is LayerKind.Tanh or LayerKind.Relu or LayerKind.Sigmoid or LayerKind.AddInput;

    /// <summary>The layer-list name of the kind: linear, tanh, relu, sigmoid, rnn, gru, lstm, add_input.</summary>
    public string KindName => this is RecurrentLayer r ? r.Spec.Name : NameOf(Kind);

    /// <summary>The layer-list name of <paramref name="kind"/>.</summary>
    public static string NameOf(LayerKind kind) => kind switch
    {
        LayerKind.Linear => "linear",
        LayerKind.Tanh => "tanh",
        LayerKind.Relu => "relu",
        LayerKind.Sigmoid => "sigmoid",
        LayerKind.AddInput => "add_input",
        LayerKind.Recurrent => "recurrent",
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>Kind, module name and widths, as in messages.</summary>
    public override string ToString() =>
        $"{KindName}{(IsElementwise ? "" : $" '{Name}'")} {InputWidth.ToString(CultureInfo.InvariantCulture)} -> {OutputWidth.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>nn.Linear: y = W x + b, W (out, in); a layer without bias holds zeros.</summary>
public sealed class LinearLayer : NetworkLayer
{
    private readonly float[] _bias;

    internal LinearLayer(int index, string name, WeightTensor weight, float[] bias, bool hasBias)
        : base(index, name, weight.Columns, weight.Rows)
    {
        Weight = weight;
        _bias = bias;
        HasBias = hasBias;
    }

    /// <summary>Always <see cref="LayerKind.Linear"/>.</summary>
    public override LayerKind Kind => LayerKind.Linear;
    /// <summary>W, (out_features, in_features).</summary>
    public WeightTensor Weight { get; }
    /// <summary>b, out_features floats (zeros without a bias).</summary>
    public ReadOnlySpan<float> Bias => _bias;
    /// <summary>Whether the file has a bias for it.</summary>
    public bool HasBias { get; }

    /// <summary>This layer with W replaced by <paramref name="map"/>(W, its name); the bias stays as it is.</summary>
    internal LinearLayer MapWeights(Func<WeightTensor, string, WeightTensor> map) =>
        new(Index, Name, map(Weight, Name.Length == 0 ? "weight" : Name + ".weight"), _bias, HasBias);
}

/// <summary>tanh, relu, sigmoid or add_input: elementwise, width unchanged.</summary>
public sealed class ElementwiseLayer : NetworkLayer
{
    internal ElementwiseLayer(int index, LayerKind kind, int width) : base(index, NameOf(kind), width, width)
    {
        if (kind is not (LayerKind.Tanh or LayerKind.Relu or LayerKind.Sigmoid or LayerKind.AddInput))
            throw new ArgumentOutOfRangeException(nameof(kind), kind, "not an elementwise layer");
        Kind = kind;
    }

    /// <summary>Tanh, Relu, Sigmoid or AddInput.</summary>
    public override LayerKind Kind { get; }
}

/// <summary>
/// A whole recurrent module (nn.RNN / nn.GRU / nn.LSTM): L layers of D directions, today's semantics.
/// Its state is h (L*D, B, H), then c (L*D, B, H) for an LSTM; with a projection (proj_size P, LSTM
/// only) h is (L*D, B, P) and c stays (L*D, B, H), and the output is D*P wide.
/// </summary>
public sealed class RecurrentLayer : NetworkLayer
{
    private readonly LayerWeights[] _weights;

    internal RecurrentLayer(int index, string name, RnnCellKind cell, RnnNonlinearity nonlinearity, int inputSize, int hiddenSize,
        int numLayers, int numDirections, bool hasBias, LayerWeights[] weights, int projSize = 0)
        : base(index, name, inputSize, numDirections * (projSize > 0 ? projSize : hiddenSize))
    {
        ProjSize = projSize;
        Spec = CellSpec.Of(cell);
        Nonlinearity = nonlinearity;
        HiddenSize = hiddenSize;
        NumLayers = numLayers;
        NumDirections = numDirections;
        HasBias = hasBias;
        _weights = weights;
    }

    /// <summary>Always <see cref="LayerKind.Recurrent"/>.</summary>
    public override LayerKind Kind => LayerKind.Recurrent;
    /// <summary>What its cell kind is (gates, cell state, biases kept inside a gate).</summary>
    public CellSpec Spec { get; }
    /// <summary>RNN, GRU or LSTM.</summary>
    public RnnCellKind Cell => Spec.Kind;
    /// <summary>The activation of an RNN cell (tanh for GRU and LSTM).</summary>
    public RnnNonlinearity Nonlinearity { get; }
    /// <summary>I: the module's input width.</summary>
    public int InputSize => InputWidth;
    /// <summary>H: hidden units per layer and direction.</summary>
    public int HiddenSize { get; }
    /// <summary>P, PyTorch's proj_size (an LSTM's h = W_hr (o * tanh(c)), P wide); 0 for none.</summary>
    public int ProjSize { get; }
    /// <summary>The width of h (and of each direction's output): P with a projection, else H.</summary>
    public int HiddenWidth => ProjSize > 0 ? ProjSize : HiddenSize;
    /// <summary>L: layers of the stack.</summary>
    public int NumLayers { get; }
    /// <summary>D: 1, or 2 when bidirectional.</summary>
    public int NumDirections { get; }
    /// <summary>Whether the module has biases (bias=True in PyTorch).</summary>
    public bool HasBias { get; }

    /// <summary>Loaded from an nn.RNNCell / GRUCell / LSTMCell state_dict (one layer, one direction):
    /// a Step is exactly the cell's forward.</summary>
    public bool IsCell { get; init; }

    /// <summary>Weights of one layer and direction.</summary>
    public LayerWeights Weights(int layer, int direction) => _weights[layer * NumDirections + direction];

    /// <summary>This module with every weight matrix replaced by <paramref name="map"/>(tensor, its name); the biases stay as they are.</summary>
    internal RecurrentLayer MapWeights(Func<WeightTensor, string, WeightTensor> map) =>
        new(Index, Name, Cell, Nonlinearity, InputSize, HiddenSize, NumLayers, NumDirections, HasBias,
            _weights.Select(w => w.MapWeights(map, Name)).ToArray(), ProjSize) { IsCell = IsCell };

    /// <summary>Floats of state per batch item: L*D*P (or H) for h, then L*D*H for an LSTM's c.</summary>
    public long StateFloatsPerItem => (long)NumLayers * NumDirections * (HiddenWidth + (Spec.HasCellState ? HiddenSize : 0));

    /// <summary>Bytes of its weights and biases.</summary>
    public long WeightBytes
    {
        get
        {
            long bytes = 0;
            foreach (LayerWeights w in _weights) bytes += w.Ih.Bytes + w.Hh.Bytes + (w.Hr?.Bytes ?? 0) + 4L * 2 * w.Rows;
            return bytes;
        }
    }
}
