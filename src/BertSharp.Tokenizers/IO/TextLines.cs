using System.IO.Compression;
using System.Text;

namespace BertSharp.IO;

/// <summary>
/// Reads UTF-8 text files line by line, transparently decompressing <c>.gz</c> files. Decoding is strict: an invalid
/// byte sequence is a <see cref="BertSharpException"/> naming the file and the line it is on, never a silent U+FFFD.
/// </summary>
/// <remarks>
/// A <c>.gz</c> file cut short is an error only where the runtime's switch <c>System.IO.Compression.UseStrictValidation</c>
/// is on: otherwise <see cref="System.IO.Compression.GZipStream"/> ends where the file does, and the lines read are silently
/// the first part only. The switch is the process's, so a library cannot set it from its code; the
/// <c>BertSharp.Tokenizers</c> package turns it on in its consumer's build instead (<c>buildTransitive</c>: every project
/// that references it, directly or through <c>BertSharp</c>, gets it in its <c>runtimeconfig.json</c>), as this
/// repository's build does for the <c>bert</c> tool. A host that wants the lenient reading declares
/// <c>&lt;RuntimeHostConfigurationOption Include="System.IO.Compression.UseStrictValidation" Value="false" /&gt;</c> in its
/// project file.
/// </remarks>
public static class TextLines
{
    // A preamble-bearing encoding makes StreamReader skip a leading UTF-8 BOM; throwOnInvalidBytes makes decoding strict.
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: true, throwOnInvalidBytes: true);

    /// <summary>True when <paramref name="path"/> names a gzip file (by its <c>.gz</c> extension).</summary>
    public static bool IsGzip(string path) => path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// Opens <paramref name="path"/> for reading, decompressing it when it is a <c>.gz</c> file. A missing or unreadable
    /// file is a <see cref="BertSharpException"/>.
    /// </summary>
    public static Stream OpenRead(string path)
    {
        if (Directory.Exists(path))
        {
            // .NET calls it "Access to the path is denied", which sends the user to the permissions.
            throw new BertSharpException($"{path}: is a directory; expected a file.");
        }
        FileStream file;
        try
        {
            file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BertSharpException($"{path}: file not found.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BertSharpException($"{path}: cannot be read ({e.Message}).", e);
        }
        if (!IsGzip(path))
        {
            return file;
        }
        return new GZipStream(file, CompressionMode.Decompress, leaveOpen: false);
    }

    /// <summary>
    /// Opens a strict UTF-8 reader over <paramref name="path"/> (decompressed when <c>.gz</c>, BOM skipped). Decoding
    /// errors surface as <see cref="DecoderFallbackException"/>; prefer <see cref="Read(string)"/>, which turns them into
    /// line-numbered messages.
    /// </summary>
    public static StreamReader OpenText(string path) =>
        new(OpenRead(path), StrictUtf8, detectEncodingFromByteOrderMarks: false, bufferSize: 1 << 16);

    /// <summary>
    /// The lines of <paramref name="path"/> without their line terminators (LF, CRLF or CR), read lazily with bounded memory.
    /// Throws <see cref="BertSharpException"/> for a missing file, a corrupt gzip stream, invalid UTF-8 (naming the exact
    /// line) or a line longer than <see cref="Utf8LineReader.DefaultMaxLineBytes"/>.
    /// </summary>
    // One parameter only: callers pass the method group to SelectMany, whose (item, index) overload would bind an
    // optional limit to the index.
    public static IEnumerable<string> Read(string path) => ReadWithLimit(path, Utf8LineReader.DefaultMaxLineBytes);

    /// <summary>As <see cref="Read(string)"/>, refusing lines longer than <paramref name="maxLineBytes"/> bytes.</summary>
    public static IEnumerable<string> ReadWithLimit(string path, int maxLineBytes)
    {
        using var reader = new Utf8LineReader(OpenRead(path), path, maxLineBytes);
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }

    /// <summary>The limit of <see cref="ReadAllText"/> for a file whose format has none of its own: 64 MiB.</summary>
    internal const long MaxWholeFileBytes = 64L << 20;

    /// <summary>
    /// The whole of <paramref name="path"/> as one string (decompressed when <c>.gz</c>, BOM skipped, line terminators kept as
    /// they are), decoded as strictly as <see cref="Read(string)"/>: invalid UTF-8 is a <see cref="BertSharpException"/>
    /// naming the exact line, never a silent U+FFFD. The size limit holds for what is read, not for the size the file
    /// reports: a device or pipe (/dev/zero, a FIFO) reports 0 bytes, and reading it whole ran out of memory as an internal
    /// error. Refused past <paramref name="maxBytes"/> as "PATH: more than the N-byte limit for WHAT."
    /// </summary>
    internal static string ReadAllText(string path, string what, long maxBytes = MaxWholeFileBytes)
    {
        using var reader = OpenText(path);
        try
        {
            return ReadToEnd(reader, path, maxBytes, what);
        }
        catch (DecoderFallbackException e)
        {
            throw InvalidUtf8(path, e);
        }
    }

    /// <summary>The rest of <paramref name="reader"/>, refused once it holds more than <paramref name="maxBytes"/> bytes of <paramref name="path"/>.</summary>
    internal static string ReadToEnd(TextReader reader, string path, long maxBytes, string what)
    {
        var text = new StringBuilder();
        var buffer = new char[1 << 16];
        int read;
        while ((read = reader.Read(buffer, 0, buffer.Length)) > 0)
        {
            text.Append(buffer, 0, read);
            // A character is at least one byte: more characters than the limit are more bytes than it.
            if (text.Length > maxBytes)
            {
                throw new BertSharpException(Invariant($"{path}: more than the {maxBytes}-byte limit for {what}."));
            }
        }
        return text.ToString();
    }

    /// <summary>
    /// Builds the error for a decoding failure. StreamReader decodes whole buffers, so the line it was reading when the
    /// error surfaced is not necessarily the bad one; a second byte-level pass finds the exact line.
    /// </summary>
    internal static BertSharpException InvalidUtf8(string path, Exception inner)
    {
        var line = FindFirstInvalidUtf8Line(path);
        var where = line > 0 ? LineRef.At(path, line) : $"{path}: somewhere";
        return new BertSharpException($"{where}: invalid UTF-8 byte sequence (the file must be UTF-8 text).", inner);
    }

    /// <summary>The 1-based line holding the first invalid UTF-8 sequence, or 0 when the file decodes cleanly.</summary>
    internal static long FindFirstInvalidUtf8Line(string path)
    {
        using var stream = OpenRead(path);
        var buffer = new byte[1 << 16];
        var pending = 0; // bytes of an incomplete sequence carried over from the previous chunk
        long line = 1;
        while (true)
        {
            var read = stream.Read(buffer, pending, buffer.Length - pending);
            var end = pending + read;
            var final = read == 0;
            var i = 0;
            while (i < end)
            {
                var status = System.Text.Rune.DecodeFromUtf8(buffer.AsSpan(i, end - i), out _, out var consumed);
                if (status == System.Buffers.OperationStatus.NeedMoreData && !final)
                {
                    break;
                }
                if (status != System.Buffers.OperationStatus.Done)
                {
                    return line;
                }
                if (buffer[i] == (byte)'\n')
                {
                    line++;
                }
                i += consumed;
            }
            if (final)
            {
                return 0;
            }
            pending = end - i;
            Array.Copy(buffer, i, buffer, 0, pending);
        }
    }
}
