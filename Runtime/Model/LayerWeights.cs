using CommunityToolkit.HighPerformance;

namespace RnnRuntime.Model;

/// <summary>
/// The weights of one layer and direction, in PyTorch's layout: W_ih (G*H, I_k), W_hh (G*H, H),
/// b_ih and b_hh (G*H), gate blocks in PyTorch order (GRU r,z,n; LSTM i,f,g,o). A model without
/// biases holds zero biases, which is what PyTorch computes with bias=False.
/// </summary>
public sealed class LayerWeights
{
    private readonly float[] _weightIh, _weightHh, _biasIh, _biasHh;

    internal LayerWeights(int layer, int direction, int rows, int inputSize, int hiddenSize,
        float[] weightIh, float[] weightHh, float[] biasIh, float[] biasHh)
    {
        Layer = layer;
        Direction = direction;
        Rows = rows;
        InputSize = inputSize;
        HiddenSize = hiddenSize;
        _weightIh = weightIh;
        _weightHh = weightHh;
        _biasIh = biasIh;
        _biasHh = biasHh;
    }

    public int Layer { get; }
    /// <summary>0 forward, 1 backward (the <c>_reverse</c> tensors).</summary>
    public int Direction { get; }
    /// <summary>G*H.</summary>
    public int Rows { get; }
    /// <summary>I_k: input_size for layer 0, D*H above.</summary>
    public int InputSize { get; }
    public int HiddenSize { get; }

    public ReadOnlySpan2D<float> WeightIh => new(_weightIh, Rows, InputSize);
    public ReadOnlySpan2D<float> WeightHh => new(_weightHh, Rows, HiddenSize);
    public ReadOnlySpan<float> BiasIh => _biasIh;
    public ReadOnlySpan<float> BiasHh => _biasHh;

    /// <summary>Row-major flat views, for backends that pack or upload them.</summary>
    public ReadOnlySpan<float> WeightIhFlat => _weightIh;
    public ReadOnlySpan<float> WeightHhFlat => _weightHh;
}
