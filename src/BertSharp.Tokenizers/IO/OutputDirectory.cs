using System.IO.Enumeration;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BertSharp.IO;

/// <summary>
/// Which entries of an output directory BertSharp wrote. Every directory BertSharp writes (a model, a run, pre-training data)
/// holds a marker file, <see cref="MarkerName"/>, listing its own entries (names, or patterns such as <c>checkpoint-*</c>).
/// Anything else in the directory is the user's (but a mount point's <c>lost+found</c>, which is the filesystem's): BertSharp
/// never deletes it, and refuses to write into a non-empty directory without a marker unless overwriting is allowed.
/// </summary>
public static class OutputDirectory
{
    /// <summary>The marker file: JSON <c>{"written_by": "BertSharp", "entries": [...]}</c>.</summary>
    public const string MarkerName = ".bertsharp";

    private const string LostAndFound = "lost+found";

    /// <summary>Reads what <paramref name="directory"/> holds and which of it is BertSharp's.</summary>
    /// <exception cref="PathException"><paramref name="directory"/> is a file, or its marker is not one BertSharp wrote.</exception>
    public static OutputDirectoryInfo Inspect(string directory)
    {
        var full = AtomicFile.Normalize(directory);
        // A link is a file only where it ends at one: File.Exists is true for a link whose directory a kill renamed away.
        if (LinkedFile.Exists(full))
        {
            throw new PathException(full, "is a file; expected a directory.");
        }
        if (!Directory.Exists(full))
        {
            return new OutputDirectoryInfo(full, Exists: false, HasMarker: false, [], [], []);
        }
        var owned = ReadMarker(full);
        var entries = Directory.EnumerateFileSystemEntries(full).Select(Path.GetFileName).OfType<string>()
            .Where(e => !BelongsToFilesystem(full, e)).Order(StringComparer.Ordinal).ToList();
        var patterns = owned ?? [];
        var foreign = entries.Where(e => e != MarkerName && !IsOwned(e, patterns)).ToList();
        return new OutputDirectoryInfo(full, Exists: true, HasMarker: owned is not null, patterns, entries, foreign);
    }

    /// <summary>
    /// Makes <paramref name="directory"/> a BertSharp output directory that will hold entries matching
    /// <paramref name="patterns"/>: creates it, or checks that writing into it is allowed, and records the patterns in its
    /// marker before any such entry is created (so a kill never leaves an entry of ours that the marker does not name).
    /// </summary>
    /// <exception cref="ForeignOutputException">Not empty, not BertSharp's, and <paramref name="overwrite"/> is false.</exception>
    /// <exception cref="OutputWriteException">The directory cannot be made or written.</exception>
    public static OutputDirectoryInfo Claim(string directory, IEnumerable<string> patterns, bool overwrite)
    {
        var info = Inspect(directory);
        info.ThrowIfForeign(overwrite);
        var all = info.Owned.Union(patterns, StringComparer.Ordinal).ToList();
        try
        {
            Directory.CreateDirectory(info.Path);
            if (!info.HasMarker || all.Count != info.Owned.Count)
            {
                WriteMarker(info.Path, all);
            }
        }
        catch (Exception e) when (AtomicFile.IsWriteFailure(e, info.Path, own: true))
        {
            // .NET said "Could not find file '/proc/run'" (read as a missing input) for a directory that cannot be made.
            throw AtomicFile.Failure(directory, info.Path, info.Path, e);
        }
        return Inspect(info.Path);
    }

    /// <summary>
    /// Whether <paramref name="entry"/> is <c>lost+found</c>, the directory mkfs makes at the root of a fresh ext4 volume: at a
    /// mount point (a Docker volume, a cloud disk mounted as the output) it is the filesystem's, neither the user's nor
    /// BertSharp's. Left out of <see cref="OutputDirectoryInfo.Entries"/>, it is never refused, moved nor removed; anywhere
    /// else it is the user's, as any other entry is.
    /// </summary>
    private static bool BelongsToFilesystem(string directory, string entry) =>
        entry == LostAndFound && new DirectoryInfo(Path.Combine(directory, entry)) is { Exists: true, LinkTarget: null } && MountPoint.Is(directory);

    /// <summary>Whether an entry name is one of <paramref name="patterns"/> (or a temporary copy of one).</summary>
    public static bool IsOwned(string entryName, IReadOnlyList<string> patterns)
    {
        ArgumentNullException.ThrowIfNull(patterns);
        bool Matches(string name) => name == MarkerName || patterns.Any(p => FileSystemName.MatchesSimpleExpression(p, name, ignoreCase: false));
        // A long name's leftovers carry its start and a hash: an exact name owns them when its own key is theirs, a pattern
        // when it matches every name with that start (one ending in '*' that matches the start; the others cannot tell).
        bool OwnsKey(string key) => AtomicFile.IsShortenedKey(key)
            ? patterns.Any(p => AtomicFile.LeftoverKey(p) == key
                || (p.EndsWith('*') && FileSystemName.MatchesSimpleExpression(p, AtomicFile.ShortenedKeyStart(key), ignoreCase: false)))
            : Matches(key);
        return Matches(entryName) || AtomicFile.IsLeftoverOf(entryName, OwnsKey);
    }

    /// <summary>
    /// Writes the marker of <paramref name="directory"/>, which will stand under <paramref name="name"/> (its own name unless it is
    /// a temporary copy): a name too long for its leftovers to carry it (<see cref="AtomicFile.LeftoverKey"/>) is recorded, so
    /// that a copy left by a killed replacement can be put back under it when the directory itself is gone.
    /// </summary>
    internal static void WriteMarker(string directory, IEnumerable<string> entries, string? name = null)
    {
        name ??= Path.GetFileName(Path.TrimEndingDirectorySeparator(directory));
        var o = new JsonObject
        {
            ["written_by"] = "BertSharp",
            ["entries"] = new JsonArray([.. entries.Where(e => e != MarkerName).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).Select(e => (JsonNode)e!)]),
        };
        if (AtomicFile.LeftoverKey(name) != name)
        {
            o["name"] = name;
        }
        AtomicFile.WriteAllText(Path.Combine(directory, MarkerName), o.ToJsonString(ReadableJson.Indented) + "\n");
    }

    /// <summary>The name a long-named directory's marker records (<see cref="WriteMarker"/>); null when it records none or cannot be read.</summary>
    internal static string? ReadMarkedName(string directory)
    {
        var path = Path.Combine(directory, MarkerName);
        try
        {
            return File.Exists(path) && JsonNode.Parse(File.ReadAllText(path))?["name"] is JsonValue v && v.TryGetValue<string>(out var name) ? name : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// Moves the complete content of <paramref name="staged"/> into <paramref name="target"/>, which holds entries that are not
    /// BertSharp's or is a mount point (<paramref name="staged"/> then inside it): each entry is renamed into place on its own
    /// (config.json last, so a half-done merge never looks like a loadable model), then BertSharp's entries that the new content lacks are removed. The user's entries stay untouched.
    /// </summary>
    internal static void MergeInto(string target, string staged, OutputDirectoryInfo before)
    {
        var entries = Directory.EnumerateFileSystemEntries(staged).Select(Path.GetFileName).OfType<string>()
            .Where(e => e != MarkerName)
            .OrderBy(e => e == "config.json" ? 1 : 0).ThenBy(e => e, StringComparer.Ordinal)
            .ToList();
        // Name the new entries ours before they appear, and keep naming the old ones until they are gone.
        WriteMarker(target, before.Owned.Concat(entries));
        foreach (var e in entries)
        {
            var from = Path.Combine(staged, e);
            var to = Path.Combine(target, e);
            if (Directory.Exists(from))
            {
                if (Directory.Exists(to) || File.Exists(to))
                {
                    var old = AtomicFile.TempPath(to, AtomicFile.NewId());
                    Move(to, old);
                    try
                    {
                        Directory.Move(from, to);
                    }
                    catch
                    {
                        // Left under its temp name, the old copy would be missing from its place until the next write or a
                        // resumed run recovered it.
                        MoveBack(old, to);
                        throw;
                    }
                    AtomicFile.Delete(old);
                }
                else
                {
                    Directory.Move(from, to);
                }
            }
            else
            {
                if (Directory.Exists(to))
                {
                    Directory.Delete(to, recursive: true);
                }
                File.Move(from, to, overwrite: true);
            }
        }
        foreach (var stale in before.Entries.Where(e => e != MarkerName && !before.ForeignEntries.Contains(e) && !entries.Contains(e)))
        {
            AtomicFile.Delete(Path.Combine(target, stale));
        }
        WriteMarker(target, entries);
    }

    private static void Move(string from, string to)
    {
        if (Directory.Exists(from))
        {
            Directory.Move(from, to);
        }
        else
        {
            File.Move(from, to);
        }
    }

    /// <summary>Best effort: the failure that made the old copy come back is the one to report, not a failure to bring it back.</summary>
    private static void MoveBack(string old, string to)
    {
        try
        {
            if (!Directory.Exists(to) && !File.Exists(to))
            {
                Move(old, to);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Still under its temp name, where RecoverChildren (the next write, a resumed run) finds it.
        }
    }

    private static List<string>? ReadMarker(string directory)
    {
        var path = Path.Combine(directory, MarkerName);
        if (!File.Exists(path))
        {
            return null;
        }
        try
        {
            var entries = JsonNode.Parse(File.ReadAllText(path))?["entries"] as JsonArray;
            return entries?.Select(e => e?.GetValue<string>()).OfType<string>().ToList()
                   ?? throw new PathException(path, "no \"entries\" list; expected the marker BertSharp writes.");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            throw new PathException(path, $"not a valid BertSharp marker ({e.Message}).", e);
        }
    }
}

/// <summary>What an output directory holds.</summary>
/// <param name="Path">Full path.</param>
/// <param name="Exists">Whether it exists.</param>
/// <param name="HasMarker">Whether BertSharp wrote it (its marker file is there).</param>
/// <param name="Owned">Names and patterns the marker lists.</param>
/// <param name="Entries">Every entry's name, but a mount point's <c>lost+found</c> (the filesystem's: neither the user's nor BertSharp's).</param>
/// <param name="ForeignEntries">Entries BertSharp did not write.</param>
public sealed record OutputDirectoryInfo(string Path, bool Exists, bool HasMarker, IReadOnlyList<string> Owned, IReadOnlyList<string> Entries,
    IReadOnlyList<string> ForeignEntries)
{
    /// <summary>True when the directory is absent or has no entries.</summary>
    /// <remarks>Also true for a mount point holding only its <c>lost+found</c>, which <see cref="AtomicFile.WriteDirectory"/> still writes entry by entry in place, never deleting it as it deletes an empty directory it replaces.</remarks>
    public bool IsEmpty => Entries.Count == 0;

    /// <summary>Throws when the directory is not empty, has no marker, and overwriting is not allowed.</summary>
    public void ThrowIfForeign(bool overwrite)
    {
        if (!overwrite && !HasMarker && ForeignEntries.Count > 0)
        {
            throw new ForeignOutputException(Path, ForeignEntries);
        }
    }

    /// <summary>
    /// Throws when the directory holds BertSharp output that is not of <paramref name="kind"/> (a run's checkpoints where a
    /// model is written, a model where pre-training data is written): a write of one kind replaces the directory's BertSharp
    /// entries, so it would delete the other output, whatever overwriting allows.
    /// </summary>
    /// <exception cref="OtherOutputException">Some of BertSharp's entries here are not <paramref name="kind"/>'s.</exception>
    public void ThrowIfOtherKind(OutputKind kind)
    {
        ArgumentNullException.ThrowIfNull(kind);
        var other = Entries.Where(e => !ForeignEntries.Contains(e) && !OutputDirectory.IsOwned(e, kind.Entries)).ToList();
        if (other.Count > 0)
        {
            throw new OtherOutputException(Path, other, kind.Name);
        }
    }
}

/// <summary>A kind of output BertSharp writes as one directory.</summary>
/// <param name="Name">What to call it in messages ("a model", "pre-training data").</param>
/// <param name="Entries">Names and patterns of the entries a directory of this kind holds (including those of an unfinished write).</param>
public sealed record OutputKind(string Name, IReadOnlyList<string> Entries);

/// <summary>An output directory holding BertSharp output of another kind than the one to be written there.</summary>
public sealed class OtherOutputException(string directory, IReadOnlyList<string> otherEntries, string kind) : BertSharpException(
    $"{Field("output_dir")} {directory}: holds BertSharp output that is not {kind} ({ForeignOutputException.Describe(otherEntries)}), which " +
    $"writing {kind} there would delete, with or without {Field("overwrite")}; choose another output directory.")
{
    /// <summary>The directory.</summary>
    public string Directory { get; } = directory;

    /// <summary>BertSharp's entries there that are not of the kind to be written.</summary>
    public IReadOnlyList<string> OtherEntries { get; } = otherEntries;

    /// <summary>The kind of output that was to be written (<see cref="OutputKind.Name"/>).</summary>
    public string Kind { get; } = kind;
}

/// <summary>A non-empty output directory that BertSharp did not write, where overwriting was not allowed.</summary>
public sealed class ForeignOutputException(string directory, IReadOnlyList<string> foreignEntries) : BertSharpException(
    $"{directory}: not empty and not written by BertSharp (it holds {Describe(foreignEntries)}); choose a new or empty directory, or allow " +
    "overwriting (only BertSharp's own files are then replaced, nothing else is removed).")
{
    /// <summary>The directory.</summary>
    public string Directory { get; } = directory;

    /// <summary>Its entries that BertSharp did not write.</summary>
    public IReadOnlyList<string> ForeignEntries { get; } = foreignEntries;

    /// <summary>The first few names, for messages.</summary>
    public static string Describe(IReadOnlyList<string> names) =>
        string.Join(", ", names.Take(3)) + (names.Count > 3 ? Invariant($", … ({names.Count} entries)") : "");
}
