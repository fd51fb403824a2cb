namespace BertSharp.IO;

/// <summary>
/// The text files a corpus is read from, given as files and folders: one rule for every reader of a corpus (pre-training
/// data, vocabulary training), so that a folder a researcher built the data from trains its vocabulary too.
/// </summary>
public static class CorpusFiles
{
    /// <summary>
    /// Expands <paramref name="inputs"/> into a de-duplicated file list: a file as it is, a folder as every <c>*.txt</c> and
    /// <c>*.txt.gz</c> file under it (recursively, in ordinal order of path) outside hidden files and folders (names starting
    /// with <c>.</c>, as HF <c>datasets</c> leaves them out). A file reached twice (a folder and a file in it, or two spellings
    /// of one path) is listed once, as first reached.
    /// </summary>
    /// <exception cref="PathException">An input is neither a file nor a folder, or a folder holds no such file.</exception>
    public static List<string> Expand(IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var files = new List<string>();
        // By full path: "corpus" and "corpus/../corpus/a.txt" (or "./corpus" and "corpus/a.txt") read a.txt twice.
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string file)
        {
            if (seen.Add(Path.GetFullPath(file)))
            {
                files.Add(file);
            }
        }
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                // Jupyter's .ipynb_checkpoints copies of the corpus doubled it silently; macOS's ._name.txt forks are binary.
                var text = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                    .Where(f => f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".txt.gz", StringComparison.OrdinalIgnoreCase))
                    .ToList();
                var found = text.Where(f => !IsHidden(Path.GetRelativePath(input, f))).Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0)
                {
                    throw new PathException(input, "directory has no .txt or .txt.gz files" +
                        (text.Count > 0 ? " (hidden files and folders, whose names start with '.', are left out)." : "."));
                }
                found.ForEach(Add);
            }
            else if (File.Exists(input))
            {
                Add(input);
            }
            else
            {
                throw new PathException(input, "not found; expected a corpus file or directory.");
            }
        }
        return files;
    }

    private static bool IsHidden(string relativePath) =>
        relativePath.Split(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar).Any(part => part.StartsWith('.'));
}
