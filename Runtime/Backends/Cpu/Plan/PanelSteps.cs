namespace RnnRuntime.Backends.Cpu.Plan;

/// <summary>A linear layer on the packed panel product (<see cref="CpuLinearLayer{S, TV}"/>): the path
/// for layers too large for the latency kernel, and for bfloat16 and int8 weights.</summary>
internal sealed unsafe class PanelLinearStep<S, TV>(CpuLinearLayer<S, TV> layer) : CpuLayerStep where S : ISimd<TV> where TV : struct
{
    public CpuLinearLayer<S, TV> Layer { get; } = layer;

    public override int OutputWidth => Layer.Outputs;

    public override string Path => "panel";

    public override void Step(CpuState s, float* x, nint xStride, float* y) => Layer.Forward(s, x, xStride, s.Rows, y);

    public override void Run(CpuState s, float* xs, nint xStride, int steps, float* ys) => Layer.Forward(s, xs, xStride, (long)steps * s.Rows, ys);

    public override void Dispose() => Layer.Dispose();
}

/// <summary>A recurrent module on the packed panel products (<see cref="CpuRecurrentModule{S, TV}"/>):
/// large modules (bandwidth-bound), narrow weight formats, several threads.</summary>
internal sealed unsafe class PanelRecurrentStep<S, TV>(CpuRecurrentModule<S, TV> module) : CpuLayerStep where S : ISimd<TV> where TV : struct
{
    public CpuRecurrentModule<S, TV> Module { get; } = module;

    public override int OutputWidth => Module.OutputWidth;

    public override string Path => "panel";

    public override void Step(CpuState s, float* x, nint xStride, float* y) => Module.Step(s, x, xStride, y, s.Mirror);

    public override void Run(CpuState s, float* xs, nint xStride, int steps, float* ys) => Module.Run(s, xs, xStride, steps, ys);

    public override void Dispose() => Module.Dispose();
}
