using BertSharp.IO;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.IO;

public class CorpusFilesTests
{
    [Fact]
    public void A_file_named_twice_however_spelled_is_listed_once_where_it_first_appears()
    {
        // "a.txt", "./a.txt", "sub/../a.txt" and the folder that holds it are one file: it was listed once per spelling,
        // so vocab train counted its words and pretrain-data read its documents once per spelling.
        using var tmp = TestPaths.TempDir();
        var corpus = tmp.File("corpus");
        Directory.CreateDirectory(Path.Combine(corpus, "sub"));
        var a = Path.Combine(corpus, "a.txt");
        var b = Path.Combine(corpus, "sub", "b.txt");
        File.WriteAllText(a, "x\n");
        File.WriteAllText(b, "y\n");
        var files = CorpusFiles.Expand([a, Path.Combine(corpus, ".", "a.txt"), Path.Combine(corpus, "sub", "..", "a.txt"), corpus + "/.", b]);
        Assert.Equal([a, Path.Combine(corpus + "/.", "sub", "b.txt")], files);
    }
}
