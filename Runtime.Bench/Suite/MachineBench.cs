using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace RnnRuntime.Bench.Suite;

/// <summary>
/// The machine facts the floors rest on, measured on one core: read bandwidth of a buffer read over
/// and over (so it stays in the cache level that holds it) at DESIGN.md's sizes and at the suite's
/// weight footprints, and the fp32 FMA peak at 256 and 512 bits.
/// </summary>
[Config(typeof(MachineConfig))]
public unsafe class MachineBench
{
    public const long FmaIterations = 1_000_000;

    // 32 KiB .. 64 MiB: L1, DESIGN.md's 256 KiB / 768 KiB / 3 MiB / 6 MiB points, the suite's
    // footprints (RNN 256: 512 KiB, GRU 256: 1.5 MiB, LSTM 256: 2 MiB, RNN/GRU/LSTM 1024: 8/24/32 MiB) and DRAM.
    [Params(32L << 10, 256L << 10, 512L << 10, 768L << 10, 1536L << 10, 2L << 20, 3L << 20, 6L << 20, 8L << 20, 24L << 20, 32L << 20, 64L << 20)]
    public long Bytes { get; set; }

    private float* _buffer;
    private nuint _floats;

    [GlobalSetup(Target = nameof(ReadSum))]
    public void Setup()
    {
        _floats = (nuint)(Bytes / 4 + 63) & ~(nuint)63;
        _buffer = (float*)NativeMemory.AlignedAlloc(_floats * 4, 64);
        new Span<float>(_buffer, (int)_floats).Fill(1f);
    }

    [GlobalCleanup(Target = nameof(ReadSum))]
    public void Cleanup() => NativeMemory.AlignedFree(_buffer);

    [Benchmark]
    public float ReadSum() => MachineProbe.ReadSum(_buffer, _floats);

    // The FMA loops ignore Bytes; BenchmarkDotNet runs them once per value, so only the first is kept.
    [Benchmark]
    public float Fma256() => Bytes == 32L << 10 ? MachineProbe.Fma256(FmaIterations) : 0;

    [Benchmark]
    public float Fma512() => Bytes == 32L << 10 && Vector512.IsHardwareAccelerated ? MachineProbe.Fma512(FmaIterations) : 0;
}

public sealed class MachineConfig : ManualConfig
{
    public MachineConfig()
    {
        SuiteConfig.AddCommon(this);
        AddColumn(new ThroughputColumn());
        AddFilter(new BenchmarkDotNet.Filters.SimpleFilter(c =>
            c.Descriptor.WorkloadMethod.Name == nameof(MachineBench.ReadSum) ||
            (c.Parameters["Bytes"] is long b && b == 32L << 10 &&
             (c.Descriptor.WorkloadMethod.Name != nameof(MachineBench.Fma512) || Vector512.IsHardwareAccelerated))));
    }
}

/// <summary>GB/s for ReadSum, GFLOP/s for the FMA loops.</summary>
public sealed class ThroughputColumn() : CustomColumn("rnnrt.Throughput", "Throughput",
    "ReadSum: GB/s read; Fma256/Fma512: GFLOP/s (10 independent FMA chains)")
{
    public override string GetValue(Summary summary, BenchmarkCase c, SummaryStyle style)
    {
        if (summary[c]?.ResultStatistics?.Mean is not double ns) return "-";
        string method = c.Descriptor.WorkloadMethod.Name;
        if (method == nameof(MachineBench.ReadSum) && c.Parameters["Bytes"] is long bytes)
            return (bytes / ns).ToString("F1", CultureInfo.InvariantCulture) + " GB/s";
        int width = method == nameof(MachineBench.Fma512) ? 16 : 8;
        return (MachineBench.FmaIterations * 10.0 * width * 2 / ns).ToString("F1", CultureInfo.InvariantCulture) + " GFLOP/s";
    }

    public override string ToString() => ColumnName;
}
