using System.Text.Json;

namespace RnnRuntime.Model;

/// <summary>One entry of a layer list before its tensors are found: a kind (null: find it from the
/// tensors, for <see cref="RnnOptions.Layers"/> entries) and a module prefix, or an elementwise kind.</summary>
internal sealed record LayerEntry(int Index, LayerKind? Kind, RnnCellKind? Cell, string? Prefix, RnnNonlinearity? Nonlinearity);

/// <summary>
/// Reads the two ways a network's layer list is given: the <c>rnnrt.network</c> entry of the
/// safetensors <c>__metadata__</c> (a versioned JSON document, what <c>rnnrt.save</c> writes), and
/// <see cref="RnnOptions.Layers"/> (module prefixes and activation names, for a plain state_dict).
/// </summary>
internal static class LayerList
{
    /// <summary>The <c>__metadata__</c> key that holds the layer list.</summary>
    public const string MetadataKey = "rnnrt.network";

    /// <summary>The layer-list format this runtime reads.</summary>
    public const int Version = 1;

    public const int MaxLayers = 1024;

    private static readonly string[] LayerKeys = ["kind", "prefix", "nonlinearity"];

    /// <summary>
    /// <c>{"version": 1, "layers": [{"kind": "linear", "prefix": "fc_in"}, {"kind": "tanh"},
    /// {"kind": "gru", "prefix": "gru"}, {"kind": "rnn", "prefix": "rnn", "nonlinearity": "relu"}, ...]}</c>
    /// </summary>
    public static List<LayerEntry> FromMetadata(string json)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (Exception e) when (e is JsonException or ArgumentException or InvalidOperationException)
        {
            throw new RnnModelException($"__metadata__ '{MetadataKey}' is not valid JSON: {e.Message}", null, e);
        }
        using (doc)
        {
            JsonElement root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw Bad($"must be a JSON object {{\"version\": {Version}, \"layers\": [...]}}");
            foreach (JsonProperty p in root.EnumerateObject())
                if (p.Name is not ("version" or "layers"))
                    throw Bad($"has an unknown key '{p.Name}'; expected \"version\" and \"layers\"");
            if (!root.TryGetProperty("version", out JsonElement version) || version.ValueKind != JsonValueKind.Number)
                throw Bad($"has no numeric \"version\"; this runtime reads version {Version}");
            if (!version.TryGetInt32(out int v) || v != Version)
                throw Bad($"is version {version.GetRawText()}; this runtime reads version {Version} (was the file written by a newer rnnrt?)");
            if (!root.TryGetProperty("layers", out JsonElement layers) || layers.ValueKind != JsonValueKind.Array)
                throw Bad("has no \"layers\" array");
            int count = layers.GetArrayLength();
            if (count == 0) throw Bad("has an empty \"layers\" array");
            if (count > MaxLayers) throw Bad($"has {count} layers; at most {MaxLayers} are supported");

            var entries = new List<LayerEntry>(count);
            int i = 0;
            foreach (JsonElement layer in layers.EnumerateArray())
            {
                if (layer.ValueKind != JsonValueKind.Object)
                    throw Bad($"layer {i} is {layer.ValueKind}, not an object such as {{\"kind\": \"gru\", \"prefix\": \"gru\"}}");
                foreach (JsonProperty p in layer.EnumerateObject())
                    if (Array.IndexOf(LayerKeys, p.Name) < 0)
                        throw Bad($"layer {i} has an unknown key '{p.Name}'; expected {string.Join(", ", LayerKeys)}");
                string? kind = String(layer, "kind", i) ?? throw Bad($"layer {i} has no \"kind\"");
                string? prefix = String(layer, "prefix", i);
                string? nonlinearity = String(layer, "nonlinearity", i);
                entries.Add(Entry(i, kind, prefix, nonlinearity, Bad));
                i++;
            }
            return entries;
        }
    }

    /// <summary>RnnOptions.Layers: each entry an activation name (tanh, relu, sigmoid, add_input) or a module prefix.</summary>
    public static List<LayerEntry> FromOptions(IReadOnlyList<string> names)
    {
        if (names.Count == 0) throw new RnnModelException("RnnOptions.Layers is empty; give the network's layers in forward order, e.g. [\"fc_in\", \"tanh\", \"gru\", \"fc\"]");
        if (names.Count > MaxLayers) throw new RnnModelException($"RnnOptions.Layers has {names.Count} entries; at most {MaxLayers} are supported");
        var entries = new List<LayerEntry>(names.Count);
        for (int i = 0; i < names.Count; i++)
        {
            string? name = names[i];
            if (string.IsNullOrWhiteSpace(name))
                throw new RnnModelException($"RnnOptions.Layers[{i}] is empty; expected a module prefix or one of tanh, relu, sigmoid, add_input");
            entries.Add(ElementwiseKind(name) is LayerKind k
                ? new LayerEntry(i, k, null, null, null)
                : new LayerEntry(i, null, null, name.Trim(), null));
        }
        return entries;
    }

    private static LayerEntry Entry(int i, string kind, string? prefix, string? nonlinearity, Func<string, RnnModelException> bad)
    {
        if (ElementwiseKind(kind) is LayerKind elementwise)
        {
            if (prefix is not null) throw bad($"layer {i} ({kind}) has a \"prefix\", but a {kind} layer has no tensors");
            if (nonlinearity is not null) throw bad($"layer {i} ({kind}) has a \"nonlinearity\"; only rnn layers do");
            return new LayerEntry(i, elementwise, null, null, null);
        }
        RnnCellKind? cell = kind switch { "rnn" => RnnCellKind.Rnn, "gru" => RnnCellKind.Gru, "lstm" => RnnCellKind.Lstm, _ => null };
        if (cell is null && kind != "linear")
            throw bad($"layer {i} has unknown kind '{kind}'; expected linear, rnn, gru, lstm, tanh, relu, sigmoid or add_input");
        if (prefix is null) throw bad($"layer {i} ({kind}) has no \"prefix\" (the module's name in the state_dict; \"\" for none)");
        RnnNonlinearity? n = null;
        if (nonlinearity is not null)
        {
            if (cell != RnnCellKind.Rnn) throw bad($"layer {i} ({kind}) has a \"nonlinearity\"; only rnn layers do");
            n = nonlinearity switch
            {
                "tanh" => RnnNonlinearity.Tanh,
                "relu" => RnnNonlinearity.Relu,
                _ => throw bad($"layer {i} has nonlinearity '{nonlinearity}'; expected 'tanh' or 'relu'"),
            };
        }
        return new LayerEntry(i, cell is null ? LayerKind.Linear : LayerKind.Recurrent, cell, prefix, n);
    }

    public static LayerKind? ElementwiseKind(string name) => name.Trim() switch
    {
        "tanh" => LayerKind.Tanh,
        "relu" => LayerKind.Relu,
        "sigmoid" => LayerKind.Sigmoid,
        "add_input" => LayerKind.AddInput,
        _ => null,
    };

    private static string? String(JsonElement layer, string key, int i)
    {
        if (!layer.TryGetProperty(key, out JsonElement value)) return null;
        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw Bad($"layer {i} \"{key}\" is {value.ValueKind}, not a string");
    }

    private static RnnModelException Bad(string what) => new($"__metadata__ '{MetadataKey}' {what}");
}
