namespace RnnRuntime.Bench.Suite;

/// <summary>What a scenario times: one streaming Step (batch B) or one Run over T steps.</summary>
public enum ScenarioKind
{
    Step,
    Run,
}

/// <summary>
/// One engine prepared for one scenario: the model, batch size and T fixed, every buffer allocated.
/// <see cref="Invoke"/> is the timed call; it reads <see cref="Input"/> and leaves its output where
/// <see cref="Output"/> points, carrying the recurrent state from call to call as a streaming user must.
/// </summary>
public interface IEngine : IDisposable
{
    string Name { get; }

    /// <summary>[T, B, I] for Run, [B, I] for Step; written by the caller before <see cref="Invoke"/>.</summary>
    Span<float> Input { get; }

    /// <summary>The last call's output: [T, B, H] for Run, [B, H] for Step.</summary>
    ReadOnlySpan<float> Output { get; }

    /// <summary>The timed call: one Step or one Run, state carried over.</summary>
    void Invoke();

    /// <summary>Zeroes the recurrent state (h, and c for LSTM).</summary>
    void ResetState();
}

/// <summary>
/// An engine that can process a block of single-sample calls itself, as an audio callback would: n steps of
/// batch 1, one call each, x [n, I] -> y [n, O], state carried. The per-sample scenarios time it where an engine has it
/// (rnnrt: RnnSession.Step per sample on slices of the block; RTNeural: its forward per sample in a native loop);
/// for the others they copy each sample into <see cref="IEngine.Input"/> and call <see cref="IEngine.Invoke"/>.
/// </summary>
public interface IStreamEngine
{
    void Process(ReadOnlySpan<float> xs, Span<float> ys, int samples);
}
