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
