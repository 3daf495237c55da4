using RnnRuntime.Model;

namespace RnnRuntime.Backends.Reference;

/// <summary>The linear and elementwise layers, as nn.Linear, torch.tanh, torch.relu and torch.sigmoid define them.</summary>
internal static class ReferenceLayers
{
    /// <summary>y[r] = W x[r] + b for every row r, accumulated in double on W's exact (possibly quantised) values.</summary>
    public static void Linear(LinearLayer layer, ReadOnlySpan<float> x, int rows, Span<float> y)
    {
        int inputs = layer.InputWidth, outputs = layer.OutputWidth;
        WeightTensor w = layer.Weight;
        for (int r = 0; r < rows; r++)
        {
            ReadOnlySpan<float> xr = x.Slice(r * inputs, inputs);
            for (int o = 0; o < outputs; o++)
                y[r * outputs + o] = (float)(layer.Bias[o] + w.Dot(o, xr));
        }
    }

    /// <summary>y = act(x), or x + the network input for add_input (same [T*B, width] layout).</summary>
    public static void Elementwise(LayerKind kind, ReadOnlySpan<float> x, ReadOnlySpan<float> networkInput, Span<float> y)
    {
        for (int i = 0; i < y.Length; i++)
        {
            double v = x[i];
            y[i] = (float)(kind switch
            {
                LayerKind.Tanh => Math.Tanh(v),
                LayerKind.Relu => Math.Max(v, 0.0),
                LayerKind.Sigmoid => Sigmoid(v),
                LayerKind.AddInput => v + networkInput[i],
                _ => throw new ArgumentOutOfRangeException(nameof(kind)),
            });
        }
    }

    public static double Sigmoid(double v) => 1.0 / (1.0 + Math.Exp(-v));
}
