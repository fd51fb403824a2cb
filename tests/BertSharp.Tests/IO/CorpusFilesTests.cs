using BertSharp.IO;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.IO;

public class CorpusFilesTests
{
    // A folder and a file in it spelled another way ("corpus" and "corpus/../corpus/a.txt", "./corpus" and "corpus/a.txt")
    // read a.txt twice: its documents were in the pre-training data twice, silently.
    [Fact]
    public void A_file_reached_by_two_spellings_is_read_once_under_the_first()
    {
        using var tmp = TestPaths.TempDir();
        var folder = tmp.File("corpus");
        Directory.CreateDirectory(Path.Combine(folder, "sub"));
        File.WriteAllText(Path.Combine(folder, "a.txt"), "a\n");
        File.WriteAllText(Path.Combine(folder, "sub", "b.txt"), "b\n");
        var files = CorpusFiles.Expand([folder, Path.Combine(folder, "..", "corpus", "a.txt"), Path.Combine(folder, "sub", ".", "b.txt")]);
        Assert.Equal([Path.Combine(folder, "a.txt"), Path.Combine(folder, "sub", "b.txt")], files);
    }

    // As HF datasets resolves a data folder: what a folder hides (Jupyter's .ipynb_checkpoints copies of the corpus, macOS's
    // ._name.txt resource forks, an editor's backups) is no part of the corpus; a hidden file named by itself is.
    [Fact]
    public void Hidden_files_and_folders_under_a_folder_are_left_out_unless_named()
    {
        using var tmp = TestPaths.TempDir();
        var folder = tmp.File("corpus");
        Directory.CreateDirectory(Path.Combine(folder, ".ipynb_checkpoints"));
        File.WriteAllText(Path.Combine(folder, "a.txt"), "a\n");
        File.WriteAllText(Path.Combine(folder, ".ipynb_checkpoints", "a-checkpoint.txt"), "a\n");
        File.WriteAllText(Path.Combine(folder, "._a.txt"), "\u0005\u0016\u0007\0");
        Assert.Equal([Path.Combine(folder, "a.txt")], CorpusFiles.Expand([folder]));
        Assert.Equal([Path.Combine(folder, "a.txt"), Path.Combine(folder, "._a.txt")], CorpusFiles.Expand([folder, Path.Combine(folder, "._a.txt")]));
    }

    [Fact]
    public void A_folder_holding_only_hidden_text_files_is_refused_naming_it()
    {
        using var tmp = TestPaths.TempDir();
        var folder = tmp.File("corpus");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, ".a.txt"), "a\n");
        var e = Assert.Throws<PathException>(() => CorpusFiles.Expand([folder]));
        Assert.Equal($"{folder}: directory has no .txt or .txt.gz files (hidden files and folders, whose names start with '.', are left out).", e.Message);
    }

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
