namespace RnnRuntime.Model;

/// <summary>
/// What a recurrent cell kind is, in one place for every backend: its gate blocks (PyTorch row
/// order), whether it carries a cell state, which hidden-side biases must stay inside a gate instead
/// of being folded into the input projection, and the names its kernels have.
/// </summary>
public sealed class CellSpec
{
    /// <summary>nn.RNN: one gate block, no cell state.</summary>
    public static readonly CellSpec Rnn = new(RnnCellKind.Rnn, "rnn", gates: 1, hasCellState: false, insideGateFrom: 1, "rnn_step");
    /// <summary>nn.GRU: gates r, z, n; b_hn stays inside n.</summary>
    public static readonly CellSpec Gru = new(RnnCellKind.Gru, "gru", gates: 3, hasCellState: false, insideGateFrom: 2, "gru_step");
    /// <summary>nn.LSTM: gates i, f, g, o and a cell state c.</summary>
    public static readonly CellSpec Lstm = new(RnnCellKind.Lstm, "lstm", gates: 4, hasCellState: true, insideGateFrom: 4, "lstm_step");

    private CellSpec(RnnCellKind kind, string name, int gates, bool hasCellState, int insideGateFrom, string stepKernel)
    {
        Kind = kind;
        Name = name;
        Gates = gates;
        HasCellState = hasCellState;
        InsideGateFrom = insideGateFrom;
        StepKernel = stepKernel;
    }

    /// <summary>The description of <paramref name="kind"/>.</summary>
    public static CellSpec Of(RnnCellKind kind) => kind switch
    {
        RnnCellKind.Rnn => Rnn,
        RnnCellKind.Gru => Gru,
        RnnCellKind.Lstm => Lstm,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, "not a cell kind"),
    };

    /// <summary>The cell kind this describes.</summary>
    public RnnCellKind Kind { get; }

    /// <summary>Lower-case name as in messages and layer lists: rnn, gru, lstm.</summary>
    public string Name { get; }

    /// <summary>G: gate blocks of H rows in W_ih and W_hh (RNN 1; GRU r, z, n; LSTM i, f, g, o).</summary>
    public int Gates { get; }

    /// <summary>Whether the state has c beside h (LSTM).</summary>
    public bool HasCellState { get; }

    /// <summary>
    /// Gate blocks from this one on keep b_hh inside the gate: GRU's n = tanh(W_in x + b_in + r * (W_hn h + b_hn))
    /// multiplies b_hn by r, so it cannot be added to the input side. Below it, b_ih + b_hh simply add.
    /// </summary>
    public int InsideGateFrom { get; }

    /// <summary>Whether gate block <paramref name="gate"/>'s hidden bias stays inside the gate.</summary>
    public bool HiddenBiasInside(int gate) => gate >= InsideGateFrom;

    /// <summary>The OpenCL step kernel for one batch item per work-group; <c>StepKernel + "4"</c> takes four.</summary>
    public string StepKernel { get; }

    /// <summary>
    /// Splits b_ih and b_hh (G*H each, PyTorch row order) into what starts the input projection and what
    /// starts the recurrent product: b_ih + b_hh where they simply add, b_hh kept apart inside the gate.
    /// </summary>
    public void FoldBiases(ReadOnlySpan<float> biasIh, ReadOnlySpan<float> biasHh, int hidden, Span<float> inputSide, Span<float> hiddenSide)
    {
        for (int row = 0; row < Gates * hidden; row++)
        {
            bool inside = HiddenBiasInside(row / hidden);
            inputSide[row] = inside ? biasIh[row] : biasIh[row] + biasHh[row];
            hiddenSide[row] = inside ? biasHh[row] : 0f;
        }
    }

    /// <summary>The name: rnn, gru or lstm.</summary>
    public override string ToString() => Name;
}
