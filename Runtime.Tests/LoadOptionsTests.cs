using RnnRuntime.Tests.Support;

namespace RnnRuntime.Tests;

/// <summary>RnnOptions.Threads and RnnOptions.WeightFormat: defaults, how they resolve, and the values refused before the file is read.</summary>
public class LoadOptionsTests
{
    private static readonly byte[] Gru = TestModels.Create(RnnCellKind.Gru, 5, 7);

    [Fact]
    public void DefaultsAreOneThreadAndFloat32()
    {
        Assert.Equal(1, RnnOptions.Default.Threads);
        Assert.Equal(RnnWeightFormat.Float32, RnnOptions.Default.WeightFormat);
        using var m = RnnModel.Load(Gru);
        Assert.Equal(1, m.Threads);
        Assert.Equal(RnnWeightFormat.Float32, m.WeightFormat);
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(64, 64)]
    public void ThreadsIsWhatWasAsked(int asked, int resolved)
    {
        using var m = RnnModel.Load(Gru, new RnnOptions { Threads = asked });
        Assert.Equal(resolved, m.Threads);
    }

    [Fact]
    public void ZeroThreadsIsOnePerCore()
    {
        using var m = RnnModel.Load(Gru, new RnnOptions { Threads = 0 });
        Assert.Equal(Environment.ProcessorCount, m.Threads);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(RnnOptions.MaxThreads + 1)]
    public void OutOfRangeThreadsAreRefusedByName(int threads)
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => RnnModel.Load(Gru, new RnnOptions { Threads = threads }));
        Assert.Contains($"RnnOptions.Threads is {threads}", e.Message);
    }

    [Fact]
    public void AnUndefinedWeightFormatIsRefusedByName()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => RnnModel.Load(Gru, new RnnOptions { WeightFormat = (RnnWeightFormat)9 }));
        Assert.Contains("RnnOptions.WeightFormat is 9", e.Message);
    }

    [Theory]
    [InlineData(RnnWeightFormat.BFloat16)]
    [InlineData(RnnWeightFormat.Int8)]
    public void NarrowFormatsLoadNarrow(RnnWeightFormat format)
    {
        using var f32 = RnnModel.Load(Gru);
        using var m = RnnModel.Load(Gru, new RnnOptions { WeightFormat = format });
        Assert.Equal(format, m.WeightFormat);
        Assert.True(m.WeightBytes < f32.WeightBytes, $"{format}: {m.WeightBytes} bytes, float32 {f32.WeightBytes}");
    }
}
