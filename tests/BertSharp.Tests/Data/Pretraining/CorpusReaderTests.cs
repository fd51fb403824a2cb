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

    // A review file saved with an extra newline at its end (or one at its start) was detected as google's layout: its
    // reviews became one document, with their <br /> tags as text, and a lone file was refused as a single document.
    [Theory]
    [InlineData("Great movie.<br /><br />Loved it.\nBad <i>acting</i>. Skip it.\nFine.\n\n")]
    [InlineData("Great movie.<br /><br />Loved it.\nBad <i>acting</i>. Skip it.\nFine.\r\n  \r\n\r\n")]
    [InlineData("\nGreat movie.<br /><br />Loved it.\nBad <i>acting</i>. Skip it.\nFine.\n")]
    public void Document_per_line_is_detected_despite_blank_lines_at_the_start_or_end_of_the_file(string text)
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("r.txt");
        File.WriteAllText(path, text);
        Assert.Equal(CorpusFormat.DocumentPerLine, CorpusReader.Detect(path));
        var docs = CorpusReader.ReadDocuments(path, CorpusFormat.Auto).ToList();
        List<string>[] expected = [["Great movie.", "Loved it."], ["Bad acting.", "Skip it."], ["Fine."]];
        Assert.Equal(expected, docs);
    }

    [Fact]
    public void A_blank_line_inside_the_sniffed_text_still_means_googles_layout()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("g.txt");
        File.WriteAllText(path, "First doc one.\nFirst doc two.\n\nSecond doc.\n\n");
        Assert.Equal(CorpusFormat.Lines, CorpusReader.Detect(path));
        Assert.Equal(2, CorpusReader.ReadDocuments(path, CorpusFormat.Auto).Count());
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
