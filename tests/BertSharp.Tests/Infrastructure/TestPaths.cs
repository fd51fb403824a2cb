namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// The one place tests find data. Small fixtures live in the repo (<c>tests/fixtures</c>); large public data sets are read
/// from <c>../shared</c> beside the checkout (or <c>BERTSHARP_SHARED</c>), and tests over them are skipped without it.
/// </summary>
public static class TestPaths
{
    /// <summary>The repository root (the folder holding BertSharp.slnx).</summary>
    public static string RepoRoot { get; } = FindRepoRoot();

    /// <summary>Fixtures committed with the repo.</summary>
    public static string Fixtures => Path.Combine(RepoRoot, "tests", "fixtures");

    /// <summary>The shared data folder, or null when this checkout has none beside it.</summary>
    public static string? Shared { get; } = FindShared();

    /// <summary>A path under the shared folder; skips the calling test when the shared folder or the path is absent.</summary>
    public static string RequireShared(params string[] parts)
    {
        Skip.If(Shared is null, "../shared is not present beside this checkout (set BERTSHARP_SHARED to point at it)");
        var p = Path.Combine([Shared!, .. parts]);
        Skip.IfNot(File.Exists(p) || Directory.Exists(p), $"{p} is not present");
        return p;
    }

    /// <summary>A fresh temporary directory, removed when the returned handle is disposed.</summary>
    public static TempDir TempDir() => new();

    /// <summary>
    /// The files in <paramref name="dir"/> and its subdirectories, by relative path, with their bytes, to compare with
    /// <see cref="AssertUnchanged"/>. Subdirectories count because a run's directory keeps its state in them (checkpoint-N):
    /// a refused resume that wrote there passed a comparison of the top-level files.
    /// </summary>
    public static Dictionary<string, byte[]> Snapshot(string dir) =>
        Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories).ToDictionary(f => Path.GetRelativePath(dir, f), File.ReadAllBytes, StringComparer.Ordinal);

    /// <summary>Asserts that <paramref name="dir"/> and its subdirectories hold exactly the files of <paramref name="before"/>, byte for byte.</summary>
    public static void AssertUnchanged(Dictionary<string, byte[]> before, string dir)
    {
        ArgumentNullException.ThrowIfNull(before);
        var after = Snapshot(dir);
        Assert.Equal(before.Keys.Order(StringComparer.Ordinal), after.Keys.Order(StringComparer.Ordinal));
        Assert.All(before, kv => Assert.True(kv.Value.AsSpan().SequenceEqual(after[kv.Key]), $"{kv.Key} changed"));
    }

    /// <summary>Copies a folder (without bin/ and obj/), e.g. a sample or a training run, to a fresh place.</summary>
    public static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(from, file);
            var parts = rel.Split(Path.DirectorySeparatorChar);
            if (parts.Any(p => p is "bin" or "obj"))
            {
                continue;
            }
            var dest = Path.Combine(to, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
    }

    private static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BertSharp.slnx")))
        {
            dir = dir.Parent;
        }
        return dir?.FullName ?? throw new InvalidOperationException("BertSharp.slnx not found above " + AppContext.BaseDirectory);
    }

    private static string? FindShared()
    {
        var env = Environment.GetEnvironmentVariable("BERTSHARP_SHARED");
        if (!string.IsNullOrEmpty(env) && Directory.Exists(env))
        {
            return Path.GetFullPath(env);
        }
        var beside = Path.GetFullPath(Path.Combine(RepoRoot, "..", "shared"));
        return Directory.Exists(beside) ? beside : null;
    }
}

/// <summary>
/// A temporary directory that deletes itself. It lives in this test process's scratch folder
/// (<c>bertsharp-tests-PID</c> in the temp directory, see <see cref="BertSharp.Fuzz.ProcessScratch"/>): a directory whose
/// handle is never disposed (a class fixture whose constructor throws after creating it, a test host stopped before its
/// exit handlers) is removed by the next test process instead of staying in the temp directory for good.
/// </summary>
public sealed class TempDir : IDisposable
{
    private static readonly Lazy<string> ProcessFolder = new(() => BertSharp.Fuzz.ProcessScratch.Create(ScratchPrefix));

    /// <summary>The prefix of the per-process folder that holds every <see cref="TempDir"/> of a test process.</summary>
    public const string ScratchPrefix = "bertsharp-tests";

    public TempDir()
    {
        Path = System.IO.Path.Combine(ProcessFolder.Value, Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    /// <summary>
    /// A link named <paramref name="name"/> to a sparse file of <paramref name="length"/> bytes, as the HF cache links every
    /// file to its blob (size limits must measure the file, not the link); returns the link's path.
    /// </summary>
    public string LinkToFileOf(string name, long length)
    {
        var target = File(name + ".blob");
        using (var f = System.IO.File.Create(target))
        {
            f.SetLength(length);
        }
        var link = File(name);
        System.IO.File.CreateSymbolicLink(link, target);
        return link;
    }

    /// <summary>
    /// The path of a directory, not yet made (its parent is), where a run can make its directory and write its marker but
    /// not open its log: Linux refuses paths of 4096 bytes (PATH_MAX) and more, and the log's temporary file
    /// (<c>.train_log.jsonl.ID.tmp</c>) has a name 5 characters longer than the marker's (<c>..bertsharp.ID.tmp</c>).
    /// </summary>
    public string WhereTheLogCannotGo()
    {
        // 4068 + "/..bertsharp.12345678.tmp" (25) is 4093 characters; 4068 + "/.train_log.jsonl.12345678.tmp" (30) is 4098.
        const int length = 4068;
        var parent = Path;
        while (length - parent.Length > 256)
        {
            parent = System.IO.Path.Combine(parent, new string('p', 200));
        }
        Directory.CreateDirectory(parent);
        return System.IO.Path.Combine(parent, new string('r', length - parent.Length - 1));
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
