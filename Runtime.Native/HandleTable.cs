namespace RnnRuntime.Native;

/// <summary>What a handle refers to; part of the handle value.</summary>
internal enum HandleKind
{
    Model = 1,
    Session = 2,
}

/// <summary>
/// The objects that C holds, behind handles that are not pointers. A handle is a 64-bit value:
///
///     bits 63..48  0x524E ("RN"), so a handle is never a canonical x86-64/arm64 user address
///     bits 47..27  generation of the slot (21 bits, wraps, never 0)
///     bits 26..3   slot index (24 bits)
///     bits  2..1   kind (1 model, 2 session)
///     bit      0   1, so a handle is never an aligned pointer either
///
/// Lookup decodes the slot index and compares the whole value with what the slot holds now, so a
/// freed handle (its slot is empty or reissued with a newer generation), a handle of the other kind
/// and a value the library never issued are told apart and reported; nothing is ever dereferenced.
/// Reads take no lock (one array read and one compare on the hot path); issuing and freeing lock.
/// </summary>
internal static class HandleTable
{
    private const ulong Magic = 0x524EUL << 48;
    private const ulong MagicMask = 0xFFFFUL << 48;
    private const int KindShift = 1, SlotShift = 3, GenerationShift = 27;
    private const int SlotBits = 24, GenerationBits = 21;
    private const int MaxSlots = 1 << SlotBits;
    private const int GenerationMask = (1 << GenerationBits) - 1;

    private sealed class Entry(nint handle, HandleKind kind, object target)
    {
        public readonly nint Handle = handle;
        public readonly HandleKind Kind = kind;
        public readonly object Target = target;
    }

    private static readonly Lock s_lock = new();
    private static Entry?[] s_slots = new Entry?[64];
    /// <summary>Generation last issued per slot (0: never issued).</summary>
    private static int[] s_generations = new int[64];
    private static int s_used;
    /// <summary>FIFO: a freed slot is reissued as late as possible, so stale handles stay detectable longer.</summary>
    private static readonly Queue<int> s_free = new();

    public static nint Add(HandleKind kind, object target)
    {
        lock (s_lock)
        {
            int slot;
            if (s_free.Count > 0 && (s_free.Count > 1024 || s_used == MaxSlots))
            {
                slot = s_free.Dequeue();
            }
            else
            {
                if (s_used == MaxSlots) throw new OutOfMemoryException($"the handle table is full ({MaxSlots} live handles)");
                if (s_used == s_slots.Length)
                {
                    int size = Math.Min(s_slots.Length * 2, MaxSlots);
                    Array.Resize(ref s_generations, size);
                    Entry?[] grown = new Entry?[size];
                    Array.Copy(s_slots, grown, s_slots.Length);
                    Volatile.Write(ref s_slots, grown);
                }
                slot = s_used++;
            }
            int generation = (s_generations[slot] + 1) & GenerationMask;
            if (generation == 0) generation = 1;
            s_generations[slot] = generation;
            nint handle = (nint)(Magic | (ulong)generation << GenerationShift | (ulong)slot << SlotShift | (ulong)kind << KindShift | 1UL);
            Volatile.Write(ref s_slots[slot], new Entry(handle, kind, target));
            return handle;
        }
    }

    /// <summary>The object behind a live handle of this kind, or null with <paramref name="error"/> saying why not.</summary>
    public static object? Find(nint handle, HandleKind kind, string name, out string? error)
    {
        Entry?[] slots = Volatile.Read(ref s_slots);
        ulong value = (ulong)handle;
        int slot = (int)((value >> SlotShift) & (MaxSlots - 1));
        if ((value & MagicMask) == Magic && (value & 1) == 1 && slot < slots.Length)
        {
            Entry? e = Volatile.Read(ref slots[slot]);
            if (e is not null && e.Handle == handle)
            {
                if (e.Kind == kind)
                {
                    error = null;
                    return e.Target;
                }
                error = $"{name} 0x{value:x} is a {Describe(e.Kind)} handle, not a {Describe(kind)} handle";
                return null;
            }
        }
        error = Explain(handle, kind, name);
        return null;
    }

    /// <summary>Takes a live handle out of the table; null (and why) when it is not live.</summary>
    public static object? Remove(nint handle, HandleKind kind, string name, out string? error)
    {
        lock (s_lock)
        {
            object? target = Find(handle, kind, name, out error);
            if (target is null) return null;
            int slot = (int)(((ulong)handle >> SlotShift) & (MaxSlots - 1));
            Volatile.Write(ref s_slots[slot], null);
            s_free.Enqueue(slot);
            return target;
        }
    }

    private static string Explain(nint handle, HandleKind kind, string name)
    {
        ulong value = (ulong)handle;
        if (handle == 0) return $"{name} is NULL";
        string what = Describe(kind);
        if ((value & MagicMask) != Magic || (value & 1) == 0)
            return $"{name} 0x{value:x} is not a {what} handle from this library (garbage or a foreign pointer)";
        int slot = (int)((value >> SlotShift) & (MaxSlots - 1));
        int generation = (int)((value >> GenerationShift) & (ulong)GenerationMask);
        int[] generations = Volatile.Read(ref s_generations);
        HandleKind claimed = (HandleKind)((value >> KindShift) & 3);
        if (slot < generations.Length && generation != 0 && generation <= generations[slot] && claimed is HandleKind.Model or HandleKind.Session)
        {
            return claimed == kind
                ? $"{name} 0x{value:x} was already freed (a stale {what} handle, or a double free)"
                : $"{name} 0x{value:x} is a freed {Describe(claimed)} handle, and not a {what} handle in any case";
        }
        return $"{name} 0x{value:x} is not a {what} handle this library handed out";
    }

    private static string Describe(HandleKind kind) => kind == HandleKind.Model ? "model" : "session";
}
