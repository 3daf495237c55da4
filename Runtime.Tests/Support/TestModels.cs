using RnnRuntime.Model;

namespace RnnRuntime.Tests.Support;

/// <summary>Random PyTorch-layout models, weights U(-k, k) with k = 1.5/sqrt(H) (well-conditioned; see DESIGN.md).</summary>
public static class TestModels
{
    public static byte[] Create(RnnCellKind cell, int input, int hidden, int layers = 1, bool bidirectional = false,
        bool bias = true, bool relu = false, int seed = 1, string prefix = "")
    {
        var rng = new Random(seed);
        float k = 1.5f / MathF.Sqrt(hidden);
        int rows = cell.GateCount() * hidden, dirs = bidirectional ? 2 : 1;
        float[] Rand(int n)
        {
            var a = new float[n];
            for (int i = 0; i < n; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * k;
            return a;
        }
        var tensors = new List<(string, int[], float[])>();
        for (int l = 0; l < layers; l++)
        {
            int inK = l == 0 ? input : dirs * hidden;
            for (int d = 0; d < dirs; d++)
            {
                string s = $"_l{l}{(d == 1 ? "_reverse" : "")}";
                tensors.Add((prefix + "weight_ih" + s, [rows, inK], Rand(rows * inK)));
                tensors.Add((prefix + "weight_hh" + s, [rows, hidden], Rand(rows * hidden)));
                if (bias)
                {
                    tensors.Add((prefix + "bias_ih" + s, [rows], Rand(rows)));
                    tensors.Add((prefix + "bias_hh" + s, [rows], Rand(rows)));
                }
            }
        }
        var meta = relu ? new Dictionary<string, string> { ["nonlinearity"] = "relu" } : null;
        return SafetensorsWriter.Write(tensors, meta);
    }

    public static float[] Inputs(int count, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var a = new float[count];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return a;
    }
}
