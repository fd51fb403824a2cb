using System.Buffers.Binary;
using System.IO.MemoryMappedFiles;
using System.Text;

namespace BertSharp.Runtime;

/// <summary>
/// Reads the addresses of named symbols from an ELF64 little-endian file's full symbol table (<c>.symtab</c>, which also holds
/// the local data symbols that the dynamic table omits). Used to find MKL's cached CPU answers inside libtorch_cpu.so;
/// returns nothing for a stripped or non-ELF file.
/// </summary>
internal static class ElfSymbols
{
    private const uint SymTab = 2;

    /// <summary>Value (address relative to the load base) and size of each symbol in <paramref name="names"/> that the file defines.</summary>
    public static unsafe Dictionary<string, (ulong Value, ulong Size)> Find(string path, IReadOnlyCollection<string> names)
    {
        var found = new Dictionary<string, (ulong, ulong)>(StringComparer.Ordinal);
        using var file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 0, MemoryMappedFileAccess.Read);
        using var view = file.CreateViewAccessor(0, 0, MemoryMappedFileAccess.Read);
        byte* p = null;
        view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        try
        {
            p += view.PointerOffset;
            var length = (long)view.SafeMemoryMappedViewHandle.ByteLength - view.PointerOffset;
            var all = new ReadOnlySpan<byte>(p, (int)Math.Min(length, 64));
            if (length < 64 || BinaryPrimitives.ReadUInt32LittleEndian(all) != 0x464C457F || all[4] != 2 || all[5] != 1)
            {
                return found;
            }
            var shoff = BinaryPrimitives.ReadInt64LittleEndian(all[0x28..]);
            int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(all[0x3A..]), shnum = BinaryPrimitives.ReadUInt16LittleEndian(all[0x3C..]);
            if (shoff <= 0 || shoff + (long)shnum * shentsize > length)
            {
                return found;
            }
            var wanted = names.Select(n => Encoding.ASCII.GetBytes(n)).ToArray();
            var longest = wanted.Max(w => w.Length);
            for (var s = 0; s < shnum; s++)
            {
                var sh = p + shoff + (long)s * shentsize;
                if (*(uint*)(sh + 4) != SymTab)
                {
                    continue;
                }
                long offset = *(long*)(sh + 0x18), size = *(long*)(sh + 0x20), entsize = *(long*)(sh + 0x38);
                var strtab = p + shoff + (long)*(uint*)(sh + 0x28) * shentsize;
                long strOffset = *(long*)(strtab + 0x18), strSize = *(long*)(strtab + 0x20);
                if (entsize < 24 || offset + size > length || strOffset + strSize > length)
                {
                    continue;
                }
                for (var e = p + offset; e + 24 <= p + offset + size; e += entsize)
                {
                    var nameOffset = *(uint*)e;
                    if (nameOffset >= strSize)
                    {
                        continue;
                    }
                    var name = new ReadOnlySpan<byte>(p + strOffset + nameOffset, (int)Math.Min(longest + 1, strSize - nameOffset));
                    foreach (var w in wanted)
                    {
                        if (name.Length > w.Length && name[w.Length] == 0 && name.StartsWith(w))
                        {
                            found[Encoding.ASCII.GetString(w)] = (*(ulong*)(e + 8), *(ulong*)(e + 16));
                        }
                    }
                }
            }
            return found;
        }
        finally
        {
            view.SafeMemoryMappedViewHandle.ReleasePointer();
        }
    }
}
