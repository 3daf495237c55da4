using CommunityToolkit.HighPerformance;

namespace RnnRuntime.Model;

/// <summary>How a weight tensor stores its elements. Biases and all accumulation stay float32.</summary>
public enum WeightElementType
{
    /// <summary>IEEE float32, as loaded (F16, BF16 and F64 files are converted).</summary>
    Float32,
}

/// <summary>
/// A weight matrix as it travels from the loader to a backend: its element type and its shape
/// (rows = outputs, columns = inputs, PyTorch's row-major layout). A narrower element type later is a
/// sibling representation here and a sibling kernel in each backend, not a change to every layer.
/// </summary>
public sealed class WeightTensor
{
    private readonly float[] _float32;

    /// <summary>A float32 tensor of <paramref name="rows"/> x <paramref name="columns"/>, row-major in <paramref name="float32"/>.</summary>
    public WeightTensor(int rows, int columns, float[] float32)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if (float32.Length != (long)rows * columns)
            throw new ArgumentException($"a ({rows}, {columns}) tensor holds {(long)rows * columns} values, not {float32.Length}", nameof(float32));
        Rows = rows;
        Columns = columns;
        _float32 = float32;
    }

    /// <summary>How the elements are stored.</summary>
    public WeightElementType ElementType => WeightElementType.Float32;
    /// <summary>Rows: outputs.</summary>
    public int Rows { get; }
    /// <summary>Columns: inputs.</summary>
    public int Columns { get; }

    /// <summary>Bytes a product over this tensor reads.</summary>
    public long Bytes => 4L * Rows * Columns;

    /// <summary>The float32 values, (Rows, Columns).</summary>
    public ReadOnlySpan2D<float> Float32 => new(_float32, Rows, Columns);

    /// <summary>The float32 values row-major, for backends that pack or upload them.</summary>
    public ReadOnlySpan<float> Float32Flat => _float32;
}
