namespace RnnRuntime.Backends.Cpu.Plan;

/// <summary>
/// One layer of a network prepared for the CPU: the plan (<see cref="CpuNetwork{S, TV}"/>) is an
/// array of these, run by one loop with one virtual call per layer. Each kind is a class of its own
/// (a linear layer, an activation, a recurrent module on the panel kernels or on the latency
/// kernels), chosen once at prepare time. Immutable and shared by every session; what a call
/// mutates is in the <see cref="CpuState"/>, and the scratch a layer needs is declared here once, so
/// the state rents it when the session is made.
/// </summary>
internal abstract unsafe class CpuLayerStep : IDisposable
{
    /// <summary>Floats per row of this layer's output.</summary>
    public abstract int OutputWidth { get; }

    /// <summary>Floats of <see cref="CpuState.LayerScratch"/> this layer uses (layers run one after
    /// another, so they share one buffer of the largest need).</summary>
    public virtual long ScratchFloats => 0;

    /// <summary>One step for B rows: x (B, in) with row stride xStride -> y (B, OutputWidth) dense.</summary>
    public abstract void Step(CpuState s, float* x, nint xStride, float* y);

    /// <summary>A sequence: xs (T*B, in) with row stride xStride -> ys (T*B, OutputWidth) dense,
    /// from and updating the state.</summary>
    public abstract void Run(CpuState s, float* xs, nint xStride, int steps, float* ys);

    /// <summary>Where this layer runs, for tests and the bench: "panel", "latency", "elementwise".</summary>
    public abstract string Path { get; }

    public virtual void Dispose() { }
}
