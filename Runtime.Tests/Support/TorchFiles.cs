using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using RnnRuntime.Model;

namespace RnnRuntime.Tests.Support;

/// <summary>Writes pickle opcodes by hand: torch.save-style state_dicts and hostile pickles alike.</summary>
public sealed class PickleWriter
{
    private readonly List<byte> _b = new();

    public PickleWriter Op(params byte[] bytes) { _b.AddRange(bytes); return this; }
    public PickleWriter Op(char op, params byte[] args) { _b.Add((byte)op); _b.AddRange(args); return this; }
    public PickleWriter Proto(byte p = 2) => Op(0x80, p);
    public PickleWriter Mark() => Op('(');
    public PickleWriter Stop() => Op('.');
    public PickleWriter Global(string module, string name) { Op('c'); _b.AddRange(Encoding.UTF8.GetBytes(module + "\n" + name + "\n")); return this; }

    public PickleWriter Str(string s)
    {
        byte[] u = Encoding.UTF8.GetBytes(s);
        Op('X');
        _b.AddRange(BitConverter.GetBytes((uint)u.Length));
        _b.AddRange(u);
        return this;
    }

    public PickleWriter Int(long v)
    {
        if (v is >= int.MinValue and <= int.MaxValue) { Op('J'); _b.AddRange(BitConverter.GetBytes((int)v)); }
        else { Op(0x8a, 8); _b.AddRange(BitConverter.GetBytes(v)); }
        return this;
    }

    public PickleWriter Tuple(params long[] values)
    {
        Mark();
        foreach (long v in values) Int(v);
        return Op('t');
    }

    public PickleWriter EmptyOrderedDict() => Global("collections", "OrderedDict").Op(')').Op('R');

    /// <summary>_rebuild_tensor_v2((storage pid), offset, size, stride, False, OrderedDict()).</summary>
    public PickleWriter Tensor(PtTensor t)
    {
        Global("torch._utils", "_rebuild_tensor_v2").Mark();
        Mark().Str("storage").Global("torch", t.StorageType).Str(t.Key).Str("cpu").Int(t.Numel).Op('t').Op('Q');
        Int(t.Offset).Tuple(t.Size).Tuple(t.Stride).Op(0x89).EmptyOrderedDict();
        return Op('t').Op('R');
    }

    public byte[] ToArray() => [.. _b];

    /// <summary>A state_dict as torch.save pickles it: OrderedDict() then SETITEMS of name, tensor.</summary>
    public static byte[] StateDict(IEnumerable<PtTensor> tensors)
    {
        var w = new PickleWriter().Proto().EmptyOrderedDict().Mark();
        foreach (PtTensor t in tensors) w.Str(t.Name).Tensor(t);
        return w.Op('u').Stop().ToArray();
    }
}

/// <summary>One tensor of a hand-made torch.save file: a view (offset, size, stride in elements) of storage Key.</summary>
public sealed record PtTensor(string Name, string Key, long Numel, long Offset, long[] Size, long[] Stride, string StorageType = "FloatStorage")
{
    public static PtTensor Contiguous(string name, string key, long[] size, string storageType = "FloatStorage")
    {
        var stride = new long[size.Length];
        long s = 1;
        for (int d = size.Length - 1; d >= 0; d--) { stride[d] = s; s *= size[d]; }
        return new(name, key, s, 0, size, stride, storageType);
    }
}

/// <summary>Builds torch.save-style zip archives by hand.</summary>
public static class TorchZip
{
    public static byte[] Build(IEnumerable<(string Name, byte[] Data)> entries, bool deflate = false)
    {
        using var ms = new MemoryStream();
        using (var zip = new ZipArchive(ms, ZipArchiveMode.Create, leaveOpen: true))
        {
            foreach (var (name, data) in entries)
            {
                ZipArchiveEntry e = zip.CreateEntry(name, deflate ? CompressionLevel.Optimal : CompressionLevel.NoCompression);
                using Stream s = e.Open();
                s.Write(data);
            }
        }
        return ms.ToArray();
    }

    /// <summary>A torch.save file: record/data.pkl, record/data/KEY for each storage, record/version.</summary>
    public static byte[] Archive(byte[] pickle, IEnumerable<(string Key, byte[] Data)> storages, string record = "archive", bool deflate = false,
        IEnumerable<(string Name, byte[] Data)>? extra = null)
    {
        var entries = new List<(string, byte[])> { ($"{record}/data.pkl", pickle) };
        entries.AddRange(storages.Select(s => ($"{record}/data/{s.Key}", s.Data)));
        entries.Add(($"{record}/version", "3\n"u8.ToArray()));
        if (extra is not null) entries.AddRange(extra);
        return Build(entries, deflate);
    }

    /// <summary>A safetensors F32 model as a torch.save file: one storage per tensor, keys "0", "1", ...</summary>
    public static (List<PtTensor> Tensors, List<(string Key, byte[] Data)> Storages) FromSafetensors(byte[] safetensors)
    {
        SafetensorsHeader h = SafetensorsHeader.Parse(safetensors);
        var tensors = new List<PtTensor>();
        var storages = new List<(string, byte[])>();
        foreach (SafetensorsTensor t in h.Tensors.Values.OrderBy(t => t.Begin))
        {
            string key = tensors.Count.ToString();
            tensors.Add(PtTensor.Contiguous(t.Name, key, t.Shape));
            storages.Add((key, safetensors.AsSpan((int)(h.DataStart + t.Begin), (int)(t.End - t.Begin)).ToArray()));
        }
        return (tensors, storages);
    }

    public static byte[] FromSafetensorsFile(byte[] safetensors, string record = "archive")
    {
        var (tensors, storages) = FromSafetensors(safetensors);
        return Archive(PickleWriter.StateDict(tensors), storages, record);
    }

    /// <summary>Rewrites the sizes an entry declares (local header and central directory) without touching its data.</summary>
    public static byte[] PatchSizes(byte[] zip, string entryName, uint? uncompressed = null, uint? compressed = null)
    {
        byte[] z = (byte[])zip.Clone();
        byte[] name = Encoding.UTF8.GetBytes(entryName);
        int patched = 0;
        for (int i = 0; i + 46 <= z.Length; i++)
        {
            uint sig = BinaryPrimitives.ReadUInt32LittleEndian(z.AsSpan(i));
            if (sig == 0x04034b50 && z.AsSpan(i + 30).StartsWith(name) && BinaryPrimitives.ReadUInt16LittleEndian(z.AsSpan(i + 26)) == name.Length)
            {
                if (compressed is uint c) BinaryPrimitives.WriteUInt32LittleEndian(z.AsSpan(i + 18), c);
                if (uncompressed is uint u) BinaryPrimitives.WriteUInt32LittleEndian(z.AsSpan(i + 22), u);
                patched++;
            }
            else if (sig == 0x02014b50 && z.AsSpan(i + 46).StartsWith(name) && BinaryPrimitives.ReadUInt16LittleEndian(z.AsSpan(i + 28)) == name.Length)
            {
                if (compressed is uint c) BinaryPrimitives.WriteUInt32LittleEndian(z.AsSpan(i + 20), c);
                if (uncompressed is uint u) BinaryPrimitives.WriteUInt32LittleEndian(z.AsSpan(i + 24), u);
                patched++;
            }
        }
        if (patched != 2) throw new InvalidOperationException($"found {patched} headers of '{entryName}', expected 2");
        return z;
    }
}
