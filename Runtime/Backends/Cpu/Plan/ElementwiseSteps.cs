namespace RnnRuntime.Backends.Cpu.Plan;

/// <summary>An activation layer that does not follow a product it could be fused into: one pass over the value.</summary>
internal sealed unsafe class ElementwiseStep<S, TV, TAct>(int width) : CpuLayerStep
    where S : ISimd<TV> where TV : struct where TAct : struct, IVectorFunction<TV>
{
    public override int OutputWidth => width;

    public override string Path => "elementwise";

    public override void Step(CpuState s, float* x, nint xStride, float* y) => CpuActivation<S, TV>.Map<TAct>(s, x, (long)s.Rows * width, y);

    public override void Run(CpuState s, float* xs, nint xStride, int steps, float* ys) => CpuActivation<S, TV>.Map<TAct>(s, xs, (long)steps * s.Rows * width, ys);
}

/// <summary>add_input: the value plus the network's input of the same rows (a skip around the whole network).</summary>
internal sealed unsafe class AddInputStep<S, TV>(int width) : CpuLayerStep where S : ISimd<TV> where TV : struct
{
    public override int OutputWidth => width;

    public override string Path => "elementwise";

    public override void Step(CpuState s, float* x, nint xStride, float* y) => CpuActivation<S, TV>.Add(x, s.NetworkInput, (long)s.Rows * width, y);

    public override void Run(CpuState s, float* xs, nint xStride, int steps, float* ys) => CpuActivation<S, TV>.Add(xs, s.NetworkInput, (long)steps * s.Rows * width, ys);
}
