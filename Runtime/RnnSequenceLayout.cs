namespace RnnRuntime;

/// <summary>How a sequence's rows lie in Run's xs and ys.</summary>
public enum RnnSequenceLayout
{
    /// <summary>[T, B, I] -> [T, B, O]: time step t's B rows together (PyTorch's default, batch_first=False).</summary>
    TimeMajor = 0,

    /// <summary>[B, T, I] -> [B, T, O]: each sequence's T rows together (PyTorch's batch_first=True). Read
    /// and written in place, sequence by sequence (no copy of the sequence).</summary>
    BatchFirst = 1,
}
