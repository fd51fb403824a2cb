using System.Globalization;
using System.Text;

namespace BertSharp.IO;

/// <summary>
/// Reads UTF-8 lines from a stream with bounded memory: bytes are split at line breaks (LF, CRLF or CR, as
/// <see cref="TextReader.ReadLine"/>) before they are decoded, so decoding is strict per line and an invalid byte is
/// reported on exactly the line that holds it, and a line longer than <see cref="MaxLineBytes"/> is refused when the limit
/// is reached instead of growing a string until memory runs out. A leading UTF-8 byte order mark is skipped.
/// </summary>
internal sealed class Utf8LineReader : IDisposable
{
    /// <summary>The default longest line: 16 MiB, far beyond a sentence, review or paragraph, far below a memory problem.</summary>
    public const int DefaultMaxLineBytes = 16 << 20;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    private readonly Stream _stream;
    private readonly string _name;
    private readonly bool _leaveOpen;
    private byte[] _buffer = new byte[1 << 16];
    private int _start;
    private int _end;
    private bool _eof;

    /// <param name="stream">The bytes (already decompressed).</param>
    /// <param name="name">How errors name the input, e.g. its path or <c>&lt;stdin&gt;</c>.</param>
    /// <param name="maxLineBytes">The longest line accepted, in bytes without the terminator.</param>
    /// <param name="leaveOpen">Leave <paramref name="stream"/> open on dispose.</param>
    public Utf8LineReader(Stream stream, string name, int maxLineBytes = DefaultMaxLineBytes, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxLineBytes, 1);
        _stream = stream;
        _name = name;
        MaxLineBytes = maxLineBytes;
        _leaveOpen = leaveOpen;
    }

    /// <summary>The longest line accepted, in bytes.</summary>
    public int MaxLineBytes { get; }

    /// <summary>The 1-based number of the line <see cref="ReadLine"/> returned last (0 before the first).</summary>
    public long LineNumber { get; private set; }

    /// <summary>The next line without its terminator, or null at the end of the input.</summary>
    /// <exception cref="BertSharpException">The line is not valid UTF-8, or is longer than <see cref="MaxLineBytes"/>.</exception>
    public string? ReadLine()
    {
        var scanned = 0;
        while (true)
        {
            var pending = _buffer.AsSpan(_start + scanned, _end - _start - scanned);
            var i = pending.IndexOfAny((byte)'\n', (byte)'\r');
            if (i >= 0)
            {
                var length = scanned + i;
                var terminator = _start + length;
                if (_buffer[terminator] == (byte)'\r' && terminator + 1 == _end && !_eof)
                {
                    // A CR at the end of the buffer: whether an LF follows decides where the next line starts.
                    scanned = length;
                    Fill();
                    continue;
                }
                var skip = _buffer[terminator] == (byte)'\r' && terminator + 1 < _end && _buffer[terminator + 1] == (byte)'\n' ? 2 : 1;
                var line = Decode(length);
                _start = terminator + skip;
                return line;
            }
            scanned = _end - _start;
            if (scanned > MaxLineBytes)
            {
                throw TooLong();
            }
            if (_eof)
            {
                if (scanned == 0)
                {
                    return null;
                }
                var last = Decode(scanned);
                _start = _end;
                return last;
            }
            Fill();
        }
    }

    /// <summary>Every remaining line, lazily.</summary>
    public IEnumerable<string> ReadLines()
    {
        while (ReadLine() is { } line)
        {
            yield return line;
        }
    }

    private string Decode(int length)
    {
        if (length > MaxLineBytes)
        {
            throw TooLong();
        }
        LineNumber++;
        var bytes = _buffer.AsSpan(_start, length);
        if (LineNumber == 1 && bytes.StartsWith("\uFEFF"u8))
        {
            bytes = bytes[3..];
        }
        try
        {
            return StrictUtf8.GetString(bytes);
        }
        catch (DecoderFallbackException e)
        {
            throw new BertSharpException($"{LineRef.At(_name, LineNumber)}: invalid UTF-8 byte sequence (the file must be UTF-8 text).", e);
        }
    }

    private BertSharpException TooLong() => new(
        $"{LineRef.At(_name, LineNumber + 1)} is longer than {MaxLineBytes.ToString("N0", CultureInfo.InvariantCulture)} bytes " +
        "(the limit for one line; split the text into lines, e.g. one paragraph or document per line).");

    /// <summary>Moves the unread bytes to the front (growing the buffer when a long line fills it) and reads more.</summary>
    private void Fill()
    {
        var unread = _end - _start;
        if (unread == _buffer.Length)
        {
            Array.Resize(ref _buffer, (int)Math.Min((long)_buffer.Length * 2, (long)MaxLineBytes + 2));
        }
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, unread);
            _start = 0;
            _end = unread;
        }
        int read;
        try
        {
            read = _stream.Read(_buffer, _end, _buffer.Length - _end);
        }
        catch (InvalidDataException e)
        {
            throw new BertSharpException($"{_name}: not a valid gzip file ({e.Message}).", e);
        }
        if (read == 0)
        {
            _eof = true;
        }
        _end += read;
    }

    public void Dispose()
    {
        if (!_leaveOpen)
        {
            _stream.Dispose();
        }
    }
}
