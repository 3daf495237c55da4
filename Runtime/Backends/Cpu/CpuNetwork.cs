using System.Runtime.CompilerServices;
using RnnRuntime.Backends.Cpu.Latency;
using RnnRuntime.Backends.Cpu.Plan;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu;

/// <summary>What a <see cref="CpuState"/> runs: the network prepared for one vector width.</summary>
internal interface ICpuNetwork
{
    unsafe void Step(CpuState s, ReadOnlySpan<float> x, Span<float> y);
    unsafe void Run(CpuState s, ReadOnlySpan<float> xs, int steps, Span<float> ys);
}

/// <summary>
/// A network prepared for one vector width: the plan, a flat array of layer steps
/// (<see cref="CpuLayerStep"/>), each an object of its own kind chosen once here: a small float32
/// layer on the latency kernels (<see cref="LatencyPath"/>), a larger or narrower one on the packed
/// panel products, an activation fused into the linear layer before it where there is one, else a
/// pass of its own. One loop runs them with one virtual call per layer; each reads the value the one
/// before it wrote, values between layers alternate between two session buffers, and the last writes
/// y. Immutable and shared by all sessions.
/// </summary>
internal sealed unsafe class CpuNetwork<S, TV> : IPreparedRnn, ICpuNetwork where S : ISimd<TV> where TV : struct
{
    /// <summary>One entry of a plan: a layer, the activation fused into it (a linear layer's only), and
    /// for a recurrent module its index and, where it is small enough for the latency kernels, which of
    /// its layers (those run one plan entry per layer; -1: the whole module in one entry).</summary>
    private readonly record struct Entry(NetworkLayer Layer, LayerKind Fused, int Module, int Inner);

    private readonly RnnModel _model;
    private readonly Entry[] _entries;   // the layers' shapes and biases only, once the plan is made
    private readonly CpuLayerStep[] _plan;   // step i made from entry i
    private CpuLayerStep[]? _batchedPlan;
    private readonly object _batchedLock = new();

    public CpuNetwork(RnnModel model)
    {
        _model = model;
        var entries = new List<Entry>();
        IReadOnlyList<NetworkLayer> layers = model.Network.Layers;
        long latencyBytes = model.Options.LatencyMaxWeightBytes;
        int module = 0;
        for (int i = 0; i < layers.Count; i++)
        {
            LayerKind next = i + 1 < layers.Count ? layers[i + 1].Kind : LayerKind.Linear;
            bool fuse = layers[i] is LinearLayer && next is LayerKind.Tanh or LayerKind.Relu or LayerKind.Sigmoid;
            if (layers[i] is RecurrentLayer r && LatencyPath.Takes(r, latencyBytes))
                for (int l = 0; l < r.NumLayers; l++) entries.Add(new Entry(r, LayerKind.Linear, module, l));
            else entries.Add(new Entry(layers[i], fuse ? next : LayerKind.Linear, layers[i] is RecurrentLayer ? module : -1, -1));
            if (layers[i] is RecurrentLayer) module++;
            if (fuse) i++;
        }
        _entries = [.. entries];
        _plan = BuildPlan(latencyBytes);
        // The plan holds the weights now (packed, or by column): keep only the layers' shapes and biases,
        // so the model holds every weight once. A batched plan made later takes them from the plan.
        var shapesOnly = new Dictionary<NetworkLayer, NetworkLayer>();
        for (int e = 0; e < _entries.Length; e++)
        {
            NetworkLayer layer = _entries[e].Layer;
            if (!shapesOnly.TryGetValue(layer, out NetworkLayer? bare))
                shapesOnly[layer] = bare = layer switch
                {
                    RecurrentLayer r => r.MapWeights((w, _) => w.WithoutValues("cpu")),
                    LinearLayer l => l.MapWeights((w, _) => w.WithoutValues("cpu")),
                    _ => layer,
                };
            _entries[e] = _entries[e] with { Layer = bare };
        }
    }

    /// <summary>
    /// The plan for a session of <paramref name="batch"/> rows. Up to <see cref="LatencyPath.MaxBatch"/>
    /// rows the small layers run on the latency kernels (row by row); a larger batch reads each weight
    /// once for all its rows on the panel products, so its plan (made on first need, sharing every
    /// layer that is on the panels already) has no latency layer.
    /// </summary>
    public CpuLayerStep[] PlanFor(int batch)
    {
        if (batch <= LatencyPath.MaxBatch || !Has<ILatencyStep>(_plan)) return _plan;
        lock (_batchedLock) return _batchedPlan ??= BuildBatchedPlan();
    }

    /// <summary>
    /// The plan without latency layers: every step of the batch-1 plan that is on the panels already is
    /// shared; a latency layer's weights come back from its column-major copy (the model keeps no other)
    /// and are packed for the panels; a module split per layer is one whole module again.
    /// </summary>
    private CpuLayerStep[] BuildBatchedPlan()
    {
        var steps = new List<CpuLayerStep>();
        try
        {
            for (int i = 0; i < _plan.Length; i++)
            {
                Entry entry = _entries[i];
                switch (_plan[i])
                {
                    case ILatencyLinear linear:
                        steps.Add(Make(entry with { Layer = linear.WithWeights((LinearLayer)entry.Layer) }, latencyBytes: -1));
                        break;
                    case ILatencyRecurrent:
                        if (entry.Inner > 0) break;   // the whole module came with its layer 0
                        var r = (RecurrentLayer)entry.Layer;
                        var weights = new LayerWeights[r.NumLayers * r.NumDirections];
                        for (int l = 0; l < r.NumLayers; l++)
                            for (int d = 0; d < r.NumDirections; d++)
                                weights[l * r.NumDirections + d] = ((ILatencyRecurrent)_plan[i + l]).Weights(d, r.Weights(l, d));
                        var whole = new RecurrentLayer(r.Index, r.Name, r.Cell, r.Nonlinearity, r.InputSize, r.HiddenSize, r.NumLayers, r.NumDirections,
                            r.HasBias, weights, r.ProjSize) { IsCell = r.IsCell };
                        steps.Add(Make(entry with { Layer = whole, Inner = -1 }, latencyBytes: -1));
                        break;
                    default:
                        steps.Add(_plan[i]);
                        break;
                }
            }
        }
        catch
        {
            foreach (CpuLayerStep step in steps)
                if (Array.IndexOf(_plan, step) < 0) step.Dispose();
            throw;
        }
        return [.. steps];
    }

    /// <summary>The batch-1 plan: a step per entry.</summary>
    private CpuLayerStep[] BuildPlan(long latencyBytes)
    {
        var steps = new List<CpuLayerStep>();
        try
        {
            foreach (Entry entry in _entries) steps.Add(Make(entry, latencyBytes));
        }
        catch
        {
            foreach (CpuLayerStep step in steps) step.Dispose();
            throw;
        }
        return [.. steps];
    }

    private static CpuLayerStep Make(Entry entry, long latencyBytes)
    {
        switch (entry.Layer)
        {
            case LinearLayer linear:
                if (LatencyPath.Takes(linear, latencyBytes))
                    return entry.Fused switch
                    {
                        LayerKind.Tanh => new LatencyLinearStep<S, TV, CpuActivation<S, TV>.Tanh>(linear),
                        LayerKind.Relu => new LatencyLinearStep<S, TV, CpuActivation<S, TV>.Relu>(linear),
                        LayerKind.Sigmoid => new LatencyLinearStep<S, TV, CpuActivation<S, TV>.Sigmoid>(linear),
                        _ => new LatencyLinearStep<S, TV, CpuActivation<S, TV>.Identity>(linear),
                    };
                return new PanelLinearStep<S, TV>(new CpuLinearLayer<S, TV>(linear, entry.Fused switch
                {
                    LayerKind.Tanh => LinearEpilogue.Tanh,
                    LayerKind.Relu => LinearEpilogue.Relu,
                    LayerKind.Sigmoid => LinearEpilogue.Sigmoid,
                    _ => LinearEpilogue.Identity,
                }));
            case RecurrentLayer r:
                if (entry.Inner >= 0 && LatencyPath.Takes(r, latencyBytes)) return LatencyRecurrent(r, entry.Module, entry.Inner);
                return new PanelRecurrentStep<S, TV>(CpuRecurrentModule<S, TV>.Create(r, entry.Module));
            case ElementwiseLayer e:
                return e.Kind switch
                {
                    LayerKind.Tanh => new ElementwiseStep<S, TV, CpuActivation<S, TV>.Tanh>(e.OutputWidth),
                    LayerKind.Relu => new ElementwiseStep<S, TV, CpuActivation<S, TV>.Relu>(e.OutputWidth),
                    LayerKind.Sigmoid => new ElementwiseStep<S, TV, CpuActivation<S, TV>.Sigmoid>(e.OutputWidth),
                    LayerKind.AddInput => new AddInputStep<S, TV>(e.OutputWidth),
                    _ => throw new NotSupportedException($"layer {e.Index} ({e.KindName}) has no CPU implementation"),
                };
            default:
                throw new NotSupportedException($"layer {entry.Layer.Index} ({entry.Layer.KindName}) has no CPU implementation");
        }
    }

    private static CpuLayerStep LatencyRecurrent(RecurrentLayer r, int module, int inner) => r.Cell switch
    {
        RnnCellKind.Rnn when r.Nonlinearity == RnnNonlinearity.Relu => new LatencyRecurrentStep<S, TV, CellEpilogue<S, TV>.RnnRelu>(r, module, inner),
        RnnCellKind.Rnn => new LatencyRecurrentStep<S, TV, CellEpilogue<S, TV>.RnnTanh>(r, module, inner),
        RnnCellKind.Gru => new LatencyRecurrentStep<S, TV, CellEpilogue<S, TV>.Gru>(r, module, inner),
        _ => new LatencyRecurrentStep<S, TV, CellEpilogue<S, TV>.Lstm>(r, module, inner),
    };

    /// <summary>What a session of <paramref name="plan"/> rents for its panel products: the largest need of
    /// any step. (Plain loops: LINQ's generic virtual Select made NativeAOT load types at run time, whose
    /// small native blocks valgrind reports as lost.)</summary>
    private static (int ColumnFloats, int PaddedHidden, int ProjectionColumnFloats, int LinearColumnFloats, int MaxParts) PanelNeeds(CpuLayerStep[] plan)
    {
        int column = 0, padded = 0, projection = 0, linear = 0, parts = 1;
        foreach (CpuLayerStep step in plan)
        {
            if (step is PanelRecurrentStep<S, TV> r)
            {
                column = Math.Max(column, r.Module.ColumnFloats);
                padded = Math.Max(padded, r.Module.PaddedHidden);
                projection = Math.Max(projection, r.Module.ProjectionColumnFloats);
                parts = Math.Max(parts, r.Module.MaxParts);
            }
            else if (step is PanelLinearStep<S, TV> l)
            {
                linear = Math.Max(linear, l.Layer.ColumnFloats);
                parts = Math.Max(parts, l.Layer.MaxParts);
            }
        }
        return (column, padded, projection, linear, parts);
    }

    private static bool Has<T>(CpuLayerStep[] plan) where T : class
    {
        foreach (CpuLayerStep step in plan)
            if (step is T) return true;
        return false;
    }

    private static long MostScratch(CpuLayerStep[] plan)
    {
        long most = 0;
        foreach (CpuLayerStep step in plan) most = Math.Max(most, step.ScratchFloats);
        return most;
    }

    /// <summary>The batch-1 plan (tests look at which path each layer took).</summary>
    internal IReadOnlyList<CpuLayerStep> Steps => _plan;

    /// <summary>Operations after fusion (for tests: a fused activation is not one of its own).</summary>
    internal int OperationCount => _plan.Length;

    /// <summary>The input-projection chunk of the first panel-path recurrent module of the plan for this batch (tests use it to cross chunk borders).</summary>
    internal int ChunkSteps(int batch)
    {
        foreach (CpuLayerStep step in PlanFor(batch))
            if (step is PanelRecurrentStep<S, TV> r) return r.Module.ChunkSteps(batch);
        throw new InvalidOperationException("no recurrent module on the panel path");
    }

    /// <summary>A session's state for its batch's plan: the scratch its panel products and latency
    /// layers declare, and Threads - 1 workers when some panel product can be split that far (none for
    /// Threads = 1, or when every layer is on the latency kernels).</summary>
    public RnnState CreateState(int batchSize)
    {
        CpuLayerStep[] plan = PlanFor(batchSize);
        var need = PanelNeeds(plan);
        return new CpuState(_model, this, plan, RunsWavefront(plan), Has<PanelRecurrentStep<S, TV>>(plan), batchSize, need.ColumnFloats, need.PaddedHidden,
            (long)Math.Min(batchSize, CpuLinearLayer<S, TV>.RowBlock) * need.LinearColumnFloats,
            (long)batchSize * need.ProjectionColumnFloats, S.Count,
            Math.Min(_model.Threads, need.MaxParts), MostScratch(plan));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Step(CpuState s, ReadOnlySpan<float> x, Span<float> y)
    {
        bool mirror = s.NextStepMirrored;
        s.NextStepMirrored = !mirror;
        s.Mirror = mirror;
        fixed (float* px = x, py = y)
            Forward(s, px, py, 1);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(CpuState s, ReadOnlySpan<float> xs, int steps, Span<float> ys)
    {
        fixed (float* px = xs, py = ys)
        {
            if (steps > 1 && s.Wavefront && !s.InPackedRun) Wavefront(s, px, py, steps);
            else Forward(s, px, py, steps);
        }
    }

    /// <summary>
    /// Whether Run on <paramref name="plan"/> goes by time steps across all layers at once
    /// (<see cref="Wavefront"/>): a unidirectional plan with every recurrent layer on the latency kernels.
    /// </summary>
    public bool RunsWavefront(CpuLayerStep[] plan) =>
        !_model.IsBidirectional && plan.Length > 1 && !Has<PanelRecurrentStep<S, TV>>(plan);

    /// <summary>
    /// Run as a wavefront of Steps: wave w computes time step w - i of layer i for every layer at once.
    /// Those are independent of each other (layer i at t needs layer i-1 at t, done in the wave before,
    /// and itself at t-1), so one wave is several dependency chains the core overlaps, where running a
    /// whole layer over the block before the next is one chain at a time: small layers are latency-bound
    /// (an epilogue is exp, divide, exp, divide in a row), and this is where a block beats Step per
    /// sample. Each layer computes exactly what its Step computes, so results equal Step by Step bit for bit.
    /// Layer i's outputs of t and t+1 are alive at once: two slots per layer in the session's sequence buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Wavefront(CpuState s, float* x, float* y, int steps)
    {
        CpuLayerStep[] plan = s.Plan;
        int L = plan.Length, B = s.Rows;
        nint slot = (nint)B * _model.Network.MaxWidth;
        float* ring = s.Sequence(0, 2 * slot * (L - 1));
        nint inWidth = _model.InputSize, outWidth = _model.OutputSize;
        for (int w = 0; w < steps + L - 1; w++)
        {
            for (int i = Math.Max(0, w - steps + 1); i <= Math.Min(L - 1, w); i++)
            {
                int t = w - i;
                CpuLayerStep layer = plan[i];
                float* input = i == 0 ? x + t * B * inWidth : ring + (2 * (i - 1) + (t & 1)) * slot;
                nint width = i == 0 ? inWidth : plan[i - 1].OutputWidth;
                float* output = i == L - 1 ? y + t * B * outWidth : ring + (2 * i + (t & 1)) * slot;
                s.NetworkInput = x + t * B * inWidth;
                layer.Step(s, input, width, output);
            }
        }
    }

    /// <summary>Every layer step of the session's plan over all rows of the value (B for a Step, T*B for a Run).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Forward(CpuState s, float* x, float* y, int steps)
    {
        long rows = (long)steps * s.Rows;
        CpuLayerStep[] plan = s.Plan;
        s.NetworkInput = x;
        float* value = x;
        nint width = _model.InputSize;
        bool step = steps == 1 && !_model.IsBidirectional;
        for (int i = 0; i < plan.Length; i++)
        {
            CpuLayerStep layer = plan[i];
            float* output = i == plan.Length - 1 ? y : s.Between(i % 2, rows * layer.OutputWidth);
            if (step) layer.Step(s, value, width, output);
            else layer.Run(s, value, width, steps, output);
            value = output;
            width = layer.OutputWidth;
        }
    }

    public void Dispose()
    {
        foreach (CpuLayerStep step in _plan) step.Dispose();
        // The batched plan shares the panel steps of the batch-1 plan; it owns only those it made.
        if (_batchedPlan is { } batched)
            foreach (CpuLayerStep step in batched)
                if (Array.IndexOf(_plan, step) < 0) step.Dispose();
    }
}
