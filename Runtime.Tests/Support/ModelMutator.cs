using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace RnnRuntime.Tests.Support;

/// <summary>
/// Seeded, reproducible mutations of a valid safetensors file, aimed at the loader: most land in the
/// header (the data section is plain numbers). One case = at most one structural edit of the header
/// JSON (the file is rewritten with a matching header length) followed by up to three byte-level
/// edits. <see cref="Mutate"/> with the same file, seed and case number always gives the same bytes.
/// </summary>
public sealed class ModelMutator
{
    private readonly byte[] _original;
    private readonly int _headerLength;
    private readonly string _header;
    private readonly List<(int Start, int End)> _strings = new();   // file offsets of string contents (inside the quotes)
    private readonly List<(int Start, int End)> _numbers = new();   // file offsets of number literals
    private readonly List<(string Key, string Value)> _entries = new();   // top-level members, raw JSON

    private static readonly byte[] InterestingBytes =
        [0x00, 0x01, 0x08, 0x09, 0x0A, 0x1F, 0x20, 0x22, 0x2C, 0x2D, 0x2E, 0x30, 0x31, 0x39, 0x3A, 0x5B, 0x5C, 0x5D,
         0x65, 0x7B, 0x7D, 0x7F, 0x80, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xF8, 0xFE, 0xFF];

    private static readonly byte[] StringBytes =
        [0x80, 0x9F, 0xA0, 0xBF, 0xC0, 0xC1, 0xC3, 0xE0, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF, 0x00, 0x01, 0x1F, 0x7F, 0x22, 0x5C];

    private static readonly string[] Escapes =
        [@"\ud800", @"\udfff", @"\ud800\u0041", @"\udbff\udbff", @"\u0000", @"\u00e9", @"\\", @"\""", @"\/", @"\x", @"\u12", "\u00e9", "\U0001F600"];

    private static readonly string[] Numbers =
        ["-1", "0", "-0", "1", "1.5", "1e2", "1e400", "-1e400", "2147483647", "2147483648", "4294967295", "4294967296",
         "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
         "99999999999999999999999999999999", "65536", "65537", "1048577", "3", "0.0", "1E-5", "01", "+1", "NaN", "true", "null", "\"4\""];

    private static readonly string[] DTypes =
        ["F32", "F16", "BF16", "F64", "I8", "U8", "I32", "I64", "BOOL", "F8_E4M3", "", "f32", "F32 ", "F\u00e9"];

    private static readonly string[] Values =
        ["[[[[[[[[[[1]]]]]]]]]]", "{}", "[]", "null", "\"\"", "1", "{\"dtype\":\"F32\"}", "{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,0]}",
         "{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}", "{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0],\"dtype\":\"F16\"}"];

    private static readonly string[] Metadata =
        ["{\"nonlinearity\":\"relu\"}", "{\"nonlinearity\":\"gelu\"}", "{\"nonlinearity\":1}", "{\"hidden_size\":\"x\"}", "{\"cell\":\"LSTM\"}",
         "{\"num_layers\":\"99\"}", "{\"bidirectional\":\"true\"}", "{\"a\":\"1\",\"a\":\"2\"}", "[]", "\"x\"", "{\"\\ud800\":\"x\"}", "{\"x\":\"\\udc00\"}"];

    public ModelMutator(string name, byte[] file)
    {
        Name = name;
        _original = file;
        _headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(file);
        _header = Encoding.UTF8.GetString(file, 8, _headerLength);
        Scan();
        using JsonDocument doc = JsonDocument.Parse(file.AsMemory(8, _headerLength));
        foreach (JsonProperty p in doc.RootElement.EnumerateObject())
            _entries.Add((p.Name, p.Value.GetRawText()));
    }

    public string Name { get; }

    /// <summary>A stable 32-bit seed for (seed, file name, case): FNV-1a, not string.GetHashCode (randomised per process).</summary>
    public static int CaseSeed(int seed, string name, int index)
    {
        uint h = 2166136261;
        foreach (char c in name) h = (h ^ c) * 16777619;
        h = (h ^ (uint)seed) * 16777619;
        h = (h ^ (uint)index) * 16777619;
        h ^= h >> 15; h *= 0x2C1B3C6D; h ^= h >> 12;
        return (int)(h & 0x7FFFFFFF);
    }

    /// <summary>The bytes of case <paramref name="index"/> and what was done to them.</summary>
    public (byte[] Bytes, string What) Mutate(int seed, int index)
    {
        var rng = new Random(CaseSeed(seed, Name, index));
        var what = new StringBuilder();
        byte[] file = _original;
        if (rng.Next(100) < 45)
            file = Structural(rng, what);
        int edits = 1 + rng.Next(3);
        if (!ReferenceEquals(file, _original) && rng.Next(2) == 0) edits = 0;
        if (ReferenceEquals(file, _original)) file = (byte[])file.Clone();
        for (int e = 0; e < edits; e++)
            file = ByteLevel(rng, file, what);
        return (file, what.ToString().TrimEnd(';', ' '));
    }

    // ---------------------------------------------------------------------------------- byte level

    private byte[] ByteLevel(Random rng, byte[] file, StringBuilder what)
    {
        int len = file.Length;
        if (len == 0) return file;
        switch (rng.Next(10))
        {
            case 0:
            case 1:
            {
                int pos = Position(rng, file);
                int bit = rng.Next(8);
                file[pos] ^= (byte)(1 << bit);
                what.Append($"flip bit {bit} of byte {pos}; ");
                return file;
            }
            case 2:
            case 3:
            {
                int pos = Position(rng, file);
                byte v = InterestingBytes[rng.Next(InterestingBytes.Length)];
                file[pos] = v;
                what.Append($"byte {pos} = 0x{v:X2}; ");
                return file;
            }
            case 4:
            case 5:
            {
                // A byte inside a JSON string of the original header (where the UTF-8 bug lived).
                if (_strings.Count == 0) goto case 0;
                var (start, end) = _strings[rng.Next(_strings.Count)];
                if (end <= start || end > len) goto case 0;
                int pos = start + rng.Next(end - start);
                byte v = rng.Next(3) == 0 ? (byte)rng.Next(256) : StringBytes[rng.Next(StringBytes.Length)];
                file[pos] = v;
                what.Append($"string byte {pos} = 0x{v:X2}; ");
                return file;
            }
            case 6:
            {
                int hl = HeaderSpan(file);
                int cut = rng.Next(3) == 0 ? rng.Next(len) : Math.Min(len - 1, rng.Next(Math.Min(len, hl + 16)));
                what.Append($"truncate to {cut} bytes; ");
                return file[..cut];
            }
            case 7:
            {
                if (len < 8) goto case 0;
                ulong hl = BinaryPrimitives.ReadUInt64LittleEndian(file);
                ulong[] values = [0, 1, 2, hl - 1, hl + 1, hl - 2, hl + 8, (ulong)len - 8, (ulong)len - 7, (ulong)len, hl / 2,
                                  int.MaxValue, (ulong)int.MaxValue + 1, uint.MaxValue, (1UL << 32) + hl, (100UL << 20) + 1, long.MaxValue, ulong.MaxValue,
                                  hl + (ulong)rng.Next(-64, 64)];
                ulong v = values[rng.Next(values.Length)];
                BinaryPrimitives.WriteUInt64LittleEndian(file, v);
                what.Append($"header length = {v}; ");
                return file;
            }
            case 8:
            {
                // Overwrite a run of header bytes with another run of the same header.
                int hl = HeaderSpan(file);
                if (hl < 4) goto case 0;
                int n = 1 + rng.Next(Math.Min(32, hl / 2));
                int from = 8 + rng.Next(hl - n), to = 8 + rng.Next(hl - n);
                Array.Copy(file, from, file, to, n);
                what.Append($"copy {n} header bytes from {from} to {to}; ");
                return file;
            }
            default:
            {
                int pos = Position(rng, file);
                int n = Math.Min(len - pos, 1 + rng.Next(8));
                rng.NextBytes(file.AsSpan(pos, n));
                what.Append($"{n} random bytes at {pos}; ");
                return file;
            }
        }
    }

    /// <summary>The header's extent as the file says (clamped to the file): mutations aim there.</summary>
    private static int HeaderSpan(byte[] file)
    {
        if (file.Length < 8) return 0;
        ulong hl = BinaryPrimitives.ReadUInt64LittleEndian(file);
        return (int)Math.Min(hl, (ulong)(file.Length - 8));
    }

    private static int Position(Random rng, byte[] file)
    {
        int hl = HeaderSpan(file);
        return rng.Next(100) < 85 ? rng.Next(Math.Max(1, Math.Min(file.Length, 8 + hl))) : rng.Next(file.Length);
    }

    // ---------------------------------------------------------------------------------- structural

    private byte[] Structural(Random rng, StringBuilder what)
    {
        string h = _header;
        switch (rng.Next(11))
        {
            case 0:
            case 1:
            {
                // An escape or non-ASCII text inserted into a string.
                if (_strings.Count == 0) goto case 2;
                var (start, end) = _strings[rng.Next(_strings.Count)];
                int at = start - 8 + rng.Next(end - start + 1);
                string esc = Escapes[rng.Next(Escapes.Length)];
                what.Append($"insert {esc} at header offset {at}; ");
                h = h.Insert(Utf16Index(at), esc);
                break;
            }
            case 2:
            case 3:
            {
                // A number literal replaced (huge, negative, fractional, or not a number).
                if (_numbers.Count == 0) goto case 4;
                var (start, end) = _numbers[rng.Next(_numbers.Count)];
                string n = Numbers[rng.Next(Numbers.Length)];
                what.Append($"number at header offset {start - 8} = {n}; ");
                h = h[..Utf16Index(start - 8)] + n + h[Utf16Index(end - 8)..];
                break;
            }
            case 4:
            {
                // A top-level entry twice.
                var (k, v) = _entries[rng.Next(_entries.Count)];
                string dup = rng.Next(2) == 0 ? v : _entries[rng.Next(_entries.Count)].Value;
                what.Append($"duplicate key '{k}'; ");
                h = h.TrimEnd()[..^1] + "," + JsonSerializer.Serialize(k) + ":" + dup + "}";
                break;
            }
            case 5:
            {
                // A key twice inside a tensor entry.
                var (k, v) = _entries[rng.Next(_entries.Count)];
                string[] keys = ["\"dtype\":\"F32\"", "\"dtype\":\"F16\"", "\"shape\":[1]", "\"shape\":[]", "\"data_offsets\":[0,0]", "\"data_offsets\":[0,4]", "\"x\":1"];
                string add = keys[rng.Next(keys.Length)];
                int brace = v.IndexOf('{');
                if (brace < 0) goto case 4;
                string nv = rng.Next(2) == 0 ? v.Insert(brace + 1, add + ",") : v.TrimEnd()[..^1] + "," + add + "}";
                what.Append($"entry '{k}' gets {add}; ");
                h = Rebuild(_entries.Select(e => e.Key == k && e.Value == v ? (e.Key, nv) : e));
                break;
            }
            case 6:
            {
                var (k, v) = _entries[rng.Next(_entries.Count)];
                string nv = Values[rng.Next(Values.Length)];
                what.Append($"entry '{k}' = {nv}; ");
                h = Rebuild(_entries.Select(e => e.Key == k ? (e.Key, nv) : e));
                break;
            }
            case 7:
            {
                var (k, _) = _entries[rng.Next(_entries.Count)];
                string dt = DTypes[rng.Next(DTypes.Length)];
                what.Append($"entry '{k}' dtype {dt}; ");
                h = Rebuild(_entries.Select(e => e.Key == k ? (e.Key, ReplaceDtype(e.Value, dt)) : e));
                break;
            }
            case 8:
            {
                string m = Metadata[rng.Next(Metadata.Length)];
                what.Append($"__metadata__ {m}; ");
                var rest = _entries.Where(e => e.Key != "__metadata__").ToList();
                rest.Insert(rng.Next(rest.Count + 1), ("__metadata__", m));
                if (rng.Next(4) == 0) rest.Add(("__metadata__", "{}"));
                h = Rebuild(rest);
                break;
            }
            case 9:
            {
                // Entries dropped, reordered, or offsets of two entries swapped.
                var list = _entries.ToList();
                int a = rng.Next(list.Count), b = rng.Next(list.Count);
                if (rng.Next(2) == 0)
                {
                    what.Append($"drop entry '{list[a].Key}'; ");
                    list.RemoveAt(a);
                }
                else
                {
                    what.Append($"swap values of '{list[a].Key}' and '{list[b].Key}'; ");
                    (list[a], list[b]) = ((list[a].Key, list[b].Value), (list[b].Key, list[a].Value));
                }
                h = Rebuild(list);
                break;
            }
            default:
            {
                // A run of header text deleted or duplicated.
                int at = rng.Next(h.Length), n = 1 + rng.Next(Math.Min(64, h.Length - at));
                if (rng.Next(2) == 0) { what.Append($"delete {n} header chars at {at}; "); h = h.Remove(at, n); }
                else { what.Append($"repeat {n} header chars at {at}; "); h = h.Insert(at, h.Substring(at, n)); }
                break;
            }
        }
        byte[] json = Encoding.UTF8.GetBytes(h);
        int data = _original.Length - 8 - _headerLength;
        var file = new byte[8 + json.Length + data];
        BinaryPrimitives.WriteUInt64LittleEndian(file, (ulong)json.Length);
        json.CopyTo(file, 8);
        Array.Copy(_original, 8 + _headerLength, file, 8 + json.Length, data);
        return file;
    }

    private static string Rebuild(IEnumerable<(string Key, string Value)> entries) =>
        "{" + string.Join(",", entries.Select(e => JsonSerializer.Serialize(e.Key) + ":" + e.Value)) + "}";

    private static string ReplaceDtype(string value, string dtype)
    {
        int i = value.IndexOf("\"dtype\"", StringComparison.Ordinal);
        if (i < 0) return value;
        int q1 = value.IndexOf('"', value.IndexOf(':', i) + 1), q2 = value.IndexOf('"', q1 + 1);
        return value[..(q1 + 1)] + dtype + value[q2..];
    }

    /// <summary>UTF-16 index of a UTF-8 offset into the (valid) header.</summary>
    private int Utf16Index(int utf8Offset) => Encoding.UTF8.GetCharCount(_original, 8, Math.Min(utf8Offset, _headerLength));

    private void Scan()
    {
        int end = 8 + _headerLength;
        for (int i = 8; i < end; i++)
        {
            byte c = _original[i];
            if (c == '"')
            {
                int start = i + 1, j = start;
                while (j < end && _original[j] != '"') j += _original[j] == '\\' ? 2 : 1;
                _strings.Add((start, Math.Min(j, end)));
                i = j;
            }
            else if (c == '-' || (c >= '0' && c <= '9'))
            {
                int j = i;
                while (j < end && "+-.eE0123456789".IndexOf((char)_original[j]) >= 0) j++;
                _numbers.Add((i, j));
                i = j - 1;
            }
        }
    }
}
