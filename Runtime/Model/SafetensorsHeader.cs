using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace RnnRuntime.Model;

/// <summary>One tensor entry of a safetensors header. Offsets are relative to the data section.</summary>
internal sealed record SafetensorsTensor(string Name, string DType, long[] Shape, long Begin, long End)
{
    public long ElementCount
    {
        get
        {
            long n = 1;
            foreach (long d in Shape) n = checked(n * d);
            return n;
        }
    }

    public string ShapeText => "(" + string.Join(", ", Shape) + ")";
}

/// <summary>
/// The parsed and checked header of a safetensors file: 8-byte little-endian header length, a JSON
/// header, then raw little-endian tensor data. Every offset is checked against the real size of the
/// file before anything is read or allocated for it.
/// </summary>
internal sealed class SafetensorsHeader
{
    /// <summary>Refuse headers beyond this: no real state_dict needs one, and a hostile length must not
    /// make us allocate.</summary>
    public const long MaxHeaderBytes = 100L << 20;

    public IReadOnlyDictionary<string, SafetensorsTensor> Tensors { get; }
    public IReadOnlyDictionary<string, string> Metadata { get; }
    /// <summary>Byte offset of the data section in the file.</summary>
    public long DataStart { get; }
    public long DataLength { get; }

    private SafetensorsHeader(Dictionary<string, SafetensorsTensor> tensors, Dictionary<string, string> metadata, long dataStart, long dataLength)
    {
        Tensors = tensors;
        Metadata = metadata;
        DataStart = dataStart;
        DataLength = dataLength;
    }

    public static int ElementSize(string dtype) => dtype switch
    {
        "F64" or "I64" or "U64" => 8,
        "F32" or "I32" or "U32" => 4,
        "F16" or "BF16" or "I16" or "U16" => 2,
        "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
        _ => 0,
    };

    public static SafetensorsHeader Parse(ReadOnlySpan<byte> file)
    {
        if (file.Length < 8)
            throw new RnnModelException($"the file is {file.Length} bytes; a safetensors file starts with an 8-byte header length");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > (ulong)(file.Length - 8))
            throw new RnnModelException($"the header length {headerLength} runs past the end of the file ({file.Length} bytes, so at most {file.Length - 8} header bytes); the file is truncated or not safetensors");
        if (headerLength > MaxHeaderBytes)
            throw new RnnModelException($"the header length {headerLength} exceeds the limit of {MaxHeaderBytes} bytes");
        if (headerLength < 2)
            throw new RnnModelException($"the header length {headerLength} is too small to hold a JSON object");

        long dataStart = 8 + (long)headerLength;
        long dataLength = file.Length - dataStart;
        var tensors = new Dictionary<string, SafetensorsTensor>(StringComparer.Ordinal);
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);

        // The header is small; copying it lets JsonDocument own its memory.
        byte[] json = file.Slice(8, (int)headerLength).ToArray();
        // JSON text is UTF-8 (RFC 8259). The JSON reader does not check the bytes inside strings; they
        // would fail only later, when a name or value is turned into a .NET string.
        if (!Utf8.IsValid(json))
            throw new RnnModelException($"the header is not valid UTF-8: {DescribeInvalidUtf8(json)}");
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            throw new RnnModelException($"the header is not valid JSON: {e.Message}", null, e);
        }
        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
                throw new RnnModelException($"the header must be a JSON object, found {doc.RootElement.ValueKind}");
            bool sawMetadata = false;
            foreach (JsonProperty prop in doc.RootElement.EnumerateObject())
            {
                string name = NameOf(prop, "a top-level key");
                if (name == "__metadata__")
                {
                    if (sawMetadata)
                        throw new RnnModelException("__metadata__ appears twice in the header");
                    sawMetadata = true;
                    ParseMetadata(prop.Value, metadata);
                    continue;
                }
                if (tensors.ContainsKey(name))
                    throw new RnnModelException("appears twice in the header", name);
                tensors.Add(name, ParseTensor(name, prop.Value, dataLength));
            }
        }
        CheckNoOverlap(tensors.Values);
        return new SafetensorsHeader(tensors, metadata, dataStart, dataLength);
    }

    private static void ParseMetadata(JsonElement value, Dictionary<string, string> metadata)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new RnnModelException("__metadata__ must be an object of strings");
        foreach (JsonProperty m in value.EnumerateObject())
        {
            string key = NameOf(m, "a __metadata__ key");
            if (m.Value.ValueKind != JsonValueKind.String)
                throw new RnnModelException($"__metadata__ entry '{key}' must be a string, found {m.Value.ValueKind}");
            if (!metadata.TryAdd(key, TextOf(m.Value, $"__metadata__ entry '{key}'")))
                throw new RnnModelException($"__metadata__ entry '{key}' appears twice");
        }
    }

    /// <summary>A property name as a .NET string. Valid UTF-8 can still hold an escape that names half
    /// of a surrogate pair ("\ud800"), which has no UTF-16 string; the JSON reader throws
    /// InvalidOperationException for it, and that becomes a model error here.</summary>
    private static string NameOf(JsonProperty prop, string what)
    {
        try
        {
            return prop.Name;
        }
        catch (InvalidOperationException e)
        {
            throw new RnnModelException($"the header has {what} that is not valid Unicode (an escape such as \\ud800 names an unpaired surrogate): {Excerpt(prop.ToString())}", null, e);
        }
    }

    /// <summary>A string value as a .NET string; see <see cref="NameOf"/>.</summary>
    private static string TextOf(JsonElement value, string what, string? tensor = null)
    {
        try
        {
            return value.GetString()!;
        }
        catch (InvalidOperationException e)
        {
            throw new RnnModelException($"{what} is not valid Unicode (an escape such as \\ud800 names an unpaired surrogate): {Excerpt(value.GetRawText())}", tensor, e);
        }
    }

    private static string Excerpt(string raw) => raw.Length <= 80 ? raw : raw[..77] + "...";

    /// <summary>Where the first invalid UTF-8 sequence is, for the error message.</summary>
    private static string DescribeInvalidUtf8(ReadOnlySpan<byte> json)
    {
        int offset = 0;
        while (offset < json.Length)
        {
            OperationStatus status = Rune.DecodeFromUtf8(json[offset..], out _, out int consumed);
            if (status != OperationStatus.Done)
            {
                string bytes = Convert.ToHexString(json.Slice(offset, Math.Min(Math.Max(consumed, 1), 4)));
                return $"bytes 0x{bytes} at header offset {offset} (file offset {offset + 8}) are not a UTF-8 sequence";
            }
            offset += consumed;
        }
        return "an invalid sequence";
    }

    private static SafetensorsTensor ParseTensor(string name, JsonElement value, long dataLength)
    {
        if (value.ValueKind != JsonValueKind.Object)
            throw new RnnModelException("header entry must be an object with dtype, shape and data_offsets", name);
        // One pass over the keys, by name: JsonElement.TryGetProperty unescapes every key it compares
        // and would throw InvalidOperationException on one like "\ud800"; NameOf turns that into a
        // model error. A key given twice is ambiguous (readers differ on which one wins): refused.
        JsonElement? dtypeKey = null, shapeKey = null, offsetsKey = null;
        foreach (JsonProperty p in value.EnumerateObject())
        {
            string key = NameOf(p, "a key");
            ref JsonElement? slot = ref dtypeKey;
            if (key == "dtype") slot = ref dtypeKey;
            else if (key == "shape") slot = ref shapeKey;
            else if (key == "data_offsets") slot = ref offsetsKey;
            else continue;   // other keys are ignored
            if (slot is not null)
                throw new RnnModelException($"'{key}' appears twice in the header entry", name);
            slot = p.Value;
        }
        if (dtypeKey is not { ValueKind: JsonValueKind.String } dtypeEl)
            throw new RnnModelException("missing or non-string 'dtype'", name);
        if (shapeKey is not { ValueKind: JsonValueKind.Array } shapeEl)
            throw new RnnModelException("missing or non-array 'shape'", name);
        if (offsetsKey is not { ValueKind: JsonValueKind.Array } offEl || offEl.GetArrayLength() != 2)
            throw new RnnModelException("'data_offsets' must be an array [begin, end]", name);

        string dtype = TextOf(dtypeEl, "'dtype'", name);
        var shape = new long[shapeEl.GetArrayLength()];
        int i = 0;
        foreach (JsonElement d in shapeEl.EnumerateArray())
        {
            if (d.ValueKind != JsonValueKind.Number || !d.TryGetInt64(out long dim) || dim < 0)
                throw new RnnModelException($"shape entries must be non-negative integers, found {d.GetRawText()}", name);
            shape[i++] = dim;
        }
        long begin = ReadOffset(name, offEl[0]);
        long end = ReadOffset(name, offEl[1]);
        if (begin > end)
            throw new RnnModelException($"data_offsets [{begin}, {end}] has begin after end", name);
        if (end > dataLength)
            throw new RnnModelException($"data_offsets [{begin}, {end}] run past the end of the data section ({dataLength} bytes); the file is truncated or the offsets are wrong", name);

        var tensor = new SafetensorsTensor(name, dtype, shape, begin, end);
        int esize = ElementSize(dtype);
        if (esize != 0)
        {
            long count;
            try { count = tensor.ElementCount; }
            catch (OverflowException) { throw new RnnModelException($"shape {tensor.ShapeText} is too large", name); }
            if (count > long.MaxValue / esize || count * esize != end - begin)
                throw new RnnModelException($"shape {tensor.ShapeText} of {dtype} needs {count} x {esize} bytes but data_offsets [{begin}, {end}] hold {end - begin}", name);
        }
        return tensor;
    }

    private static long ReadOffset(string name, JsonElement e)
    {
        if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt64(out long v) || v < 0)
            throw new RnnModelException($"data_offsets entries must be non-negative integers, found {e.GetRawText()}", name);
        return v;
    }

    private static void CheckNoOverlap(IEnumerable<SafetensorsTensor> tensors)
    {
        SafetensorsTensor? previous = null;
        foreach (SafetensorsTensor t in tensors.Where(t => t.End > t.Begin).OrderBy(t => t.Begin))
        {
            if (previous is not null && t.Begin < previous.End)
                throw new RnnModelException($"data_offsets [{t.Begin}, {t.End}] overlap those of '{previous.Name}' [{previous.Begin}, {previous.End}]", t.Name);
            previous = t;
        }
    }

    /// <summary>Reads a tensor as float32, converting F16, BF16 and F64 (refusing a float64 value that
    /// overflows float32). Integer and bool tensors are refused by name: weights are floating point.</summary>
    public float[] ReadFloats(ReadOnlySpan<byte> file, SafetensorsTensor t)
    {
        switch (t.DType)
        {
            case "F32" or "F16" or "BF16" or "F64":
                break;
            case "BOOL":
                throw new RnnModelException("dtype BOOL is a bool tensor; weights must be floating point (F32, F16, BF16 or F64)", t.Name);
            case ['I' or 'U', ..] when ElementSize(t.DType) != 0:
                throw new RnnModelException($"dtype {t.DType} is an integer tensor; weights must be floating point (F32, F16, BF16 or F64)", t.Name);
            default:
                throw new RnnModelException($"dtype {t.DType} is not supported; expected F32, F16, BF16 or F64", t.Name);
        }
        ReadOnlySpan<byte> bytes = file.Slice((int)(DataStart + t.Begin), (int)(t.End - t.Begin));
        long count = t.ElementCount;
        var result = new float[count];
        switch (t.DType)
        {
            case "F32":
                MemoryMarshal.Cast<byte, float>(bytes).CopyTo(result);
                break;
            case "F16":
                ReadOnlySpan<Half> halves = MemoryMarshal.Cast<byte, Half>(bytes);
                for (int i = 0; i < result.Length; i++) result[i] = (float)halves[i];
                break;
            case "BF16":
                ReadOnlySpan<ushort> bf = MemoryMarshal.Cast<byte, ushort>(bytes);
                for (int i = 0; i < result.Length; i++) result[i] = BitConverter.Int32BitsToSingle(bf[i] << 16);
                break;
            case "F64":
                ReadOnlySpan<double> doubles = MemoryMarshal.Cast<byte, double>(bytes);
                for (int i = 0; i < result.Length; i++)
                {
                    float f = (float)doubles[i];
                    if (float.IsInfinity(f) && double.IsFinite(doubles[i]))
                        throw new RnnModelException($"F64 value {doubles[i].ToString("R", System.Globalization.CultureInfo.InvariantCulture)} at {Index(i)} overflows float32 (largest {float.MaxValue.ToString("R", System.Globalization.CultureInfo.InvariantCulture)})", t.Name);
                    result[i] = f;
                }
                break;
        }
        return result;

        // [i, j, ...] of flat element i in the tensor's shape.
        string Index(long flat)
        {
            var at = new long[Math.Max(t.Shape.Length, 1)];
            for (int d = t.Shape.Length - 1; d >= 0; d--)
            {
                if (t.Shape[d] == 0) break;
                at[d] = flat % t.Shape[d];
                flat /= t.Shape[d];
            }
            return "[" + string.Join(", ", at) + "]";
        }
    }
}
