using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace RnnRuntime.Model;

/// <summary>Writes tensors as a safetensors file: float32 ones for tests and benchmarks, any dtype
/// for the in-memory image of a torch.save file (<see cref="Torch.TorchArchive"/>).</summary>
internal static class SafetensorsWriter
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

    /// <summary>Fills the data of tensor <paramref name="index"/> (its exact byte length, little-endian).</summary>
    public delegate void FillTensor(int index, Span<byte> destination);

    /// <summary>Writes tensors of any safetensors dtype into one buffer allocated once: the header from
    /// names, dtypes and shapes, then each tensor's bytes from <paramref name="fill"/>, in list order.
    /// Used to hand a torch.save file to the safetensors loader.</summary>
    public static byte[] WriteRaw(IReadOnlyList<(string Name, string DType, long[] Shape)> tensors, FillTensor fill)
    {
        var lengths = new long[tensors.Count];
        using var header = new MemoryStream();
        using (var w = new Utf8JsonWriter(header))
        {
            w.WriteStartObject();
            long offset = 0;
            for (int i = 0; i < tensors.Count; i++)
            {
                var (name, dtype, shape) = tensors[i];
                int esize = SafetensorsHeader.ElementSize(dtype);
                if (esize == 0) throw new ArgumentException($"tensor '{name}': dtype {dtype} is not a safetensors dtype");
                long count = 1;
                foreach (long d in shape) count = checked(count * d);
                lengths[i] = checked(count * esize);
                w.WriteStartObject(name);
                w.WriteString("dtype", dtype);
                w.WriteStartArray("shape");
                foreach (long d in shape) w.WriteNumberValue(d);
                w.WriteEndArray();
                w.WriteStartArray("data_offsets");
                w.WriteNumberValue(offset);
                w.WriteNumberValue(checked(offset + lengths[i]));
                w.WriteEndArray();
                w.WriteEndObject();
                offset = checked(offset + lengths[i]);
            }
            w.WriteEndObject();
        }
        long pad = (8 - header.Length % 8) % 8;
        long headerLength = header.Length + pad;
        long total = checked(8 + headerLength + lengths.Sum());
        if (total > Array.MaxLength) throw new ArgumentException($"{total} bytes of tensors do not fit one buffer");
        var file = new byte[total];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)headerLength);
        header.GetBuffer().AsSpan(0, (int)header.Length).CopyTo(file.AsSpan(8));
        file.AsSpan(8 + (int)header.Length, (int)pad).Fill((byte)' ');
        long at = 8 + headerLength;
        for (int i = 0; i < tensors.Count; i++)
        {
            fill(i, file.AsSpan((int)at, (int)lengths[i]));
            at += lengths[i];
        }
        return file;
    }

    public static string Describe(byte[] file) => Encoding.UTF8.GetString(file, 8, (int)BinaryPrimitives.ReadUInt64LittleEndian(file));
}
