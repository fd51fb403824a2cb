using System.Text.RegularExpressions;

namespace BertSharp.IO;

/// <summary>
/// Whether a directory is a mount point: the root of a filesystem mounted there (a Docker volume, <c>-v $PWD/out:/out</c>),
/// which cannot be renamed (EBUSY), and into which nothing made beside it can be renamed (EXDEV), even from the same disk
/// through a bind mount.
/// </summary>
/// <remarks>
/// Read from the kernel's list of this process's mounts, <c>/proc/self/mountinfo</c>: .NET tells no directory's device,
/// and the list also names a bind mount of a folder of the parent's own disk, whose device is the parent's. Where the list
/// is missing (not Linux) no directory counts as one.
/// </remarks>
internal static partial class MountPoint
{
    private const string Table = "/proc/self/mountinfo";

    // The kernel's limit on the links followed while resolving one path (MAXSYMLINKS): beyond it the path ends nowhere.
    private const int MaxLinks = 40;

    /// <summary>Whether <paramref name="directory"/> (a full path) is where a filesystem is mounted.</summary>
    public static bool Is(string directory)
    {
        if (!File.Exists(Table) || Resolve(directory, MaxLinks) is not { } real)
        {
            return false;
        }
        try
        {
            // Fields: id, parent id, device, root, mount point, ...; the kernel writes a space, tab, newline or backslash in a
            // path as an octal escape.
            return File.ReadLines(Table).Select(l => l.Split(' ')).Any(f => f.Length > 4 && Unescape(f[4]) == real);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>
    /// The path the kernel lists a directory by: every symbolic link in <paramref name="full"/> followed, not only its last
    /// (<c>/var/run</c> is listed as <c>/run</c>). Null for a path that ends nowhere (more links than <paramref name="links"/>).
    /// </summary>
    private static string? Resolve(string full, int links)
    {
        var real = Path.GetPathRoot(full)!;
        foreach (var part in full[real.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            real = Path.Combine(real, part);
            if (new DirectoryInfo(real).LinkTarget is { } target)
            {
                if (links == 0 || Resolve(Path.GetFullPath(target, Path.GetDirectoryName(real)!), links - 1) is not { } resolved)
                {
                    return null;
                }
                real = resolved;
            }
        }
        return real;
    }

    private static string Unescape(string field) =>
        Octal().Replace(field, m => ((char)Convert.ToInt32(m.Groups[1].Value, 8)).ToString());

    [GeneratedRegex(@"\\([0-7]{3})", RegexOptions.CultureInvariant)]
    private static partial Regex Octal();
}
