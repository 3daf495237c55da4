namespace RnnRuntime.Backends;

/// <summary>
/// The seam between the model/session API and the code that computes. A backend prepares a model once
/// (packs weights, uploads them, compiles kernels); the prepared model then runs steps and sequences
/// on session state without allocating.
/// </summary>
public interface IRnnBackend : IDisposable
{
    string Name { get; }

    /// <summary>Once per model. The result is immutable and may be shared by any number of threads.</summary>
    IPreparedRnn Prepare(RnnModel model);
}

/// <summary>A model prepared by one backend. Thread-safe; all mutable data lives in <see cref="RnnState"/>.</summary>
public interface IPreparedRnn : IDisposable
{
    /// <summary>Creates the state of one session (h, c and any scratch the backend needs), zeroed.</summary>
    RnnState CreateState(int batchSize);

    /// <summary>One step of a unidirectional model. x [B, I], y [B, H]; lengths already checked.</summary>
    void Step(RnnState state, ReadOnlySpan<float> x, Span<float> y);

    /// <summary>A sequence, starting from and updating the state. xs [T, B, I], ys [T, B, D*H].</summary>
    void Run(RnnState state, ReadOnlySpan<float> xs, int steps, Span<float> ys);
}
