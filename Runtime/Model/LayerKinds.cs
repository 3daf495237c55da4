namespace RnnRuntime.Model;

/// <summary>
/// One layer kind as layer lists name it: whether this runtime runs it yet, whether it has tensors (a
/// module prefix), and its parameters in the order a positional argument fills them.
/// </summary>
/// <param name="Name">The name in layer lists: <c>linear</c>, <c>gru</c>, <c>leaky_relu</c>...</param>
/// <param name="Supported">False: refused by name at load, never read as another kind.</param>
/// <param name="HasTensors">Whether an entry of this kind names a module prefix.</param>
/// <param name="Params">Parameter names: <c>rnn(relu)</c> is <c>rnn(nonlinearity=relu)</c>.</param>
/// <param name="Torch">The PyTorch module it stands for, as in messages.</param>
internal sealed record LayerKindInfo(string Name, bool Supported, bool HasTensors, string[] Params, string Torch);

/// <summary>
/// Every layer kind a layer list may name. A kind this runtime does not run yet is listed too, so
/// that it is refused by name ("layer_norm is not supported yet") instead of being read as a linear
/// layer or a missing module; adding it means setting Supported and loading it in
/// <see cref="NetworkLoader"/> (ARCHITECTURE.md, "A new layer kind touches").
/// </summary>
internal static class LayerKinds
{
    public static readonly LayerKindInfo[] All =
    [
        new("linear", true, true, [], "nn.Linear"),
        new("rnn", true, true, ["nonlinearity"], "nn.RNN"),
        new("gru", true, true, [], "nn.GRU"),
        new("lstm", true, true, [], "nn.LSTM"),
        new("tanh", true, false, [], "nn.Tanh"),
        new("relu", true, false, [], "nn.ReLU"),
        new("sigmoid", true, false, [], "nn.Sigmoid"),
        new("add_input", true, false, [], "a residual skip from the network's input"),
        // Not run yet: named so that they are refused clearly rather than misread.
        new("embedding", false, true, [], "nn.Embedding"),
        new("layer_norm", false, true, ["eps"], "nn.LayerNorm"),
        new("batch_norm", false, true, ["eps"], "nn.BatchNorm1d"),
        new("conv1d", false, true, ["stride", "padding", "dilation", "groups"], "nn.Conv1d"),
        new("prelu", false, true, [], "nn.PReLU"),
        new("gelu", false, false, ["approximate"], "nn.GELU"),
        new("leaky_relu", false, false, ["negative_slope"], "nn.LeakyReLU"),
        new("elu", false, false, ["alpha"], "nn.ELU"),
        new("silu", false, false, [], "nn.SiLU"),
        new("hardtanh", false, false, ["min_val", "max_val"], "nn.Hardtanh"),
        new("softplus", false, false, ["beta", "threshold"], "nn.Softplus"),
        new("softmax", false, false, ["dim"], "nn.Softmax"),
        new("log_softmax", false, false, ["dim"], "nn.LogSoftmax"),
    ];

    public static LayerKindInfo? Find(string name) => Array.Find(All, k => k.Name == name);

    /// <summary>"linear, rnn, gru, lstm, tanh, relu, sigmoid, add_input".</summary>
    public static string SupportedNames { get; } = string.Join(", ", All.Where(k => k.Supported).Select(k => k.Name));

    /// <summary>"tanh, relu, sigmoid, add_input".</summary>
    public static string SupportedActivations { get; } = string.Join(", ", All.Where(k => k.Supported && !k.HasTensors).Select(k => k.Name));

    /// <summary>The refusal of a kind this runtime knows by name but does not run.</summary>
    public static string NotSupportedYet(LayerKindInfo kind) =>
        $"{kind.Name} ({kind.Torch}) is not supported yet; this runtime runs {SupportedNames}";
}
