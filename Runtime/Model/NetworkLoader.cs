using System.Globalization;

namespace RnnRuntime.Model;

/// <summary>
/// Builds a <see cref="RnnNetwork"/> from a safetensors file: the layer list from
/// <see cref="RnnOptions.Layers"/>, else from the file's <c>rnnrt.network</c> metadata, else the file's
/// one recurrent module alone (what every file without a layer list has always loaded as). Checks that
/// every listed module's tensors are there and that the widths chain.
/// </summary>
internal static class NetworkLoader
{
    public static RnnNetwork Load(ReadOnlySpan<byte> file, RnnOptions options)
    {
        SafetensorsHeader header = SafetensorsHeader.Parse(file);
        var modules = RecurrentModuleLoader.FindModules(header);
        RnnNonlinearity? said = ReadNonlinearity(header);
        if (options.Nonlinearity is RnnNonlinearity wanted && said is RnnNonlinearity inFile && wanted != inFile)
            throw new RnnModelException($"RnnOptions.Nonlinearity is {Name(wanted)} but the file's __metadata__ says '{Name(inFile)}'; leave the option unset to use the file's");
        RnnNonlinearity fileNonlinearity = options.Nonlinearity ?? said ?? RnnNonlinearity.Tanh;

        List<LayerEntry>? entries = options.Layers is not null
            ? LayerList.FromOptions(options.Layers)
            : header.Metadata.TryGetValue(LayerList.MetadataKey, out string? json) ? LayerList.FromMetadata(json) : null;

        // RnnOptions.Prefix is where the network sits (a checkpoint's "model."): only the tensors under
        // it must all be used.
        string root = string.IsNullOrEmpty(options.Prefix) ? "" : options.Prefix.EndsWith('.') ? options.Prefix : options.Prefix + ".";
        var used = new HashSet<string>(StringComparer.Ordinal);
        if (entries is null)
        {
            // No layer list: the file's one recurrent module, as before networks existed, where it is all the file holds.
            string chosen = ChoosePrefix(modules, options.Prefix, header);
            RecurrentLayer only = RecurrentModuleLoader.Load(file, header, 0, chosen, modules[chosen], null, fileNonlinearity, fileDefaultIsStrict: true);
            CheckMetadata(header, only);
            used.UnionWith(modules[chosen].Values.Select(t => t.Name));
            UnusedTensors.Check(header, root, used, UnusedTensors.ListSource.None, modules, chosen);
            return new RnnNetwork([only], only.InputSize, chosen.TrimEnd('.'));
        }

        var layers = new NetworkLayer[entries.Count];
        int? inputSize = null;
        int? width = null;   // the current value's width; null until a layer with weights fixes it
        foreach (LayerEntry e in entries)
        {
            NetworkLayer layer;
            if (e.Kind is LayerKind k && k != LayerKind.Linear && k != LayerKind.Recurrent)
            {
                if (k == LayerKind.AddInput && width is int w0 && inputSize is int in0 && w0 != in0)
                    throw Layer(e, $"add_input adds the network input ({in0} wide) to a value {w0} wide; the widths must match");
                layer = new ElementwiseLayer(e.Index, k, width ?? 0);   // width fixed below once known
            }
            else
            {
                string prefix = root + e.Prefix;
                string dotted = prefix.Length == 0 || prefix.EndsWith('.') ? prefix : prefix + ".";
                bool isLinear = header.Tensors.ContainsKey(dotted + "weight");
                bool isRecurrent = modules.ContainsKey(dotted);
                LayerKind kind = e.Kind ?? (isRecurrent ? LayerKind.Recurrent : KindOf(e, header, prefix, dotted));
                if (kind == LayerKind.Recurrent)
                {
                    if (!isRecurrent)
                        throw Layer(e, $"no {(e.Cell is RnnCellKind c ? CellSpec.Of(c).Name : "recurrent")} tensors under prefix '{prefix}' ({Near(header, dotted)}); expected {dotted}weight_ih_l0, {dotted}weight_hh_l0, ...");
                    if (options.Nonlinearity is RnnNonlinearity o && e.Nonlinearity is RnnNonlinearity listed && o != listed)
                        throw Layer(e, $"the layer list says nonlinearity '{Name(listed)}' but RnnOptions.Nonlinearity is {Name(o)}; leave the option unset to use the file's");
                    try
                    {
                        layer = RecurrentModuleLoader.Load(file, header, e.Index, dotted, modules[dotted], e.Cell, e.Nonlinearity ?? fileNonlinearity, fileDefaultIsStrict: e.Nonlinearity is not null);
                        used.UnionWith(modules[dotted].Values.Select(t => t.Name));
                    }
                    catch (RnnModelException ex)
                    {
                        throw InLayer(e, ex);
                    }
                }
                else
                {
                    if (!isLinear)
                        throw Layer(e, $"no linear tensors under prefix '{prefix}' ({Near(header, dotted)}); expected {dotted}weight (out, in) and optionally {dotted}bias (out)");
                    try
                    {
                        layer = LoadLinear(file, header, e.Index, dotted);
                        used.Add(dotted + "weight");
                        used.Add(dotted + "bias");
                    }
                    catch (RnnModelException ex)
                    {
                        throw InLayer(e, ex);
                    }
                }
                if (width is int w && layer.InputWidth != w)
                    throw Layer(e, $"takes {layer.InputWidth} inputs, but the layer before it gives {w}");
                if (inputSize is null)
                {
                    inputSize = layer.InputWidth;
                    // Elementwise layers before the first weighted one have the network's input width.
                    for (int j = 0; j < e.Index; j++) layers[j] = new ElementwiseLayer(j, layers[j].Kind, layer.InputWidth);
                }
                width = layer.OutputWidth;
            }
            layers[e.Index] = layer;
        }

        RecurrentLayer? first = layers.OfType<RecurrentLayer>().FirstOrDefault();
        if (first is null)
            throw new RnnModelException($"the layer list ({string.Join(", ", entries.Select(Describe))}) has no recurrent module; a network needs at least one rnn, gru or lstm");
        UnusedTensors.Check(header, root, used, options.Layers is not null ? UnusedTensors.ListSource.Options : UnusedTensors.ListSource.Metadata, modules);
        return new RnnNetwork(layers, inputSize!.Value, first.Name);
    }

    /// <summary>
    /// The kind of a bare module prefix that is not a recurrent module, from its own tensors: linear
    /// where they can be nothing else; an error that says why for everything else (a kind not run
    /// yet, tensors that fit two kinds, a container whose tensors sit in its submodules, nothing).
    /// </summary>
    private static LayerKind KindOf(LayerEntry e, SafetensorsHeader header, string prefix, string dotted)
    {
        ModuleShape? shape = ModuleShapes.Of(header, dotted);
        if (shape is { Kind.Name: "linear" }) return LayerKind.Linear;
        if (shape?.Ambiguity is string ambiguous) throw Layer(e, ambiguous);
        if (shape is { Kind.Supported: false }) throw Layer(e, ModuleShapes.NotSupported(shape));
        if (shape is not null)
            throw Layer(e, $"{shape.Shown} holds {shape.Description}; a layer list names modules of kind {LayerKinds.SupportedNames}");
        if (LayerKinds.Find(prefix) is { HasTensors: false } activation)
            throw Layer(e, $"'{prefix}' is neither a module of the file nor an activation this runtime runs: {LayerKinds.NotSupportedYet(activation)}");
        var inside = header.Tensors.Keys.Where(n => n.StartsWith(dotted, StringComparison.Ordinal))
            .Select(n => n[..n.LastIndexOf('.')]).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        if (dotted.Length > 0 && inside.Count > 0)
            throw Layer(e, $"'{prefix}' has no tensors of its own, only in its submodules {string.Join(", ", inside.Take(6).Select(n => $"'{n[(prefix.Length - e.Prefix!.Length)..]}'"))}{(inside.Count > 6 ? $" (and {inside.Count - 6} more)" : "")}; list those in forward order instead");
        throw Layer(e, $"no tensors under prefix '{prefix}' ({Near(header, dotted)}); expected {dotted}weight (linear) or {dotted}weight_ih_l0 (rnn, gru, lstm), or one of the activations {LayerKinds.SupportedActivations}");
    }

    private static NetworkLayer LoadLinear(ReadOnlySpan<byte> file, SafetensorsHeader header, int index, string dotted)
    {
        SafetensorsTensor w = header.Tensors[dotted + "weight"];
        if (w.Shape.Length != 2 || w.Shape[0] < 1 || w.Shape[1] < 1 || w.Shape[0] > 1 << 20 || w.Shape[1] > 1 << 20)
            throw new RnnModelException($"shape {w.ShapeText} is not that of a linear layer's weight (out_features, in_features), each 1..{1 << 20}", w.Name);
        int outputs = (int)w.Shape[0], inputs = (int)w.Shape[1];
        string what = $"a linear layer {inputs} -> {outputs}";
        float[] weight = CheckedTensor.Read(file, header, w, [outputs, inputs], what);
        bool hasBias = header.Tensors.TryGetValue(dotted + "bias", out SafetensorsTensor? b);
        float[] bias = hasBias ? CheckedTensor.Read(file, header, b!, [outputs], what) : new float[outputs];
        return new LinearLayer(index, dotted.TrimEnd('.'), new WeightTensor(outputs, inputs, weight), bias, hasBias);
    }

    /// <summary>Names the layer in a module's own error (the tensor name stays in the message).</summary>
    private static RnnModelException InLayer(LayerEntry e, RnnModelException ex) => RnnModelException.In($"layer {e.Index} ({Describe(e)})", ex);

    private static RnnModelException Layer(LayerEntry e, string what) => new($"layer {e.Index} ({Describe(e)}): {what}");

    private static string Describe(LayerEntry e) => e.Prefix is null
        ? LayerKindName(e)
        : $"{LayerKindName(e)} '{e.Prefix}'";

    private static string LayerKindName(LayerEntry e) => e.Cell is RnnCellKind c ? CellSpec.Of(c).Name : e.Kind is LayerKind k ? NetworkLayer.NameOf(k) : "module";

    /// <summary>A few tensor names that start like the prefix, or the first few of the file.</summary>
    private static string Near(SafetensorsHeader header, string dotted)
    {
        string stem = dotted.TrimEnd('.');
        var names = header.Tensors.Keys.Where(n => n.StartsWith(stem, StringComparison.Ordinal)).OrderBy(n => n, StringComparer.Ordinal).Take(6).ToList();
        if (names.Count > 0) return "the file has " + string.Join(", ", names);
        var all = header.Tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).Take(8).ToList();
        return all.Count == 0 ? "the file has no tensors" : $"the file's tensors include {string.Join(", ", all)}";
    }

    private static string ChoosePrefix(Dictionary<string, RecurrentModuleLoader.ModuleTensors> modules, string? wanted, SafetensorsHeader header)
    {
        var all = modules.Keys.OrderBy(p => p, StringComparer.Ordinal).ToList();
        if (wanted is not null)
        {
            string w = wanted.Length == 0 || wanted.EndsWith('.') ? wanted : wanted + ".";
            if (all.Contains(w)) return w;
            // The prefix of a whole network (a checkpoint's "model"): its one recurrent module.
            var inside = all.Where(p => p.StartsWith(w, StringComparison.Ordinal)).ToList();
            if (inside.Count == 1) return inside[0];
            if (inside.Count > 1)
                throw new RnnModelException($"prefix '{wanted}' holds {inside.Count} RNN modules ({string.Join(", ", inside.Select(RecurrentModuleLoader.Show))}); choose one with RnnOptions.Prefix, or run them all as a network with RnnOptions.Layers");
            throw new RnnModelException($"no RNN tensors under prefix '{wanted}'; the file has RNN modules: {(all.Count == 0 ? "none" : string.Join(", ", all.Select(RecurrentModuleLoader.Show)))}");
        }
        if (all.Count == 1) return all[0];
        if (all.Count == 0)
        {
            string names = string.Join(", ", header.Tensors.Keys.OrderBy(n => n, StringComparer.Ordinal).Take(10));
            throw new RnnModelException($"no RNN tensors (weight_ih_l0, weight_hh_l0, ...) found; the file holds {header.Tensors.Count} tensors{(names.Length > 0 ? ": " + names : "")}");
        }
        throw new RnnModelException($"the file holds {all.Count} RNN modules ({string.Join(", ", all.Select(RecurrentModuleLoader.Show))}); choose one with RnnOptions.Prefix, or run them all as a network with RnnOptions.Layers or an '{LayerList.MetadataKey}' layer list (rnnrt.save writes one)");
    }

    private static string Name(RnnNonlinearity n) => n == RnnNonlinearity.Relu ? "relu" : "tanh";

    /// <summary>The file-wide "nonlinearity" of __metadata__, or null where the file says nothing.</summary>
    private static RnnNonlinearity? ReadNonlinearity(SafetensorsHeader header)
    {
        if (!header.Metadata.TryGetValue("nonlinearity", out string? value)) return null;
        return value switch
        {
            "tanh" => RnnNonlinearity.Tanh,
            "relu" => RnnNonlinearity.Relu,
            _ => throw new RnnModelException($"__metadata__ nonlinearity is '{value}'; expected 'tanh' or 'relu'"),
        };
    }

    /// <summary>Optional metadata (written by our fixture script, not by PyTorch) must agree with the tensors.</summary>
    private static void CheckMetadata(SafetensorsHeader header, RecurrentLayer m)
    {
        void Check(string key, string actual)
        {
            if (header.Metadata.TryGetValue(key, out string? v) && !string.Equals(v, actual, StringComparison.OrdinalIgnoreCase))
                throw new RnnModelException($"__metadata__ {key} is '{v}' but the tensors say {actual}");
        }
        Check("cell", m.Spec.Name);
        Check("input_size", m.InputSize.ToString(CultureInfo.InvariantCulture));
        Check("hidden_size", m.HiddenSize.ToString(CultureInfo.InvariantCulture));
        Check("proj_size", m.ProjSize.ToString(CultureInfo.InvariantCulture));
        Check("num_layers", m.NumLayers.ToString(CultureInfo.InvariantCulture));
        Check("bidirectional", m.NumDirections == 2 ? "true" : "false");
    }
}
