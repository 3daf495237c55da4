using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using RnnRuntime.Backends.Cpu.Plan;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu.Latency;

/// <summary>
/// One layer (every direction) of a small recurrent module (weights that stay in L1/L2 between steps)
/// on the latency kernel; a stacked module is one of these per layer in the plan, so a Run can
/// interleave its layers (<see cref="CpuNetwork{S, TV}"/>). Per direction and batch row, W_ih and
/// W_hh are stored by column in PyTorch's row order (<see cref="ColumnMatrix"/>) and summed by
/// <see cref="LatencyGemv{S, TV}"/> with every gate sum of a block in registers; the input product
/// and the recurrent one feed the same accumulators where the cell adds them anyway (RNN, LSTM), and
/// two sets where it keeps them apart (GRU's n gate: W_in x + b_in and W_hn h + b_hn). Then the cell's
/// own epilogue (<see cref="CellEpilogue{S, TV}"/>, a type argument) finishes V units at a time, and an
/// LSTM projection is one more column product. Step and Run take the same per-row path (Run walks the
/// time steps inside one call), so they agree bit for bit; rows of a batched session go one after
/// another through the same weights, which stay in cache.
/// </summary>
internal sealed unsafe class LatencyRecurrentStep<S, TV, TCell> : CpuLayerStep, ILatencyRecurrent
    where S : ISimd<TV> where TV : struct where TCell : struct, ICellEpilogue
{
    /// <summary>One layer and direction.</summary>
    private sealed class Cell
    {
        public required ColumnMatrix Ih, Hh;
        public required ColumnMatrix? Hr;
        /// <summary>Pinned arrays (their pointers below stay valid while the cell lives).</summary>
        public required float[] BiasX, BiasH;
        public required float* BiasXPointer, BiasHPointer;
        public required nint[] Kernels, ProjectionKernels;
    }

    private readonly int _module, _layer, _gates, _hidden, _width, _directions, _groups;
    /// <summary>GRU keeps b_hn (and so W_hn h) apart from the input side: two sets of sums. A constant
    /// for the JIT, so each cell compiles only its own epilogue.</summary>
    private static bool Split => typeof(TCell) == typeof(CellEpilogue<S, TV>.Gru);
    private readonly Cell[] _cells;
    private readonly float[] _zeros;
    private readonly float* _zerosPointer;
    private readonly nint _columnFloats, _paddedHidden, _projectionFloats;

    /// <summary>Layer <paramref name="inner"/> of recurrent module <paramref name="module"/> (every direction).</summary>
    public LatencyRecurrentStep(RecurrentLayer layer, int module, int inner)
    {
        int V = S.Count;
        _module = module;
        _layer = inner;
        _gates = layer.Spec.Gates;
        _hidden = layer.HiddenSize;
        _width = layer.HiddenWidth;
        _directions = layer.NumDirections;
        _groups = (_hidden + V - 1) / V;
        if (Split != layer.Spec.InsideGateFrom < _gates) throw new ArgumentException($"the {layer.Spec} cell's biases do not fold as its epilogue expects", nameof(layer));
        int rows = _gates * _hidden, most = LatencyGemv<S, TV>.MaxVectors;
        // Gate sums in row order, whole vectors and one more: the epilogue's loads at gate offsets run past the last row.
        _columnFloats = ((nint)(rows + V - 1) / V + 1) * V;
        _paddedHidden = (nint)_groups * V;
        _cells = new Cell[_directions];
        for (int d = 0; d < _directions; d++)
        {
            LayerWeights w = layer.Weights(inner, d);
            var biasX = new float[w.Rows];
            var biasH = new float[w.Rows];
            layer.Spec.FoldBiases(w.BiasIh, w.BiasHh, _hidden, biasX, biasH);
            var ih = new ColumnMatrix(w.Ih, V, most);
            ColumnMatrix? hr = w.Hr is null ? null : new ColumnMatrix(w.Hr, V, most);
            float[] bx = ColumnMatrix.PinnedRows(biasX, rows, V), bh = ColumnMatrix.PinnedRows(biasH, rows, V);
            _cells[d] = new Cell
            {
                Ih = ih,
                Hh = new ColumnMatrix(w.Hh, V, most),
                Hr = hr,
                BiasX = bx,
                BiasH = bh,
                BiasXPointer = AddressOf(bx),
                BiasHPointer = AddressOf(bh),
                Kernels = KernelsFor(ih),
                ProjectionKernels = hr is null ? [] : KernelsFor(hr),
            };
        }
        _projectionFloats = _cells[0].Hr is { } p ? (nint)p.Vectors * V : 0;
        _zeros = GC.AllocateArray<float>((int)_projectionFloats + V, pinned: true);
        _zerosPointer = AddressOf(_zeros);
    }

    private static float* AddressOf(float[] pinned) => (float*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(pinned));

    private static nint[] KernelsFor(ColumnMatrix m)
    {
        var kernels = new nint[m.Blocks];
        for (int b = 0; b < m.Blocks; b++) kernels[b] = (nint)LatencyGemv<S, TV>.For(m.BlockVectors[b]);
        return kernels;
    }

    /// <summary>This layer's weights of one direction back as tensors, with the biases of
    /// <paramref name="shapes"/> (a weight-free copy of the same layer and direction).</summary>
    public LayerWeights Weights(int direction, LayerWeights shapes)
    {
        Cell cell = _cells[direction];
        return new LayerWeights(_layer, direction, _hidden, cell.Ih.ToWeightTensor(), cell.Hh.ToWeightTensor(),
            shapes.BiasIh.ToArray(), shapes.BiasHh.ToArray(), cell.Hr?.ToWeightTensor());
    }

    public override int OutputWidth => _directions * _width;

    public override string Path => "latency";

    /// <summary>Gate sums (two sets for GRU), the new h padded, the projection's sums, and a padded tail of h and c.</summary>
    public override long ScratchFloats => 2 * _columnFloats + _paddedHidden + _projectionFloats + 2 * S.Count;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Step(CpuState s, float* x, nint xStride, float* y)
    {
        int B = s.Rows, W = _width, H = _hidden;
        Cell cell = _cells[0];
        float* h = s.HiddenPointer(_module, _layer, 0), c = s.CellPointer(_module, _layer, 0);
        for (int b = 0; b < B; b++)
            CellStep(s, cell, x + b * xStride, h + (nint)b * W, c == null ? null : c + (nint)b * H, y + (nint)b * W);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public override void Run(CpuState s, float* xs, nint xStride, int steps, float* ys)
    {
        int B = s.Rows, D = _directions;
        nint outWidth = D * _width;
        s.ZeroPastEnds(ys, outWidth, steps);
        for (int d = 0; d < D; d++)
        {
            Cell cell = _cells[d];
            float* h = s.HiddenPointer(_module, _layer, d), c = s.CellPointer(_module, _layer, d);
            for (int i = 0; i < steps; i++)
            {
                nint t = d == 0 ? i : steps - 1 - i;
                // A packed run steps only the sequences still running at t (a prefix of the rows).
                int n = s.RowsAt(t);
                for (int b = 0; b < n; b++)
                {
                    nint row = t * B + b;
                    CellStep(s, cell, xs + row * xStride, h + (nint)b * _width, c == null ? null : c + (nint)b * _hidden, ys + row * outWidth + d * _width);
                }
            }
        }
    }

    /// <summary>One time step of one layer and direction for one batch row: h (and c) replaced, the new h
    /// also written to <paramref name="output"/> unless null.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void CellStep(CpuState s, Cell cell, float* x, float* h, float* c, float* output)
    {
        int V = S.Count, G = _gates, H = _hidden, W = _width;
        float* gx = s.LayerScratch, gh = gx + _columnFloats, hNew = gh + _columnFloats, proj = hNew + _paddedHidden, tail = proj + _projectionFloats;
        nint I = cell.Ih.Depth;
        float* bx = cell.BiasXPointer, bh = cell.BiasHPointer, zeros = _zerosPointer;
        nint[] kernels = cell.Kernels;
        nint offset = 0;
        for (int k = 0; k < kernels.Length; k++)
        {
            var kernel = (delegate*<float*, nint, float*, float*, nint, float*, float*, float*, void>)kernels[k];
            if (Split)
            {
                kernel(x, I, cell.Ih.Block(k), null, 0, null, bx + offset, gx + offset);
                kernel(h, W, cell.Hh.Block(k), null, 0, null, bh + offset, gh + offset);
            }
            else kernel(x, I, cell.Ih.Block(k), h, W, cell.Hh.Block(k), bx + offset, gx + offset);
            offset += (nint)cell.Ih.BlockVectors[k] * V;
        }
        int full = H / V;
        FinishGroups(gx, gh, H, h, c, hNew, full);
        if (full < _groups) FinishTail(gx, gh, H, h, c, hNew, full, H - full * V, tail);
        float* fresh = hNew;
        if (cell.Hr is { } hr)
        {
            nint[] pk = cell.ProjectionKernels;
            nint po = 0;
            for (int k = 0; k < pk.Length; k++)
            {
                var kernel = (delegate*<float*, nint, float*, float*, nint, float*, float*, float*, void>)pk[k];
                kernel(hNew, H, hr.Block(k), null, 0, null, zeros, proj + po);
                po += (nint)hr.BlockVectors[k] * V;
            }
            fresh = proj;
        }
        PartialVector<S, TV>.Copy(fresh, h, W);
        if (output != null) PartialVector<S, TV>.Copy(fresh, output, W);
    }

    /// <summary>The epilogue of the <paramref name="full"/> whole vectors of units, h and c in place; gate g
    /// of unit u is at g*H + u in the sums (a method of its own so the activations it inlines do not
    /// exhaust the inlining budget of the step).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void FinishGroups(float* gx, float* gh, nint H, float* h, float* c, float* hNew, int full)
    {
        int V = S.Count;
        for (int q = 0; q < full; q++)
        {
            if (Split) TCell.Finish(gx + q * V, gh + q * V, H, h + q * V, c == null ? null : c + q * V, hNew + q * V);
            else TCell.FinishSummed(gx + q * V, H, c == null ? null : c + q * V, hNew + q * V);
        }
    }

    /// <summary>The last, partial vector of units: h and c hold only <paramref name="count"/> valid floats
    /// there, so the epilogue works on padded copies of what it reads.</summary>
    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static void FinishTail(float* gx, float* gh, nint H, float* h, float* c, float* hNew, int full, int count, float* tail)
    {
        int V = S.Count;
        nint u = (nint)full * V;
        float* th = tail, tc = tail + V;
        if (TCell.ReadsH) PartialVector<S, TV>.CopyTail(h + u, th, count);
        if (c != null) PartialVector<S, TV>.CopyTail(c + u, tc, count);
        if (Split) TCell.Finish(gx + u, gh + u, H, th, tc, hNew + u);
        else TCell.FinishSummed(gx + u, H, tc, hNew + u);
        if (c != null) PartialVector<S, TV>.CopyTail(tc, c + u, count);
    }
}
