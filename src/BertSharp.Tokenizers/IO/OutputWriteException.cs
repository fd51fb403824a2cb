namespace BertSharp.IO;

/// <summary>
/// An output (file or directory) that <see cref="AtomicFile"/> could not write: its directory refuses new files, the disk is
/// full, and the like. The message names the output the caller asked for, never the temporary sibling the write goes through,
/// and a file inside it that failed (a directory's <c>model.safetensors</c>) by its path inside the output, so that one line
/// names each path once.
/// </summary>
public sealed class OutputWriteException : IOException
{
    /// <summary>An output that could not be written as a whole.</summary>
    /// <param name="path">The output as the caller gave it.</param>
    /// <param name="reason">Why it could not be written (e.g. "permission denied").</param>
    /// <param name="inner">The failure of the underlying file operation.</param>
    public OutputWriteException(string path, string reason, Exception inner) : this(path, null, reason, inner)
    {
    }

    /// <summary>An output that could not be written because the file or directory <paramref name="entry"/> inside it could not.</summary>
    /// <param name="path">The output as the caller gave it.</param>
    /// <param name="entry">The path inside <paramref name="path"/> that failed ('/'-separated, e.g. <c>checkpoint-4/model.safetensors</c>), or null for the output itself.</param>
    /// <param name="reason">Why it could not be written (e.g. "permission denied").</param>
    /// <param name="inner">The failure of the underlying file operation.</param>
    public OutputWriteException(string path, string? entry, string reason, Exception inner)
        : base(entry is null ? $"{path}: cannot be written ({reason})." : $"{path}: {entry} cannot be written ({reason}).", inner)
    {
        Path = path;
        Entry = entry;
        Reason = reason;
    }

    /// <summary>The output as the caller gave it.</summary>
    public string Path { get; }

    /// <summary>The path inside <see cref="Path"/> that could not be written ('/'-separated), or null when it is the output itself.</summary>
    public string? Entry { get; }

    /// <summary>Why it could not be written, without any path.</summary>
    public string Reason { get; }

    /// <summary>The full path of what could not be written: <see cref="Path"/>, or <see cref="Entry"/> inside it.</summary>
    internal string FullTarget => Entry is null ? System.IO.Path.GetFullPath(Path) : System.IO.Path.GetFullPath(System.IO.Path.Combine(Path, Entry));
}
