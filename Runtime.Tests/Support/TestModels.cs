using RnnRuntime.Model;

namespace RnnRuntime.Tests.Support;

/// <summary>Random PyTorch-layout models, weights U(-k, k) with k = 1.5/sqrt(H) (well-conditioned; see SyntheticModel).</summary>
public static class TestModels
{
    public static byte[] Create(RnnCellKind cell, int input, int hidden, int layers = 1, bool bidirectional = false,
        bool bias = true, bool relu = false, int seed = 1, string prefix = "", int projSize = 0)
        => SyntheticModel.Create(cell, input, hidden, layers, bidirectional, bias, relu, seed, prefix, projSize);

    public static float[] Inputs(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var a = new float[count];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }
}
