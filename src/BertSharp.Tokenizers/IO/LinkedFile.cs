namespace BertSharp.IO;

/// <summary>
/// The file a path names, also when the path is a symbolic link, and where a link ends (<see cref="FinalTarget"/>, which
/// <see cref="AtomicFile"/> also asks of an output directory named by a link: one rule for following links).
/// </summary>
/// <remarks>
/// Every file of a HuggingFace cache snapshot is a link to its blob, and .NET answers for the link itself:
/// <see cref="FileInfo.Length"/> is the length of the path the link holds (some 80 bytes: sizes shown were wrong and size
/// limits checked nothing), and <see cref="File.Exists"/> is true for a link whose blob was deleted.
/// </remarks>
internal static class LinkedFile
{
    /// <summary>The length in bytes of the file <paramref name="path"/> names, links followed to the end.</summary>
    /// <exception cref="FileNotFoundException">The file, or the file a link points at, does not exist.</exception>
    public static long Length(string path) => Target(new FileInfo(path)).Length;

    /// <summary>Whether <paramref name="path"/> is a file or a link that ends at one.</summary>
    public static bool Exists(string path)
    {
        try
        {
            return Target(new FileInfo(path)) is { Exists: true };
        }
        catch (IOException)
        {
            // A cycle of links ends nowhere.
            return false;
        }
    }

    /// <summary>
    /// The full path where <paramref name="path"/> ends, links followed to the end (through links to links): the final
    /// target, which may not exist, or <paramref name="path"/> itself (made full) when it is not a link. Whether a file or a
    /// directory must be there, and what a missing one means, is the caller's to say.
    /// </summary>
    /// <exception cref="IOException">A cycle of links (or a chain longer than the system follows), which ends nowhere.</exception>
    public static string FinalTarget(string path)
    {
        var info = new FileInfo(path);
        return info.LinkTarget is null ? info.FullName : info.ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? info.FullName;
    }

    private static FileInfo Target(FileInfo info) => new(FinalTarget(info.FullName));
}
