namespace BertSharp.IO;

/// <summary>Copies a file into an output as a file this process writes: with the mode a new file gets, not the source's.</summary>
/// <remarks>
/// <see cref="File.Copy(string, string, bool)"/> on Unix gives the copy its source's mode, so a read-only vocab.txt (a shared
/// model store, a package's install tree) became a read-only file of the written model, which its owner could not edit
/// or replace in place.
/// </remarks>
internal static class FreshCopy
{
    /// <summary>Copies <paramref name="source"/> (links followed) to <paramref name="destination"/>, replacing a file there.</summary>
    public static void Copy(string source, string destination)
    {
        using var from = File.OpenRead(source);
        // Deleted first: a read-only file already there (an earlier copy of one) would refuse to be opened for writing.
        File.Delete(destination);
        using var to = new FileStream(destination, FileMode.CreateNew, FileAccess.Write, FileShare.None);
        from.CopyTo(to);
    }
}
