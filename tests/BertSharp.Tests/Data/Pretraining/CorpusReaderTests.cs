using BertSharp.Data.Pretraining;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Data.Pretraining;

public class CorpusReaderTests
{
    [Fact]
    public void Lines_format_splits_documents_at_blank_lines()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("c.txt");
        File.WriteAllText(path, "First doc one. First doc two.\nAnother line\n\n\nSecond doc.\n");
        var docs = CorpusReader.ReadDocuments(path, CorpusFormat.Lines).ToList();
        Assert.Equal(2, docs.Count);
        Assert.Equal(["First doc one.", "First doc two.", "Another line"], docs[0]);
        Assert.Equal(["Second doc."], docs[1]);
    }

    [Fact]
    public void Document_per_line_strips_html_breaks_and_is_detected_in_gzip()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("r.txt.gz");
        using (var gz = new System.IO.Compression.GZipStream(File.Create(path), System.IO.Compression.CompressionLevel.Fastest))
        using (var w = new StreamWriter(gz))
        {
            w.Write("Great movie.<br /><br />the end was sad. I cried\nBad <i>acting</i>. Skip it.\n");
        }
        Assert.Equal(CorpusFormat.DocumentPerLine, CorpusReader.Detect(path));
        var docs = CorpusReader.ReadDocuments(path, CorpusFormat.Auto).ToList();
        Assert.Equal(2, docs.Count);
        Assert.Equal(["Great movie.", "the end was sad.", "I cried"], docs[0]);
        Assert.Equal(["Bad acting.", "Skip it."], docs[1]);
    }

    [Fact]
    public void Book_format_strips_gutenberg_header_joins_wrapped_lines_and_splits_chapters()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("b.txt");
        File.WriteAllText(path, string.Join('\n',
            "The Project Gutenberg eBook of X", "licence text.", "*** START OF THE PROJECT GUTENBERG EBOOK X ***", "",
            "CHAPTER I.", "", "It was a dark", "night. The rain fell.", "", "Nobody came.", "",
            "CHAPTER II. Morning", "", "The sun rose.", "",
            "    *** END OF THE PROJECT GUTENBERG EBOOK X ***", "Footer licence."));
        Assert.Equal(CorpusFormat.Book, CorpusReader.Detect(path));
        var docs = CorpusReader.ReadDocuments(path, CorpusFormat.Auto).ToList();
        Assert.Equal(2, docs.Count);
        Assert.Equal(["It was a dark night.", "The rain fell.", "Nobody came."], docs[0]);
        Assert.Equal(["The sun rose."], docs[1]);
    }

    [Fact]
    public void Bundled_gutenberg_sample_is_read_as_a_book_with_chapters()
    {
        var path = Path.Combine(TestPaths.RepoRoot, "samples", "corpus", "pg11_alice.txt");
        Assert.Equal(CorpusFormat.Book, CorpusReader.Detect(path));
        var docs = CorpusReader.ReadDocuments(path, CorpusFormat.Auto).ToList();
        Assert.Equal(12, docs.Count);
        Assert.StartsWith("Alice was beginning to get very tired of sitting by her sister on the bank,", docs[0][0], StringComparison.Ordinal);
    }
}
