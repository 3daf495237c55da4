using System.Text.Json;

namespace RnnRuntime.Model;

/// <summary>One entry of a layer list before its tensors are found: a kind (null: find it from the
/// tensors, for a bare module prefix in <see cref="RnnOptions.Layers"/>) and a module prefix, or an elementwise kind.</summary>
internal sealed record LayerEntry(int Index, LayerKind? Kind, RnnCellKind? Cell, string? Prefix, RnnNonlinearity? Nonlinearity);

/// <summary>
/// Reads the two ways a network's layer list is given: the <c>rnnrt.network</c> entry of the
/// safetensors <c>__metadata__</c> (a versioned JSON document, what <c>rnnrt.save</c> writes), and
/// <see cref="RnnOptions.Layers"/> (strings, for a plain state_dict). Both say the same things:
/// <list type="table">
/// <item><term><c>"fc"</c></term><description>a module prefix; its kind (linear, rnn, gru, lstm) found from its tensors, an error where they fit more than one</description></item>
/// <item><term><c>"linear:fc"</c>, <c>"gru:encoder.gru"</c>, <c>"gru:"</c></term><description><c>{"kind": "linear", "prefix": "fc"}</c>: the kind said, then the prefix ("" for a module at the root)</description></item>
/// <item><term><c>"rnn(relu):rnn"</c>, <c>"rnn(nonlinearity=relu):rnn"</c></term><description><c>{"kind": "rnn", "prefix": "rnn", "nonlinearity": "relu"}</c>: parameters by position or name</description></item>
/// <item><term><c>"tanh"</c>, <c>"leaky_relu(0.2)"</c></term><description><c>{"kind": "tanh"}</c>, <c>{"kind": "leaky_relu", "negative_slope": 0.2}</c>: a kind without tensors</description></item>
/// </list>
/// Kinds that <see cref="LayerKinds"/> knows but this runtime does not run are refused by name.
/// </summary>
internal static class LayerList
{
    /// <summary>The <c>__metadata__</c> key that holds the layer list.</summary>
    public const string MetadataKey = "rnnrt.network";

    /// <summary>The layer-list format this runtime reads.</summary>
    public const int Version = 1;

    public const int MaxLayers = 1024;

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
                string kindName = String(layer, "kind", i) ?? throw Bad($"layer {i} has no \"kind\"");
                LayerKindInfo kind = LayerKinds.Find(kindName)
                    ?? throw Bad($"layer {i} has unknown kind '{kindName}'; this runtime runs {LayerKinds.SupportedNames} (was the file written by a newer rnnrt?)");
                if (!kind.Supported) throw Bad($"layer {i}: {LayerKinds.NotSupportedYet(kind)} (was the file written by a newer rnnrt?)");
                var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (JsonProperty p in layer.EnumerateObject())
                {
                    if (p.Name is "kind" or "prefix") continue;
                    if (Array.IndexOf(kind.Params, p.Name) < 0)
                        throw Bad($"layer {i} has an unknown key '{p.Name}'; a {kind.Name} layer has {string.Join(", ", ["kind", .. kind.HasTensors ? ["prefix"] : Array.Empty<string>(), .. kind.Params])}");
                    parameters[p.Name] = p.Value.ValueKind switch
                    {
                        JsonValueKind.String => p.Value.GetString()!,
                        JsonValueKind.Number => p.Value.GetRawText(),
                        _ => throw Bad($"layer {i} \"{p.Name}\" is {p.Value.ValueKind}, not a string or number"),
                    };
                }
                entries.Add(Entry(i, kind, String(layer, "prefix", i), parameters, Bad));
                i++;
            }
            return entries;
        }
    }

    /// <summary>RnnOptions.Layers: each entry a module prefix, <c>kind:prefix</c>, <c>kind(params):prefix</c>,
    /// an activation name or <c>kind(params)</c> (see the class summary).</summary>
    public static List<LayerEntry> FromOptions(IReadOnlyList<string> names)
    {
        if (names.Count == 0) throw new RnnModelException("RnnOptions.Layers is empty; give the network's layers in forward order, e.g. [\"fc_in\", \"tanh\", \"gru\", \"fc\"]");
        if (names.Count > MaxLayers) throw new RnnModelException($"RnnOptions.Layers has {names.Count} entries; at most {MaxLayers} are supported");
        var entries = new List<LayerEntry>(names.Count);
        for (int i = 0; i < names.Count; i++)
        {
            string? name = names[i];
            if (string.IsNullOrWhiteSpace(name))
                throw new RnnModelException($"RnnOptions.Layers[{i}] is empty; expected a module prefix, kind:prefix (e.g. \"linear:fc\") or one of {LayerKinds.SupportedActivations}");
            entries.Add(Parse(i, name));
        }
        return entries;
    }

    /// <summary>One string entry: <c>prefix</c> | <c>kind[(args)]:prefix</c> | <c>kind[(args)]</c>, args
    /// <c>value</c> or <c>name=value</c> separated by commas.</summary>
    private static LayerEntry Parse(int i, string text)
    {
        RnnModelException BadEntry(string what) => new($"RnnOptions.Layers[{i}] '{text}': {what}");
        string s = text.Trim();
        int colon = s.IndexOf(':');
        string head = colon < 0 ? s : s[..colon].Trim();
        string? prefix = colon < 0 ? null : s[(colon + 1)..].Trim();
        int open = head.IndexOf('(');
        if (colon < 0 && open < 0)
        {
            // A bare name: an activation, or a module prefix whose kind its tensors say.
            return ElementwiseKind(s) is LayerKind k ? new LayerEntry(i, k, null, null, null) : new LayerEntry(i, null, null, s, null);
        }
        string kindName = open < 0 ? head : head[..open].Trim();
        LayerKindInfo kind = LayerKinds.Find(kindName)
            ?? throw BadEntry($"unknown kind '{kindName}'; expected kind:prefix with a kind of {LayerKinds.SupportedNames}");
        if (!kind.Supported) throw BadEntry(LayerKinds.NotSupportedYet(kind));
        if (kind.HasTensors && prefix is null)
            throw BadEntry($"{kind.Name} needs its module's prefix: '{head}:NAME' ('{head}:' for a module at the root of the file)");
        if (!kind.HasTensors && prefix is not null)
            throw BadEntry($"{kind.Name} has no tensors, so no prefix: write '{head}'");
        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        if (open >= 0)
        {
            if (!head.EndsWith(')'))
                throw BadEntry($"'{head}' does not end with ')'; parameters are written {kind.Name}(value) or {kind.Name}(name=value, ...)");
            string inside = head[(open + 1)..^1];
            string[] args = inside.Trim().Length == 0 ? [] : inside.Split(',');
            for (int a = 0; a < args.Length; a++)
            {
                string arg = args[a].Trim();
                int eq = arg.IndexOf('=');
                string key = eq < 0 ? a < kind.Params.Length ? kind.Params[a] : throw BadEntry(ParamsText(kind, $"has {args.Length} parameters")) : arg[..eq].Trim();
                string value = eq < 0 ? arg : arg[(eq + 1)..].Trim();
                if (Array.IndexOf(kind.Params, key) < 0) throw BadEntry(ParamsText(kind, $"has no parameter '{key}'"));
                if (value.Length == 0) throw BadEntry($"parameter '{key}' has no value");
                if (!parameters.TryAdd(key, value)) throw BadEntry($"parameter '{key}' is given twice");
            }
        }
        return Entry(i, kind, prefix, parameters, BadEntry);
    }

    private static string ParamsText(LayerKindInfo kind, string what) => kind.Params.Length == 0
        ? $"{kind.Name} {what}, but takes none"
        : $"{kind.Name} {what}; it takes {string.Join(", ", kind.Params)}";

    /// <summary>The entry of a supported kind, from either source; <paramref name="bad"/> words the error for that source.</summary>
    private static LayerEntry Entry(int i, LayerKindInfo kind, string? prefix, Dictionary<string, string> parameters, Func<string, RnnModelException> bad)
    {
        if (ElementwiseKind(kind.Name) is LayerKind elementwise)
        {
            if (prefix is not null) throw bad($"layer {i} ({kind.Name}) has a \"prefix\", but a {kind.Name} layer has no tensors");
            return new LayerEntry(i, elementwise, null, null, null);
        }
        RnnCellKind? cell = kind.Name switch { "rnn" => RnnCellKind.Rnn, "gru" => RnnCellKind.Gru, "lstm" => RnnCellKind.Lstm, _ => null };
        if (prefix is null) throw bad($"layer {i} ({kind.Name}) has no \"prefix\" (the module's name in the state_dict; \"\" for none)");
        RnnNonlinearity? n = null;
        if (parameters.TryGetValue("nonlinearity", out string? nonlinearity))
        {
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
