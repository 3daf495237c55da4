using RnnRuntime.Memory;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Reference;

/// <summary>
/// The oracle: plain scalar code that follows the PyTorch formulas in DESIGN.md line by line,
/// accumulating in double. Every other backend is tested against it. Keep it simple enough to check
/// by eye; speed is not its job.
/// </summary>
public sealed class ReferenceBackend : IRnnBackend
{
    public string Name => "reference";

    public IPreparedRnn Prepare(RnnModel model) => new ReferencePrepared(model);

    public void Dispose() { }
}

internal sealed class ReferenceState : RnnState
{
    public ReferenceState(RnnModel model, int batchSize) : base(model, batchSize)
    {
        int rows = model.Cell.GateCount() * model.HiddenSize;
        GatesIh = new double[rows];
        GatesHh = new double[rows];
        NewH = new double[model.HiddenSize];
    }

    /// <summary>W_ih x + b_ih and W_hh h + b_hh of one batch item (GRU needs them apart).</summary>
    public readonly double[] GatesIh, GatesHh;
    public readonly double[] NewH;

    /// <summary>Layer outputs between stacked layers, [T, B, D*H]; grown when a longer sequence comes.</summary>
    public AlignedBuffer? Between0, Between1;

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            Between0?.Dispose();
            Between1?.Dispose();
        }
        base.Dispose(disposing);
    }
}

internal sealed class ReferencePrepared(RnnModel model) : IPreparedRnn
{
    public RnnState CreateState(int batchSize) => new ReferenceState(model, batchSize);

    public void Step(RnnState state, ReadOnlySpan<float> x, Span<float> y) => Run(state, x, 1, y);

    public void Run(RnnState state, ReadOnlySpan<float> xs, int steps, Span<float> ys)
    {
        var s = (ReferenceState)state;
        int B = s.BatchSize, H = model.HiddenSize, D = model.NumDirections, L = model.NumLayers;
        int outWidth = D * H;

        ReadOnlySpan<float> input = xs;
        int inWidth = model.InputSize;
        for (int layer = 0; layer < L; layer++)
        {
            Span<float> output = layer == L - 1 ? ys : Between(s, layer % 2, steps * B * outWidth);
            for (int dir = 0; dir < D; dir++)
            {
                LayerWeights w = model.Weights(layer, dir);
                Span<float> h = s.HiddenOf(layer, dir);
                Span<float> c = model.Cell == RnnCellKind.Lstm ? s.CellOf(layer, dir) : default;
                for (int i = 0; i < steps; i++)
                {
                    int t = dir == 0 ? i : steps - 1 - i;
                    for (int b = 0; b < B; b++)
                    {
                        ReadOnlySpan<float> x = input.Slice((t * B + b) * inWidth, inWidth);
                        Span<float> hb = h.Slice(b * H, H);
                        Span<float> cb = c.IsEmpty ? default : c.Slice(b * H, H);
                        CellStep(s, w, x, hb, cb);
                        hb.CopyTo(output.Slice((t * B + b) * outWidth + dir * H, H));
                    }
                }
            }
            input = output;
            inWidth = outWidth;
        }
    }

    private static Span<float> Between(ReferenceState s, int which, int length)
    {
        ref AlignedBuffer? buffer = ref which == 0 ? ref s.Between0 : ref s.Between1;
        if (buffer is null || buffer.Length < length)
        {
            buffer?.Dispose();
            buffer = AlignedBufferPool.Shared.Rent(length);
        }
        return buffer.Span[..length];
    }

    /// <summary>One cell update of one batch item: h (and c) are replaced by h' (and c').</summary>
    private void CellStep(ReferenceState s, LayerWeights w, ReadOnlySpan<float> x, Span<float> h, Span<float> c)
    {
        int H = model.HiddenSize;
        double[] gi = s.GatesIh, gh = s.GatesHh, hNew = s.NewH;
        for (int row = 0; row < w.Rows; row++)
        {
            gi[row] = w.BiasIh[row] + Dot(w.WeightIh.GetRowSpan(row), x);
            gh[row] = w.BiasHh[row] + Dot(w.WeightHh.GetRowSpan(row), h);
        }

        switch (model.Cell)
        {
            case RnnCellKind.Rnn:
                for (int j = 0; j < H; j++)
                {
                    double a = gi[j] + gh[j];
                    hNew[j] = model.Nonlinearity == RnnNonlinearity.Relu ? Math.Max(a, 0.0) : Math.Tanh(a);
                }
                break;

            case RnnCellKind.Gru: // rows r, z, n
                for (int j = 0; j < H; j++)
                {
                    double r = Sigmoid(gi[j] + gh[j]);
                    double z = Sigmoid(gi[H + j] + gh[H + j]);
                    double n = Math.Tanh(gi[2 * H + j] + r * gh[2 * H + j]);
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

        for (int j = 0; j < H; j++) h[j] = (float)hNew[j];
    }

    private static double Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        double sum = 0;
        for (int k = 0; k < a.Length; k++) sum += (double)a[k] * b[k];
        return sum;
    }

    private static double Sigmoid(double v) => 1.0 / (1.0 + Math.Exp(-v));

    public void Dispose() { }
}
