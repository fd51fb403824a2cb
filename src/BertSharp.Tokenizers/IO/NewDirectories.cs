namespace BertSharp.IO;

/// <summary>
/// The folders a write is about to make on its way to its target, so that a failed or undone one leaves the file system as
/// it found them: a Hub download's cache root that did not exist (a mistyped --cache-dir) must not stay behind empty after
/// an unreachable server, nor the folders above a training run's directory after the run is undone.
/// </summary>
internal sealed class NewDirectories
{
    /// <summary>No folder to remove (a data-parallel rank's view of a run directory: rank 0 makes it).</summary>
    public static readonly NewDirectories None = new([]);

    // Deepest first; the first folder that existed ends the list.
    private readonly List<string> _missing;

    private NewDirectories(List<string> missing) => _missing = missing;

    /// <summary>Notes <paramref name="dir"/> and those of its parents that do not exist yet, before anything makes them.</summary>
    public static NewDirectories Before(string dir)
    {
        var missing = new List<string>();
        for (var d = Path.GetFullPath(dir); d is not null && !Directory.Exists(d); d = Path.GetDirectoryName(d))
        {
            missing.Add(d);
        }
        return new NewDirectories(missing);
    }

    /// <summary>
    /// Removes the noted folders while they are empty, deepest first. A folder that existed before is never touched; one
    /// that something came into (a blob, a partial download another run will resume, a folder beside the run's) stays, and
    /// so do those above it.
    /// </summary>
    public void RemoveEmpty()
    {
        try
        {
            foreach (var dir in _missing)
            {
                // Gone already: the caller removed it (a run directory, deleted with its files) or it was never made.
                if (!Directory.Exists(dir))
                {
                    continue;
                }
                if (Directory.EnumerateFileSystemEntries(dir).Any())
                {
                    return;
                }
                Directory.Delete(dir);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Cleaning up is a courtesy after the failure being reported: a folder that cannot go (another process wrote into
            // it meanwhile, no permission) stays, and the original error is what the user sees.
        }
    }
}
