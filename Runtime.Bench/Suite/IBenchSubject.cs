namespace RnnRuntime.Bench.Suite;

/// <summary>
/// What an engine runs and the verifier checks: a safetensors file, the layer list to load it with
/// (null: the file's own), the input and output widths per step and batch item, and seeded inputs.
/// A single module of the suite (<see cref="BenchModel"/>) or a whole network (<see cref="BenchNetwork"/>).
/// </summary>
public interface IBenchSubject
{
    byte[] Safetensors { get; }

    /// <summary>RnnOptions.Layers to load the file with; null loads the file's own layer list (or its one module).</summary>
    IReadOnlyList<string>? Layers { get; }

    int Input { get; }
    int Output { get; }

    /// <summary>Seeded inputs in [-1, 1): [T, B, I].</summary>
    float[] Inputs(int steps, int batch);
}
