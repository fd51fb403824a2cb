namespace BertSharp.IO;

/// <summary>
/// The text files a corpus is read from, given as files and folders: one rule for every reader of a corpus (pre-training
/// data, vocabulary training), so that a folder a researcher built the data from trains its vocabulary too.
/// </summary>
public static class CorpusFiles
{
    /// <summary>
    /// Expands <paramref name="inputs"/> into a de-duplicated file list: a file as it is, a folder as every <c>*.txt</c> and
    /// <c>*.txt.gz</c> file under it (recursively, in ordinal order of path). A file named twice, however spelled (the same
    /// full path), is listed once, where it first appears.
    /// </summary>
    /// <exception cref="PathException">An input is neither a file nor a folder, or a folder holds no such file.</exception>
    public static List<string> Expand(IEnumerable<string> inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        var files = new List<string>();
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                var found = Directory.EnumerateFiles(input, "*", SearchOption.AllDirectories)
                    .Where(f => f.EndsWith(".txt", StringComparison.OrdinalIgnoreCase) || f.EndsWith(".txt.gz", StringComparison.OrdinalIgnoreCase))
                    .Order(StringComparer.Ordinal).ToList();
                if (found.Count == 0)
                {
                    throw new PathException(input, "directory has no .txt or .txt.gz files.");
                }
                files.AddRange(found);
            }
            else if (File.Exists(input))
            {
                files.Add(input);
            }
            else
            {
                throw new PathException(input, "not found; expected a corpus file or directory.");
            }
        }
        // By full path: "a.txt", "./a.txt" and a folder's "corpus/a.txt" beside "./corpus" are one file, which was read
        // once per spelling (its words counted twice, its documents repeated).
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return files.Where(f => seen.Add(Path.GetFullPath(f))).ToList();
    }
}
