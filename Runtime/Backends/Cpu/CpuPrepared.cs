using System.Runtime.CompilerServices;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// A model prepared for one vector width: every W_ih and W_hh packed once into panels
/// (<see cref="PackedMatrix"/>), biases folded into the accumulators' start values. Immutable and
/// shared by all sessions; everything mutable is in <see cref="CpuState"/>.
/// <para>
/// Step: per layer, W_ih x and the recurrent product W_hh h panel by panel, each group of units
/// finished by the cell epilogue as soon as its gates are summed; every other step walks the weights
/// backwards so that what is still in L2 is read first.
/// Run: per layer and direction, the input projection of many time steps at once (one blocked matrix
/// product over all T*B rows, or over chunks of at least 128 rows when the gate sums of all of them
/// would pass 2 MiB), then per time step only the recurrent product and epilogue.
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

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Step(RnnState state, ReadOnlySpan<float> x, Span<float> y)
    {
        var s = (CpuState)state;
        int B = s.BatchSize, H = _hidden;
        float* gx = s.Gx(B);
        bool mirror = s.NextStepMirrored;
        s.NextStepMirrored = !mirror;
        fixed (float* px = x, py = y)
        {
            float* input = px;
            nint inStride = _model.InputSize;
            for (int l = 0; l < _layers; l++)
            {
                float* h = s.H.Pointer + (nint)l * B * H;
                float* c = s.C is null ? null : s.C.Pointer + (nint)l * B * H;
                CellStep(s, _ih[l], input, inStride, gx, _hh[l], h, c, l == _layers - 1 ? py : null, H, mirror);
                input = h;
                inStride = H;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(RnnState state, ReadOnlySpan<float> xs, int steps, Span<float> ys)
    {
        var s = (CpuState)state;
        int B = s.BatchSize, H = _hidden, D = _directions;
        long rows = (long)steps * B;
        nint outWidth = D * H, cf = _columnFloats;
        int chunk = ChunkSteps(B);
        float* gx = s.Gx(Math.Min(steps, chunk) * B);
        fixed (float* px = xs, py = ys)
        {
            float* input = px;
            nint inStride = _model.InputSize;
            for (int l = 0; l < _layers; l++)
            {
                float* output = l == _layers - 1 ? py : s.Sequence(l % 2, rows * outWidth);
                for (int d = 0; d < D; d++)
                {
                    PackedMatrix ih = _ih[l * D + d], hh = _hh[l * D + d];
                    nint slot = (nint)(l * D + d) * B * H;
                    float* h = s.H.Pointer + slot;
                    float* c = s.C is null ? null : s.C.Pointer + slot;
                    for (int i0 = 0; i0 < steps; i0 += chunk)
                    {
                        // The input projection of a whole chunk of time steps (all of them when their
                        // gate sums fit in the budget), hoisted out of the time loop: one blocked product.
                        int n = Math.Min(chunk, steps - i0);
                        nint first = d == 0 ? i0 : steps - i0 - n;
                        for (int p = 0; p < ih.Panels; p++)
                            MatMulTile<S, TV>.Panel(ih, p, input + first * B * inStride, inStride, n * B, gx, cf);
                        for (int i = i0; i < i0 + n; i++)
                        {
                            nint t = d == 0 ? i : steps - 1 - i;
                            CellStep(s, null, null, 0, gx + (t - first) * B * cf, hh, h, c, output + t * B * outWidth + d * H, outWidth, mirror: (i & 1) != 0);
                        }
                    }
                }
                input = output;
                inStride = outWidth;
            }
        }
    }

    /// <summary>
    /// Time steps per input-projection chunk: as many as keep the gate sums within
    /// <see cref="ProjectionBudgetFloats"/> (so they are still in cache when the steps read them, and a
    /// long sequence does not need T*B*G*H floats of scratch), but never fewer than
    /// <see cref="MinProjectionRows"/> rows, which the product needs to run at full FMA rate.
    /// </summary>
    internal int ChunkSteps(int batch) => Math.Max(1, Math.Max(MinProjectionRows, ProjectionBudgetFloats / _columnFloats) / batch);

    internal const int ProjectionBudgetFloats = 512 * 1024;   // 2 MiB
    internal const int MinProjectionRows = 128;

    /// <summary>
    /// One time step of one layer and direction for all B rows. gx = W_ih x + bias (computed here
    /// unless <paramref name="ih"/> is null: Run has it already) and gh = W_hh h (+ b_hn), panel by
    /// panel; each group of units is finished by the cell epilogue as soon as both products hold its
    /// G columns. Then h takes the new values and, when <paramref name="output"/> is not null, so do
    /// the output rows.
    /// <para>
    /// Mirrored steps walk the weights backwards (W_hh from its last panel down, then W_ih), so the
    /// bytes a step reads first are the ones the previous step read last: when the weights are a
    /// little larger than L2, LRU keeps those, and each step gets part of its weights from L2 instead
    /// of streaming all of them from L3. The order changes no result: every column's sum is the same.
    /// </para>
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CellStep(CpuState s, PackedMatrix? ih, float* x, nint xStride, float* gx, PackedMatrix hh, float* h, float* c,
        float* output, nint outStride, bool mirror)
    {
        int B = s.BatchSize, H = _hidden;
        nint cf = _columnFloats;
        float* gh = s.Gh.Pointer;
        if (!mirror)
        {
            if (ih is not null)
                for (int p = 0; p < ih.Panels; p++) MatMulTile<S, TV>.Panel(ih, p, x, xStride, B, gx, cf);
            int next = 0;
            for (int p = 0; p < hh.Panels; p++)
            {
                MatMulTile<S, TV>.Panel(hh, p, h, H, B, gh, cf);
                int done = Math.Min(_groups, (p * PackedMatrix.PanelWidth + hh.WidthOf(p)) / _gates);
                FinishGroups(s, next, done, gx, gh, h, c);
                next = done;
            }
        }
        else
        {
            // The same sums in the opposite order: the last product's panels drive the epilogue.
            PackedMatrix last = ih ?? hh;
            if (ih is not null)
                for (int p = hh.Panels - 1; p >= 0; p--) MatMulTile<S, TV>.Panel(hh, p, h, H, B, gh, cf);
            int lowest = _groups;
            for (int p = last.Panels - 1; p >= 0; p--)
            {
                if (ih is not null) MatMulTile<S, TV>.Panel(ih, p, x, xStride, B, gx, cf);
                else MatMulTile<S, TV>.Panel(hh, p, h, H, B, gh, cf);
                // Groups whose first column is in this panel or later are complete.
                int from = (p * PackedMatrix.PanelWidth + _gates - 1) / _gates;
                FinishGroups(s, from, lowest, gx, gh, h, c);
                lowest = Math.Min(lowest, from);
            }
        }

        float* hNew = s.HNew.Pointer;
        nint hp = _paddedHidden;
        for (int b = 0; b < B; b++)
        {
            var fresh = new ReadOnlySpan<float>(hNew + b * hp, H);
            fresh.CopyTo(new Span<float>(h + (nint)b * H, H));
            if (output != null) fresh.CopyTo(new Span<float>(output + b * outStride, H));
        }
    }

    /// <summary>Runs the cell epilogue on groups [from, to) of every batch row.</summary>
    private void FinishGroups(CpuState s, int from, int to, float* gx, float* gh, float* h, float* c)
    {
        if (from >= to) return;
        switch (_cell)
        {
            case RnnCellKind.Rnn when _relu: FinishGroups<CellEpilogue<S, TV>.RnnRelu>(s, from, to, gx, gh, h, c); break;
            case RnnCellKind.Rnn: FinishGroups<CellEpilogue<S, TV>.RnnTanh>(s, from, to, gx, gh, h, c); break;
            case RnnCellKind.Gru: FinishGroups<CellEpilogue<S, TV>.Gru>(s, from, to, gx, gh, h, c); break;
            default: FinishGroups<CellEpilogue<S, TV>.Lstm>(s, from, to, gx, gh, h, c); break;
        }
    }

    /// <summary>One copy per cell kind, so the epilogue is inlined into the loop with no per-group dispatch.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void FinishGroups<TCell>(CpuState s, int from, int to, float* gx, float* gh, float* h, float* c)
        where TCell : struct, ICellEpilogue
    {
        int B = s.BatchSize, H = _hidden, G = _gates, V = S.Count;
        nint cf = _columnFloats, hp = _paddedHidden;
        float* hNew = s.HNew.Pointer;
        for (int q = from; q < to; q++)
        {
            nint col = (nint)q * G * V, unit = (nint)q * V;
            int count = Math.Min(V, H - (int)unit);
            for (nint b = 0; b < B; b++)
            {
                float* hb = h + b * H + unit, cb = c == null ? null : c + b * H + unit;
                if (count == V)
                {
                    TCell.Finish(gx + b * cf + col, gh + b * cf + col, hb, cb, hNew + b * hp + unit);
                    continue;
                }
                // The last group is partial: h and c hold only `count` valid floats here, so work on
                // padded copies rather than read past the end of the state.
                float* th = s.Tail.Pointer, tc = th + V;
                new ReadOnlySpan<float>(hb, count).CopyTo(new Span<float>(th, count));
                if (cb != null) new ReadOnlySpan<float>(cb, count).CopyTo(new Span<float>(tc, count));
                TCell.Finish(gx + b * cf + col, gh + b * cf + col, th, tc, hNew + b * hp + unit);
                if (cb != null) new ReadOnlySpan<float>(tc, count).CopyTo(new Span<float>(cb, count));
            }
        }
    }

    public void Dispose()
    {
        foreach (PackedMatrix? m in _ih) m?.Dispose();
        foreach (PackedMatrix? m in _hh) m?.Dispose();
    }
}
