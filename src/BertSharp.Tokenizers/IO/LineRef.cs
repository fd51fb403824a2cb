namespace BertSharp.IO;

/// <summary>
/// Names a line of an input file in error messages. Every reader says it the same way (<c>FILE line N</c>, the message
/// going on after a colon) so that users, scripts and tests meet one form; <c>LineRefTests</c> rejects the other.
/// </summary>
internal static class LineRef
{
    /// <summary>"<paramref name="path"/> line <paramref name="line"/>", the line 1-based.</summary>
    internal static string At(string path, long line) => Invariant($"{path} line {line}");
}
