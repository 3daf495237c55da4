#if PEERS
using System.Buffers.Binary;
using System.Text;

namespace RnnRuntime.Bench.Peers;

/// <summary>
/// TorchSharp 0.107.0's libLibTorchSharp.so was linked with GCC 13 and asks libstdc++ for version
/// GLIBCXX_3.4.32; Debian 12 ships GCC 12's libstdc++ (3.4.30), so dlopen fails. The only symbol it
/// wants from that version is std::ios_base_library_init(), which GCC 13's &lt;iostream&gt; references
/// with a bare .globl (no relocation uses it: `objdump -R` lists none), so it is never called.
/// Marking that one version need weak (VER_FLG_WEAK) in the build output's copy makes the loader
/// accept the library; every other version need is left alone. The NuGet cache is not touched.
/// </summary>
public static class TorchNativeCompat
{
    private const uint ShtGnuVerneed = 0x6ffffffe;
    private const ushort VerFlgWeak = 0x2;
    private const string Version = "GLIBCXX_3.4.32";
    private static bool _done;

    public static void EnsureLoadable()
    {
        if (_done || !OperatingSystem.IsLinux()) return;
        _done = true;
        string path = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(path)) return;
        byte[] elf = File.ReadAllBytes(path);
        if (MarkWeak(elf, Version))
        {
            File.WriteAllBytes(path, elf);
            Console.WriteLine($"// TorchSharp: marked the {Version} version need of {path} weak (this libstdc++ is older; see TorchNativeCompat)");
        }
    }

    /// <summary>Sets VER_FLG_WEAK on the named version need; false when absent or already weak.</summary>
    public static bool MarkWeak(byte[] elf, string version)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != (byte)'E' || elf[4] != 2 || elf[5] != 1) return false; // ELF64 LE only
        long shoff = BinaryPrimitives.ReadInt64LittleEndian(elf.AsSpan(0x28));
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3A));
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan(0x3C));
        for (int i = 0; i < shnum; i++)
        {
            var sh = elf.AsSpan((int)(shoff + i * shentsize));
            if (BinaryPrimitives.ReadUInt32LittleEndian(sh[4..]) != ShtGnuVerneed) continue;
            long offset = BinaryPrimitives.ReadInt64LittleEndian(sh[24..]);
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(sh[40..]);
            long strtab = BinaryPrimitives.ReadInt64LittleEndian(elf.AsSpan((int)(shoff + link * shentsize + 24)));
            bool changed = false;
            for (long vn = offset; ;)
            {
                int count = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan((int)vn + 2));
                long aux = vn + BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)vn + 8));
                for (int a = 0; a < count; a++)
                {
                    uint name = BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)aux + 8));
                    int start = (int)(strtab + name), end = Array.IndexOf(elf, (byte)0, start);
                    ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(elf.AsSpan((int)aux + 4));
                    if (Encoding.ASCII.GetString(elf, start, end - start) == version && (flags & VerFlgWeak) == 0)
                    {
                        BinaryPrimitives.WriteUInt16LittleEndian(elf.AsSpan((int)aux + 4), (ushort)(flags | VerFlgWeak));
                        changed = true;
                    }
                    aux += BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)aux + 12));
                }
                uint next = BinaryPrimitives.ReadUInt32LittleEndian(elf.AsSpan((int)vn + 12));
                if (next == 0) break;
                vn += next;
            }
            return changed;
        }
        return false;
    }
}
#endif
