using System.Buffers.Binary;
using System.Runtime.InteropServices;

namespace BertSharp.Checkpoints;

/// <summary>
/// Whether a path is a regular file. .NET's File.Exists is true for a FIFO, a socket or a device too, and reading a FIFO
/// blocks until something writes to it (/dev/zero never ends): an upload that read one hung instead of failing.
/// </summary>
internal static partial class FileKind
{
    private const int AtFdCwd = -100;
    private const uint StatxType = 0x1;
    // struct statx has one layout on every Linux architecture, unlike struct stat: stx_mode is the u16 at byte 28.
    private const int StatxSize = 256;
    private const int ModeOffset = 28;
    private const int TypeMask = 0xF000;
    private const int Regular = 0x8000;

    /// <summary>
    /// Whether <paramref name="path"/>, its links followed, is a regular file. Where the type cannot be read (not Linux, no
    /// statx) it falls back to <see cref="File.Exists(string)"/>, which is what callers checked before.
    /// </summary>
    public static bool IsRegular(string path)
    {
        if (!OperatingSystem.IsLinux())
        {
            return File.Exists(path);
        }
        Span<byte> buffer = stackalloc byte[StatxSize];
        try
        {
            if (Statx(AtFdCwd, path, 0, StatxType, ref MemoryMarshal.GetReference(buffer)) != 0)
            {
                return File.Exists(path);
            }
        }
        catch (EntryPointNotFoundException)
        {
            return File.Exists(path);
        }
        var mode = BitConverter.IsLittleEndian
            ? BinaryPrimitives.ReadUInt16LittleEndian(buffer[ModeOffset..])
            : BinaryPrimitives.ReadUInt16BigEndian(buffer[ModeOffset..]);
        return (mode & TypeMask) == Regular;
    }

    [LibraryImport("libc.so.6", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Statx(int dirFd, string path, int flags, uint mask, ref byte buffer);
}
