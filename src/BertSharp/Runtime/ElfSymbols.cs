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
    private const uint PtNote = 4;
    private const uint NtGnuBuildId = 3;

    /// <summary>
    /// The GNU build ID (<c>readelf -n</c>'s "Build ID") of an ELF64 little-endian file as lower-case hex, from the notes its
    /// program headers point at (a few hundred bytes near the start); null when it has none or is not such a file.
    /// </summary>
    public static string? BuildId(string path)
    {
        try
        {
            using var file = File.OpenHandle(path);
            var length = RandomAccess.GetLength(file);
            Span<byte> header = stackalloc byte[64];
            if (length < 64 || RandomAccess.Read(file, header, 0) != 64 || BinaryPrimitives.ReadUInt32LittleEndian(header) != 0x464C457F
                || header[4] != 2 || header[5] != 1)
            {
                return null;
            }
            var phoff = BinaryPrimitives.ReadInt64LittleEndian(header[0x20..]);
            int phentsize = BinaryPrimitives.ReadUInt16LittleEndian(header[0x36..]), phnum = BinaryPrimitives.ReadUInt16LittleEndian(header[0x38..]);
            if (phoff <= 0 || phentsize < 56 || phoff + ((long)phnum * phentsize) > length)
            {
                return null;
            }
            var phdrs = new byte[phnum * phentsize];
            if (RandomAccess.Read(file, phdrs, phoff) != phdrs.Length)
            {
                return null;
            }
            for (var i = 0; i < phnum; i++)
            {
                var ph = phdrs.AsSpan(i * phentsize);
                if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PtNote)
                {
                    continue;
                }
                long offset = BinaryPrimitives.ReadInt64LittleEndian(ph[0x08..]), size = BinaryPrimitives.ReadInt64LittleEndian(ph[0x20..]);
                if (offset <= 0 || size <= 0 || size > 1 << 16 || offset + size > length)
                {
                    continue;
                }
                var notes = new byte[size];
                if (RandomAccess.Read(file, notes, offset) != notes.Length)
                {
                    continue;
                }
                // Each note: namesz, descsz, type, then the name and the descriptor, each padded to 4 bytes.
                for (var p = 0; p + 12 <= notes.Length;)
                {
                    var namesz = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(p));
                    var descsz = (int)BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(p + 4));
                    var type = BinaryPrimitives.ReadUInt32LittleEndian(notes.AsSpan(p + 8));
                    var name = p + 12;
                    var desc = name + ((namesz + 3) & ~3);
                    if (namesz < 0 || descsz < 0 || desc + descsz > notes.Length)
                    {
                        break;
                    }
                    if (type == NtGnuBuildId && namesz == 4 && notes.AsSpan(name, 4).SequenceEqual("GNU\0"u8) && descsz > 0)
                    {
                        return Convert.ToHexStringLower(notes, desc, descsz);
                    }
                    p = desc + ((descsz + 3) & ~3);
                }
            }
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

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
