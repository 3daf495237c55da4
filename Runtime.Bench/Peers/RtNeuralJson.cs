using System.Globalization;
using System.Text;
using RnnRuntime.Bench.Suite;
using RnnRuntime.Model;

namespace RnnRuntime.Bench.Peers;

/// <summary>
/// A bench network's weights as the JSON RTNeural loads (its Keras-style layout, what
/// <c>RTNeural::json_parser::parseJson</c> and <c>ModelT::parseJson</c> read: <c>in_shape</c>, then
/// <c>layers</c> of {type, activation, shape, weights}), written from the same seeded weights every other
/// engine runs, so no Python is needed at bench time. The conversion is RTNeural's own PyTorch loaders'
/// (torch_helpers.h): weights transposed to (in, G*H); an LSTM's gates stay i, f, g, o with one bias
/// b_ih + b_hh; a GRU's r and z blocks swap (PyTorch r, z, n -> RTNeural z, r, n) and its biases stay
/// two rows [b_ih, b_hh] (PyTorch's formula, reset after the product). Each layer of a stacked module
/// (num_layers) is a layer of its own. Numbers are written exactly (float32 through a double's round-trip text).
/// </summary>
public static class RtNeuralJson
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Write(BenchNetwork n)
    {
        using RnnModel model = n.Load(Engines.Reference);
        return Write(model);
    }

    public static string Write(RnnModel model)
    {
        var sb = new StringBuilder();
        sb.Append("{\"in_shape\":[null,null,").Append(model.InputSize).Append("],\"layers\":[");
        bool first = true;
        void Layer(string type, int width, Action weights)
        {
            if (!first) sb.Append(',');
            first = false;
            sb.Append("{\"type\":\"").Append(type).Append("\",\"activation\":\"\",\"shape\":[null,null,").Append(width).Append("],\"weights\":[");
            weights();
            sb.Append("]}");
        }
        foreach (NetworkLayer layer in model.Layers)
        {
            switch (layer)
            {
                case RecurrentLayer r when r.Cell is RnnCellKind.Lstm or RnnCellKind.Gru && r.NumDirections == 1 && r.ProjSize == 0:
                {
                    bool gru = r.Cell == RnnCellKind.Gru;
                    int h = r.HiddenSize;
                    for (int l = 0; l < r.NumLayers; l++)
                    {
                        LayerWeights w = r.Weights(l, 0);
                        Layer(gru ? "gru" : "lstm", h, () =>
                        {
                            Transposed(sb, w.WeightIhFlat, w.Rows, w.InputSize, gru ? h : 0);
                            sb.Append(',');
                            Transposed(sb, w.WeightHhFlat, w.Rows, h, gru ? h : 0);
                            sb.Append(',');
                            if (gru)
                            {
                                sb.Append('[');
                                Vector(sb, SwapRz(w.BiasIh, h));
                                sb.Append(',');
                                Vector(sb, SwapRz(w.BiasHh, h));
                                sb.Append(']');
                            }
                            else
                            {
                                var b = new float[w.Rows];
                                for (int i = 0; i < b.Length; i++) b[i] = w.BiasIh[i] + w.BiasHh[i];
                                Vector(sb, b);
                            }
                        });
                    }
                    break;
                }
                case LinearLayer d:
                    Layer("dense", d.OutputWidth, () =>
                    {
                        Transposed(sb, d.Weight.Float32Flat, d.Weight.Rows, d.Weight.Columns, 0);
                        sb.Append(',');
                        Vector(sb, d.Bias);
                    });
                    break;
                default:
                    throw new NotSupportedException($"RTNeural JSON: layer {layer} (only unidirectional LSTM/GRU without projection and linear layers)");
            }
        }
        sb.Append("]}");
        return sb.ToString();
    }

    /// <summary>A row-major (rows, cols) matrix written as its transpose (cols lists of rows numbers); with
    /// <paramref name="gruH"/> > 0 the first two blocks of H rows (r, z) are swapped first.</summary>
    private static void Transposed(StringBuilder sb, ReadOnlySpan<float> m, int rows, int cols, int gruH)
    {
        sb.Append('[');
        for (int c = 0; c < cols; c++)
        {
            if (c > 0) sb.Append(',');
            sb.Append('[');
            for (int r = 0; r < rows; r++)
            {
                if (r > 0) sb.Append(',');
                int src = gruH > 0 && r < 2 * gruH ? (r < gruH ? r + gruH : r - gruH) : r;
                Number(sb, m[src * cols + c]);
            }
            sb.Append(']');
        }
        sb.Append(']');
    }

    private static float[] SwapRz(ReadOnlySpan<float> b, int h)
    {
        float[] o = b.ToArray();
        b.Slice(h, h).CopyTo(o.AsSpan(0, h));
        b.Slice(0, h).CopyTo(o.AsSpan(h, h));
        return o;
    }

    private static void Vector(StringBuilder sb, ReadOnlySpan<float> v)
    {
        sb.Append('[');
        for (int i = 0; i < v.Length; i++)
        {
            if (i > 0) sb.Append(',');
            Number(sb, v[i]);
        }
        sb.Append(']');
    }

    private static void Number(StringBuilder sb, float f)
    {
        if (!float.IsFinite(f)) throw new NotSupportedException("RTNeural JSON: a weight is not finite");
        sb.Append(((double)f).ToString("R", Inv));
    }
}
