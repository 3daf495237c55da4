using System.Runtime.CompilerServices;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Cpu;

/// <summary>What a <see cref="CpuState"/> runs: the network prepared for one vector width.</summary>
internal interface ICpuNetwork
{
    unsafe void Step(CpuState s, ReadOnlySpan<float> x, Span<float> y);
    unsafe void Run(CpuState s, ReadOnlySpan<float> xs, int steps, Span<float> ys);
}

/// <summary>
/// A network prepared for one vector width: its layers as CPU operations, each reading the value the
/// one before it wrote. A linear layer followed by tanh, relu or sigmoid becomes one operation (the
/// activation in the product's epilogue); recurrent modules run their whole stack; elementwise layers
/// are one pass over the value. Values between operations alternate between two session buffers, the
/// last operation writes y. Immutable and shared by all sessions.
/// </summary>
internal sealed unsafe class CpuNetwork<S, TV> : IPreparedRnn, ICpuNetwork where S : ISimd<TV> where TV : struct
{
    /// <summary>One operation: exactly one of Linear, Recurrent, or an elementwise kind.</summary>
    private readonly record struct Operation(CpuLinearLayer<S, TV>? Linear, CpuRecurrentModule<S, TV>? Recurrent, LayerKind Kind, int OutputWidth);

    private readonly RnnModel _model;
    private readonly Operation[] _ops;

    public CpuNetwork(RnnModel model)
    {
        _model = model;
        var ops = new List<Operation>();
        try
        {
            IReadOnlyList<NetworkLayer> layers = model.Network.Layers;
            int module = 0;
            for (int i = 0; i < layers.Count; i++)
            {
                switch (layers[i])
                {
                    case LinearLayer linear:
                        LinearEpilogue fused = i + 1 < layers.Count ? layers[i + 1].Kind switch
                        {
                            LayerKind.Tanh => LinearEpilogue.Tanh,
                            LayerKind.Relu => LinearEpilogue.Relu,
                            LayerKind.Sigmoid => LinearEpilogue.Sigmoid,
                            _ => LinearEpilogue.Identity,
                        } : LinearEpilogue.Identity;
                        if (fused != LinearEpilogue.Identity) i++;
                        ops.Add(new(new CpuLinearLayer<S, TV>(linear, fused), null, LayerKind.Linear, linear.OutputWidth));
                        break;
                    case RecurrentLayer r:
                        ops.Add(new(null, CpuRecurrentModule<S, TV>.Create(r, module++), LayerKind.Recurrent, r.OutputWidth));
                        break;
                    case ElementwiseLayer e:
                        ops.Add(new(null, null, e.Kind, e.OutputWidth));
                        break;
                }
            }
        }
        catch
        {
            foreach (Operation op in ops) Dispose(op);
            throw;
        }
        _ops = [.. ops];
        ColumnFloats = _ops.Max(o => o.Recurrent?.ColumnFloats ?? 0);
        PaddedHidden = _ops.Max(o => o.Recurrent?.PaddedHidden ?? 0);
        LinearColumnFloats = _ops.Max(o => o.Linear?.ColumnFloats ?? 0);
        ProjectionColumnFloats = _ops.Max(o => o.Recurrent?.ProjectionColumnFloats ?? 0);
        MaxParts = _ops.Max(o => o.Recurrent?.MaxParts ?? o.Linear?.MaxParts ?? 1);
    }

    /// <summary>The most parts any operation's product can be cut into.</summary>
    public int MaxParts { get; }

    /// <summary>The widest padded row of an LSTM projection's sums (0 without projections).</summary>
    public int ProjectionColumnFloats { get; }

    /// <summary>The widest row of gate sums of any recurrent module.</summary>
    public int ColumnFloats { get; }

    /// <summary>The largest padded hidden size of any recurrent module.</summary>
    public int PaddedHidden { get; }

    /// <summary>The widest padded row of a linear layer's sums (0 without linear layers).</summary>
    public int LinearColumnFloats { get; }

    /// <summary>Operations after fusion (for tests: a fused activation is not one of its own).</summary>
    internal int OperationCount => _ops.Length;

    /// <summary>The input-projection chunk of the first recurrent module (tests use it to cross chunk borders).</summary>
    internal int ChunkSteps(int batch) => _ops.First(o => o.Recurrent is not null).Recurrent!.ChunkSteps(batch);

    /// <summary>A session's state, with Threads - 1 workers when some product can be split that far
    /// (fewer when no product has that many panels; none for Threads = 1).</summary>
    public RnnState CreateState(int batchSize) => new CpuState(_model, this, batchSize, ColumnFloats, PaddedHidden,
        (long)Math.Min(batchSize, CpuLinearLayer<S, TV>.RowBlock) * LinearColumnFloats, (long)batchSize * ProjectionColumnFloats, S.Count,
        Math.Min(_model.Threads, MaxParts));

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Step(CpuState s, ReadOnlySpan<float> x, Span<float> y)
    {
        bool mirror = s.NextStepMirrored;
        s.NextStepMirrored = !mirror;
        fixed (float* px = x, py = y)
            Forward(s, px, py, 1, mirror);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void Run(CpuState s, ReadOnlySpan<float> xs, int steps, Span<float> ys)
    {
        fixed (float* px = xs, py = ys)
            Forward(s, px, py, steps, mirror: false);
    }

    /// <summary>Every operation over all rows of the value (B for a Step, T*B for a Run).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Forward(CpuState s, float* x, float* y, int steps, bool mirror)
    {
        long rows = (long)steps * s.BatchSize;
        float* value = x;
        nint width = _model.InputSize;
        for (int i = 0; i < _ops.Length; i++)
        {
            Operation op = _ops[i];
            float* output = i == _ops.Length - 1 ? y : s.Between(i % 2, rows * op.OutputWidth);
            if (op.Linear is not null) op.Linear.Forward(s, value, width, rows, output);
            else if (op.Recurrent is not null)
            {
                if (steps == 1 && !_model.IsBidirectional) op.Recurrent.Step(s, value, width, output, mirror);
                else op.Recurrent.Run(s, value, width, steps, output);
            }
            else CpuActivation<S, TV>.Elementwise(s, op.Kind, value, x, rows * op.OutputWidth, output);
            value = output;
            width = op.OutputWidth;
        }
    }

    private static void Dispose(Operation op)
    {
        op.Linear?.Dispose();
        op.Recurrent?.Dispose();
    }

    public void Dispose()
    {
        foreach (Operation op in _ops) Dispose(op);
    }
}
