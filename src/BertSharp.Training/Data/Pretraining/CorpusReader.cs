using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;

namespace BertSharp.Data.Pretraining;

/// <summary>How a corpus file is laid out.</summary>
public enum CorpusFormat
{
    /// <summary>Decide from the first 64 KiB of the file (see <see cref="CorpusReader.Detect"/>).</summary>
    Auto,

    /// <summary>google-research/bert's layout: one sentence (or paragraph) per line, a blank line between documents.</summary>
    Lines,

    /// <summary>One document per line, e.g. the unlabelled IMDb reviews; HTML line breaks are paragraph breaks.</summary>
    DocumentPerLine,

    /// <summary>A Project Gutenberg book: hard-wrapped paragraphs between blank lines; each chapter is a document.</summary>
    Book,
}

/// <summary>
/// Reads .txt / .txt.gz corpora into documents made of sentences, for the pre-training data builder.
/// </summary>
public static partial class CorpusReader
{
    private const int SniffChars = 1 << 16;

    /// <summary>Opens a text file, transparently decompressing <c>.gz</c>.</summary>
    public static TextReader OpenText(string path)
    {
        if (!File.Exists(path))
        {
            throw new BertSharpException($"{path}: corpus file not found.");
        }
        Stream s = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        if (path.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
        {
            s = new GZipStream(s, CompressionMode.Decompress);
        }
        return new StreamReader(s, new UTF8Encoding(false, throwOnInvalidBytes: false), detectEncodingFromByteOrderMarks: true, 1 << 16);
    }

    /// <summary>
    /// Guesses the layout: no blank line in the first 64 KiB → one document per line; a Project Gutenberg marker or
    /// hard-wrapped prose (most lines 40–80 characters and not ending a sentence) → book; otherwise google's layout.
    /// </summary>
    public static CorpusFormat Detect(string path)
    {
        var buf = new char[SniffChars];
        int read;
        using (var r = OpenText(path))
        {
            read = r.ReadBlock(buf, 0, buf.Length);
        }
        var head = new string(buf, 0, read);
        var lines = head.Split('\n');
        if (lines.Length > 1)
        {
            lines = lines[..^1]; // after the last newline: empty, or cut off by the sniff limit
        }
        var nonBlank = lines.Where(l => l.Trim().Length > 0).ToList();
        if (nonBlank.Count == lines.Length && nonBlank.Count > 1)
        {
            return CorpusFormat.DocumentPerLine;
        }
        if (head.Contains("*** START OF", StringComparison.Ordinal))
        {
            return CorpusFormat.Book;
        }
        if (nonBlank.Count >= 20)
        {
            var wrapped = nonBlank.Count(l => l.TrimEnd().Length is >= 40 and <= 80 && !EndsSentence(l.TrimEnd()));
            if (wrapped * 2 > nonBlank.Count)
            {
                return CorpusFormat.Book;
            }
        }
        return CorpusFormat.Lines;
    }

    /// <summary>
    /// Streams the documents of <paramref name="path"/>; each document is its list of sentences. Empty documents are skipped.
    /// </summary>
    public static IEnumerable<List<string>> ReadDocuments(string path, CorpusFormat format)
    {
        if (format == CorpusFormat.Auto)
        {
            format = Detect(path);
        }
        return format switch
        {
            CorpusFormat.Lines => ReadLines(path),
            CorpusFormat.DocumentPerLine => ReadDocumentPerLine(path),
            CorpusFormat.Book => ReadBook(path),
            _ => throw new ArgumentOutOfRangeException(nameof(format)),
        };
    }

    private static IEnumerable<List<string>> ReadLines(string path)
    {
        using var r = OpenText(path);
        var doc = new List<string>();
        while (r.ReadLine() is { } line)
        {
            if (line.Trim().Length == 0)
            {
                if (doc.Count > 0)
                {
                    yield return doc;
                    doc = [];
                }
                continue;
            }
            doc.AddRange(SentenceSplitter.Split(line));
        }
        if (doc.Count > 0)
        {
            yield return doc;
        }
    }

    private static IEnumerable<List<string>> ReadDocumentPerLine(string path)
    {
        using var r = OpenText(path);
        while (r.ReadLine() is { } line)
        {
            var doc = new List<string>();
            foreach (var paragraph in HtmlBreak().Split(line))
            {
                doc.AddRange(SentenceSplitter.Split(HtmlTag().Replace(paragraph, "")));
            }
            if (doc.Count > 0)
            {
                yield return doc;
            }
        }
    }

    private static IEnumerable<List<string>> ReadBook(string path)
    {
        using var r = OpenText(path);
        var all = new List<string>();
        while (r.ReadLine() is { } line)
        {
            all.Add(line);
        }
        var from = all.FindIndex(l => l.TrimStart().StartsWith("*** START OF", StringComparison.Ordinal));
        var to = all.FindIndex(l => l.TrimStart().StartsWith("*** END OF", StringComparison.Ordinal));
        var body = all.Skip(from + 1).Take((to > from ? to : all.Count) - from - 1);

        var doc = new List<string>();
        var paragraph = new StringBuilder();
        foreach (var raw in body.Append(""))
        {
            var line = raw.Trim();
            if (line.Length > 0)
            {
                paragraph.Append(paragraph.Length > 0 ? " " : "").Append(line);
                continue;
            }
            if (paragraph.Length == 0)
            {
                continue;
            }
            var text = paragraph.ToString();
            paragraph.Clear();
            if (ChapterHeading().IsMatch(text))
            {
                if (doc.Count > 0)
                {
                    yield return doc;
                    doc = [];
                }
                continue;
            }
            doc.AddRange(SentenceSplitter.Split(text));
        }
        if (doc.Count > 0)
        {
            yield return doc;
        }
    }

    private static bool EndsSentence(string line) =>
        line.Length > 0 && ".!?\"'”’)".Contains(line[^1], StringComparison.Ordinal);

    [GeneratedRegex(@"<br\s*/?>(\s*<br\s*/?>)*", RegexOptions.IgnoreCase)]
    private static partial Regex HtmlBreak();

    [GeneratedRegex(@"<[^>]{1,40}>")]
    private static partial Regex HtmlTag();

    // "CHAPTER I", "Chapter 12. The Beginning", "BOOK THE FIRST", "XIV."
    [GeneratedRegex(@"^(?:(?:CHAPTER|Chapter|BOOK|Book|PART|Part|STAVE|Letter|LETTER)\b.{0,80}|[IVXLC]+\.?)$")]
    private static partial Regex ChapterHeading();
}
