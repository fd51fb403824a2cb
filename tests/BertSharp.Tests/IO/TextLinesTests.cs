using System.IO.Compression;
using BertSharp.IO;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.IO;

public class TextLinesTests
{
    private static void WriteGz(string path, byte[] content)
    {
        using var file = File.Create(path);
        using var gz = new GZipStream(file, CompressionLevel.Fastest);
        gz.Write(content);
    }

    // Every entry that decodes a file skips a leading UTF-8 BOM: the line readers strip it themselves (Utf8LineReader),
    // OpenText and ReadAllText only by their encoding's preamble, which no test of the line readers reached.
    [Theory]
    [InlineData("Read", "a.txt", "één|two|three|last")]
    [InlineData("ReadWithLimit", "a.txt", "één|two|three|last")]
    [InlineData("OpenText", "a.txt", "één\r\ntwo\nthree\rlast")]
    [InlineData("ReadAllText", "a.txt", "één\r\ntwo\nthree\rlast")]
    [InlineData("Read", "a.txt.gz", "één|two|three|last")]
    [InlineData("OpenText", "a.txt.gz", "één\r\ntwo\nthree\rlast")]
    [InlineData("ReadAllText", "a.txt.gz", "één\r\ntwo\nthree\rlast")]
    public void Reads_lines_with_any_terminator_and_skips_a_bom(string entry, string name, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File(name);
        byte[] bytes = [0xEF, 0xBB, 0xBF, .. "één\r\ntwo\nthree\rlast"u8];
        if (TextLines.IsGzip(path))
        {
            WriteGz(path, bytes);
        }
        else
        {
            File.WriteAllBytes(path, bytes);
        }
        string read;
        switch (entry)
        {
            case "Read":
                read = string.Join('|', TextLines.Read(path));
                break;
            case "ReadWithLimit":
                read = string.Join('|', TextLines.ReadWithLimit(path, 64));
                break;
            case "OpenText":
                using (var reader = TextLines.OpenText(path))
                {
                    read = reader.ReadToEnd();
                }
                break;
            default:
                read = TextLines.ReadAllText(path, "a test file");
                break;
        }
        Assert.Equal(expected, read);
    }

    [Fact]
    public void Reads_gzip_files_by_extension()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("a.txt.gz");
        WriteGz(path, "héllo\n😀 world\n"u8.ToArray());
        Assert.Equal(["héllo", "😀 world"], TextLines.Read(path));
    }

    [Theory]
    [InlineData("bad.txt")]
    [InlineData("bad.txt.gz")]
    public void Invalid_utf8_names_the_file_and_the_exact_line(string name)
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File(name);
        // The bad byte sits on line 3000, well inside StreamReader's first decoded buffer.
        var lines = Enumerable.Range(1, 4000).Select(i => i == 3000 ? [.. "bad "u8, 0xFF, .. " here"u8] : System.Text.Encoding.UTF8.GetBytes($"line {i}"));
        var bytes = lines.SelectMany(l => l.Append((byte)'\n')).ToArray();
        if (name.EndsWith(".gz", StringComparison.Ordinal))
        {
            WriteGz(path, bytes);
        }
        else
        {
            File.WriteAllBytes(path, bytes);
        }
        var e = Assert.Throws<BertSharpException>(() => TextLines.Read(path).Count());
        Assert.Contains(path, e.Message, StringComparison.Ordinal);
        Assert.Contains("line 3000:", e.Message, StringComparison.Ordinal);
        Assert.Contains("invalid UTF-8", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Truncated_multibyte_sequence_at_end_of_file_is_reported()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("t.txt");
        File.WriteAllBytes(path, [.. "ok\nend "u8, 0xE2, 0x82]);
        var e = Assert.Throws<BertSharpException>(() => TextLines.Read(path).ToList());
        Assert.Contains("line 2:", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_file_is_a_user_error()
    {
        var e = Assert.Throws<BertSharpException>(() => TextLines.Read("/nonexistent/x.txt").ToList());
        Assert.Contains("/nonexistent/x.txt: file not found", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_directory_is_named_as_one_not_as_a_file_without_access()
    {
        using var tmp = TestPaths.TempDir();
        var e = Assert.Throws<BertSharpException>(() => TextLines.Read(tmp.Path).ToList());
        Assert.Equal($"{tmp.Path}: is a directory; expected a file.", e.Message);
    }

    [Fact]
    public void Corrupt_gzip_is_a_user_error()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("c.txt.gz");
        File.WriteAllBytes(path, "this is not gzip at all"u8.ToArray());
        var e = Assert.Throws<BertSharpException>(() => TextLines.Read(path).ToList());
        Assert.Contains("not a valid gzip file", e.Message, StringComparison.Ordinal);
    }
}
