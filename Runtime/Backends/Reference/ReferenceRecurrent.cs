using RnnRuntime.Model;

namespace RnnRuntime.Backends.Reference;

/// <summary>A recurrent module (the PyTorch formulas of nn.RNN, nn.GRU and nn.LSTM) over a sequence.</summary>
internal static class ReferenceRecurrent
{
    /// <summary>
    /// xs [T, B, I] -> ys [T, B, D*H] (D*P with a projection) through every layer and direction of module <paramref name="module"/>,
    /// from and updating its state; layers between the first and the last write to a and b in turn.
    /// </summary>
    public static void Run(ReferenceState s, RecurrentLayer r, int module, ReadOnlySpan<float> xs, int steps, Span<float> ys, Span<float> a, Span<float> b)
    {
        int B = s.Rows, H = r.HiddenSize, W = r.HiddenWidth, D = r.NumDirections, L = r.NumLayers;
        int outWidth = D * W, rows = steps * B;
        ReadOnlySpan<float> input = xs;
        int inWidth = r.InputSize;
        for (int layer = 0; layer < L; layer++)
        {
            Span<float> output = layer == L - 1 ? ys : (layer % 2 == 0 ? a : b)[..(rows * outWidth)];
            s.ZeroPastEnds(output, outWidth, steps);
            for (int dir = 0; dir < D; dir++)
            {
                LayerWeights w = r.Weights(layer, dir);
                Span<float> h = s.HiddenOf(module, layer, dir);
                Span<float> c = r.Spec.HasCellState ? s.CellOf(module, layer, dir) : default;
                for (int i = 0; i < steps; i++)
                {
                    int t = dir == 0 ? i : steps - 1 - i;
                    // A packed run steps only the sequences still running at t (a prefix of the rows).
                    int running = s.RowsAt(t);
                    for (int item = 0; item < running; item++)
                    {
                        ReadOnlySpan<float> x = input.Slice((t * B + item) * inWidth, inWidth);
                        Span<float> hb = h.Slice(item * W, W);
                        Span<float> cb = c.IsEmpty ? default : c.Slice(item * H, H);
                        CellStep(s, r, w, x, hb, cb);
                        hb.CopyTo(output.Slice((t * B + item) * outWidth + dir * W, W));
                    }
                }
            }
            input = output;
            inWidth = outWidth;
        }
    }

    /// <summary>One cell update of one batch item: h (and c) are replaced by h' (and c'). With a projection
    /// h is P wide and h' = W_hr (o * tanh(c')), the H-wide product kept in double.</summary>
    private static void CellStep(ReferenceState s, RecurrentLayer r, LayerWeights w, ReadOnlySpan<float> x, Span<float> h, Span<float> c)
    {
        int H = r.HiddenSize;
        double[] gi = s.GatesIh, gh = s.GatesHh, hNew = s.NewH;
        for (int row = 0; row < w.Rows; row++)
        {
            gi[row] = w.BiasIh[row] + w.Ih.Dot(row, x);
            gh[row] = w.BiasHh[row] + w.Hh.Dot(row, h);
        }

        switch (r.Cell)
        {
            case RnnCellKind.Rnn:
                for (int j = 0; j < H; j++)
                {
                    double a = gi[j] + gh[j];
                    hNew[j] = r.Nonlinearity == RnnNonlinearity.Relu ? Math.Max(a, 0.0) : Math.Tanh(a);
                }
                break;

            case RnnCellKind.Gru: // rows r, z, n
                for (int j = 0; j < H; j++)
                {
                    double rg = Sigmoid(gi[j] + gh[j]);
                    double z = Sigmoid(gi[H + j] + gh[H + j]);
                    double n = Math.Tanh(gi[2 * H + j] + rg * gh[2 * H + j]);
                    hNew[j] = (1.0 - z) * n + z * h[j];
                }
                break;

            case RnnCellKind.Lstm: // rows i, f, g, o
                for (int j = 0; j < H; j++)
                {
                    double i = Sigmoid(gi[j] + gh[j]);
                    double f = Sigmoid(gi[H + j] + gh[H + j]);
                    double g = Math.Tanh(gi[2 * H + j] + gh[2 * H + j]);
                    double o = Sigmoid(gi[3 * H + j] + gh[3 * H + j]);
                    double cNew = f * c[j] + i * g;
                    c[j] = (float)cNew;
                    hNew[j] = o * Math.Tanh(cNew);
                }
                break;
        }

        if (w.Hr is WeightTensor hr)
        {
            for (int p = 0; p < hr.Rows; p++) h[p] = (float)hr.Dot(p, hNew.AsSpan(0, H));
            return;
        }
        for (int j = 0; j < H; j++) h[j] = (float)hNew[j];
    }

    private static double Sigmoid(double v) => ReferenceLayers.Sigmoid(v);
}
