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

    /// <summary>Whether some recurrent module is on the panel path (see <see cref="HostRnnState.BatchesSequences"/>).</summary>
    bool BatchesSequences { get; }
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
    private readonly RnnModel _model;
    private readonly CpuLayerStep[] _steps;

    public CpuNetwork(RnnModel model)
    {
        _model = model;
        var steps = new List<CpuLayerStep>();
        var panelModules = new List<CpuRecurrentModule<S, TV>>();
        var panelLinears = new List<CpuLinearLayer<S, TV>>();
        long latencyBytes = model.Options.LatencyMaxWeightBytes;
        try
        {
            IReadOnlyList<NetworkLayer> layers = model.Network.Layers;
            int module = 0;
            for (int i = 0; i < layers.Count; i++)
            {
                switch (layers[i])
                {
                    case LinearLayer linear:
                        LayerKind next = i + 1 < layers.Count ? layers[i + 1].Kind : LayerKind.Linear;
                        bool fused = next is LayerKind.Tanh or LayerKind.Relu or LayerKind.Sigmoid;
                        if (fused) i++;
                        if (LatencyPath.Takes(linear, latencyBytes))
                        {
                            steps.Add(next switch
                            {
                                LayerKind.Tanh when fused => new LatencyLinearStep<S, TV, CpuActivation<S, TV>.Tanh>(linear),
                                LayerKind.Relu when fused => new LatencyLinearStep<S, TV, CpuActivation<S, TV>.Relu>(linear),
                                LayerKind.Sigmoid when fused => new LatencyLinearStep<S, TV, CpuActivation<S, TV>.Sigmoid>(linear),
                                _ => new LatencyLinearStep<S, TV, CpuActivation<S, TV>.Identity>(linear),
                            });
                            break;
                        }
                        var panel = new CpuLinearLayer<S, TV>(linear, !fused ? LinearEpilogue.Identity : next switch
                        {
                            LayerKind.Tanh => LinearEpilogue.Tanh,
                            LayerKind.Relu => LinearEpilogue.Relu,
                            _ => LinearEpilogue.Sigmoid,
                        });
                        panelLinears.Add(panel);
                        steps.Add(new PanelLinearStep<S, TV>(panel));
                        break;
                    case RecurrentLayer r:
                        if (LatencyPath.Takes(r, latencyBytes)) steps.Add(LatencyRecurrent(r, module++));
                        else
                        {
                            var m = CpuRecurrentModule<S, TV>.Create(r, module++);
                            panelModules.Add(m);
                            steps.Add(new PanelRecurrentStep<S, TV>(m));
                        }
                        break;
                    case ElementwiseLayer e:
                        steps.Add(e.Kind switch
                        {
                            LayerKind.Tanh => new ElementwiseStep<S, TV, CpuActivation<S, TV>.Tanh>(e.OutputWidth),
                            LayerKind.Relu => new ElementwiseStep<S, TV, CpuActivation<S, TV>.Relu>(e.OutputWidth),
                            LayerKind.Sigmoid => new ElementwiseStep<S, TV, CpuActivation<S, TV>.Sigmoid>(e.OutputWidth),
                            LayerKind.AddInput => new AddInputStep<S, TV>(e.OutputWidth),
                            _ => throw new NotSupportedException($"layer {e.Index} ({e.KindName}) has no CPU implementation"),
                        });
                        break;
                }
            }
        }
        catch
        {
            foreach (CpuLayerStep step in steps) step.Dispose();
            throw;
        }
        _steps = [.. steps];
        ColumnFloats = panelModules.Count == 0 ? 0 : panelModules.Max(m => m.ColumnFloats);
        PaddedHidden = panelModules.Count == 0 ? 0 : panelModules.Max(m => m.PaddedHidden);
        ProjectionColumnFloats = panelModules.Count == 0 ? 0 : panelModules.Max(m => m.ProjectionColumnFloats);
        LinearColumnFloats = panelLinears.Count == 0 ? 0 : panelLinears.Max(l => l.ColumnFloats);
        MaxParts = Math.Max(panelModules.Count == 0 ? 1 : panelModules.Max(m => m.MaxParts), panelLinears.Count == 0 ? 1 : panelLinears.Max(l => l.MaxParts));
        LayerScratchFloats = _steps.Max(st => st.ScratchFloats);
        BatchesSequences = panelModules.Count > 0;
    }

    public bool BatchesSequences { get; }

    private static CpuLayerStep LatencyRecurrent(RecurrentLayer r, int module) => r.Cell switch
    {
        RnnCellKind.Rnn when r.Nonlinearity == RnnNonlinearity.Relu => new LatencyRecurrentStep<S, TV, CellEpilogue<S, TV>.RnnRelu>(r, module),
        RnnCellKind.Rnn => new LatencyRecurrentStep<S, TV, CellEpilogue<S, TV>.RnnTanh>(r, module),
        RnnCellKind.Gru => new LatencyRecurrentStep<S, TV, CellEpilogue<S, TV>.Gru>(r, module),
        _ => new LatencyRecurrentStep<S, TV, CellEpilogue<S, TV>.Lstm>(r, module),
    };

    /// <summary>The most parts any panel product can be cut into (1 when every layer is on the latency path).</summary>
    public int MaxParts { get; }

    /// <summary>The widest padded row of an LSTM projection's sums (0 without projections on the panel path).</summary>
    public int ProjectionColumnFloats { get; }

    /// <summary>The widest row of gate sums of any panel-path recurrent module.</summary>
    public int ColumnFloats { get; }

    /// <summary>The largest padded hidden size of any panel-path recurrent module.</summary>
    public int PaddedHidden { get; }

    /// <summary>The widest padded row of a panel-path linear layer's sums (0 without).</summary>
    public int LinearColumnFloats { get; }

    /// <summary>The largest scratch any layer step declares (<see cref="CpuLayerStep.ScratchFloats"/>).</summary>
    public long LayerScratchFloats { get; }

    /// <summary>The plan (tests look at which path each layer took).</summary>
    internal IReadOnlyList<CpuLayerStep> Steps => _steps;

    /// <summary>Operations after fusion (for tests: a fused activation is not one of its own).</summary>
    internal int OperationCount => _steps.Length;

    /// <summary>The input-projection chunk of the first panel-path recurrent module (tests use it to cross chunk borders).</summary>
    internal int ChunkSteps(int batch) => _steps.OfType<PanelRecurrentStep<S, TV>>().First().Module.ChunkSteps(batch);

    /// <summary>A session's state, with Threads - 1 workers when some product can be split that far
    /// (fewer when no product has that many panels; none for Threads = 1).</summary>
    public RnnState CreateState(int batchSize) => new CpuState(_model, this, batchSize, ColumnFloats, PaddedHidden,
        (long)Math.Min(batchSize, CpuLinearLayer<S, TV>.RowBlock) * LinearColumnFloats, (long)batchSize * ProjectionColumnFloats, S.Count,
        Math.Min(_model.Threads, MaxParts), LayerScratchFloats);

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
            Forward(s, px, py, steps);
    }

    /// <summary>Every layer step over all rows of the value (B for a Step, T*B for a Run).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Forward(CpuState s, float* x, float* y, int steps)
    {
        long rows = (long)steps * s.Rows;
        CpuLayerStep[] plan = _steps;
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
        foreach (CpuLayerStep step in _steps) step.Dispose();
    }
}
