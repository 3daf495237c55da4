using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace RnnRuntime.Model;

/// <summary>Writes float32 tensors as a safetensors file. Used by tests and benchmarks to make
/// models; PyTorch-made files are what users bring.</summary>
public static class SafetensorsWriter
{
    public static byte[] Write(IEnumerable<(string Name, int[] Shape, float[] Data)> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var list = tensors.ToList();
        using var header = new MemoryStream();
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            if (metadata is { Count: > 0 })
            {
                w.WriteStartObject("__metadata__");
                foreach (var (k, v) in metadata) w.WriteString(k, v);
                w.WriteEndObject();
            }
            long offset = 0;
            foreach (var (name, shape, data) in list)
            {
                long expected = shape.Aggregate(1L, (a, d) => a * d);
                if (expected != data.Length)
                    throw new ArgumentException($"tensor '{name}': shape ({string.Join(", ", shape)}) holds {expected} values but {data.Length} were given");
                w.WriteStartObject(name);
                w.WriteString("dtype", "F32");
                w.WriteStartArray("shape");
                foreach (int d in shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(offset + data.Length * 4L);
                w.WriteEndArray();
                w.WriteEndObject();
                offset += data.Length * 4L;
            }
            w.WriteEndObject();
        }
        // Pad the header with spaces to 8 bytes, as the reference implementation does.
        int pad = (int)((8 - header.Length % 8) % 8);
        for (int i = 0; i < pad; i++) header.WriteByte((byte)' ');

        using var file = new MemoryStream();
        Span<byte> len = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(len, (ulong)header.Length);
        file.Write(len);
        header.Position = 0;
        header.CopyTo(file);
        foreach (var (_, _, data) in list) file.Write(MemoryMarshal.AsBytes(data.AsSpan()));
        return file.ToArray();
    }

    public static string Describe(byte[] file) => Encoding.UTF8.GetString(file, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(file));
}
