using System.Security.Cryptography;
using System.Text;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Packaging;

/// <summary>
/// The inputs of a cached packaging step, one line each (<c>what: value</c>), and a key over them: the same inputs give the
/// same key, a changed input a different one. Files are recorded by content hash, or — for build outputs, as MSBuild's own
/// up-to-date checks do — by relative path, length and last-write time.
/// </summary>
internal sealed class CacheKey
{
    private readonly List<string> _lines = [];

    /// <summary>The inputs, one per line (kept in each cache entry as <c>inputs.txt</c>, to see what a key covered).</summary>
    public string Text => string.Join("\n", _lines) + "\n";

    /// <summary>The key: the first 16 hex digits of the SHA-256 of <see cref="Text"/>.</summary>
    public string Hash => Sha256(Encoding.UTF8.GetBytes(Text))[..16];

    public CacheKey Add(string what, string value)
    {
        _lines.Add($"{what}: {value}");
        return this;
    }

    /// <summary>A file by content hash; an absent file counts too (creating it later changes the key).</summary>
    public CacheKey AddFile(string what, string path) =>
        Add(what, File.Exists(path) ? Sha256(File.ReadAllBytes(path)) : "absent");

    /// <summary>
    /// Every file under <paramref name="dir"/> (that <paramref name="include"/> accepts) by relative path, length and
    /// last-write time; an absent folder counts too.
    /// </summary>
    public CacheKey AddStamps(string what, string dir, SearchOption option = SearchOption.AllDirectories, Func<string, bool>? include = null)
    {
        if (!Directory.Exists(dir))
        {
            return Add(what, "absent");
        }
        foreach (var (rel, file) in Files(dir, option).Where(f => include?.Invoke(f.Rel) ?? true))
        {
            var info = new FileInfo(file);
            Add(what, $"{rel} {info.Length} {info.LastWriteTimeUtc.Ticks}");
        }
        return this;
    }

    /// <summary>Every file under <paramref name="dir"/> but those in <c>bin/</c> and <c>obj/</c> folders, by relative path and content hash.</summary>
    public CacheKey AddTree(string what, string dir)
    {
        if (!Directory.Exists(dir))
        {
            return Add(what, "absent");
        }
        foreach (var (rel, file) in Files(dir, SearchOption.AllDirectories).Where(f => !f.Rel.Split('/').Any(p => p is "bin" or "obj")))
        {
            Add(what, $"{rel} {Sha256(File.ReadAllBytes(file))}");
        }
        return this;
    }

    private static IEnumerable<(string Rel, string File)> Files(string dir, SearchOption option) =>
        Directory.EnumerateFiles(dir, "*", option)
            .Select(f => (Rel: Path.GetRelativePath(dir, f).Replace(Path.DirectorySeparatorChar, '/'), File: f))
            .OrderBy(f => f.Rel, StringComparer.Ordinal);

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}

/// <summary>
/// Where the packaging fixtures keep what they packed, installed and built, for the next test run to reuse while its inputs
/// (<see cref="CacheKey"/>) are unchanged: <c>.build/test-packages/&lt;fixture&gt;-&lt;key&gt;/</c> at the repository root.
/// An entry is made in a temporary folder beside it and moved into place whole, so a folder under an entry's name is always
/// complete (a crashed run leaves at most a <c>.tmp-*</c> folder, never trusted, removed by a later run). The most recently
/// used <see cref="KeepPerFixture"/> entries of each fixture stay; older ones are removed. <c>BERTSHARP_TEST_NO_CACHE=1</c>
/// bypasses the cache (neither read nor written).
/// </summary>
internal static class PackageCache
{
    /// <summary>The environment variable that, set to <c>1</c>, makes the fixtures build afresh in a temporary folder.</summary>
    public const string DisableVariable = "BERTSHARP_TEST_NO_CACHE";

    /// <summary>Entries kept per fixture (the one in use and the one before: switching back and forth between two states hits).</summary>
    public const int KeepPerFixture = 2;

    /// <summary>The file in each entry that lists the inputs its key covers.</summary>
    public const string InputsFile = "inputs.txt";

    /// <summary>A temporary folder older than this belongs to a run that crashed (each child process has 10 minutes at most).</summary>
    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(2);

    public static string DefaultRoot => Path.Combine(TestPaths.RepoRoot, ".build", "test-packages");

    public static bool Disabled => Environment.GetEnvironmentVariable(DisableVariable) is "1" or "true";

    /// <summary>
    /// The folder of a fixture's outputs: with the cache off, <paramref name="build"/> fills a fresh folder under
    /// <paramref name="scratch"/>; otherwise the cached entry for <paramref name="key"/>, made by <paramref name="build"/> on a
    /// miss.
    /// </summary>
    public static string Get(string fixture, Func<CacheKey> key, Action<string> build, string scratch)
    {
        if (Disabled)
        {
            var dir = Directory.CreateDirectory(Path.Combine(scratch, "uncached")).FullName;
            build(dir);
            return dir;
        }
        return GetOrCreate(DefaultRoot, fixture, key(), build);
    }

    /// <summary>
    /// The entry <c>&lt;root&gt;/&lt;fixture&gt;-&lt;key&gt;</c>: reused when present, else made by <paramref name="build"/>
    /// in a temporary folder beside it and moved into place. Prunes the fixture's older entries and abandoned temporary folders.
    /// </summary>
    public static string GetOrCreate(string root, string fixture, CacheKey key, Action<string> build)
    {
        Directory.CreateDirectory(root);
        var hash = key.Hash;
        var entry = Path.Combine(root, $"{fixture}-{hash}");
        if (Directory.Exists(entry))
        {
            // Most recently used first when pruning.
            Directory.SetLastWriteTimeUtc(entry, DateTime.UtcNow);
        }
        else
        {
            var temp = Path.Combine(root, $".tmp-{fixture}-{hash}-{Guid.NewGuid().ToString("N")[..8]}");
            Directory.CreateDirectory(temp);
            try
            {
                build(temp);
                File.WriteAllText(Path.Combine(temp, InputsFile), key.Text);
                Directory.Move(temp, entry);
            }
            catch (IOException) when (Directory.Exists(entry))
            {
                // Another run (same checkout) made the same entry meanwhile: theirs is as good as ours.
                DeleteQuietly(temp);
            }
            catch
            {
                DeleteQuietly(temp);
                throw;
            }
        }
        Prune(root, fixture, entry);
        return entry;
    }

    private static void Prune(string root, string fixture, string current)
    {
        var stale = Directory.GetDirectories(root)
            .Where(d => IsEntryOf(Path.GetFileName(d), fixture) && d != current)
            .OrderByDescending(Directory.GetLastWriteTimeUtc)
            .Skip(KeepPerFixture - 1);
        var abandoned = Directory.GetDirectories(root, ".tmp-*")
            .Where(d => DateTime.UtcNow - Directory.GetLastWriteTimeUtc(d) > AbandonedAfter);
        foreach (var dir in stale.Concat(abandoned).ToList())
        {
            // Renamed first: a folder under an entry's name is never a half-deleted one.
            var doomed = Path.Combine(root, $".tmp-deleting-{Guid.NewGuid().ToString("N")[..8]}");
            try
            {
                Directory.Move(dir, doomed);
            }
            catch (IOException)
            {
                continue; // gone already (another run pruned it)
            }
            DeleteQuietly(doomed);
        }
    }

    private static bool IsEntryOf(string name, string fixture) =>
        name.Length == fixture.Length + 17 && name.StartsWith(fixture + "-", StringComparison.Ordinal)
        && name[(fixture.Length + 1)..].All(char.IsAsciiHexDigitLower);

    private static void DeleteQuietly(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
