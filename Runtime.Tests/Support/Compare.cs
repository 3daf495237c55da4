namespace RnnRuntime.Tests.Support;

public static class Compare
{
    /// <summary>Largest |a - b|; fails on different lengths or any NaN.</summary>
    public static double MaxAbsDiff(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        Assert.Equal(a.Length, b.Length);
        double max = 0;
        for (int i = 0; i < a.Length; i++)
        {
            double d = Math.Abs((double)a[i] - b[i]);
            if (double.IsNaN(d)) return double.PositiveInfinity;
            max = Math.Max(max, d);
        }
        return max;
    }

    public static void Close(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double tolerance, string what)
    {
        double d = MaxAbsDiff(expected, actual);
        Assert.True(d <= tolerance, $"{what}: max |difference| {d:E3} exceeds {tolerance:E1}");
    }
}
