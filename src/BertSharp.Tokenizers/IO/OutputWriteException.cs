namespace BertSharp.IO;

/// <summary>
/// An output (file or directory) that <see cref="AtomicFile"/> could not write: its directory refuses new files, the disk is
/// full, and the like. The message names the output the caller asked for, never the temporary sibling the write goes through.
/// </summary>
/// <param name="path">The output as the caller gave it.</param>
/// <param name="reason">Why it could not be written (e.g. "permission denied").</param>
/// <param name="inner">The failure of the underlying file operation.</param>
public sealed class OutputWriteException(string path, string reason, Exception inner) : IOException($"{path}: cannot be written ({reason}).", inner)
{
    /// <summary>The output as the caller gave it.</summary>
    public string Path { get; } = path;

    /// <summary>Why it could not be written, without the path.</summary>
    public string Reason { get; } = reason;
}
