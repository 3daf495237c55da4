using System.Globalization;
using System.IO.Compression;
using System.Text;

namespace RnnRuntime.Model.Torch;

/// <summary>
/// PyTorch's own file format, read without Python. A torch.save file (PyTorch 1.6 and later) is a zip:
/// <c>&lt;record&gt;/data.pkl</c> (the pickled state_dict), <c>&lt;record&gt;/data/&lt;key&gt;</c> (one entry of
/// raw little-endian bytes per storage), optionally <c>&lt;record&gt;/byteorder</c>; the record folder is
/// "archive" or the file's stem. <see cref="ToSafetensors"/> unpickles the state_dict with
/// <see cref="StateDictUnpickler"/>, checks every tensor view against its storage's real bytes, and
/// hands back an equivalent in-memory safetensors image (dtypes kept, views made contiguous, a checkpoint
/// dict's nesting flattened to dotted names), so the safetensors loader does the rest unchanged.
/// Whole pickled modules, the legacy pre-1.6 format and TorchScript archives are refused with advice.
/// </summary>
internal static class TorchArchive
{
    /// <summary>The pickle of a state_dict is small (about 100 bytes a tensor); refuse more than this.</summary>
    public const long MaxPickleBytes = 64L << 20;

    /// <summary>Checkpoint dicts nest a few levels (checkpoint, optimizer, state, param id); refuse deeper.</summary>
    public const int MaxNesting = 32;

    /// <summary>The deflate format cannot expand data by more than about 1032 : 1.</summary>
    private const long MaxDeflateRatio = 1032;

    private const string Advice = "save a state_dict instead: torch.save(model.state_dict(), path), or rnnrt.save(model, path) for a .safetensors file";

    // The legacy format starts with a pickled magic number: PROTO 2, LONG1 of 10 bytes 0x1950a86a20f9469cfc6c.
    private static ReadOnlySpan<byte> LegacyMagic => [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];

    /// <summary>Whether <paramref name="file"/> is one of PyTorch's formats (a zip, or a bare pickle) rather than safetensors.
    /// A safetensors file's 8-byte header length can start like a pickle (640 is 80 02 00 ..), so a '{' at
    /// byte 8, where its JSON header starts, says safetensors; no zip has a '{' there (compression method).</summary>
    public static bool Recognises(ReadOnlySpan<byte> file) =>
        file.StartsWith(LegacyMagic) || !(file.Length >= 9 && file[8] == (byte)'{') && (IsZip(file) || IsPickle(file));

    private static bool IsZip(ReadOnlySpan<byte> file) =>
        file.Length >= 4 && file[0] == (byte)'P' && file[1] == (byte)'K' && (file[2], file[3]) is (3, 4) or (5, 6) or (7, 8);

    private static bool IsPickle(ReadOnlySpan<byte> file) => file.Length >= 2 && file[0] == 0x80 && file[1] is >= 2 and <= 5;

    /// <summary>The torch file as a safetensors image; every refusal and inconsistency is an <see cref="RnnModelException"/>.</summary>
    public static unsafe byte[] ToSafetensors(ReadOnlySpan<byte> file)
    {
        if (file.StartsWith(LegacyMagic))
            throw new RnnModelException($"this is PyTorch's legacy serialization format (torch.save before PyTorch 1.6, or with _use_new_zipfile_serialization=False), which rnnrt does not read; re-save it with a current PyTorch and {Advice}");
        if (IsPickle(file))
            throw new RnnModelException($"this is a bare pickle (protocol {file[1]}), not a torch.save zip or a safetensors file; rnnrt never runs pickles; {Advice}");
        fixed (byte* p = file)
        {
            using var stream = new UnmanagedMemoryStream(p, file.Length);
            ZipArchive zip;
            try
            {
                zip = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
            }
            catch (Exception e) when (IsZipFailure(e))
            {
                throw new RnnModelException($"the file starts like a zip archive (a torch.save file) but is not a valid one: {e.Message}", null, e);
            }
            using (zip)
            {
                try
                {
                    return Convert(zip, file.Length);
                }
                catch (Exception e) when (IsZipFailure(e))
                {
                    throw new RnnModelException($"the torch.save zip archive is damaged: {e.Message}", null, e);
                }
            }
        }
    }

    private static bool IsZipFailure(Exception e) => e is InvalidDataException or IOException or NotSupportedException or ArgumentException and not ArgumentNullException;

    private static byte[] Convert(ZipArchive zip, long fileLength)
    {
        var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        foreach (ZipArchiveEntry e in zip.Entries) entries[e.FullName] = e;
        string record = FindRecord(entries);

        bool bigEndian = false;
        if (entries.TryGetValue(record + "byteorder", out ZipArchiveEntry? order))
        {
            string text = Encoding.ASCII.GetString(ReadEntry(order, 16, fileLength, order.FullName)).Trim();
            bigEndian = text switch
            {
                "little" => false,
                "big" => true,
                _ => throw new RnnModelException($"'{order.FullName}' says '{text}'; expected 'little' or 'big'"),
            };
        }

        ZipArchiveEntry pkl = entries[record + "data.pkl"];
        byte[] pickle = ReadEntry(pkl, MaxPickleBytes, fileLength, pkl.FullName);
        object? root = StateDictUnpickler.Load(pkl.FullName, pickle);
        if (root is not StateDictUnpickler.PickleDict dict)
            throw new RnnModelException($"'{pkl.FullName}' holds a {StateDictUnpickler.Describe(root)}, not a state_dict (a dict of tensor names to tensors); {Advice}");

        var tensors = new List<(string Name, TorchTensorRef Tensor)>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        Flatten(dict, "", 0, tensors, names);

        // Each storage once, however many tensors view it; its entry must hold exactly numel elements.
        var storages = new Dictionary<string, (TorchStorage Storage, byte[] Bytes)>(StringComparer.Ordinal);
        foreach (var (name, t) in tensors)
        {
            if (storages.TryGetValue(t.Storage.Key, out var known))
            {
                if (known.Storage.Type != t.Storage.Type || known.Storage.Numel != t.Storage.Numel)
                    throw new RnnModelException($"storage '{t.Storage.Key}' is a {t.Storage.Type.Global} of {t.Storage.Numel} elements here but a {known.Storage.Type.Global} of {known.Storage.Numel} for another tensor", name);
                continue;
            }
            string entryName = record + "data/" + t.Storage.Key;
            if (!entries.TryGetValue(entryName, out ZipArchiveEntry? entry))
                throw new RnnModelException($"its storage '{t.Storage.Key}' should be the zip entry '{entryName}', which is missing; the file is truncated or damaged", name);
            long expected = ExpectedBytes(t.Storage, name);
            if (entry.Length != expected)
                throw new RnnModelException($"storage entry '{entryName}' holds {entry.Length} bytes, but the pickle says {t.Storage.Numel} elements of {t.Storage.Type.Global} ({expected} bytes)", name);
            storages[t.Storage.Key] = (t.Storage, ReadEntry(entry, expected, fileLength, entryName, name));
        }

        var described = new List<(string Name, string DType, long[] Shape)>(tensors.Count);
        long total = 0;
        foreach (var (name, t) in tensors)
        {
            long count = CheckView(t, name);
            total = checked(total + count * t.Storage.Type.ElementSize);
            if (total > RnnModel.MaxFileBytes - (64L << 20))
                throw new RnnModelException($"the tensors of this file add up to more than {RnnModel.MaxFileBytes - (64L << 20)} bytes", name);
            described.Add((name, t.Storage.Type.DType, t.Size));
        }
        return SafetensorsWriter.WriteRaw(described, (i, destination) =>
        {
            TorchTensorRef t = tensors[i].Tensor;
            CopyContiguous(storages[t.Storage.Key].Bytes, t, destination, bigEndian);
        });
    }

    /// <summary>The one record folder (with its '/'): the one holding data.pkl. TorchScript archives are refused here.</summary>
    private static string FindRecord(Dictionary<string, ZipArchiveEntry> entries)
    {
        if (entries.Count == 0)
            throw new RnnModelException("the zip archive has no entries; a torch.save file holds <name>/data.pkl and <name>/data/<key> entries");
        var records = new List<string>();
        foreach (string n in entries.Keys)
        {
            int slash = n.IndexOf('/');
            if (slash <= 0) continue;
            string top = n[..(slash + 1)], rest = n[(slash + 1)..];
            if (rest == "constants.pkl" || rest.StartsWith("code/", StringComparison.Ordinal))
                throw new RnnModelException($"this is a TorchScript archive (torch.jit.save or ScriptModule.save: it has '{n}'), which holds code and its constants, not a state_dict that rnnrt can read; {Advice}");
            if (rest == "data.pkl") records.Add(top);
        }
        if (records.Count == 0)
        {
            string some = string.Join(", ", entries.Keys.Order(StringComparer.Ordinal).Take(6).Select(n => $"'{n}'"));
            throw new RnnModelException($"a zip archive, but not a torch.save file: no <name>/data.pkl entry (it has {entries.Count} entries: {some}{(entries.Count > 6 ? ", ..." : "")})");
        }
        if (records.Count > 1)
            throw new RnnModelException($"the zip archive holds {records.Count} torch.save records ({string.Join(", ", records.Order(StringComparer.Ordinal).Select(r => $"'{r}data.pkl'"))}); expected one");
        return records[0];
    }

    /// <summary>Dotted names for tensors at any depth (a checkpoint's model_state_dict.gru.weight_ih_l0,
    /// optimizer.state.0.exp_avg); every other leaf (epoch, a learning rate, None) is ignored.</summary>
    private static void Flatten(object? value, string name, int depth, List<(string, TorchTensorRef)> tensors, HashSet<string> names)
    {
        switch (value)
        {
            case TorchTensorRef t:
                if (name == "__metadata__")
                    throw new RnnModelException("a tensor may not be named __metadata__", name);
                if (!names.Add(name))
                    throw new RnnModelException("two tensors have this name once the checkpoint's nesting is flattened to dotted names", name);
                tensors.Add((name, t));
                return;
            case StateDictUnpickler.PickleDict d:
                Nest(depth, name);
                foreach (var (k, v) in d.Items) Flatten(v, Join(name, KeyText(k)), depth + 1, tensors, names);
                return;
            case List<object?> list:
                Nest(depth, name);
                for (int i = 0; i < list.Count; i++) Flatten(list[i], Join(name, i.ToString(CultureInfo.InvariantCulture)), depth + 1, tensors, names);
                return;
            case StateDictUnpickler.PickleTuple tuple:
                Nest(depth, name);
                for (int i = 0; i < tuple.Items.Length; i++) Flatten(tuple.Items[i], Join(name, i.ToString(CultureInfo.InvariantCulture)), depth + 1, tensors, names);
                return;
        }
    }

    private static void Nest(int depth, string name)
    {
        if (depth >= MaxNesting)
            throw new RnnModelException($"the pickle nests dicts and lists more than {MaxNesting} deep (at '{Shorten(name)}'); a state_dict or checkpoint is a few levels deep");
    }

    private static string Shorten(string name) => name.Length <= 120 ? name : name[..120] + "...";

    private static string Join(string prefix, string key) => prefix.Length == 0 ? key : prefix + "." + key;

    private static string KeyText(object? key) => key switch
    {
        null => "None",
        string s => s,
        long l => l.ToString(CultureInfo.InvariantCulture),
        bool b => b ? "True" : "False",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        _ => StateDictUnpickler.Describe(key),
    };

    private static long ExpectedBytes(TorchStorage s, string tensor)
    {
        if (s.Numel > long.MaxValue / s.Type.ElementSize)
            throw new RnnModelException($"storage '{s.Key}' claims {s.Numel} elements of {s.Type.Global}, more than any file holds", tensor);
        return s.Numel * s.Type.ElementSize;
    }

    /// <summary>Checks a tensor view against its storage (overflow-checked) and returns its element count.</summary>
    private static long CheckView(TorchTensorRef t, string name)
    {
        string View() => $"size ({string.Join(", ", t.Size)}), stride ({string.Join(", ", t.Stride)}), storage offset {t.Offset}";
        long numel = t.Storage.Numel;
        if (t.Offset < 0 || t.Offset > numel)
            throw new RnnModelException($"{View()}: the offset lies outside its storage '{t.Storage.Key}' of {numel} elements", name);
        long count = 1, last = t.Offset;
        try
        {
            for (int d = 0; d < t.Size.Length; d++)
            {
                if (t.Size[d] < 0) throw new RnnModelException($"{View()}: negative size", name);
                if (t.Stride[d] < 0) throw new RnnModelException($"{View()}: negative stride", name);
                count = checked(count * t.Size[d]);
            }
            if (count > 0)
                for (int d = 0; d < t.Size.Length; d++) last = checked(last + checked((t.Size[d] - 1) * t.Stride[d]));
        }
        catch (OverflowException)
        {
            throw new RnnModelException($"{View()}: the view's extent overflows", name);
        }
        if (count > 0 && last >= numel)
            throw new RnnModelException($"{View()}: the view reaches element {last}, past the end of its storage '{t.Storage.Key}' of {numel} elements", name);
        if (count > numel)
            throw new RnnModelException($"{View()}: the view has {count} elements but its storage '{t.Storage.Key}' only {numel}; overlapping (expanded) views are not read", name);
        return count;
    }

    /// <summary>Gathers a (possibly strided) view into contiguous row-major bytes, little-endian.</summary>
    private static void CopyContiguous(byte[] storage, TorchTensorRef t, Span<byte> destination, bool bigEndian)
    {
        int es = t.Storage.Type.ElementSize;
        int nd = t.Size.Length;
        long count = destination.Length / es;
        if (count == 0) return;
        // Row-major strides of the contiguous result: when the view's match, one block copy.
        bool contiguous = true;
        long expect = 1;
        for (int d = nd - 1; d >= 0; d--)
        {
            if (t.Size[d] != 1 && t.Stride[d] != expect) contiguous = false;
            expect *= t.Size[d];
        }
        if (contiguous)
        {
            storage.AsSpan(checked((int)(t.Offset * es)), destination.Length).CopyTo(destination);
        }
        else
        {
            Span<long> index = stackalloc long[Math.Max(nd, 1)];
            index.Clear();
            long src = t.Offset;
            for (long i = 0; i < count; i++)
            {
                storage.AsSpan((int)(src * es), es).CopyTo(destination.Slice((int)(i * es), es));
                for (int d = nd - 1; d >= 0; d--)
                {
                    if (++index[d] < t.Size[d]) { src += t.Stride[d]; break; }
                    src -= (t.Size[d] - 1) * t.Stride[d];
                    index[d] = 0;
                }
            }
        }
        if (bigEndian && es > 1)
            for (int i = 0; i < destination.Length; i += es) destination.Slice(i, es).Reverse();
    }

    /// <summary>Reads one zip entry, allocating no more than the real bytes justify: a stored entry's size
    /// is bounded by the file; a compressed one grows as it decompresses, up to its declared size, which
    /// must then be exact; the bytes must match the entry's CRC-32.</summary>
    private static byte[] ReadEntry(ZipArchiveEntry entry, long limit, long fileLength, string entryName, string? tensor = null)
    {
        long declared = entry.Length, compressed = entry.CompressedLength;
        if (declared > limit)
            throw new RnnModelException($"zip entry '{entryName}' declares {declared} bytes, more than the {limit} expected", tensor);
        if (compressed > fileLength)
            throw new RnnModelException($"zip entry '{entryName}' declares {compressed} compressed bytes, more than the whole file ({fileLength})", tensor);
        if (declared > compressed * MaxDeflateRatio + 64)
            throw new RnnModelException($"zip entry '{entryName}' declares {declared} bytes from {compressed} compressed ones, more than deflate can expand to", tensor);
        try
        {
            using Stream s = entry.Open();
            byte[] buffer = new byte[Math.Min(declared, Math.Max(compressed, 1 << 16))];
            long filled = 0;
            while (true)
            {
                if (filled == buffer.Length)
                {
                    if (filled == declared)
                    {
                        if (s.ReadByte() >= 0)
                            throw new RnnModelException($"zip entry '{entryName}' holds more than the {declared} bytes it declares", tensor);
                        if (Crc32.Compute(buffer) != entry.Crc32)
                            throw new RnnModelException($"zip entry '{entryName}' fails its CRC-32 check: it is damaged, or its declared size ({declared} bytes) is wrong", tensor);
                        return buffer;
                    }
                    Array.Resize(ref buffer, (int)Math.Min(declared, Math.Max(2 * (long)buffer.Length, 1 << 16)));
                }
                int n = s.Read(buffer, (int)filled, buffer.Length - (int)filled);
                if (n == 0)
                    throw new RnnModelException($"zip entry '{entryName}' holds {filled} bytes but declares {declared}; the file is truncated or damaged", tensor);
                filled += n;
            }
        }
        catch (Exception e) when (IsZipFailure(e))
        {
            throw new RnnModelException($"zip entry '{entryName}' cannot be read: {e.Message}", tensor, e);
        }
    }
}
