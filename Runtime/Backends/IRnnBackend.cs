namespace RnnRuntime.Backends;

/// <summary>
/// The seam between the model/session API and the code that computes. A backend prepares a model once
/// (packs weights, uploads them, compiles kernels); each session then gets a state from it whose Step
/// and Run compute the whole network without allocating.
/// </summary>
internal interface IRnnBackend : IDisposable
{
    string Name { get; }

    /// <summary>Once per model. The result is immutable and may be shared by any number of threads.</summary>
    IPreparedRnn Prepare(RnnModel model);

    /// <summary>
    /// Whether what <see cref="Prepare"/> makes holds its own copy of every weight matrix (packed panels, device buffers)
    /// and never reads the network's tensor values again: then the model drops those values, so that it
    /// holds its weights once.
    /// </summary>
    bool HoldsOwnWeights => false;
}

/// <summary>A model prepared by one backend. Thread-safe; all mutable data lives in the states it makes.</summary>
internal interface IPreparedRnn : IDisposable
{
    /// <summary>Creates the state of one session (every module's h and c, and the backend's scratch), zeroed.</summary>
    RnnState CreateState(int batchSize);
}
