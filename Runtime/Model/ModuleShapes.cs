namespace RnnRuntime.Model;

/// <summary>What the tensors directly under one module prefix look like.</summary>
/// <param name="Prefix">The module prefix, "" or ending in '.'.</param>
/// <param name="Kind">The kind they are (linear, gru, layer_norm...), or null: ambiguous or unknown.</param>
/// <param name="Description">"linear 16 -> 32", "a LayerNorm-shaped tensor set (weight, bias of shape (16))"...</param>
/// <param name="Tensors">The tensors of this module, its owned buffers included (BatchNorm's num_batches_tracked).</param>
/// <param name="Ambiguity">Why no kind was taken, where the tensors fit more than one.</param>
internal sealed record ModuleShape(string Prefix, LayerKindInfo? Kind, string Description, IReadOnlyList<SafetensorsTensor> Tensors, string? Ambiguity = null)
{
    /// <summary>'fc' or (no prefix), as in messages.</summary>
    public string Shown => RecurrentModuleLoader.Show(Prefix);
}

/// <summary>
/// Reads a module's kind from the names and shapes of its tensors, for a bare prefix in a layer list
/// and to describe the tensors no layer used. It takes a kind only where the tensors fit no other: a
/// 2-D weight without a bias is a bias-free nn.Linear or an nn.Embedding, so it takes neither.
/// </summary>
internal static class ModuleShapes
{
    /// <summary>The tensors whose name is <paramref name="dotted"/> plus one more name part.</summary>
    public static Dictionary<string, SafetensorsTensor> Own(SafetensorsHeader header, string dotted)
    {
        var own = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        foreach (SafetensorsTensor t in header.Tensors.Values)
            if (t.Name.Length > dotted.Length && t.Name.StartsWith(dotted, StringComparison.Ordinal) && t.Name.IndexOf('.', dotted.Length) < 0)
                own[t.Name[dotted.Length..]] = t;
        return own;
    }

    /// <summary>The non-recurrent module under <paramref name="dotted"/>, or null where it has no tensors of its own.</summary>
    public static ModuleShape? Of(SafetensorsHeader header, string dotted)
    {
        Dictionary<string, SafetensorsTensor> own = Own(header, dotted);
        if (own.Count == 0) return null;
        var tensors = own.Values.OrderBy(t => t.Begin).ToList();
        string shown = RecurrentModuleLoader.Show(dotted);
        own.TryGetValue("weight", out SafetensorsTensor? w);
        own.TryGetValue("bias", out SafetensorsTensor? b);
        bool onlyWeightAndBias = own.Keys.All(k => k is "weight" or "bias");

        if (own.ContainsKey("running_mean") && own.ContainsKey("running_var")
            && own.Keys.All(k => k is "weight" or "bias" or "running_mean" or "running_var" or "num_batches_tracked"))
            return new(dotted, LayerKinds.Find("batch_norm"), $"a BatchNorm-shaped tensor set ({Names(own)} of shape {own["running_mean"].ShapeText})", tensors);
        if (w is null || !onlyWeightAndBias)
            return new(dotted, null, $"tensors {Names(own)}, which no layer kind has", tensors);
        bool biasFits = b is { Shape.Length: 1 } && b.Shape[0] == w.Shape[0];
        switch (w.Shape.Length)
        {
            case 2 when b is null:
                return new(dotted, null, $"one 2-D weight {w.ShapeText} and no bias", tensors,
                    $"{shown} holds one 2-D weight {w.ShapeText} and no bias: that is a bias-free linear layer {w.Shape[1]} -> {w.Shape[0]} " +
                    $"(nn.Linear({w.Shape[1]}, {w.Shape[0]}, bias=False)) or an embedding of {w.Shape[0]} rows of {w.Shape[1]} (nn.Embedding({w.Shape[0]}, {w.Shape[1]})), " +
                    $"and rnnrt does not guess: say which, 'linear:{dotted.TrimEnd('.')}' or 'embedding:{dotted.TrimEnd('.')}' (embedding is not supported yet)");
            case 2 when biasFits:
                return new(dotted, LayerKinds.Find("linear"), $"linear {w.Shape[1]} -> {w.Shape[0]}", tensors);
            case 1 when b is null || biasFits:
                return new(dotted, LayerKinds.Find("layer_norm"), $"a LayerNorm-shaped tensor set ({Names(own)} of shape {w.ShapeText})", tensors);
            case 3 when b is null || biasFits:
                return new(dotted, LayerKinds.Find("conv1d"), $"a Conv1d-shaped tensor set (weight {w.ShapeText}{(b is null ? "" : $", bias {b.ShapeText}")})", tensors);
            default:
                return new(dotted, null, $"tensors {string.Join(", ", tensors.Select(t => $"{t.Name[dotted.Length..]} {t.ShapeText}"))}, which no layer kind has", tensors);
        }
    }

    /// <summary>The refusal of a module whose tensors are those of a kind this runtime does not run.</summary>
    public static string NotSupported(ModuleShape m) =>
        $"{m.Shown} holds {m.Description}; {m.Kind!.Name} is not supported yet (this runtime runs {LayerKinds.SupportedNames})";

    private static string Names(Dictionary<string, SafetensorsTensor> own) =>
        string.Join(", ", own.Values.OrderBy(t => t.Begin).Select(t => t.Name[(t.Name.LastIndexOf('.') + 1)..]));
}
