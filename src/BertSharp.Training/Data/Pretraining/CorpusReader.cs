using System.Text;
using System.Text.RegularExpressions;
using BertSharp.IO;

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

    /// <summary>
    /// The lines of a corpus file, strictly decoded with bounded memory: invalid UTF-8 or a line over
    /// <see cref="Utf8LineReader.DefaultMaxLineBytes"/> is a <see cref="BertSharpException"/> naming the file and line.
    /// </summary>
    private static IEnumerable<string> Lines(string path)
    {
        using var reader = new Utf8LineReader(TextLines.OpenRead(path), path);
        while (reader.ReadLine() is { } line)
        {
            yield return line;
        }
    }

    /// <summary>
    /// Guesses the layout: no blank line between the lines of text of the first 64 KiB (blank lines at the start or the end
    /// of the file do not count) → one document per line; a Project Gutenberg marker or
    /// hard-wrapped prose (most lines 40–80 characters and not ending a sentence) → book; otherwise google's layout.
    /// </summary>
    public static CorpusFormat Detect(string path)
    {
        // The first 64 Ki characters, as lines joined by '\n' (read line by line: strict and bounded like the readers).
        var sb = new StringBuilder();
        var whole = true;
        foreach (var line in Lines(path))
        {
            sb.Append(line).Append('\n');
            if (sb.Length >= SniffChars)
            {
                whole = false;
                break;
            }
        }
        var head = sb.Length > SniffChars ? sb.ToString(0, SniffChars) : sb.ToString();
        var lines = head.Split('\n');
        if (lines.Length > 1)
        {
            lines = lines[..^1]; // after the last newline: empty, or cut off by the sniff limit
        }
        var nonBlank = lines.Where(l => l.Trim().Length > 0).ToList();
        // Blank lines before the first line of text, or after the last one of the file, separate no documents: an extra
        // newline at the end of a review file made it google's layout, its reviews one document with their tags as text.
        var first = Array.FindIndex(lines, l => l.Trim().Length > 0);
        var end = whole ? Array.FindLastIndex(lines, l => l.Trim().Length > 0) + 1 : lines.Length;
        if (nonBlank.Count > 1 && nonBlank.Count == end - first)
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
        var doc = new List<string>();
        foreach (var line in Lines(path))
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
        foreach (var line in Lines(path))
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
        var all = Lines(path).ToList();
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
