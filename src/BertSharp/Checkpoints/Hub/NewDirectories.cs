namespace BertSharp.Checkpoints;

/// <summary>
/// The folders a download is about to make on its way to the cache, so that a failed one leaves the file system as it found
/// it: a cache root that did not exist (a mistyped --cache-dir) must not stay behind empty after an unreachable server.
/// </summary>
internal sealed class NewDirectories
{
    private readonly string? _top;

    private NewDirectories(string? top) => _top = top;

    /// <summary>Notes the topmost of <paramref name="dir"/> and its parents that does not exist yet, before anything makes it.</summary>
    public static NewDirectories Before(string dir)
    {
        string? top = null;
        for (var d = Path.GetFullPath(dir); d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d))
        {
            top = d;
        }
        return new NewDirectories(top);
    }

    /// <summary>
    /// Removes the folders under (and with) the topmost new one that hold no file, deepest first. A folder that existed before
    /// is above it and never touched; a file (a blob, a partial download another run will resume) keeps its folders.
    /// </summary>
    public void RemoveEmpty()
    {
        if (_top is not null)
        {
            Prune(_top);
        }
    }

    private static void Prune(string dir)
    {
        try
        {
            // A link is an entry, never followed: the folder it points to is not ours.
            foreach (var sub in new DirectoryInfo(dir).EnumerateDirectories().Where(d => d.LinkTarget is null))
            {
                Prune(sub.FullName);
            }
            if (!Directory.EnumerateFileSystemEntries(dir).Any())
            {
                Directory.Delete(dir);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Cleaning up is a courtesy after the failure being reported: a folder that cannot go (another run wrote into it
            // meanwhile, no permission) stays, and the original error is what the user sees.
        }
    }
}
