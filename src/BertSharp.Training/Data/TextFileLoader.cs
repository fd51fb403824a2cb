using System.Text;
using BertSharp.IO;

namespace BertSharp.Data;

/// <summary>
/// Loads a whole data file as strict UTF-8 text (gzip-compressed when the name ends in <c>.gz</c>, a leading BOM dropped).
/// Invalid bytes are an error naming the file and line instead of being replaced silently with U+FFFD.
/// </summary>
internal static class TextFileLoader
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>The largest data file (after decompression) read whole: 1 GiB, many times any GLUE or IMDb file.</summary>
    public const long MaxBytes = 1L << 30;

    /// <summary>The file's bytes after any BOM, checked to be valid UTF-8.</summary>
    public static ReadOnlyMemory<byte> Load(string path)
    {
        byte[] bytes;
        try
        {
            // TextLines.OpenRead names a directory, a missing or an unreadable file as every other text input does.
            using var stream = TextLines.OpenRead(path);
            if (TextLines.IsGzip(path))
            {
                using var ms = new MemoryStream();
                var chunk = new byte[1 << 16];
                int read;
                // A small .gz can expand a thousandfold: stop at the limit instead of after the memory is gone.
                while ((read = stream.Read(chunk)) > 0)
                {
                    if (ms.Length + read > MaxBytes)
                    {
                        throw TooLarge(path, "decompresses to");
                    }
                    ms.Write(chunk, 0, read);
                }
                bytes = ms.ToArray();
            }
            else
            {
                if (stream.Length > MaxBytes)
                {
                    throw TooLarge(path, "is");
                }
                bytes = new byte[stream.Length];
                stream.ReadExactly(bytes);
            }
        }
        catch (InvalidDataException e)
        {
            throw new BertSharpException($"{path}: not a valid gzip file ({e.Message}).", e);
        }
        var start = bytes.Length >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF ? 3 : 0;
        try
        {
            Strict.GetCharCount(bytes, start, bytes.Length - start);
            return bytes.AsMemory(start);
        }
        catch (DecoderFallbackException e)
        {
            throw new BertSharpException(Invariant($"{IO.LineRef.At(path, BadLine(bytes, start))}: invalid UTF-8; expected UTF-8 text."), e);
        }
    }

    private static BertSharpException TooLarge(string path, string verb) =>
        new(Invariant($"{path}: {verb} more than {MaxBytes:N0} bytes, the limit for a data file read into memory; split it into smaller files."));

    private static int BadLine(byte[] bytes, int start)
    {
        var line = 1;
        var lineStart = start;
        for (var i = start; i <= bytes.Length; i++)
        {
            if (i == bytes.Length || bytes[i] == (byte)'\n')
            {
                try
                {
                    Strict.GetString(bytes, lineStart, i - lineStart);
                }
                catch (DecoderFallbackException)
                {
                    return line;
                }
                line++;
                lineStart = i + 1;
            }
        }
        return line;
    }
}
