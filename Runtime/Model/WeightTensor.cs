using System.Runtime.CompilerServices;
using CommunityToolkit.HighPerformance;

namespace RnnRuntime.Model;

/// <summary>How a weight tensor stores its elements. Biases and all accumulation stay float32.</summary>
public enum WeightElementType
{
    /// <summary>IEEE float32, as loaded (F16, BF16 and F64 files are converted).</summary>
    Float32,
    /// <summary>bfloat16 bits (the top half of a float32), rounded to nearest even from float32.</summary>
    BFloat16,
    /// <summary>Signed 8-bit q in -127..127 with one float32 scale per row: w = scale_row * q. Products
    /// quantise their input per row to int16 (<see cref="WeightTensor.QuantiseInput"/>) and sum in integers.</summary>
    Int8,
}

/// <summary>
/// A weight matrix as it travels from the loader to a backend: its element type and its shape
/// (rows = outputs, columns = inputs, PyTorch's row-major layout). A narrow element type is a
/// sibling representation here and a sibling kernel in each backend, not a change to every layer.
/// Immutable.
/// </summary>
public sealed class WeightTensor
{
    private readonly float[]? _float32;
    private readonly ushort[]? _bfloat16;
    private readonly sbyte[]? _int8;
    private readonly float[]? _scales;
    private readonly string? _packedBy;

    /// <summary>A float32 tensor of <paramref name="rows"/> x <paramref name="columns"/>, row-major in <paramref name="float32"/>.</summary>
    public WeightTensor(int rows, int columns, float[] float32)
    {
        CheckShape(rows, columns, float32.Length, nameof(float32));
        Rows = rows;
        Columns = columns;
        _float32 = float32;
        ElementType = WeightElementType.Float32;
    }

    private WeightTensor(int rows, int columns, ushort[] bfloat16)
    {
        Rows = rows;
        Columns = columns;
        _bfloat16 = bfloat16;
        ElementType = WeightElementType.BFloat16;
    }

    private WeightTensor(int rows, int columns, sbyte[] int8, float[] scales)
    {
        Rows = rows;
        Columns = columns;
        _int8 = int8;
        _scales = scales;
        ElementType = WeightElementType.Int8;
    }

    private WeightTensor(int rows, int columns, WeightElementType type, string packedBy)
    {
        Rows = rows;
        Columns = columns;
        ElementType = type;
        _packedBy = packedBy;
    }

    /// <summary>
    /// This tensor's shape and element type without its values: what a model keeps once a backend that
    /// holds its own copy (packed panels, device buffers) has prepared it, so the weights are held once.
    /// Reading the values then throws, naming <paramref name="backend"/>.
    /// </summary>
    internal WeightTensor WithoutValues(string backend) => HasValues ? new(Rows, Columns, ElementType, backend) : this;

    /// <summary>
    /// Whether the values are here. False in a model prepared by a backend that keeps the weights in its
    /// own layout (the CPU backends pack them, OpenCL uploads them): the model holds them once, in the
    /// format it runs, so shape and element type stay readable but the values do not; load the model
    /// with the reference backend to read them.
    /// </summary>
    public bool HasValues => _packedBy is null;

    private static void CheckShape(int rows, int columns, int length, string name)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(rows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(columns, 1);
        if (length != (long)rows * columns)
            throw new ArgumentException($"a ({rows}, {columns}) tensor holds {(long)rows * columns} values, not {length}", name);
    }

    /// <summary>How the elements are stored.</summary>
    public WeightElementType ElementType { get; }
    /// <summary>Rows: outputs.</summary>
    public int Rows { get; }
    /// <summary>Columns: inputs.</summary>
    public int Columns { get; }

    /// <summary>Bytes a product over this tensor reads (the per-row scales included).</summary>
    public long Bytes => ElementType switch
    {
        WeightElementType.BFloat16 => 2L * Rows * Columns,
        WeightElementType.Int8 => (long)Rows * Columns + 4L * Rows,
        _ => 4L * Rows * Columns,
    };

    /// <summary>The float32 values, (Rows, Columns); only a Float32 tensor has them.</summary>
    public ReadOnlySpan2D<float> Float32 => new(Float32Array, Rows, Columns);

    /// <summary>The float32 values row-major, for backends that pack or upload them; only a Float32 tensor has them.</summary>
    public ReadOnlySpan<float> Float32Flat => Float32Array;

    /// <summary>The bfloat16 bits, (Rows, Columns); only a BFloat16 tensor has them.</summary>
    public ReadOnlySpan2D<ushort> BFloat16 => new(_bfloat16 ?? throw WrongType(WeightElementType.BFloat16), Rows, Columns);

    /// <summary>The int8 values q, (Rows, Columns); only an Int8 tensor has them.</summary>
    public ReadOnlySpan2D<sbyte> Int8 => new(_int8 ?? throw WrongType(WeightElementType.Int8), Rows, Columns);

    /// <summary>The per-row scales of an Int8 tensor (w = scale * q), Rows floats.</summary>
    public ReadOnlySpan<float> Int8Scales => _scales ?? throw WrongType(WeightElementType.Int8);

    private float[] Float32Array => _float32 ?? throw WrongType(WeightElementType.Float32);

    private InvalidOperationException WrongType(WeightElementType wanted) => _packedBy is not null
        ? NoValues()
        : new($"this weight tensor holds {ElementType} values, not {wanted}");

    private InvalidOperationException NoValues() =>
        new($"the {_packedBy} backend holds these {ElementType} weights in its own layout and the model keeps no other copy; load the model with Backend = \"reference\" to read them");

    /// <summary>The value at (row, column) as the kernels multiply it, exactly (a double holds every bfloat16 and every scale * q).</summary>
    public double Value(int row, int column) => _packedBy is not null ? throw NoValues() : ElementType switch
    {
        WeightElementType.BFloat16 => WidenBFloat16(_bfloat16![(long)row * Columns + column]),
        WeightElementType.Int8 => (double)_scales![row] * _int8![(long)row * Columns + column],
        _ => _float32![(long)row * Columns + column],
    };

    /// <summary>Row <paramref name="row"/> times <paramref name="x"/> (Columns values), in double on the exact element values.</summary>
    public double Dot(int row, ReadOnlySpan<float> x)
    {
        if (_packedBy is not null) throw NoValues();
        int n = Columns;
        long start = (long)row * n;
        double sum = 0;
        switch (ElementType)
        {
            case WeightElementType.BFloat16:
                for (int k = 0; k < n; k++) sum += WidenBFloat16(_bfloat16![start + k]) * (double)x[k];
                return sum;
            case WeightElementType.Int8:
            {
                // The integer kernels' arithmetic: x quantised to int16 (QuantiseInput), exact integer
                // sums of q_w * q_x, then one scale, (scale_row * s_x) rounded to float32 as the kernels do.
                short[]? rented = n <= 4096 ? null : System.Buffers.ArrayPool<short>.Shared.Rent(n);   // no allocation per step
                Span<short> q = rented is null ? stackalloc short[n] : rented.AsSpan(0, n);
                float sx = QuantiseInput(x[..n], q, Int8InputLimit(n));
                long acc = 0;
                for (int k = 0; k < n; k++) acc += _int8![start + k] * q[k];
                if (rented is not null) System.Buffers.ArrayPool<short>.Shared.Return(rented);
                return float.IsNaN(sx) ? double.NaN : acc * (double)(_scales![row] * sx);
            }
            default:
                for (int k = 0; k < n; k++) sum += (double)_float32![start + k] * x[k];
                return sum;
        }
    }

    /// <summary>As the other overload, for a double input (the LSTM projection's H-wide vector); an
    /// Int8 tensor sees it rounded to float32 first, as the kernels do.</summary>
    public double Dot(int row, ReadOnlySpan<double> x)
    {
        int n = Columns;
        if (ElementType == WeightElementType.Int8)
        {
            float[]? rented = n <= 4096 ? null : System.Buffers.ArrayPool<float>.Shared.Rent(n);
            Span<float> f = rented is null ? stackalloc float[n] : rented.AsSpan(0, n);
            for (int k = 0; k < n; k++) f[k] = (float)x[k];
            double dot = Dot(row, f);
            if (rented is not null) System.Buffers.ArrayPool<float>.Shared.Return(rented);
            return dot;
        }
        double sum = 0;
        for (int k = 0; k < n; k++) sum += Value(row, k) * x[k];
        return sum;
    }

    /// <summary>
    /// The largest |q_x| an int8 product over <paramref name="depth"/> inputs quantises its input to:
    /// 32767, or less where depth * 127 * |q_x| would overflow the int32 sums (16512 at depth 1024).
    /// </summary>
    public static int Int8InputLimit(int depth) => (int)Math.Min(32767, int.MaxValue / (127L * Math.Max(depth, 1)));

    /// <summary>
    /// How the int8 kernels quantise one row of input, dynamically and symmetrically: s = max|x| /
    /// <paramref name="limit"/> and q = round(x * (1 / s)) to nearest even, all in float32; returns s
    /// (0 for an all-zero row; NaN, with q = 0, when x holds a NaN or an infinity, so the outputs are NaN).
    /// </summary>
    public static float QuantiseInput(ReadOnlySpan<float> x, Span<short> q, int limit)
    {
        float max = 0;
        foreach (float v in x) max = MathF.Max(max, MathF.Abs(v));
        if (!float.IsFinite(max)) { q[..x.Length].Clear(); return float.NaN; }
        if (max == 0) { q[..x.Length].Clear(); return 0; }
        float s = max / limit, inv = 1f / s;
        for (int i = 0; i < x.Length; i++) q[i] = (short)MathF.Round(x[i] * inv);
        return s;
    }

    /// <summary>
    /// This tensor in <paramref name="type"/>, converted from float32 (only a Float32 tensor converts):
    /// BFloat16 rounds each value to nearest even (a value that came from a BF16 file is exact, so it
    /// keeps its bits); Int8 takes per row scale = max|w| / 127 and q = round(w / scale), ties to even.
    /// <paramref name="name"/> names the tensor in the error when a finite value has no bfloat16 (above 3.39e38).
    /// </summary>
    public WeightTensor ConvertTo(WeightElementType type, string name)
    {
        if (type == ElementType) return this;
        if (_packedBy is not null) throw NoValues();
        if (ElementType != WeightElementType.Float32)
            throw new InvalidOperationException($"a {ElementType} tensor does not convert to {type}; convert from the float32 weights");
        float[] w = _float32!;
        switch (type)
        {
            case WeightElementType.BFloat16:
            {
                var bits = new ushort[w.Length];
                for (int i = 0; i < w.Length; i++)
                {
                    bits[i] = RoundToBFloat16(w[i]);
                    if ((bits[i] & 0x7FFF) == 0x7F80 && float.IsFinite(w[i]))
                        throw new RnnModelException($"weight {w[i]} at [{i / Columns}, {i % Columns}] is beyond the bfloat16 range (its largest finite value is 3.3895e38); load it with Float32", name);
                }
                return new WeightTensor(Rows, Columns, bits);
            }
            case WeightElementType.Int8:
            {
                var q = new sbyte[w.Length];
                var scales = new float[Rows];
                for (int r = 0; r < Rows; r++)
                {
                    ReadOnlySpan<float> row = w.AsSpan(r * Columns, Columns);
                    float max = 0;
                    foreach (float v in row) max = Math.Max(max, Math.Abs(v));
                    float scale = max / 127f;
                    scales[r] = scale;
                    if (scale == 0) continue;   // an all-zero row (or one of subnormals too small to scale) stays 0
                    for (int k = 0; k < Columns; k++)
                        q[r * Columns + k] = (sbyte)Math.Clamp(Math.Round(row[k] / (double)scale, MidpointRounding.ToEven), -127, 127);
                }
                return new WeightTensor(Rows, Columns, q, scales);
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(type), type, "expected BFloat16 or Int8");
        }
    }

    /// <summary>float32 to bfloat16 bits, round to nearest even; a NaN stays a (quiet) NaN.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort RoundToBFloat16(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        if (float.IsNaN(value)) return (ushort)((bits >> 16) | 0x40);
        return (ushort)((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16);
    }

    /// <summary>bfloat16 bits to the float32 (and double) they stand for, exactly.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float WidenBFloat16(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);
}
