namespace RnnRuntime;

/// <summary>A model file that is malformed or inconsistent. <see cref="TensorName"/> names the
/// tensor at fault when there is one.</summary>
public sealed class RnnModelException : Exception
{
    /// <summary>The tensor at fault, or null when the fault is not one tensor's.</summary>
    public string? TensorName { get; }

    /// <summary>What is wrong (<paramref name="message"/>), in tensor <paramref name="tensorName"/> when there is one.</summary>
    public RnnModelException(string message, string? tensorName = null, Exception? inner = null)
        : base(tensorName is null ? message : $"tensor '{tensorName}': {message}", inner)
    {
        TensorName = tensorName;
    }

    private RnnModelException(string context, RnnModelException inner) : base($"{context}: {inner.Message}", inner)
    {
        TensorName = inner.TensorName;
    }

    /// <summary>The same failure with where it happened in front ("layer 2 (gru 'enc')"); the tensor name is kept.</summary>
    internal static RnnModelException In(string context, RnnModelException inner) => new(context, inner);
}

/// <summary>A backend that was asked for by name but is not built into this runtime or cannot run
/// on this machine.</summary>
public sealed class RnnBackendUnavailableException : Exception
{
    /// <summary>A backend that cannot run, and why (<paramref name="message"/>).</summary>
    public RnnBackendUnavailableException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A span whose length does not match what the model and session expect.</summary>
public sealed class RnnShapeException : ArgumentException
{
    /// <summary>A span of the wrong length: <paramref name="message"/> gives the expected length and shape.</summary>
    public RnnShapeException(string message, string paramName) : base(message, paramName) { }
}
