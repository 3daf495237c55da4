using System.Buffers.Binary;
using System.Text;

namespace RnnRuntime.Model.Torch;

/// <summary>A storage type global (torch.FloatStorage, ...): the element type a storage holds.</summary>
internal sealed record TorchStorageType(string Global, string DType, int ElementSize);

/// <summary>A storage reached through a persistent id: <c>('storage', torch.FloatStorage, key, location, numel)</c>.
/// Its bytes are the zip entry <c>&lt;record&gt;/data/&lt;key&gt;</c>.</summary>
internal sealed record TorchStorage(TorchStorageType Type, string Key, long Numel);

/// <summary>A tensor as <c>torch._utils._rebuild_tensor_v2</c> describes it: a view of a storage (offset,
/// sizes and strides in elements). Nothing has been read or checked against the storage yet.</summary>
internal sealed record TorchTensorRef(TorchStorage Storage, long Offset, long[] Size, long[] Stride);

/// <summary>
/// A restricted unpickler for the <c>data.pkl</c> of a torch.save zip. It understands exactly what a
/// state_dict (or a checkpoint dict of them) is made of: dicts and <c>collections.OrderedDict</c>, lists,
/// tuples, str, int, float, bool, None, bytes, the persistent ids of storages,
/// <c>torch._utils._rebuild_tensor_v2</c>, <c>_rebuild_parameter</c> (and <c>_rebuild_parameter_with_state</c>)
/// and the storage type globals. Any other global (a module's class from torch.save(model), os.system,
/// builtins.eval, ...) is refused by name the moment the pickle names it: nothing is ever looked up,
/// imported, instantiated or called. REDUCE can only reach the few callables above, each reimplemented
/// here as data (a dict, a tensor description).
/// </summary>
/// <remarks>
/// Hand-written rather than Razorvine.Pickle 1.5.0 (NuGet), on evidence: Razorvine's unpickler turns any
/// global it does not know into a generic ClassDict instead of refusing it (refusing needs the
/// process-wide static constructor table, shared with every other user of the package in the process);
/// its BUILD calls <c>__setstate__</c> through reflection (<c>GetMethod</c> + <c>Invoke</c>), and the
/// OrderedDict of every state_dict ends in a BUILD; the package is netstandard2.0 without trimming or
/// AOT annotations, and a NativeAOT publish of a program using it warns IL2104 ("Assembly
/// 'Razorvine.Pickle' produced trim warnings"); out of the box it stops at _rebuild_tensor_v2
/// ("expected zero arguments for construction of ClassDict"), so every torch callable would need a
/// registered constructor anyway; its memo and stack are unbounded. What a state_dict needs is about 40 opcodes; this reader is small enough to audit.
/// Limits (memo, stack, marks, nesting) keep a hostile pickle from making it allocate without bound.
/// </remarks>
internal sealed class StateDictUnpickler
{
    // Limits: a state_dict pickle makes about 20 values per tensor, keeps a few thousand on the stack
    // (pickle batches SETITEMS by 1000) and memoizes about 10 per tensor. A hostile pickle's values are
    // bounded by its bytes anyway; these caps bound the constant (a value here is 30-100 bytes).
    public const int MaxMemoIndex = 1 << 20;
    public const int MaxStack = 1 << 17;
    public const int MaxMarks = 256;
    public const int MaxValues = 1 << 20;
    public const int MaxProtocol = 5;

    /// <summary>The storage type globals: float ones load; integer and bool ones parse, and a module
    /// that uses one is refused by name when its weights are read.</summary>
    private static readonly Dictionary<string, TorchStorageType> StorageTypes = new TorchStorageType[]
    {
        new("torch.FloatStorage", "F32", 4), new("torch.HalfStorage", "F16", 2), new("torch.BFloat16Storage", "BF16", 2),
        new("torch.DoubleStorage", "F64", 8), new("torch.LongStorage", "I64", 8), new("torch.IntStorage", "I32", 4),
        new("torch.ShortStorage", "I16", 2), new("torch.CharStorage", "I8", 1), new("torch.ByteStorage", "U8", 1),
        new("torch.BoolStorage", "BOOL", 1),
    }.ToDictionary(t => t.Global, StringComparer.Ordinal);

    private enum Callable { OrderedDict, RebuildTensorV2, RebuildParameter, RebuildParameterWithState }

    private static readonly Dictionary<string, Callable> Callables = new(StringComparer.Ordinal)
    {
        ["collections.OrderedDict"] = Callable.OrderedDict,
        ["torch._utils._rebuild_tensor_v2"] = Callable.RebuildTensorV2,
        ["torch._utils._rebuild_parameter"] = Callable.RebuildParameter,
        ["torch._utils._rebuild_parameter_with_state"] = Callable.RebuildParameterWithState,
    };

    /// <summary>A global the pickle named and this reader allows (never anything else).</summary>
    private sealed record Global(string Name, Callable? Function, TorchStorageType? Storage);

    /// <summary>A Python dict (or OrderedDict): insertion order, a later value for the same key replaces
    /// the earlier one as in Python.</summary>
    internal sealed class PickleDict
    {
        private Dictionary<object, int>? _index;   // made once the dict outgrows a linear search
        public List<KeyValuePair<object?, object?>> Items { get; } = new();

        public void Set(object? key, object? value)
        {
            int i = IndexOf(key);
            if (i >= 0) { Items[i] = new(key, value); return; }
            _index?.Add(key ?? NoneKey, Items.Count);
            Items.Add(new(key, value));
            if (_index is null && Items.Count > 8)
            {
                _index = new Dictionary<object, int>(Items.Count * 2);
                for (int j = 0; j < Items.Count; j++) _index[Items[j].Key ?? NoneKey] = j;
            }
        }

        private int IndexOf(object? key)
        {
            if (_index is not null) return _index.TryGetValue(key ?? NoneKey, out int i) ? i : -1;
            for (int j = 0; j < Items.Count; j++) if (Equals(Items[j].Key, key)) return j;
            return -1;
        }

        private static readonly object NoneKey = new();
    }

    internal sealed record PickleTuple(object?[] Items);

    /// <summary>bytes / bytearray values: kept as their length only (no state_dict tensor is made of them).</summary>
    internal sealed record PickleBytes(long Length);

    /// <summary>An integer wider than 64 bits: a leaf that nothing reads.</summary>
    internal sealed record PickleBigInt(int ByteCount);

    private readonly string _entry;
    private readonly byte[] _data;
    private int _pos;
    private readonly List<object?> _stack = new();
    private readonly List<int> _marks = new();
    private readonly Dictionary<int, object?> _memo = new();
    private int _values;
    private static readonly UTF8Encoding StrictUtf8 = new(false, true);

    private StateDictUnpickler(string entry, byte[] data)
    {
        _entry = entry;
        _data = data;
    }

    /// <summary>Unpickles <paramref name="pickle"/> (the zip entry <paramref name="entry"/>, for messages).</summary>
    public static object? Load(string entry, byte[] pickle) => new StateDictUnpickler(entry, pickle).Run();

    private RnnModelException Fail(string what, int at) => new($"'{_entry}' at byte {at}: {what}");

    private object? Run()
    {
        while (true)
        {
            if (_pos >= _data.Length) throw Fail("the pickle ends without a STOP opcode; the entry is truncated", _pos);
            int at = _pos;
            byte op = _data[_pos++];
            switch (op)
            {
                case 0x80: // PROTO
                    {
                        byte p = ReadByte(at);
                        if (p < 2 || p > MaxProtocol) throw Fail($"pickle protocol {p} is not supported (torch.save writes 2; 2..{MaxProtocol} are read)", at);
                        break;
                    }
                case 0x95: // FRAME: a length hint only
                    {
                        ulong n = BinaryPrimitives.ReadUInt64LittleEndian(Read(8, at));
                        if (n > (ulong)(_data.Length - _pos)) throw Fail($"FRAME of {n} bytes runs past the end of the pickle ({_data.Length - _pos} bytes left)", at);
                        break;
                    }
                case (byte)'.': // STOP
                    if (_marks.Count != 0) throw Fail("STOP inside an unfinished MARK", at);
                    if (_stack.Count != 1) throw Fail($"STOP with {_stack.Count} values on the stack; expected exactly one", at);
                    return _stack[0];
                case (byte)'(': // MARK
                    if (_marks.Count >= MaxMarks) throw Fail($"more than {MaxMarks} nested MARKs", at);
                    _marks.Add(_stack.Count);
                    break;
                case (byte)'0': Pop(at); break; // POP
                case (byte)'1': PopMark(at); break; // POP_MARK
                case (byte)'2': _values--; Push(Peek(at), at); break; // DUP (no new value)
                case (byte)'N': Push(null, at); break;
                case 0x88: Push(true, at); break; // NEWTRUE
                case 0x89: Push(false, at); break; // NEWFALSE
                case (byte)'J': Push((long)BinaryPrimitives.ReadInt32LittleEndian(Read(4, at)), at); break; // BININT
                case (byte)'K': Push((long)ReadByte(at), at); break; // BININT1
                case (byte)'M': Push((long)BinaryPrimitives.ReadUInt16LittleEndian(Read(2, at)), at); break; // BININT2
                case 0x8a: Push(ReadLong(ReadByte(at), at), at); break; // LONG1
                case 0x8b: // LONG4
                    {
                        int n = BinaryPrimitives.ReadInt32LittleEndian(Read(4, at));
                        if (n < 0) throw Fail($"LONG4 with a negative length {n}", at);
                        Push(ReadLong(n, at), at);
                        break;
                    }
                case (byte)'G': Push(BinaryPrimitives.ReadDoubleBigEndian(Read(8, at)), at); break; // BINFLOAT
                case 0x8c: Push(ReadString(ReadByte(at), at), at); break; // SHORT_BINUNICODE
                case (byte)'X': Push(ReadString(BinaryPrimitives.ReadUInt32LittleEndian(Read(4, at)), at), at); break; // BINUNICODE
                case 0x8d: Push(ReadString(BinaryPrimitives.ReadUInt64LittleEndian(Read(8, at)), at), at); break; // BINUNICODE8
                case (byte)'C': Push(SkipBytes(ReadByte(at), at), at); break; // SHORT_BINBYTES
                case (byte)'B': Push(SkipBytes(BinaryPrimitives.ReadUInt32LittleEndian(Read(4, at)), at), at); break; // BINBYTES
                case 0x8e: case 0x96: Push(SkipBytes(BinaryPrimitives.ReadUInt64LittleEndian(Read(8, at)), at), at); break; // BINBYTES8, BYTEARRAY8
                case (byte)')': Push(new PickleTuple([]), at); break; // EMPTY_TUPLE
                case (byte)'t': Push(new PickleTuple(PopMark(at).ToArray()), at); break; // TUPLE
                case 0x85: { object? a = Pop(at); Push(new PickleTuple([a]), at); break; } // TUPLE1
                case 0x86: { object? b = Pop(at), a = Pop(at); Push(new PickleTuple([a, b]), at); break; } // TUPLE2
                case 0x87: { object? c = Pop(at), b = Pop(at), a = Pop(at); Push(new PickleTuple([a, b, c]), at); break; } // TUPLE3
                case (byte)']': Push(new List<object?>(), at); break; // EMPTY_LIST
                case (byte)'l': Push(PopMark(at), at); break; // LIST
                case (byte)'a': { object? v = Pop(at); AsList(Peek(at), "APPEND", at).Add(v); break; } // APPEND
                case (byte)'e': { List<object?> items = PopMark(at); AsList(Peek(at), "APPENDS", at).AddRange(items); break; } // APPENDS
                case (byte)'}': Push(new PickleDict(), at); break; // EMPTY_DICT
                case (byte)'d': // DICT
                    {
                        List<object?> items = PopMark(at);
                        Push(PairsToDict(items, "DICT", at), at);
                        break;
                    }
                case (byte)'s': // SETITEM
                    {
                        object? v = Pop(at), k = Pop(at);
                        AsDict(Peek(at), "SETITEM", at).Set(Key(k, at), v);
                        break;
                    }
                case (byte)'u': // SETITEMS
                    {
                        List<object?> items = PopMark(at);
                        PickleDict d = AsDict(Peek(at), "SETITEMS", at);
                        if (items.Count % 2 != 0) throw Fail("SETITEMS with an odd number of values", at);
                        for (int i = 0; i < items.Count; i += 2) d.Set(Key(items[i], at), items[i + 1]);
                        break;
                    }
                case (byte)'q': Put(ReadByte(at), at); break; // BINPUT
                case (byte)'r': Put(BinaryPrimitives.ReadUInt32LittleEndian(Read(4, at)), at); break; // LONG_BINPUT
                case 0x94: Put((uint)_memo.Count, at); break; // MEMOIZE
                case (byte)'h': Get(ReadByte(at), at); break; // BINGET
                case (byte)'j': Get(BinaryPrimitives.ReadUInt32LittleEndian(Read(4, at)), at); break; // LONG_BINGET
                case (byte)'c': // GLOBAL: "module\nname\n"
                    {
                        string module = ReadLine(at), name = ReadLine(at);
                        Push(ResolveGlobal(module, name, at), at);
                        break;
                    }
                case 0x93: // STACK_GLOBAL
                    {
                        object? name = Pop(at), module = Pop(at);
                        if (module is not string m || name is not string n) throw Fail("STACK_GLOBAL needs two strings (module, name)", at);
                        Push(ResolveGlobal(m, n, at), at);
                        break;
                    }
                case (byte)'R': // REDUCE
                    {
                        object? args = Pop(at), callable = Pop(at);
                        Push(Reduce(callable, args, at), at);
                        break;
                    }
                case (byte)'b': // BUILD: only the OrderedDict of a state_dict gets a state (its _metadata attribute), which is ignored.
                    {
                        object? state = Pop(at);
                        object? target = Peek(at);
                        if (target is not PickleDict) throw Fail($"BUILD on a {Describe(target)}; a state_dict pickle builds only its OrderedDict", at);
                        _ = state;
                        break;
                    }
                case (byte)'Q': // BINPERSID
                    Push(PersistentLoad(Pop(at), at), at);
                    break;
                default:
                    throw Fail(UnsupportedOpcode(op), at);
            }
        }
    }

    private static string UnsupportedOpcode(byte op) => op switch
    {
        0x81 or 0x92 or (byte)'i' or (byte)'o' => $"opcode 0x{op:x2} constructs an object (NEWOBJ/INST/OBJ), which a state_dict never does",
        0x82 or 0x83 or 0x84 => $"opcode 0x{op:x2} (EXT1/EXT2/EXT4, the copyreg extension registry) is not allowed",
        (byte)'P' => "opcode PERSID (text persistent id) is not what torch.save writes",
        (byte)'I' or (byte)'L' or (byte)'F' or (byte)'S' or (byte)'V' or (byte)'T' or (byte)'U' or (byte)'p' or (byte)'g' =>
            $"opcode '{(char)op}' belongs to pickle protocol 0/1 (or Python 2 strings); torch.save's default protocol 2 is read",
        0x8f or 0x90 or 0x91 => $"opcode 0x{op:x2} (sets) is not part of a state_dict",
        0x97 or 0x98 => $"opcode 0x{op:x2} (out-of-band buffers) is not part of a torch.save file",
        _ => $"unknown pickle opcode 0x{op:x2}",
    };

    private object ResolveGlobal(string module, string name, int at)
    {
        string full = module + "." + name;
        if (StorageTypes.TryGetValue(full, out TorchStorageType? st)) return new Global(full, null, st);
        if (Callables.TryGetValue(full, out Callable c)) return new Global(full, c, null);
        throw Fail(RefusedGlobal(full), at);
    }

    /// <summary>The message for a global that is not part of a state_dict, with what to do instead.</summary>
    internal static string RefusedGlobal(string full)
    {
        bool module = full.StartsWith("torch.nn.", StringComparison.Ordinal) || full.StartsWith("__main__.", StringComparison.Ordinal);
        string what = module
            ? $"the pickle names the class '{full}': this file is a whole pickled module (torch.save(model)), which only Python can rebuild"
            : $"the pickle names the global '{full}', which is not part of a state_dict; it was refused and nothing was imported or run";
        return $"{what}. rnnrt reads state_dicts only: save one with torch.save(model.state_dict(), path), or use rnnrt.save(model, path)";
    }

    private object? Reduce(object? callable, object? args, int at)
    {
        if (callable is not Global g) throw Fail($"REDUCE calls a {Describe(callable)}, not a global", at);
        if (args is not PickleTuple t) throw Fail($"REDUCE of {g.Name} with {Describe(args)} arguments; expected a tuple", at);
        object?[] a = t.Items;
        switch (g.Function)
        {
            case Callable.OrderedDict:
                if (a.Length == 0) return new PickleDict();
                if (a.Length == 1 && a[0] is List<object?> pairs) return PairsToDict(pairs, g.Name, at, tuples: true);
                throw Fail($"{g.Name} called with {a.Length} arguments; expected none or a list of pairs", at);
            case Callable.RebuildTensorV2:
                return RebuildTensor(a, g.Name, at);
            case Callable.RebuildParameter:
            case Callable.RebuildParameterWithState:
                int want = g.Function == Callable.RebuildParameter ? 3 : 4;
                if (a.Length != want || a[0] is not TorchTensorRef data)
                    throw Fail($"{g.Name} called with ({string.Join(", ", a.Select(Describe))}); expected (tensor, requires_grad, backward_hooks{(want == 4 ? ", state" : "")})", at);
                return data;
            default:
                throw Fail($"REDUCE calls the storage type {g.Name}; torch.save refers to storages only through persistent ids", at);
        }
    }

    /// <summary>_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]).</summary>
    private TorchTensorRef RebuildTensor(object?[] a, string name, int at)
    {
        if (a.Length is < 6 or > 7 || a[0] is not TorchStorage storage || a[1] is not long offset || a[2] is not PickleTuple size || a[3] is not PickleTuple stride)
            throw Fail($"{name} called with ({string.Join(", ", a.Select(Describe))}); expected (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])", at);
        long[] sizes = Longs(size, "size", at), strides = Longs(stride, "stride", at);
        if (sizes.Length != strides.Length) throw Fail($"{name}: size has {sizes.Length} dimensions but stride {strides.Length}", at);
        return new TorchTensorRef(storage, offset, sizes, strides);
    }

    private long[] Longs(PickleTuple t, string what, int at)
    {
        if (t.Items.Length > 16) throw Fail($"a tensor {what} of {t.Items.Length} dimensions (at most 16 are read)", at);
        var r = new long[t.Items.Length];
        for (int i = 0; i < r.Length; i++)
            r[i] = t.Items[i] is long v ? v : throw Fail($"a tensor {what} entry is a {Describe(t.Items[i])}, not an int", at);
        return r;
    }

    /// <summary>('storage', storage_type, key, location, numel): location ('cpu', 'cuda:0') does not matter here.</summary>
    private TorchStorage PersistentLoad(object? pid, int at)
    {
        if (pid is not PickleTuple { Items: [string kind, Global { Storage: TorchStorageType type }, string key, string, long numel] })
            throw Fail($"persistent id {Describe(pid)} is not ('storage', <storage type>, key, location, numel)", at);
        if (kind != "storage") throw Fail($"persistent id of kind '{kind}'; torch.save writes only 'storage'", at);
        if (numel < 0) throw Fail($"storage '{key}' has a negative element count {numel}", at);
        return new TorchStorage(type, key, numel);
    }

    private PickleDict PairsToDict(List<object?> items, string what, int at, bool tuples = false)
    {
        var d = new PickleDict();
        if (tuples)
        {
            foreach (object? p in items)
            {
                if (p is not PickleTuple { Items: [var k, var v] }) throw Fail($"{what} of a {Describe(p)}; expected (key, value) pairs", at);
                d.Set(Key(k, at), v);
            }
            return d;
        }
        if (items.Count % 2 != 0) throw Fail($"{what} with an odd number of values", at);
        for (int i = 0; i < items.Count; i += 2) d.Set(Key(items[i], at), items[i + 1]);
        return d;
    }

    /// <summary>Dict keys: what Python can hash among the values read here.</summary>
    private object? Key(object? k, int at) => k switch
    {
        null or string or long or bool or double or PickleBigInt => k,
        PickleTuple t when t.Items.All(i => i is null or string or long or bool or double) => string.Join(",", t.Items.Select(i => i?.ToString() ?? "None")),
        _ => throw Fail($"a dict key that is a {Describe(k)}", at),
    };

    private List<object?> AsList(object? v, string op, int at) =>
        v as List<object?> ?? throw Fail($"{op} to a {Describe(v)}, not a list", at);

    private PickleDict AsDict(object? v, string op, int at) =>
        v as PickleDict ?? throw Fail($"{op} on a {Describe(v)}, not a dict", at);

    private void Put(uint index, int at)
    {
        if (index >= MaxMemoIndex) throw Fail($"memo index {index} exceeds the limit of {MaxMemoIndex}", at);
        if (_stack.Count == 0 || IsMarkTop()) throw Fail("memo PUT with an empty stack", at);
        _memo[(int)index] = _stack[^1];
    }

    private void Get(uint index, int at)
    {
        if (index >= MaxMemoIndex || !_memo.TryGetValue((int)index, out object? v))
            throw Fail($"memo GET of index {index}, which was never PUT", at);
        _values--;   // an existing value
        Push(v, at);
    }

    private bool IsMarkTop() => _marks.Count > 0 && _marks[^1] == _stack.Count;

    private void Push(object? v, int at)
    {
        if (_stack.Count >= MaxStack) throw Fail($"more than {MaxStack} values on the pickle stack", at);
        if (++_values > MaxValues) throw Fail($"the pickle makes more than {MaxValues} values; a state_dict needs about 20 a tensor", at);
        _stack.Add(v);
    }

    private object? Pop(int at)
    {
        if (_stack.Count == 0 || IsMarkTop()) throw Fail("pop from an empty stack (or across a MARK)", at);
        object? v = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return v;
    }

    private object? Peek(int at)
    {
        if (_stack.Count == 0 || IsMarkTop()) throw Fail("the stack is empty (or ends at a MARK)", at);
        return _stack[^1];
    }

    private List<object?> PopMark(int at)
    {
        if (_marks.Count == 0) throw Fail("no MARK to pop to", at);
        int m = _marks[^1];
        _marks.RemoveAt(_marks.Count - 1);
        List<object?> items = _stack.GetRange(m, _stack.Count - m);
        _stack.RemoveRange(m, _stack.Count - m);
        return items;
    }

    private byte ReadByte(int at)
    {
        if (_pos >= _data.Length) throw Fail("the pickle ends inside an opcode's argument; the entry is truncated", at);
        return _data[_pos++];
    }

    private ReadOnlySpan<byte> Read(ulong n, int at)
    {
        if (n > (ulong)(_data.Length - _pos)) throw Fail($"an argument of {n} bytes runs past the end of the pickle ({_data.Length - _pos} bytes left); the entry is truncated", at);
        var s = new ReadOnlySpan<byte>(_data, _pos, (int)n);
        _pos += (int)n;
        return s;
    }

    private string ReadString(ulong n, int at)
    {
        ReadOnlySpan<byte> bytes = Read(n, at);
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw Fail("a string that is not valid UTF-8", at);
        }
    }

    private PickleBytes SkipBytes(ulong n, int at)
    {
        Read(n, at);
        return new PickleBytes((long)n);
    }

    /// <summary>LONG1/LONG4: little-endian two's complement; up to 8 bytes is a long, more is a leaf nothing reads.</summary>
    private object ReadLong(int n, int at)
    {
        ReadOnlySpan<byte> b = Read((ulong)n, at);
        if (n == 0) return 0L;
        if (n > 8) return new PickleBigInt(n);
        long v = (sbyte)b[n - 1];   // sign-extended top byte
        for (int i = n - 2; i >= 0; i--) v = (v << 8) | b[i];
        return v;
    }

    private string ReadLine(int at)
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos, Math.Min(_data.Length - _pos, 512));
        if (end < 0) throw Fail("GLOBAL without a newline-terminated name (or one over 512 bytes)", at);
        string s;
        try
        {
            s = StrictUtf8.GetString(_data, _pos, end - _pos);
        }
        catch (DecoderFallbackException)
        {
            throw Fail("a GLOBAL name that is not valid UTF-8", at);
        }
        _pos = end + 1;
        return s;
    }

    internal static string Describe(object? v) => v switch
    {
        null => "None",
        string => "str",
        long => "int",
        double => "float",
        bool => "bool",
        PickleBigInt => "int",
        PickleBytes => "bytes",
        PickleTuple t => $"tuple of {t.Items.Length}",
        List<object?> => "list",
        PickleDict => "dict",
        TorchTensorRef => "tensor",
        TorchStorage => "storage",
        Global g => $"global {g.Name}",
        _ => v.GetType().Name,
    };
}
