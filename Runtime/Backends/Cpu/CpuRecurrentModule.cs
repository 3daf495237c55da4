using System.Runtime.CompilerServices;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// One recurrent module (an nn.RNN/GRU/LSTM stack) prepared for one vector width: every W_ih and
/// W_hh packed once into panels (<see cref="PackedMatrix"/>), biases folded into the accumulators'
/// start values as the cell's <see cref="CellSpec"/> allows. Immutable and shared by all sessions;
/// everything mutable is in <see cref="CpuState"/>. The cell epilogue is a type argument of the
/// subclass made at prepare time (<see cref="Create"/>), so no kernel switches on the cell kind.
/// <para>
/// Step: per layer, W_ih x and the recurrent product W_hh h panel by panel, each group of units
/// finished by the cell epilogue as soon as its gates are summed; every other step walks the weights
/// backwards so that what is still in L2 is read first.
/// Run: per layer and direction, the input projection of many time steps at once (one blocked matrix
/// product over all T*B rows, or over chunks of at least 128 rows when the gate sums of all of them
/// would pass 2 MiB), then per time step only the recurrent product and epilogue.
/// </para>
/// <para>
/// An LSTM with a projection (proj_size P): W_hh is packed with depth P (h is P wide); the epilogue
/// writes h_full = o * tanh(c') (H wide, padded) into HNew as without one, then W_hr, packed as a
/// one-gate matrix (P outputs, depth H), multiplies the B rows of HNew into ProjectionSums, whose
/// first P floats per row become h and the output row. Which of the two finishes a step is decided
/// once per step, never per group.
/// </para>
/// </summary>
internal abstract unsafe class CpuRecurrentModule<S, TV> where S : ISimd<TV> where TV : struct
{
    public static CpuRecurrentModule<S, TV> Create(RecurrentLayer layer, int module) => layer.Cell switch
    {
        RnnCellKind.Rnn when layer.Nonlinearity == RnnNonlinearity.Relu => new Specialised<CellEpilogue<S, TV>.RnnRelu>(layer, module),
        RnnCellKind.Rnn => new Specialised<CellEpilogue<S, TV>.RnnTanh>(layer, module),
        RnnCellKind.Gru => new Specialised<CellEpilogue<S, TV>.Gru>(layer, module),
        _ => new Specialised<CellEpilogue<S, TV>.Lstm>(layer, module),
    };

    protected readonly int _module, _gates, _hidden, _groups, _layers, _directions, _input;
    /// <summary>Panels per part boundary of W_ih and W_hh: parts end on group boundaries (<see cref="CpuWorkSplit.GroupAlignedPanels"/>).</summary>
    protected readonly int _unitPanels;
    /// <summary>h's width: P with a projection, else H.</summary>
    protected readonly int _width;
    protected readonly PackedMatrix[] _ih, _hh;
    /// <summary>W_hr per layer and direction (one gate, P outputs, depth H), or null without a projection.</summary>
    protected readonly PackedMatrix[]? _hr;

    protected CpuRecurrentModule(RecurrentLayer layer, int module)
    {
        _module = module;
        _gates = layer.Spec.Gates;
        _hidden = layer.HiddenSize;
        _width = layer.HiddenWidth;
        _layers = layer.NumLayers;
        _directions = layer.NumDirections;
        _input = layer.InputSize;
        int V = S.Count;
        _groups = (_hidden + V - 1) / V;
        PaddedHidden = _groups * V;
        ColumnFloats = ((_groups * _gates + 1) & ~1) * V;   // PackedMatrix.PaddedColumns * V
        _unitPanels = CpuWorkSplit.GroupAlignedPanels(_gates);

        int n = _layers * _directions;
        _ih = new PackedMatrix[n];
        _hh = new PackedMatrix[n];
        if (layer.ProjSize > 0) _hr = new PackedMatrix[n];
        for (int l = 0; l < _layers; l++)
            for (int d = 0; d < _directions; d++)
            {
                LayerWeights w = layer.Weights(l, d);
                var biasX = new float[w.Rows];
                var biasH = new float[w.Rows];
                layer.Spec.FoldBiases(w.BiasIh, w.BiasHh, _hidden, biasX, biasH);
                _ih[l * _directions + d] = new PackedMatrix(w.Ih, biasX, _gates, _hidden, V);
                _hh[l * _directions + d] = new PackedMatrix(w.Hh, biasH, _gates, _hidden, V);
                if (_hr is not null) _hr[l * _directions + d] = new PackedMatrix(w.Hr!, bias: [], gates: 1, hidden: _width, V);
            }
        ProjectionColumnFloats = _hr is null ? 0 : _hr[0].PaddedColumns * V;
    }

    /// <summary>Floats in one padded row of the projection's sums (0 without a projection).</summary>
    public int ProjectionColumnFloats { get; }

    /// <summary>The most parts any of its products can be cut into: Run's input projection splits by
    /// panels, a step by whole groups.</summary>
    public int MaxParts => Math.Max(Math.Max(_ih[0].Panels, CpuWorkSplit.Units(_hh[0].Panels, _unitPanels)), _hr?[0].Panels ?? 0);

    /// <summary>Floats in one packed row of gate sums: PaddedColumns * V.</summary>
    public int ColumnFloats { get; }

    /// <summary>H rounded up to whole vectors.</summary>
    public int PaddedHidden { get; }

    /// <summary>D*H (D*P with a projection): floats per row of the module's output.</summary>
    public int OutputWidth => _directions * _width;

    /// <summary>One step for B rows: x (B, I) with row stride xStride -> y (B, H) dense.</summary>
    public abstract void Step(CpuState s, float* x, nint xStride, float* y, bool mirror);

    /// <summary>A sequence: xs (T*B, I) with row stride xStride -> ys (T*B, D*H) dense.</summary>
    public abstract void Run(CpuState s, float* xs, nint xStride, int steps, float* ys);

    /// <summary>
    /// Time steps per input-projection chunk: as many as keep the gate sums within
    /// <see cref="ProjectionBudgetFloats"/> (so they are still in cache when the steps read them, and a
    /// long sequence does not need T*B*G*H floats of scratch), but never fewer than
    /// <see cref="MinProjectionRows"/> rows, which the product needs to run at full FMA rate.
    /// </summary>
    internal int ChunkSteps(int batch) => Math.Max(1, Math.Max(MinProjectionRows, ProjectionBudgetFloats / ColumnFloats) / batch);

    internal const int ProjectionBudgetFloats = 512 * 1024;   // 2 MiB
    internal const int MinProjectionRows = 128;

    public void Dispose()
    {
        foreach (PackedMatrix? m in _ih) m?.Dispose();
        foreach (PackedMatrix? m in _hh) m?.Dispose();
        if (_hr is not null) foreach (PackedMatrix? m in _hr) m?.Dispose();
    }

    private sealed class Specialised<TCell>(RecurrentLayer layer, int module) : CpuRecurrentModule<S, TV>(layer, module), ICpuPartJob
        where TCell : struct, ICellEpilogue
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Step(CpuState s, float* x, nint xStride, float* y, bool mirror)
        {
            int B = s.Rows;
            float* gx = s.Gx((long)B * ColumnFloats);
            float* input = x;
            nint inStride = xStride;
            for (int l = 0; l < _layers; l++)
            {
                float* h = s.HiddenPointer(_module, l, 0);
                float* c = s.CellPointer(_module, l, 0);
                CellStep(s, _ih[l], input, inStride, gx, _hh[l], _hr?[l], h, c, l == _layers - 1 ? y : null, _width, mirror, B);
                input = h;
                inStride = _width;
            }
        }

        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public override void Run(CpuState s, float* xs, nint xStride, int steps, float* ys)
        {
            int B = s.Rows, D = _directions;
            long rows = (long)steps * B;
            nint outWidth = D * _width, cf = ColumnFloats;
            int chunk = ChunkSteps(B);
            float* gx = s.Gx((long)Math.Min(steps, chunk) * B * cf);
            float* input = xs;
            nint inStride = xStride;
            for (int l = 0; l < _layers; l++)
            {
                float* output = l == _layers - 1 ? ys : s.Sequence(l % 2, rows * outWidth);
                s.ZeroPastEnds(output, outWidth, steps);
                for (int d = 0; d < D; d++)
                {
                    PackedMatrix ih = _ih[l * D + d], hh = _hh[l * D + d];
                    PackedMatrix? hr = _hr?[l * D + d];
                    float* h = s.HiddenPointer(_module, l, d);
                    float* c = s.CellPointer(_module, l, d);
                    for (int i0 = 0; i0 < steps; i0 += chunk)
                    {
                        // The input projection of a whole chunk of time steps (all of them when their
                        // gate sums fit in the budget), hoisted out of the time loop: one blocked product.
                        int n = Math.Min(chunk, steps - i0);
                        nint first = d == 0 ? i0 : steps - i0 - n;
                        CpuPanelProduct<S, TV>.Run(s, ih, input + first * B * inStride, inStride, n * B, gx, cf);
                        for (int i = i0; i < i0 + n; i++)
                        {
                            nint t = d == 0 ? i : steps - 1 - i;
                            // A packed run steps only the sequences still running at t (a prefix of the rows).
                            int running = s.RowsAt(t);
                            if (running > 0) CellStep(s, null, null, 0, gx + (t - first) * B * cf, hh, hr, h, c, output + t * B * outWidth + d * _width, outWidth, (i & 1) != 0, running);
                        }
                    }
                }
                input = output;
                inStride = outWidth;
            }
        }

        /// <summary>
        /// One time step of one layer and direction for all B rows. gx = W_ih x + bias (computed here
        /// unless <paramref name="ih"/> is null: Run has it already) and gh = W_hh h (+ b_hn), panel by
        /// panel; each group of units is finished by the cell epilogue as soon as both products hold its
        /// G columns. Then h takes the new values and, when <paramref name="output"/> is not null, so do
        /// the output rows; with a projection (<paramref name="hr"/> not null) the new values are
        /// W_hr h_full, h_full being what the epilogue left in HNew.
        /// <para>
        /// With several threads the products and the epilogue are cut into parts of whole groups of
        /// units (<see cref="CpuWorkSplit.GroupAlignedPanels"/>): each part computes its panels of W_ih
        /// and W_hh into the shared gx and gh rows and finishes its own groups into HNew and c; what a part
        /// writes no other part reads (every part reads all of h, which changes only after the join). One
        /// join per layer and step, then this thread replaces h and writes the output.
        /// </para>
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void CellStep(CpuState s, PackedMatrix? ih, float* x, nint xStride, float* gx, PackedMatrix hh, PackedMatrix? hr, float* h, float* c,
            float* output, nint outStride, bool mirror, int rows)
        {
            int B = rows, H = _hidden, W = _width;
            long work = CpuWorkSplit.Work(hh, B) + (ih is null ? 0 : CpuWorkSplit.Work(ih, B));
            int parts = s.PartsFor(CpuWorkSplit.Units(hh.Panels, _unitPanels), work);
            // Each input once for all the panels (and parts) that read it: slot 0 for x, 1 for h.
            PanelInput xin = ih is null ? default : MatMulTile<S, TV>.Input(s, ih, x, xStride, B, slot: 0);
            PanelInput hin = MatMulTile<S, TV>.Input(s, hh, h, W, B, slot: 1);
            if (parts == 1) CellProducts(s, ih, xin, gx, hh, hin, c, mirror, 0, hh.Panels, B);
            else
            {
                s.Cell = new CpuState.CellCall(ih, xin, gx, hh, hin, c, mirror, B);
                s.Workers!.Run(s, this, parts);
            }

            float* hNew = s.HNew.Pointer;
            nint hp = PaddedHidden;
            if (hr is not null)
            {
                // h' = W_hr h_full over the B rows of HNew (depth H: the padding past H is never read).
                float* sums = s.ProjectionSums.Pointer;
                nint pcf = ProjectionColumnFloats;
                CpuPanelProduct<S, TV>.Run(s, hr, hNew, hp, B, sums, pcf);
                for (int b = 0; b < B; b++)
                {
                    var fresh = new ReadOnlySpan<float>(sums + b * pcf, W);
                    fresh.CopyTo(new Span<float>(h + (nint)b * W, W));
                    if (output != null) fresh.CopyTo(new Span<float>(output + b * outStride, W));
                }
                return;
            }
            for (int b = 0; b < B; b++)
            {
                var fresh = new ReadOnlySpan<float>(hNew + b * hp, H);
                fresh.CopyTo(new Span<float>(h + (nint)b * H, H));
                if (output != null) fresh.CopyTo(new Span<float>(output + b * outStride, H));
            }
        }

        /// <summary>Part <paramref name="part"/> of a split <see cref="CellStep"/>: its range of whole groups.</summary>
        public void RunPart(CpuState s, int part, int parts)
        {
            CpuState.CellCall a = s.Cell;
            (int from, int to) = CpuWorkSplit.Range(a.Hh.Panels, _unitPanels, part, parts);
            CellProducts(s, a.Ih, a.X, a.Gx, a.Hh, a.H, a.C, a.Mirror, from, to, a.Rows);
        }

        /// <summary>
        /// Panels [<paramref name="from"/>, <paramref name="to"/>) of W_ih (unless null) and W_hh, and
        /// the epilogue of the groups they complete; the range starts and ends on group boundaries.
        /// <para>
        /// Mirrored steps walk the range backwards (W_hh from its last panel down, then W_ih), so the
        /// bytes a step reads first are the ones the previous step read last: when the weights are a
        /// little larger than L2, LRU keeps those, and each step gets part of its weights from L2 instead
        /// of streaming all of them from L3. The order changes no result: every column's sum is the same.
        /// </para>
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void CellProducts(CpuState s, PackedMatrix? ih, in PanelInput x, float* gx, PackedMatrix hh, in PanelInput hin, float* c, bool mirror, int from, int to, int rows)
        {
            int B = rows, G = _gates;
            nint cf = ColumnFloats;
            float* gh = s.Gh.Pointer, h = hin.X;
            if (!mirror)
            {
                if (ih is not null)
                    for (int p = from; p < to; p++) MatMulTile<S, TV>.Panel(ih, p, x, B, gx, cf);
                int next = from * PackedMatrix.PanelWidth / G;
                for (int p = from; p < to; p++)
                {
                    MatMulTile<S, TV>.Panel(hh, p, hin, B, gh, cf);
                    int done = Math.Min(_groups, (p * PackedMatrix.PanelWidth + hh.WidthOf(p)) / G);
                    FinishGroups(s, next, done, gx, gh, h, c, B);
                    next = done;
                }
            }
            else
            {
                // The same sums in the opposite order: the last product's panels drive the epilogue.
                PackedMatrix last = ih ?? hh;
                if (ih is not null)
                    for (int p = to - 1; p >= from; p--) MatMulTile<S, TV>.Panel(hh, p, hin, B, gh, cf);
                int lowest = to == hh.Panels ? _groups : to * PackedMatrix.PanelWidth / G;
                for (int p = to - 1; p >= from; p--)
                {
                    if (ih is not null) MatMulTile<S, TV>.Panel(ih, p, x, B, gx, cf);
                    else MatMulTile<S, TV>.Panel(hh, p, hin, B, gh, cf);
                    // Groups whose first column is in this panel or later are complete.
                    int first = (p * PackedMatrix.PanelWidth + G - 1) / G;
                    FinishGroups(s, first, lowest, gx, gh, h, c, B);
                    lowest = Math.Min(lowest, first);
                }
            }
        }

        /// <summary>Runs the cell epilogue on groups [from, to) of the first <paramref name="rows"/> batch rows.</summary>
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        private void FinishGroups(CpuState s, int from, int to, float* gx, float* gh, float* h, float* c, int rows)
        {
            int B = rows, H = _hidden, G = _gates, V = S.Count;
            nint cf = ColumnFloats, hp = PaddedHidden;
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
                    // padded copies rather than read past the end of the state. With a projection h is
                    // P wide (hb means nothing) and the LSTM epilogue does not read it: copy only c.
                    float* th = s.Tail.Pointer, tc = th + V;
                    if (_hr is null) new ReadOnlySpan<float>(hb, count).CopyTo(new Span<float>(th, count));
                    if (cb != null) new ReadOnlySpan<float>(cb, count).CopyTo(new Span<float>(tc, count));
                    TCell.Finish(gx + b * cf + col, gh + b * cf + col, th, tc, hNew + b * hp + unit);
                    if (cb != null) new ReadOnlySpan<float>(tc, count).CopyTo(new Span<float>(cb, count));
                }
            }
        }
    }
}
