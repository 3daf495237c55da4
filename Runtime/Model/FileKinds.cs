using System.Buffers.Binary;
using System.Text;
using System.Text.Unicode;

namespace RnnRuntime.Model;

/// <summary>
/// Says what a file that is not a model is (ONNX, numpy, HDF5, GGUF, text), so that loading one fails
/// with its name instead of a safetensors header length read from its first bytes. Only files that
/// cannot be safetensors or torch.save are looked at; anything it does not know goes on to the
/// safetensors parser and its own message.
/// </summary>
internal static class FileKinds
{
    private const string Reads = "rnnrt reads .safetensors files (rnnrt.save or safetensors.torch.save_file) and torch.save .pt/.pth files of a state_dict";

    /// <summary>Why the file is not a model, or null where it may be one.</summary>
    public static string? NotAModel(ReadOnlySpan<byte> file)
    {
        if (file.Length < 8) return null;   // too short for anything: the safetensors parser's size message says so
        if (file.Length >= 9 && file[8] == (byte)'{' && BinaryPrimitives.ReadUInt64LittleEndian(file) <= (ulong)(file.Length - 8))
            return null;   // a safetensors header
        if (file.Length >= 6 && file[0] == 0x93 && file[1..6].SequenceEqual("NUMPY"u8))
            return $"this is a numpy array (.npy, numpy.save), not a model; {Reads}";
        if (file.Length >= 30 && file.StartsWith("PK\x03\x04"u8))
        {
            int nameLength = BinaryPrimitives.ReadUInt16LittleEndian(file[26..]);
            if (30 + nameLength <= file.Length && file.Slice(30, nameLength).EndsWith(".npy"u8))
                return $"this is a numpy archive of arrays (.npz, numpy.savez), not a model; {Reads}";
            return null;   // a torch.save zip, or TorchArchive says what else
        }
        if (file.Length >= 8 && file[0] == 0x89 && file[1..8].SequenceEqual("HDF\r\n\x1a\n"u8))
            return $"this is an HDF5 file (a Keras .h5 model?), which rnnrt does not read; {Reads}";
        if (file.StartsWith("GGUF"u8))
            return $"this is a GGUF file (llama.cpp), not a recurrent network rnnrt reads; {Reads}";
        if (Onnx(file) is string onnx)
            return $"this is an ONNX model ({onnx}), which rnnrt does not read yet; export the PyTorch network with rnnrt.save(model, path) instead, or save its state_dict with torch.save";
        if (Text(file) is string text)
            return $"this is {text}, not a model; {Reads}";
        return null;
    }

    /// <summary>The refusal of a directory (opening one fails with "access denied"), with the model files in
    /// it: an IOException's message (RNNRT_IO in C), since it is the path that is wrong, not a file's bytes.</summary>
    public static string Directory(string path)
    {
        string[] models;
        try
        {
            models = [.. System.IO.Directory.EnumerateFiles(path)
                .Where(f => Path.GetExtension(f) is ".safetensors" or ".pt" or ".pth" or ".bin" or ".ckpt")
                .Select(Path.GetFileName).Order(StringComparer.Ordinal).Take(7)!];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            models = [];
        }
        return $"'{path}' is a directory, not a model file; give the path of the model file" +
               (models.Length > 0 ? $" in it ({string.Join(", ", models.Take(6))}{(models.Length > 6 ? ", ..." : "")})" : " (a .safetensors or torch.save .pt/.pth file)");
    }

    /// <summary>An ONNX ModelProto starts with field 1 (ir_version, a small varint) and, from every
    /// exporter, a string field next (producer_name, domain...) or the graph.</summary>
    private static string? Onnx(ReadOnlySpan<byte> file)
    {
        if (file.Length < 4 || file[0] != 0x08 || file[1] is 0 or > 30) return null;
        byte tag = file[2];
        if (tag is not (0x12 or 0x1a or 0x22 or 0x2a or 0x32 or 0x3a or 0x42)) return null;
        string what = $"ir_version {file[1]}";
        if (tag == 0x12 && file[3] < 0x80 && 4 + file[3] <= file.Length && Utf8.IsValid(file.Slice(4, file[3])))
            what += $", producer '{Encoding.UTF8.GetString(file.Slice(4, file[3]))}'";
        return what;
    }

    /// <summary>"a JSON text file (it starts '{"a"...')" or "a text file (...)" where the first bytes are UTF-8 text.</summary>
    private static string? Text(ReadOnlySpan<byte> file)
    {
        ReadOnlySpan<byte> head = file[..Math.Min(file.Length, 512)];
        if (head.IsEmpty) return null;
        foreach (byte b in head)
            if (b < 0x20 && b is not ((byte)'\t' or (byte)'\n' or (byte)'\r') || b == 0x7f) return null;
        // The 512-byte cut may split a character: up to 3 trailing bytes may be incomplete.
        int valid = head.Length;
        while (valid > head.Length - 4 && valid > 0 && !Utf8.IsValid(head[..valid])) valid--;
        if (!Utf8.IsValid(head[..valid])) return null;
        string start = Encoding.UTF8.GetString(head[..valid]).Trim();
        string shown = start.Length > 40 ? start[..40].ReplaceLineEndings(" ") + "..." : start.ReplaceLineEndings(" ");
        return start.StartsWith('{') || start.StartsWith('[')
            ? $"a JSON text file (it starts '{shown}')"
            : $"a text file (it starts '{shown}')";
    }
}
