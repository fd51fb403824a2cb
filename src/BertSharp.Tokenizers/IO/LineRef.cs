using System.Text.Json;

namespace BertSharp.IO;

/// <summary>
/// Names a line of an input file in error messages. Every reader says it the same way (<c>FILE line N</c>, the message
/// going on after a colon) so that users, scripts and tests meet one form; <c>LineRefTests</c> rejects the other.
/// </summary>
internal static class LineRef
{
    /// <summary>"<paramref name="path"/> line <paramref name="line"/>", the line 1-based.</summary>
    internal static string At(string path, long line) => Invariant($"{path} line {line}");

    /// <summary>"FILE line N: not valid JSON (reason)" for a failed parse of a whole file, N from the exception.</summary>
    internal static string NotValidJson(string path, JsonException e) => $"{At(path, (e.LineNumber ?? 0) + 1)}: not valid JSON ({JsonReason(e)})";

    /// <summary>
    /// System.Text.Json's reason for a failed parse, for a message that names the line itself. Its own message ends with
    /// " LineNumber: 0 | BytePositionInLine: 9." (0-based, and a second way of naming the line), which is cut off here;
    /// cutting at the first '.' instead left "(')" of "'.' is an invalid start of a value".
    /// </summary>
    /// <remarks>
    /// The reason can quote the file's text across a line break (an invalid literal such as <c>tru</c> is quoted up to the
    /// next delimiter, newline included); the break is written <c>\n</c> so that the message stays whole and on one line.
    /// </remarks>
    internal static string JsonReason(JsonException e)
    {
        var reason = e.Message.Split(" LineNumber:", 2)[0].Split(" Path:", 2)[0].TrimEnd('.', ' ');
        // The quoted text runs to the next delimiter, which may be kilobytes away: a quote is cut to its start.
        if (reason.StartsWith('\'') && reason.IndexOf("' is ", StringComparison.Ordinal) is var end and > QuotedChars + 1)
        {
            reason = string.Concat(reason.AsSpan(0, QuotedChars + 1), "…", reason.AsSpan(end));
        }
        return reason.Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
    }

    /// <summary>How much of the file's text a JSON reason quotes at most.</summary>
    private const int QuotedChars = 40;
}
