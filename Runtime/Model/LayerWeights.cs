using CommunityToolkit.HighPerformance;

namespace RnnRuntime.Model;

/// <summary>
/// The weights of one layer and direction of a recurrent module, in PyTorch's layout: W_ih (G*H, I_k),
/// W_hh (G*H, H), b_ih and b_hh (G*H), gate blocks in PyTorch order (GRU r,z,n; LSTM i,f,g,o). A module
/// without biases holds zero biases, which is what PyTorch computes with bias=False. An LSTM with a
/// projection (PyTorch's proj_size P) also has W_hr (P, H), no bias; its W_hh is then (4H, P) and its
/// h is h' = W_hr (o * tanh(c')), P wide.
/// </summary>
public sealed class LayerWeights
{
    private readonly float[] _biasIh, _biasHh;

    internal LayerWeights(int layer, int direction, int hiddenSize, WeightTensor weightIh, WeightTensor weightHh, float[] biasIh, float[] biasHh,
        WeightTensor? weightHr = null)
    {
        Hr = weightHr;
        Layer = layer;
        Direction = direction;
        HiddenSize = hiddenSize;
        Ih = weightIh;
        Hh = weightHh;
        _biasIh = biasIh;
        _biasHh = biasHh;
    }

    /// <summary>Layer k of the stack, from 0.</summary>
    public int Layer { get; }
    /// <summary>0 forward, 1 backward (the <c>_reverse</c> tensors).</summary>
    public int Direction { get; }
    /// <summary>G*H.</summary>
    public int Rows => Hh.Rows;
    /// <summary>I_k: the module's input width for layer 0, D*H above.</summary>
    public int InputSize => Ih.Columns;
    /// <summary>H: hidden units (the cell state width).</summary>
    public int HiddenSize { get; }
    /// <summary>P, the rows of W_hr; 0 without a projection.</summary>
    public int ProjSize => Hr?.Rows ?? 0;
    /// <summary>The width of h: P with a projection, else H (the columns of W_hh).</summary>
    public int HiddenWidth => Hr?.Rows ?? HiddenSize;

    /// <summary>W_ih with its element type.</summary>
    public WeightTensor Ih { get; }
    /// <summary>W_hh with its element type.</summary>
    public WeightTensor Hh { get; }
    /// <summary>W_hr (P, H), the LSTM projection, or null without one.</summary>
    public WeightTensor? Hr { get; }

    /// <summary>W_ih as float32, (G*H, I_k).</summary>
    public ReadOnlySpan2D<float> WeightIh => Ih.Float32;
    /// <summary>W_hh as float32, (G*H, H), or (G*H, P) with a projection.</summary>
    public ReadOnlySpan2D<float> WeightHh => Hh.Float32;
    /// <summary>b_ih, G*H floats (zeros for a module without biases).</summary>
    public ReadOnlySpan<float> BiasIh => _biasIh;
    /// <summary>b_hh, G*H floats (zeros for a module without biases).</summary>
    public ReadOnlySpan<float> BiasHh => _biasHh;

    /// <summary>These weights with W_ih, W_hh and W_hr replaced by <paramref name="map"/>(tensor, its name)
    /// (a conversion, or the tensor without its values); biases stay as they are. <paramref name="module"/>
    /// prefixes the names, as in errors.</summary>
    internal LayerWeights MapWeights(Func<WeightTensor, string, WeightTensor> map, string module)
    {
        string suffix = $"_l{Layer}{(Direction == 1 ? "_reverse" : "")}";
        string Name(string w) => module.Length == 0 ? w + suffix : $"{module}.{w}{suffix}";
        return new LayerWeights(Layer, Direction, HiddenSize, map(Ih, Name("weight_ih")), map(Hh, Name("weight_hh")),
            _biasIh, _biasHh, Hr is null ? null : map(Hr, Name("weight_hr")));
    }

    /// <summary>Row-major flat views, for backends that pack or upload them.</summary>
    public ReadOnlySpan<float> WeightIhFlat => Ih.Float32Flat;
    /// <summary>W_hh row-major, for backends that pack or upload it.</summary>
    public ReadOnlySpan<float> WeightHhFlat => Hh.Float32Flat;
}
