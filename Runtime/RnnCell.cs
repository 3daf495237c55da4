namespace RnnRuntime;

/// <summary>The recurrent cell, as PyTorch's nn.RNN / nn.GRU / nn.LSTM define it.</summary>
public enum RnnCellKind
{
    /// <summary>nn.RNN (Elman): one gate block.</summary>
    Rnn = 1,
    /// <summary>nn.GRU: three gate blocks (r, z, n).</summary>
    Gru = 3,
    /// <summary>nn.LSTM: four gate blocks (i, f, g, o) and a cell state.</summary>
    Lstm = 4,
}

/// <summary>The activation of an Elman RNN cell (nn.RNN's <c>nonlinearity</c>).</summary>
public enum RnnNonlinearity
{
    /// <summary>tanh (PyTorch's default).</summary>
    Tanh,
    /// <summary>max(x, 0) (nonlinearity="relu").</summary>
    Relu,
}

/// <summary>Names and gate counts of <see cref="RnnCellKind"/>.</summary>
public static class RnnCellKindExtensions
{
    /// <summary>Gate rows per hidden unit: 1 (RNN), 3 (GRU), 4 (LSTM).</summary>
    public static int GateCount(this RnnCellKind cell) => Model.CellSpec.Of(cell).Gates;

    /// <summary>Lower-case name as used in messages and tables: rnn, gru, lstm.</summary>
    public static string Name(this RnnCellKind cell) => Model.CellSpec.Of(cell).Name;
}
