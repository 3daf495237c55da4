namespace RnnRuntime;

/// <summary>
/// How the weight matrices of a model are stored and read (<see cref="RnnOptions.WeightFormat"/>).
/// Biases, activations, state and every accumulation stay float32 in every format.
/// </summary>
public enum RnnWeightFormat
{
    /// <summary>IEEE float32 as loaded: 4 bytes a weight, exactly the file's values.</summary>
    Float32,

    /// <summary>bfloat16 (float32's upper 16 bits, rounded to nearest even): 2 bytes a weight, about 3 significant digits.</summary>
    BFloat16,

    /// <summary>Symmetric int8 with one float32 scale per output row (w = scale * q, q in -127..127): 1 byte a weight.</summary>
    Int8,
}
