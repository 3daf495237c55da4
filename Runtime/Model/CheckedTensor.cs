namespace RnnRuntime.Model;

/// <summary>Reads a tensor as float32 after checking its shape, and refuses non-finite values.</summary>
internal static class CheckedTensor
{
    /// <summary>Tensor <paramref name="t"/> of <paramref name="file"/> (parsed as <paramref name="header"/>), which must have
    /// shape <paramref name="expected"/>; <paramref name="what"/> is what the shape is expected for, for the message
    /// ("a gru with hidden size 37").</summary>
    public static float[] Read(ReadOnlySpan<byte> file, SafetensorsHeader header, SafetensorsTensor t, long[] expected, string what)
    {
        if (!t.Shape.AsSpan().SequenceEqual(expected))
            throw new RnnModelException($"shape {t.ShapeText} does not match the expected ({string.Join(", ", expected)}) for {what}", t.Name);
        float[] data = header.ReadFloats(file, t);
        for (int i = 0; i < data.Length; i++)
        {
            if (!float.IsFinite(data[i]))
            {
                string at = expected.Length == 2 ? $"[{i / expected[1]}, {i % expected[1]}]" : $"[{i}]";
                throw new RnnModelException($"non-finite weight {data[i]} at {at}", t.Name);
            }
        }
        return data;
    }
}
