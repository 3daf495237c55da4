using RnnRuntime.Memory;
using RnnRuntime.Model;

namespace RnnRuntime.Backends.Reference;

/// <summary>
/// The oracle: plain scalar code that follows the PyTorch formulas line by line, accumulating in
/// double. Every other backend is tested against it. Keep it simple enough to check by eye; speed is
/// not its job.
/// </summary>
internal sealed class ReferenceBackend : IRnnBackend
{
    public string Name => "reference";

    public IPreparedRnn Prepare(RnnModel model) => new ReferencePrepared(model);

    public void Dispose() { }
}

internal sealed class ReferencePrepared(RnnModel model) : IPreparedRnn
{
    public RnnModel Model => model;

    public RnnState CreateState(int batchSize) => new ReferenceState(this, batchSize);

    public void Dispose() { }
}

/// <summary>A session on the reference backend: the state, and the values between layers.</summary>
internal sealed class ReferenceState : HostRnnState
{
    private readonly RnnNetwork _network;
    private readonly AlignedBuffer?[] _between = new AlignedBuffer?[4];

    public ReferenceState(ReferencePrepared prepared, int batchSize) : base(prepared.Model, batchSize)
    {
        _network = prepared.Model.Network;
        int rows = _network.Recurrent.Max(r => r.Spec.Gates * r.HiddenSize);
        GatesIh = new double[rows];
        GatesHh = new double[rows];
        NewH = new double[_network.Recurrent.Max(r => r.HiddenSize)];
        for (int i = 0; i < _between.Length; i++) Between(i, batchSize);   // a Step never allocates
    }

    /// <summary>W_ih x + b_ih and W_hh h + b_hh of one batch item (GRU needs them apart), and the new h.</summary>
    public readonly double[] GatesIh, GatesHh, NewH;

    internal override void Step(ReadOnlySpan<float> x, Span<float> y) => Run(x, 1, y);

    /// <summary>Layer by layer over all T*B rows; values between layers alternate between two buffers.</summary>
    internal override void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys)
    {
        int rows = steps * Rows, module = 0;
        ReadOnlySpan<float> value = xs;
        for (int i = 0; i < _network.Layers.Count; i++)
        {
            NetworkLayer layer = _network.Layers[i];
            Span<float> output = i == _network.Layers.Count - 1 ? ys : Between(i % 2, rows)[..(rows * layer.OutputWidth)];
            switch (layer)
            {
                case LinearLayer linear:
                    ReferenceLayers.Linear(linear, value, rows, output);
                    break;
                case ElementwiseLayer e:
                    ReferenceLayers.Elementwise(e.Kind, value, xs, output);
                    break;
                case RecurrentLayer r:
                    ReferenceRecurrent.Run(this, r, module++, value, steps, output, Between(2, rows), Between(3, rows));
                    break;
            }
            value = output;
        }
    }

    /// <summary>Scratch <paramref name="which"/> sized for <paramref name="rows"/> rows of the widest value; grown when a longer sequence comes.</summary>
    private Span<float> Between(int which, int rows)
    {
        int length = rows * _network.MaxWidth;
        ref AlignedBuffer? buffer = ref _between[which];
        if (buffer is null || buffer.Length < length)
        {
            buffer?.Dispose();
            buffer = AlignedBufferPool.Shared.Rent(length);
        }
        return buffer.Span;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            foreach (AlignedBuffer? b in _between) b?.Dispose();
        base.Dispose(disposing);
    }
}
