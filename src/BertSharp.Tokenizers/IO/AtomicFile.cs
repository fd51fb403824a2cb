namespace BertSharp.IO;

/// <summary>
/// Crash-safe output: everything is written to a temporary sibling and renamed into place only when complete, so an
/// interrupted or failed run never leaves a half-written file or directory behind.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes a file through <paramref name="write"/> into a temp file, then renames it over <paramref name="path"/>.</summary>
    public static void Write(string path, Action<Stream> write)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var tmp = Path.Combine(dir, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        try
        {
            using (var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(fs);
                fs.Flush(flushToDisk: true);
            }
            File.Move(tmp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(tmp))
            {
                File.Delete(tmp);
            }
        }
    }

    /// <summary>Writes text (UTF-8, no BOM) atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s =>
        {
            using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true);
            w.Write(text);
        });

    /// <summary>
    /// Builds a whole directory atomically: <paramref name="fill"/> writes into a fresh temp directory which then replaces
    /// <paramref name="directory"/> (the previous content, if any, is removed only after the new one is complete).
    /// </summary>
    public static void WriteDirectory(string directory, Action<string> fill)
    {
        var full = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar);
        var parent = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var tmp = Path.Combine(parent, "." + Path.GetFileName(full) + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp");
        Directory.CreateDirectory(tmp);
        try
        {
            fill(tmp);
            string? old = null;
            if (Directory.Exists(full))
            {
                old = full + "." + Guid.NewGuid().ToString("N")[..8] + ".old";
                Directory.Move(full, old);
            }
            Directory.Move(tmp, full);
            if (old is not null)
            {
                Directory.Delete(old, recursive: true);
            }
        }
        finally
        {
            if (Directory.Exists(tmp))
            {
                Directory.Delete(tmp, recursive: true);
            }
        }
    }
}
