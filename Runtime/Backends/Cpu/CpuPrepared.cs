using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// A model prepared for one vector width: every W_ih and W_hh packed once into panels
/// (<see cref="PackedMatrix"/>), biases folded into the accumulators' start values. Immutable and
/// shared by all sessions; everything mutable is in <see cref="CpuState"/>.
/// <para>
/// Step: per layer, W_ih x (one pass over W_ih), then the recurrent product W_hh h panel by panel,
/// each group of units finished by the cell epilogue as soon as its gates are summed.
/// Run: per layer and direction, the input projection of all T*B rows at once (one blocked matrix
/// product), then per time step only the recurrent product and epilogue.
/// </para>
/// </summary>
internal sealed unsafe class CpuPrepared<S, TV> : IPreparedRnn where S : ISimd<TV> where TV : struct
{
    private readonly RnnModel _model;
    private readonly RnnCellKind _cell;
    private readonly bool _relu;
    private readonly int _gates, _hidden, _groups, _columnFloats, _paddedHidden, _layers, _directions;
    private readonly PackedMatrix[] _ih, _hh;

    public CpuPrepared(RnnModel model)
    {
        _model = model;
        _cell = model.Cell;
        _relu = model.Cell == RnnCellKind.Rnn && model.Nonlinearity == RnnNonlinearity.Relu;
        _gates = model.Cell.GateCount();
        _hidden = model.HiddenSize;
        _layers = model.NumLayers;
        _directions = model.NumDirections;
        int V = S.Count;
        _groups = (_hidden + V - 1) / V;
        _paddedHidden = _groups * V;
        _columnFloats = ((_groups * _gates + 1) & ~1) * V;   // PackedMatrix.PaddedColumns * V

        int n = _layers * _directions;
        _ih = new PackedMatrix[n];
        _hh = new PackedMatrix[n];
        try
        {
            for (int l = 0; l < _layers; l++)
                for (int d = 0; d < _directions; d++)
                {
                    LayerWeights w = model.Weights(l, d);
                    // Fold b_hh into the input side wherever it simply adds; GRU's b_hn stays inside r * (W_hn h + b_hn).
                    var biasX = new float[w.Rows];
                    var biasH = new float[w.Rows];
                    int hGateStart = _cell == RnnCellKind.Gru ? 2 * _hidden : w.Rows;
                    for (int r = 0; r < w.Rows; r++)
                    {
                        biasX[r] = r < hGateStart ? w.BiasIh[r] + w.BiasHh[r] : w.BiasIh[r];
                        biasH[r] = r < hGateStart ? 0f : w.BiasHh[r];
                    }
                    _ih[l * _directions + d] = new PackedMatrix(w.WeightIh, biasX, _gates, _hidden, V);
                    _hh[l * _directions + d] = new PackedMatrix(w.WeightHh, biasH, _gates, _hidden, V);
                }
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public RnnState CreateState(int batchSize) => new CpuState(_model, batchSize, _columnFloats, _paddedHidden, S.Count);

    public void Step(RnnState state, ReadOnlySpan<float> x, Span<float> y)
    {
        var s = (CpuState)state;
        int B = s.BatchSize, H = _hidden;
        float* gx = s.Gx(B);
        fixed (float* px = x, py = y)
        {
            float* input = px;
            nint inStride = _model.InputSize;
            for (int l = 0; l < _layers; l++)
            {
                PackedMatrix ih = _ih[l];
                for (int p = 0; p < ih.Panels; p++) MatMulTile<S, TV>.Panel(ih, p, input, inStride, B, gx, _columnFloats);
                float* h = s.H.Pointer + (nint)l * B * H;
                float* c = s.C is null ? null : s.C.Pointer + (nint)l * B * H;
                Recurrent(s, _hh[l], h, c, gx, l == _layers - 1 ? py : null, H);
                input = h;
                inStride = H;
            }
        }
    }

    public void Run(RnnState state, ReadOnlySpan<float> xs, int steps, Span<float> ys)
    {
        var s = (CpuState)state;
        int B = s.BatchSize, H = _hidden, D = _directions;
        int rows = checked(steps * B);
        nint outWidth = D * H;
        float* gx = s.Gx(rows);
        fixed (float* px = xs, py = ys)
        {
            float* input = px;
            nint inStride = _model.InputSize;
            for (int l = 0; l < _layers; l++)
            {
                float* output = l == _layers - 1 ? py : s.Sequence(l % 2, (long)rows * outWidth);
                for (int d = 0; d < D; d++)
                {
                    PackedMatrix ih = _ih[l * D + d];
                    // The input projection of the whole sequence, hoisted out of the time loop.
                    for (int p = 0; p < ih.Panels; p++) MatMulTile<S, TV>.Panel(ih, p, input, inStride, rows, gx, _columnFloats);
                    nint slot = (nint)(l * D + d) * B * H;
                    float* h = s.H.Pointer + slot;
                    float* c = s.C is null ? null : s.C.Pointer + slot;
                    PackedMatrix hh = _hh[l * D + d];
                    for (int i = 0; i < steps; i++)
                    {
                        nint t = d == 0 ? i : steps - 1 - i;
                        Recurrent(s, hh, h, c, gx + t * B * _columnFloats, output + t * B * outWidth + d * H, outWidth);
                    }
                }
                input = output;
                inStride = outWidth;
            }
        }
    }

    /// <summary>
    /// One time step of one layer and direction for all B rows: gh = W_hh h (+ b_hn), panel by panel;
    /// each group of units is finished as soon as its G columns are in. Then h takes the new values
    /// and, when <paramref name="output"/> is not null, so do the output rows.
    /// </summary>
    private void Recurrent(CpuState s, PackedMatrix hh, float* h, float* c, float* gx, float* output, nint outStride)
    {
        int B = s.BatchSize, H = _hidden, G = _gates, V = S.Count;
        nint cf = _columnFloats, hp = _paddedHidden;
        float* gh = s.Gh.Pointer, hNew = s.HNew.Pointer;
        int next = 0;
        for (int p = 0; p < hh.Panels; p++)
        {
            MatMulTile<S, TV>.Panel(hh, p, h, H, B, gh, cf);
            int done = Math.Min(_groups, (p * PackedMatrix.PanelWidth + hh.WidthOf(p)) / G);
            for (; next < done; next++)
            {
                nint col = (nint)next * G * V, unit = (nint)next * V;
                int count = Math.Min(V, H - (int)unit);
                for (int b = 0; b < B; b++)
                    Finish(s, gx + b * cf + col, gh + b * cf + col, h + b * H + unit, c == null ? null : c + b * H + unit, hNew + b * hp + unit, count);
            }
        }
        for (int b = 0; b < B; b++)
        {
            var fresh = new ReadOnlySpan<float>(hNew + b * hp, H);
            fresh.CopyTo(new Span<float>(h + (nint)b * H, H));
            if (output != null) fresh.CopyTo(new Span<float>(output + b * outStride, H));
        }
    }

    private void Finish(CpuState s, float* gx, float* gh, float* h, float* c, float* hNew, int count)
    {
        if (count < S.Count)
        {
            // The last group is partial: h and c hold only `count` valid floats here, so work on
            // padded copies rather than read past the end of the state.
            float* th = s.Tail.Pointer, tc = th + S.Count;
            new ReadOnlySpan<float>(h, count).CopyTo(new Span<float>(th, count));
            if (c != null) new ReadOnlySpan<float>(c, count).CopyTo(new Span<float>(tc, count));
            FinishFull(gx, gh, th, c == null ? null : tc, hNew);
            if (c != null) new ReadOnlySpan<float>(tc, count).CopyTo(new Span<float>(c, count));
            return;
        }
        FinishFull(gx, gh, h, c, hNew);
    }

    private void FinishFull(float* gx, float* gh, float* h, float* c, float* hNew)
    {
        switch (_cell)
        {
            case RnnCellKind.Rnn: CellEpilogue<S, TV>.Rnn(gx, gh, hNew, _relu); break;
            case RnnCellKind.Gru: CellEpilogue<S, TV>.Gru(gx, gh, h, hNew); break;
            default: CellEpilogue<S, TV>.Lstm(gx, gh, c, hNew); break;
        }
    }

    public void Dispose()
    {
        foreach (PackedMatrix? m in _ih) m?.Dispose();
        foreach (PackedMatrix? m in _hh) m?.Dispose();
    }
}
