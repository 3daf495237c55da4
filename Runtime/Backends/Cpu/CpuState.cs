using RnnRuntime.Memory;

namespace RnnRuntime.Backends.Cpu;

/// <summary>
/// A session's state on a CPU backend: every module's h and c (in the base class) plus the kernels'
/// scratch, all in pooled, pinned, 64-byte-aligned native memory. What a Step needs is rented here, at
/// creation; the sequence-sized buffers grow on the first Run that needs more (from the pool), then
/// are reused, so steady-state Step and Run allocate nothing.
/// </summary>
internal sealed unsafe class CpuState : HostRnnState
{
    private readonly ICpuNetwork _network;
    private AlignedBuffer _gx, _seq0, _seq1, _between0, _between1, _linear, _int8Input0, _int8Input1;
    private readonly AlignedBuffer _layerScratch;

    public CpuState(RnnModel model, ICpuNetwork network, Plan.CpuLayerStep[] plan, bool wavefront, bool batchesSequences, int batchSize, int columnFloats, int paddedHidden, long linearSumFloats, long projectionSumFloats, int vector, int maxParts, long layerScratchFloats)
        : base(model, batchSize)
    {
        _network = network;
        Plan = plan;
        Wavefront = wavefront;
        BatchesSequences = batchesSequences;
        long step = (long)batchSize * model.Network.MaxWidth;
        _gx = Rent((long)batchSize * columnFloats);
        Gh = Rent((long)batchSize * columnFloats);
        HNew = Rent((long)batchSize * paddedHidden);
        Tail = Rent(2 * vector);
        ProjectionSums = Rent(projectionSumFloats);
        _seq0 = Rent(0);
        _seq1 = Rent(0);
        _between0 = Rent(step);
        _between1 = Rent(step);
        _linear = Rent(linearSumFloats);
        _layerScratch = Rent(layerScratchFloats);
        LayerScratch = _layerScratch.Pointer;
        _int8Input0 = Rent(0);
        _int8Input1 = Rent(0);
        MaxParts = Math.Max(1, maxParts);
        // Last: nothing after it can throw and leave the threads running.
        if (MaxParts > 1) Workers = new CpuWorkerPool(MaxParts - 1);
    }

    /// <summary>This session's worker threads, or null when nothing it runs is ever split (Threads = 1, small models).</summary>
    public CpuWorkerPool? Workers { get; }

    /// <summary>The most parts any product of this session is cut into: its workers and the calling thread.</summary>
    public int MaxParts { get; }

    /// <summary>The least work per part (<see cref="CpuWorkSplit.DefaultMinWorkPerPart"/>; tests set 1 to split everything they can).</summary>
    public long MinWorkPerPart = CpuWorkSplit.DefaultMinWorkPerPart;

    /// <summary>Parts for a product of <paramref name="work"/> (<see cref="CpuWorkSplit.Work(PackedMatrix, long)"/>) over <paramref name="units"/> indivisible units.</summary>
    public int PartsFor(int units, long work) => Workers is null ? 1 : CpuWorkSplit.Parts(MaxParts, units, work, MinWorkPerPart);

    /// <summary>The arguments of a split <see cref="CpuPanelProduct{S, TV}"/> call, while it runs.</summary>
    public ProductCall Product;

    /// <summary>The arguments of a split recurrent step (one layer and direction), while it runs.</summary>
    public CellCall Cell;

    /// <summary>Every panel of M: out (rows, OStride) = bias + x W, x prepared once by the calling thread
    /// (its quantised rows, for int8, are in this state's scratch, which the workers only read).</summary>
    public readonly struct ProductCall(PackedMatrix m, PanelInput x, int rows, float* o, nint oStride)
    {
        public readonly PackedMatrix M = m;
        public readonly PanelInput X = x;
        public readonly float* O = o;
        public readonly nint OStride = oStride;
        public readonly int Rows = rows;
    }

    /// <summary>One time step's products and cell epilogue of one layer and direction (see CpuRecurrentModule.CellStep);
    /// x (unless there is no W_ih) and h prepared once by the calling thread.</summary>
    public readonly struct CellCall(PackedMatrix? ih, PanelInput x, float* gx, PackedMatrix hh, PanelInput h, float* c, bool mirror, int rows)
    {
        /// <summary>Rows of this step: Rows, or fewer in a packed run (the sequences still running).</summary>
        public readonly int Rows = rows;
        public readonly PackedMatrix? Ih = ih;
        public readonly PackedMatrix Hh = hh;
        public readonly PanelInput X = x, H = h;
        public readonly float* Gx = gx, C = c;
        public readonly bool Mirror = mirror;
    }

    internal override void Step(ReadOnlySpan<float> x, Span<float> y) => _network.Step(this, x, y);

    internal override void Run(ReadOnlySpan<float> xs, int steps, Span<float> ys) => _network.Run(this, xs, steps, ys);

    internal override bool BatchesSequences { get; }

    /// <summary>Whether the next Step walks the weights backwards (alternates; see CpuRecurrentModule.CellStep).</summary>
    public bool NextStepMirrored;

    /// <summary>The layer steps this session runs (<see cref="CpuNetwork{S, TV}.PlanFor"/> its batch).</summary>
    public Plan.CpuLayerStep[] Plan { get; }

    /// <summary>Whether Run goes by waves of time steps across the layers (<see cref="CpuNetwork{S, TV}.RunsWavefront"/>).</summary>
    public bool Wavefront { get; }

    /// <summary>Whether the Step now running walks the weights backwards.</summary>
    public bool Mirror;

    /// <summary>The network's input of the call now running (add_input reads it).</summary>
    public float* NetworkInput;

    /// <summary>The scratch layer steps declare (<see cref="Plan.CpuLayerStep.ScratchFloats"/>): one buffer
    /// of the largest need, rented with the state; layers run one after another and share it.</summary>
    public float* LayerScratch { get; }

    /// <summary>W_hh h (+ b_hn) of one step, (B, ColumnFloats).</summary>
    public AlignedBuffer Gh { get; }

    /// <summary>The new h of one step, (B, PaddedHidden), before it replaces h.</summary>
    public AlignedBuffer HNew { get; }

    /// <summary>An LSTM projection's sums W_hr h_full of one step, (B, padded P); empty without projections.</summary>
    public AlignedBuffer ProjectionSums { get; }

    /// <summary>Padded copies of h and c for the last, partial group of units (2 x V floats).</summary>
    public AlignedBuffer Tail { get; }

    /// <summary>W_ih x + bias: (rows, ColumnFloats) for B rows in a Step, a chunk of T*B in a Run.</summary>
    public float* Gx(long floats) => Ensure(ref _gx, floats);

    /// <summary>Output of a module's inner layer, the next layer's input: (T*B, D*H); two alternate.</summary>
    public float* Sequence(int which, long floats) => which == 0 ? Ensure(ref _seq0, floats) : Ensure(ref _seq1, floats);

    /// <summary>The value between two network layers: (rows, width); two alternate.</summary>
    public float* Between(int which, long floats) => which == 0 ? Ensure(ref _between0, floats) : Ensure(ref _between1, floats);

    /// <summary>A linear layer's padded sums for one block of rows.</summary>
    public float* LinearSums(long floats) => Ensure(ref _linear, floats);

    /// <summary>
    /// An int8 product's quantised input in slot 0 or 1 (a step has x and h live at once): one s_x per
    /// row, then rows x <paramref name="depth"/> int16. Grown on first need and kept; the calling thread
    /// writes it before a product splits and the workers only read it.
    /// </summary>
    public void Int8Input(int slot, int rows, int depth, out float* sx, out short* xq)
    {
        long scales = (rows + 15) & ~15L;   // keeps xq on a cache line of its own
        long floats = scales + ((long)rows * depth + 1) / 2;
        float* p = slot == 0 ? Ensure(ref _int8Input0, floats) : Ensure(ref _int8Input1, floats);
        sx = p;
        xq = (short*)(p + scales);
    }

    private static AlignedBuffer Rent(long floats)
    {
        if (floats > int.MaxValue) throw new OutOfMemoryException($"a scratch buffer of {floats} floats is too large; use a smaller batch");
        return AlignedBufferPool.Shared.Rent((int)floats);
    }

    private static float* Ensure(ref AlignedBuffer buffer, long floats)
    {
        if (buffer.Capacity < floats)
        {
            if (floats > int.MaxValue) throw new OutOfMemoryException($"a scratch buffer of {floats} floats is too large; run the sequence in shorter pieces");
            AlignedBuffer bigger = AlignedBufferPool.Shared.Rent((int)floats);
            buffer.Dispose();
            buffer = bigger;
        }
        return buffer.Pointer;
    }

    protected override void Dispose(bool disposing)
    {
        // The finalizer only signals the workers (they hold nothing of this state between calls); Dispose joins them.
        if (disposing) Workers?.Dispose();
        else Workers?.Stop();
        if (disposing)
        {
            _gx.Dispose();
            _seq0.Dispose();
            _seq1.Dispose();
            _between0.Dispose();
            _between1.Dispose();
            _linear.Dispose();
            _layerScratch.Dispose();
            _int8Input0.Dispose();
            _int8Input1.Dispose();
            Gh.Dispose();
            HNew.Dispose();
            Tail.Dispose();
            ProjectionSums.Dispose();
        }
        base.Dispose(disposing);
    }
}
