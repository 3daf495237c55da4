namespace RnnRuntime.Model;

/// <summary>
/// Nothing is silently dropped: once a network is resolved, every tensor of the file (under
/// <see cref="RnnOptions.Prefix"/> when one is given) must belong to one of its layers. A file with
/// more (a whole network's state_dict loaded as its one recurrent module, a layer list that forgets a
/// module) would load and compute something other than the network that was saved.
/// </summary>
internal static class UnusedTensors
{
    /// <summary>Tensor names a message lists before it counts the rest.</summary>
    public const int Listed = 5;

    /// <summary>Modules a message lists before it counts the rest.</summary>
    public const int ModulesListed = 8;

    /// <summary>Where the network's layer list came from, for the advice.</summary>
    public enum ListSource { None, Options, Metadata }

    /// <summary>Throws an <see cref="RnnModelException"/> naming the tensors under <paramref name="root"/> that no layer used.</summary>
    /// <param name="header">The file's tensors.</param>
    /// <param name="root">"" or RnnOptions.Prefix ending in '.'.</param>
    /// <param name="used">The names of the tensors the network's layers read.</param>
    /// <param name="source">Where the layer list came from.</param>
    /// <param name="modules">The file's recurrent modules by prefix.</param>
    /// <param name="loaded">For a file without a layer list: the module it loaded, for the message.</param>
    public static void Check(SafetensorsHeader header, string root, IReadOnlySet<string> used, ListSource source,
        Dictionary<string, RecurrentModuleLoader.ModuleTensors> modules, string? loaded = null)
    {
        var unused = header.Tensors.Values.Where(t => Under(t.Name, root) && !used.Contains(t.Name)).OrderBy(t => t.Begin).ToList();
        if (unused.Count == 0) return;

        string names = string.Join(", ", unused.Take(Listed).Select(t => t.Name)) + (unused.Count > Listed ? $" (and {unused.Count - Listed} more)" : "");
        string where = root.Length == 0 ? "the file" : $"the file under prefix '{root.TrimEnd('.')}'";
        string message = unused.Count == 1
            ? $"1 tensor of {where} belongs to no layer: {names}"
            : $"{unused.Count} tensors of {where} belong to no layer: {names}";
        message += "; rnnrt refuses to run part of a network. " + source switch
        {
            ListSource.None => $"Without a layer list the network is the file's one recurrent module {RecurrentModuleLoader.Show(loaded ?? "")}.",
            ListSource.Options => "RnnOptions.Layers leaves them out.",
            _ => $"The file's '{LayerList.MetadataKey}' layer list leaves them out.",
        };

        List<ModuleShape> shapes = Modules(header, root, modules);
        if (shapes.Count > 0)
            message += $" The modules of {where}: {string.Join(", ", shapes.Take(ModulesListed).Select(m => $"{m.Shown} ({m.Description})"))}" +
                       (shapes.Count > ModulesListed ? $" (and {shapes.Count - ModulesListed} more)." : ".");
        var advice = new List<string>();
        // A module no layer read: the list is what is missing.
        if (shapes.Any(m => !m.Tensors.All(t => used.Contains(t.Name))))
        {
            var runnable = shapes.Where(m => m.Kind is null ? m.Ambiguity is not null : m.Kind.Supported).ToList();
            // The modules all under one prefix with other tensors beside them (a checkpoint's "model"
            // and "optimizer"): that prefix is where the network lives.
            string? network = UsedPrefix(runnable.SelectMany(m => m.Tensors).Select(t => t.Name), unused.Where(t => !runnable.Any(m => m.Tensors.Contains(t))).ToList(), root,
                runnable.Select(m => m.Prefix).ToHashSet(StringComparer.Ordinal));
            string inside = network is null ? root : network + ".";
            string list = $"give the network's layers in forward order, with the activations between them, as RnnOptions.Layers " +
                          $"(e.g. [{string.Join(", ", runnable.Select(m => Entry(m, inside)))}]{(network is null ? "" : $", with RnnOptions.Prefix '{network}'")})";
            ModuleShape? notYet = shapes.FirstOrDefault(m => m.Kind is { Supported: false });
            if (notYet is not null)
                list += $", though {ModuleShapes.NotSupported(notYet)}, so a network that uses it cannot run here yet";
            advice.Add(list);
        }
        string? prefix = UsedPrefix(used.Where(n => Under(n, root)), unused, root);
        if (prefix is not null)
            advice.Add($"if those tensors are not part of the network (a checkpoint's optimizer state, another model), set RnnOptions.Prefix to '{prefix}', the prefix under which the used tensors live" +
                       (source == ListSource.None ? "" : " (the layer list's names then relative to it)"));
        if (advice.Count == 0)
            advice.Add("they belong to no layer kind rnnrt knows, so remove them from the file (rnnrt.save writes only the network's own tensors)");
        message += " To load it, " + string.Join("; or, ", advice);
        throw new RnnModelException(message + ".");
    }

    /// <summary>A module as a layer-list entry relative to the root: "fc", or "gru:" for one with no prefix.</summary>
    private static string Entry(ModuleShape m, string root)
    {
        string name = m.Prefix[root.Length..].TrimEnd('.');
        return name.Length == 0 && m.Kind is not null ? $"\"{m.Kind.Name}:\"" : $"\"{name}\"";
    }

    private static bool Under(string name, string root) => name.StartsWith(root, StringComparison.Ordinal);

    /// <summary>The modules under <paramref name="root"/>, in the order of their data in the file: recurrent ones, then everything else by the name part before its last.</summary>
    private static List<ModuleShape> Modules(SafetensorsHeader header, string root, Dictionary<string, RecurrentModuleLoader.ModuleTensors> modules)
    {
        var recurrentNames = new HashSet<string>(modules.Values.SelectMany(m => m.Values).Select(t => t.Name), StringComparer.Ordinal);
        var result = new List<(long Begin, ModuleShape Shape)>();
        foreach (var (prefix, tensors) in modules)
        {
            if (!Under(prefix, root)) continue;
            result.Add((tensors.Values.Min(t => t.Begin), new ModuleShape(prefix, LayerKinds.Find(CellName(tensors)), CellName(tensors), [.. tensors.Values])));
        }
        foreach (string prefix in header.Tensors.Values.Where(t => Under(t.Name, root) && !recurrentNames.Contains(t.Name))
                     .Select(t => t.Name[..(t.Name.LastIndexOf('.') + 1)]).Distinct(StringComparer.Ordinal))
        {
            ModuleShape? shape = ModuleShapes.Of(header, prefix);
            if (shape is not null && (shape.Kind is not null || shape.Ambiguity is not null))
                result.Add((shape.Tensors.Min(t => t.Begin), shape));
        }
        return [.. result.OrderBy(r => r.Begin).Select(r => r.Shape)];
    }

    /// <summary>rnn, gru or lstm from weight_hh's rows per column (an LSTM with a projection has weight_hr).</summary>
    private static string CellName(RecurrentModuleLoader.ModuleTensors tensors)
    {
        if (tensors.Keys.Any(k => k.Param == "weight_hr")) return "lstm";
        if (!tensors.TryGetValue(("weight_hh", 0, 0), out SafetensorsTensor? hh) || hh.Shape.Length != 2 || hh.Shape[1] < 1) return "recurrent";
        return (hh.Shape[0] / hh.Shape[1], hh.Shape[0] % hh.Shape[1]) switch { (1, 0) => "rnn", (3, 0) => "gru", (4, 0) => "lstm", _ => "recurrent" };
    }

    /// <summary>The shortest dotted prefix, longer than <paramref name="root"/>, that holds every used tensor and no unused one; null for none.</summary>
    /// <param name="used">The used tensors' names.</param>
    /// <param name="unused">The tensors the prefix must leave out.</param>
    /// <param name="root">The prefix already given.</param>
    /// <param name="modules">Module prefixes (ending in '.') that are not the answer: the network's root is above them.</param>
    private static string? UsedPrefix(IEnumerable<string> used, List<SafetensorsTensor> unused, string root, IReadOnlySet<string>? modules = null)
    {
        string[]? common = null;
        foreach (string name in used)
        {
            string[] parts = name.Split('.')[..^1];
            if (common is null) { common = parts; continue; }
            int n = 0;
            while (n < common.Length && n < parts.Length && common[n] == parts[n]) n++;
            common = common[..n];
        }
        if (common is null) return null;
        int rootParts = root.Length == 0 ? 0 : root.TrimEnd('.').Split('.').Length;
        for (int k = rootParts + 1; k <= common.Length; k++)
        {
            string candidate = string.Join('.', common[..k]);
            if (modules is not null && modules.Contains(candidate + ".")) break;
            if (candidate.Length > 0 && !unused.Any(t => Under(t.Name, candidate + "."))) return candidate;
        }
        return null;
    }
}
