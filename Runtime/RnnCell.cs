namespace RnnRuntime;

/// <summary>The recurrent cell, as PyTorch's nn.RNN / nn.GRU / nn.LSTM define it.</summary>
public enum RnnCellKind
{
    Rnn = 1,
    Gru = 3,
    Lstm = 4,
}

/// <summary>The activation of an Elman RNN cell (nn.RNN's <c>nonlinearity</c>).</summary>
public enum RnnNonlinearity
{
    Tanh,
    Relu,
}

public static class RnnCellKindExtensions
{
    /// <summary>Gate rows per hidden unit: 1 (RNN), 3 (GRU), 4 (LSTM).</summary>
    public static int GateCount(this RnnCellKind cell) => Model.CellSpec.Of(cell).Gates;

    /// <summary>Lower-case name as used in messages and tables: rnn, gru, lstm.</summary>
    public static string Name(this RnnCellKind cell) => Model.CellSpec.Of(cell).Name;
}
