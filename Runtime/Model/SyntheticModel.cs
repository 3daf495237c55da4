namespace RnnRuntime.Model;

/// <summary>
/// Seeded random models in PyTorch's state_dict layout, as safetensors bytes: for tests, benchmarks
/// and device checks that need a model of a given shape. Weights and biases are drawn U(-k, k) with
/// k = 1.5/sqrt(H), which keeps W_hh's spectral radius near 0.87: long sequences stay well-conditioned,
/// so float32 backends can be compared with the double-precision reference (DESIGN.md). PyTorch's own
/// default, k = 1/sqrt(H), would also do; larger scales make the recurrence chaotic.
/// </summary>
public static class SyntheticModel
{
    public static byte[] Create(RnnCellKind cell, int input, int hidden, int layers = 1, bool bidirectional = false,
        bool bias = true, bool relu = false, int seed = 1, string prefix = "")
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(input, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hidden, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(layers, 1);
        var rng = new Random(seed);
        float k = 1.5f / MathF.Sqrt(hidden);
        int rows = cell.GateCount() * hidden, dirs = bidirectional ? 2 : 1;
        var tensors = new List<(string, int[], float[])>();
        for (int layer = 0; layer < layers; layer++)
        {
            int width = layer == 0 ? input : dirs * hidden;
            for (int dir = 0; dir < dirs; dir++)
            {
                string suffix = $"_l{layer}{(dir == 1 ? "_reverse" : "")}";
                tensors.Add((prefix + "weight_ih" + suffix, [rows, width], Uniform(rng, rows * width, k)));
                tensors.Add((prefix + "weight_hh" + suffix, [rows, hidden], Uniform(rng, rows * hidden, k)));
                if (bias)
                {
                    tensors.Add((prefix + "bias_ih" + suffix, [rows], Uniform(rng, rows, k)));
                    tensors.Add((prefix + "bias_hh" + suffix, [rows], Uniform(rng, rows, k)));
                }
            }
        }
        var metadata = relu ? new Dictionary<string, string> { ["nonlinearity"] = "relu" } : null;
        return SafetensorsWriter.Write(tensors, metadata);
    }

    /// <summary>count values drawn U(-scale, scale).</summary>
    public static float[] Uniform(Random rng, int count, float scale)
    {
        var values = new float[count];
        for (int i = 0; i < count; i++) values[i] = (float)(rng.NextDouble() * 2 - 1) * scale;
        return values;
    }
}
