using System.Runtime.InteropServices;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// The per-sample networks (<see cref="BenchNetwork.PerSample"/>: the audio-plugin shapes RTNeural is made
/// for), one sample per call, batch 1, state carried, on rnnrt's CPU backends, ONNX Runtime and RTNeural
/// (<see cref="Engines.ForPerSample"/>). Two measures:
/// <list type="bullet">
/// <item><c>Step</c>: one call, the same input each time (the suite's Step b1).</item>
/// <item><c>Sample</c>: a block of <see cref="Block"/> different samples, one call each, time per sample: what the
/// shared rtneural-bench harness times (an audio callback's loop). An engine that has a block loop of its own
/// runs it (<see cref="IStreamEngine"/>: rnnrt's Step per sample from C#, RTNeural's forward per sample in C++);
/// ONNX Runtime gets each sample copied into its bound input.</item>
/// </list>
/// Before timing, every engine's outputs over <see cref="Verifier.Steps"/> steps from a zero state, through the
/// timed call path, must agree with rnnrt's reference backend (double precision; itself checked against PyTorch by
/// the test suite's fixtures) within <see cref="Verifier.Tolerance"/>.
/// </summary>
[Config(typeof(PerSampleConfig))]
public unsafe class PerSampleBench
{
    /// <summary>Samples per Sample call (its time is reported per sample).</summary>
    public const int Block = 1000;

    [ParamsSource(nameof(EngineNames))]
    public string Engine { get; set; } = "";

    [ParamsSource(nameof(NetworkNames))]
    public string Network { get; set; } = "";

    public static IEnumerable<string> EngineNames => Engines.ForPerSample();

    public static IEnumerable<string> NetworkNames => BenchNetwork.PerSample;

    private IEngine? _engine;
    private IStreamEngine? _stream;
    private float* _xs, _ys;
    private int _in, _out;

    private void Prepare(bool block)
    {
        BenchNetwork n = BenchNetwork.Get(Network);
        _engine = Engines.CreateNetwork(Engine, n, ScenarioKind.Step, 1, 1);
        _in = n.Input;
        _out = n.Output;
        double dev = Verifier.Check(_engine, n, ScenarioKind.Step, 1);
        Console.WriteLine($"// check: {Engine} {n} Step batch 1: max |dev| vs reference {dev:E2} over {Verifier.Steps} steps");
        n.Inputs(1, 1).CopyTo(_engine.Input);
        if (!block) return;
        _stream = _engine as IStreamEngine;
        // 64-byte aligned frames (RTNeural's ModelT loads a frame of 16 or 32 floats with aligned loads).
        _xs = (float*)NativeMemory.AlignedAlloc((nuint)(Block * _in * sizeof(float) + 64), 64);
        _ys = (float*)NativeMemory.AlignedAlloc((nuint)(Block * _out * sizeof(float) + 64), 64);
        double blockDev = CheckBlock(n);
        Console.WriteLine($"// check: {Engine} {n} Sample (blocks of {Block}): max |dev| vs reference {blockDev:E2} over {Verifier.Steps} steps");
        n.Inputs(Block, 1).CopyTo(new Span<float>(_xs, Block * _in));
        _engine.ResetState();
    }

    /// <summary>The block path on the verifier's inputs from a zero state, against the reference.</summary>
    private double CheckBlock(BenchNetwork n)
    {
        var (xs, expected) = Verifier.Reference(n, 1);
        xs.AsSpan(0, Verifier.Steps * _in).CopyTo(new Span<float>(_xs, Block * _in));
        _engine!.ResetState();
        RunBlock(Verifier.Steps);
        double dev = 0;
        var got = new ReadOnlySpan<float>(_ys, Verifier.Steps * _out);
        for (int i = 0; i < got.Length; i++)
        {
            double d = Math.Abs((double)got[i] - expected[i]);
            dev = double.IsNaN(d) ? double.NaN : Math.Max(dev, d);
        }
        if (!(dev <= Verifier.ToleranceFor(Engine)))
            throw new InvalidOperationException($"{Engine} disagrees with the reference on {n} Sample: max |dev| {dev:E2} > {Verifier.ToleranceFor(Engine):E0} over {Verifier.Steps} steps");
        return dev;
    }

    private void RunBlock(int samples)
    {
        if (_stream is not null)
        {
            _stream.Process(new ReadOnlySpan<float>(_xs, samples * _in), new Span<float>(_ys, samples * _out), samples);
            return;
        }
        IEngine e = _engine!;
        for (int t = 0; t < samples; t++)
        {
            new ReadOnlySpan<float>(_xs + t * _in, _in).CopyTo(e.Input);
            e.Invoke();
            e.Output.CopyTo(new Span<float>(_ys + t * _out, _out));
        }
    }

    [GlobalSetup(Target = nameof(Step))]
    public void SetupStep() => Prepare(block: false);

    [GlobalSetup(Target = nameof(Sample))]
    public void SetupSample() => Prepare(block: true);

    /// <summary>One sample, one call.</summary>
    [Benchmark]
    public void Step() => _engine!.Invoke();

    /// <summary>A block of different samples, one call each; reported per sample.</summary>
    [Benchmark(OperationsPerInvoke = Block)]
    public void Sample() => RunBlock(Block);

    [GlobalCleanup]
    public void Cleanup()
    {
        _engine?.Dispose();
        _engine = null;
        _stream = null;
        if (_xs != null) NativeMemory.AlignedFree(_xs);
        if (_ys != null) NativeMemory.AlignedFree(_ys);
        _xs = _ys = null;
    }
}

/// <summary>The suite's job and exporters, no roofline columns.</summary>
public sealed class PerSampleConfig : ManualConfig
{
    public PerSampleConfig() => SuiteConfig.AddCommon(this);
}
