using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace BertSharp.IO;

/// <summary>
/// Crash-safe output: everything is written to a temporary sibling and renamed into place only when complete, so an
/// interrupted or failed run never leaves a half-written file or directory behind, and the next writer of the same
/// target finishes or discards what a killed one left.
/// </summary>
/// <remarks>
/// Replacing a directory <c>D</c> (<see cref="WriteDirectory"/>) goes through these states; a kill can stop it in any of them,
/// and <see cref="Recover"/> (called by every later write of <c>D</c> and by runs that resume in <c>D</c>) leads each one
/// back to a complete directory:
/// <code>
///  state                                       how it arises                      Recover
///  S0  D (old) , .D.X.tmp without marker       fill() running                     delete .D.X.tmp        → D (old)
///  S1  D (old) , .D.X.tmp with marker          tmp complete (marker written last) delete .D.X.tmp        → D (old)
///  S2  —       , .D.X.tmp with marker, D.X.old D renamed to D.X.old               rename .D.X.tmp → D, delete D.X.old → D (new)
///  S3  D (new) , D.X.old (maybe half deleted)  tmp renamed to D                   delete D.X.old         → D (new)
///  S4  D (new)                                 done
/// </code>
/// An empty or absent <c>D</c> skips <c>D.X.old</c> (S2 without it: the complete tmp is renamed). The shared id <c>X</c> ties an
/// old copy to its replacement; a tmp counts as complete only when it holds the ownership marker
/// (<see cref="OutputDirectory.MarkerName"/>), which is written last. A directory that holds files BertSharp did not write
/// is never renamed away: BertSharp's files are moved into it one by one instead (see <see cref="OutputDirectory"/>).
/// Neither is a directory that is a mount point (a Docker volume), which cannot be renamed and into which nothing made
/// beside it, on its parent's filesystem, can be renamed: its new content is staged inside it (<c>D/.bertsharp.X.staging</c>,
/// removed by <see cref="Recover"/> like any temporary copy) and moved in the same way.
/// A target whose name leaves no room for the id and suffix within a file name's 255 bytes stands in its leftovers' names
/// as the start of its name and a hash of the whole (<see cref="LeftoverKey"/>); a directory's marker then records its whole
/// name, so that its copies can be put back under it while it is absent (S2, or a first write stopped before its rename).
/// </remarks>
public static class AtomicFile
{
    // NAME_MAX of Linux filesystems (ext4, xfs, btrfs, tmpfs), counted in bytes of the name's UTF-8. Internal: the ONNX
    // export bounds its data file's name by it too.
    internal const int MaxNameBytes = 255;

    // ".NAME.X.tmp" is the longest leftover name: NAME gets what the dot, the id and the suffix (".X.tmp", 13) leave.
    private const int MaxKeyBytes = MaxNameBytes - 1 - 13;

    private const int KeyHashChars = 16;

    private static readonly Regex TempName = new(@"^\.(?<name>.+)\.(?<id>[0-9a-f]{8})\.tmp$", RegexOptions.CultureInvariant);
    private static readonly Regex OldName = new(@"^(?<name>.+)\.(?<id>[0-9a-f]{8})\.old$", RegexOptions.CultureInvariant);
    private static readonly Regex StagingName = new(@"^" + Regex.Escape(OutputDirectory.MarkerName) + @"\.[0-9a-f]{8}\.staging$", RegexOptions.CultureInvariant);
    private static readonly Regex ShortenedKey = new(Invariant($"~[0-9a-f]{{{KeyHashChars}}}$"), RegexOptions.CultureInvariant);
    private static readonly Regex QuotedPath = new(@"'(?<path>[^']+)'", RegexOptions.CultureInvariant);

    /// <summary>Writes a file through <paramref name="write"/> into a temp file, then renames it over <paramref name="path"/>.</summary>
    /// <exception cref="OutputWriteException">The file could not be written (its directory refuses new files, the disk is full, ...).</exception>
    public static void Write(string path, Action<Stream> write) => WriteFiles([(path, write)]);

    /// <summary>
    /// Writes several files that belong together (a command's outputs): each is written into its temp file first, and
    /// they are renamed into place only when all of them are complete, so a failure while writing any one leaves every
    /// target as it was. A rename that fails (a directory in the way) puts back the files renamed before it: the old version
    /// of each file but the last waits beside it (<c>NAME.X.old</c>) until all the files are in place. Only a kill during the
    /// renames can leave new files beside old ones (or an old one under its waiting name).
    /// </summary>
    /// <exception cref="OutputWriteException">A file could not be written (its directory refuses new files, the disk is full, ...).</exception>
    public static void WriteFiles(IReadOnlyList<(string Path, Action<Stream> Write)> files)
    {
        ArgumentNullException.ThrowIfNull(files);
        var staged = new List<(string Path, string Full, string Tmp)>(files.Count);
        try
        {
            foreach (var (path, write) in files)
            {
                ArgumentNullException.ThrowIfNull(path);
                ArgumentNullException.ThrowIfNull(write);
                var full = Path.GetFullPath(path);
                var tmp = TempPath(full, NewId());
                staged.Add((path, full, tmp));
                var writing = false;
                try
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(full)!);
                    using var fs = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16);
                    writing = true;
                    write(fs);
                    writing = false;
                    fs.Flush(flushToDisk: true);
                }
                catch (Exception e) when (IsWriteFailure(e, tmp, own: !writing))
                {
                    throw Failure(path, full, tmp, e);
                }
            }
            // Each file placed so far, with where its old version waits (null: there was none) until every file is in place.
            var placed = new List<(string Full, string? Old)>(staged.Count);
            foreach (var (i, (path, full, tmp)) in staged.Index())
            {
                string? old = null;
                try
                {
                    // The last file's rename is the last step: nothing after it can fail, so its old version need not wait.
                    if (i < staged.Count - 1 && File.Exists(full))
                    {
                        old = OldPath(full, NewId());
                        File.Move(full, old);
                    }
                    File.Move(tmp, full, overwrite: true);
                    placed.Add((full, old));
                }
                catch (Exception e) when (IsWriteFailure(e, tmp, own: true))
                {
                    PutBack(old is null ? placed : [.. placed, (full, old)]);
                    throw Failure(path, full, tmp, e);
                }
            }
            foreach (var (_, old) in placed)
            {
                if (old is not null)
                {
                    File.Delete(old);
                }
            }
        }
        finally
        {
            foreach (var (_, _, tmp) in staged)
            {
                if (File.Exists(tmp))
                {
                    File.Delete(tmp);
                }
            }
        }
    }

    /// <summary>
    /// Best effort, after a rename failed: the files placed before it are their old versions again, or absent where there were
    /// none. The failed rename is the one to report; an old version that cannot come back stays beside its file as NAME.X.old.
    /// </summary>
    private static void PutBack(IEnumerable<(string Full, string? Old)> placed)
    {
        foreach (var (full, old) in placed.Reverse())
        {
            try
            {
                if (old is not null)
                {
                    File.Move(old, full, overwrite: true);
                }
                else
                {
                    File.Delete(full);
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The failure that started the rollback is the one the caller hears of.
            }
        }
    }

    /// <summary>Writes text (UTF-8, no BOM) atomically.</summary>
    public static void WriteAllText(string path, string text) =>
        Write(path, s =>
        {
            using var w = new StreamWriter(s, new System.Text.UTF8Encoding(false), leaveOpen: true);
            w.Write(text);
        });

    /// <summary>
    /// Builds a whole directory: <paramref name="fill"/> writes into a fresh temp directory, which then replaces
    /// <paramref name="directory"/> (the previous content is removed only after the new one is complete). A directory
    /// holding entries BertSharp did not write is refused unless <paramref name="overwrite"/>; then, and whenever such entries
    /// sit in a directory BertSharp did write, only BertSharp's own entries are replaced and the others stay untouched. A
    /// directory that is a mount point is written that way too, whatever it holds: it cannot be replaced.
    /// </summary>
    /// <param name="directory">The directory to create or replace.</param>
    /// <param name="fill">Writes the new content into the directory it is given.</param>
    /// <param name="overwrite">Allow writing into a non-empty directory that BertSharp did not write.</param>
    /// <param name="kind">
    /// The kind of output written: BertSharp output of another kind in the directory is refused, since replacing the directory
    /// would delete it. Null when the caller owns the directory's place (a checkpoint inside a run).
    /// </param>
    /// <exception cref="ForeignOutputException">The directory holds entries BertSharp did not write and <paramref name="overwrite"/> is false.</exception>
    /// <exception cref="OtherOutputException">The directory holds BertSharp output that is not <paramref name="kind"/>.</exception>
    /// <exception cref="OutputWriteException">The directory could not be written (its parent refuses new entries, the disk is full, ...).</exception>
    public static void WriteDirectory(string directory, Action<string> fill, bool overwrite = false, OutputKind? kind = null)
    {
        var full = Normalize(directory);
        var real = Resolve(full);
        Recover(full);
        var target = OutputDirectory.Inspect(full);
        target.ThrowIfForeign(overwrite);
        if (kind is not null)
        {
            target.ThrowIfOtherKind(kind);
        }
        var id = NewId();
        // Staged beside a mount point, on its parent's filesystem, no entry could be renamed into it (EXDEV).
        var inPlace = target.Exists && MountPoint.Is(full);
        var tmp = inPlace ? StagingPath(full, id) : TempPath(real, id);
        try
        {
            Directory.CreateDirectory(tmp);
        }
        catch (Exception e) when (IsWriteFailure(e, tmp, own: true))
        {
            throw Failure(directory, full, tmp, e);
        }
        string? old = null;
        var published = false;
        var filling = false;
        try
        {
            filling = true;
            fill(tmp);
            filling = false;
            var entries = Directory.EnumerateFileSystemEntries(tmp).Select(Path.GetFileName).OfType<string>().ToList();
            OutputDirectory.WriteMarker(tmp, entries, Path.GetFileName(real)); // last: from here on the tmp is complete (S1)
            if (inPlace || target.ForeignEntries.Count > 0)
            {
                OutputDirectory.MergeInto(full, tmp, target);
                published = true;
                return;
            }
            if (Directory.Exists(real))
            {
                if (target.IsEmpty)
                {
                    Directory.Delete(real);
                }
                else
                {
                    old = OldPath(real, id);
                    Directory.Move(real, old); // S2
                }
            }
            Directory.Move(tmp, real); // S3
            published = true;
            if (old is not null)
            {
                Directory.Delete(old, recursive: true); // S4
            }
        }
        catch (Exception e) when (IsWriteFailure(e, tmp, own: !filling))
        {
            throw Failure(directory, full, tmp, e);
        }
        finally
        {
            try
            {
                if (!published && old is not null && !Directory.Exists(real) && Directory.Exists(old))
                {
                    Directory.Move(old, real);
                }
                if (Directory.Exists(tmp))
                {
                    Directory.Delete(tmp, recursive: true);
                }
            }
            catch (Exception e) when (!published && e is IOException or UnauthorizedAccessException)
            {
                // The failure that stopped the write is the one to report; what stays is a temp sibling Recover removes.
            }
        }
    }

    /// <summary>
    /// Finishes or rolls back what an interrupted write of <paramref name="target"/> (a file or directory) left beside it:
    /// <c>.NAME.X.tmp</c> and <c>NAME.X.old</c> (the state table above), and the new content of a mount point staged inside it
    /// (<c>.bertsharp.X.staging</c>). Afterwards no temporary sibling or staged copy of the target remains.
    /// </summary>
    public static void Recover(string target)
    {
        var full = Normalize(target);
        if (Directory.Exists(full))
        {
            // What a write stopped before its merge staged there; one stopped during it has moved each entry in whole or not at all.
            foreach (var staged in Directory.EnumerateDirectories(full).Where(d => StagingName.IsMatch(Path.GetFileName(d))))
            {
                Directory.Delete(staged, recursive: true);
            }
        }
        var real = Resolve(full);
        var parent = Path.GetDirectoryName(real);
        var name = Path.GetFileName(real);
        if (parent is null || !Directory.Exists(parent))
        {
            return;
        }
        var (temps, olds) = Leftovers(parent, name);
        if (temps.Count == 0 && olds.Count == 0)
        {
            return;
        }
        if (!Directory.Exists(real) && !File.Exists(real))
        {
            // S2 (or a first write stopped just before its rename): a complete tmp becomes the target; without one, the old copy returns.
            var complete = temps.Where(t => File.Exists(Path.Combine(t.Path, OutputDirectory.MarkerName)))
                .OrderByDescending(t => olds.Any(o => o.Id == t.Id))
                .ThenByDescending(t => Directory.GetLastWriteTimeUtc(t.Path))
                .Select(t => t.Path)
                .FirstOrDefault();
            var restore = complete ?? olds.OrderByDescending(o => Directory.GetLastWriteTimeUtc(o.Path)).Select(o => o.Path).FirstOrDefault();
            if (restore is not null)
            {
                Directory.Move(restore, real);
            }
        }
        foreach (var (path, _) in temps.Concat(olds))
        {
            Delete(path);
        }
    }

    /// <summary>
    /// The temporary copies (<c>.NAME.X.tmp</c>) and old directories (<c>NAME.X.old</c>) that writes of <paramref name="name"/> (or,
    /// <paramref name="byKey"/>, of the target whose <see cref="LeftoverKey"/> it is) left in <paramref name="parent"/>.
    /// </summary>
    private static (List<(string Path, string Id)> Temps, List<(string Path, string Id)> Olds) Leftovers(string parent, string name, bool byKey = false)
    {
        var key = byKey ? name : LeftoverKey(name);
        var temps = new List<(string Path, string Id)>();
        var olds = new List<(string Path, string Id)>();
        foreach (var entry in Directory.EnumerateFileSystemEntries(parent))
        {
            var entryName = Path.GetFileName(entry);
            if (TempName.Match(entryName) is { Success: true } t && t.Groups["name"].Value == key)
            {
                temps.Add((entry, t.Groups["id"].Value));
            }
            else if (OldName.Match(entryName) is { Success: true } o && o.Groups["name"].Value == key && Directory.Exists(entry))
            {
                olds.Add((entry, o.Groups["id"].Value));
            }
        }
        return (temps, olds);
    }

    /// <summary>Whether <paramref name="name"/> is a temporary copy or an old directory an atomic write made (or left behind).</summary>
    internal static bool IsLeftover(string name) => TempName.IsMatch(name) || OldName.IsMatch(name);

    /// <summary>Runs <see cref="Recover"/> for every target inside <paramref name="directory"/> that has temporary leftovers.</summary>
    public static void RecoverChildren(string directory)
    {
        if (!Directory.Exists(directory))
        {
            return;
        }
        var entries = Directory.EnumerateFileSystemEntries(directory).Select(Path.GetFileName).OfType<string>().ToList();
        var keys = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in entries)
        {
            if (TempName.Match(entry) is { Success: true } t)
            {
                keys.Add(t.Groups["name"].Value);
            }
            else if (OldName.Match(entry) is { Success: true } o)
            {
                keys.Add(o.Groups["name"].Value);
            }
        }
        foreach (var key in keys)
        {
            if (!IsShortenedKey(key))
            {
                Recover(Path.Combine(directory, key));
            }
            else if ((entries.FirstOrDefault(e => LeftoverKey(e) == key) ?? NamedByLeftovers(directory, key)) is { } target)
            {
                Recover(Path.Combine(directory, target));
            }
            else
            {
                DiscardUnnamed(directory, key);
            }
        }
    }

    /// <summary>
    /// The name of the absent target whose shortened <paramref name="key"/> the leftovers in <paramref name="directory"/> carry,
    /// read from the marker of a copy that holds one (the marker of a long-named directory records its name); null when none does.
    /// </summary>
    private static string? NamedByLeftovers(string directory, string key)
    {
        var (temps, olds) = Leftovers(directory, key, byKey: true);
        return temps.Concat(olds).Select(l => OutputDirectory.ReadMarkedName(l.Path))
            .FirstOrDefault(n => n is not null && n == Path.GetFileName(n) && LeftoverKey(n) == key);
    }

    /// <summary>
    /// Removes the partial temporary copies among the leftovers of an absent target that no marker names; a complete copy, or
    /// an old one, is kept: under a name that cannot be known it would be lost to the user.
    /// </summary>
    /// <remarks>
    /// The partial ones go even beside a kept copy: <see cref="Recover"/> restores only a complete or an old copy, so once the
    /// name is known they would be removed anyway, and until then each recovery left them there.
    /// </remarks>
    private static void DiscardUnnamed(string directory, string key)
    {
        foreach (var (path, _) in Leftovers(directory, key, byKey: true).Temps.Where(t => !File.Exists(Path.Combine(t.Path, OutputDirectory.MarkerName))))
        {
            Delete(path);
        }
    }

    /// <summary>
    /// Whether <paramref name="entryName"/> is a temporary or old copy that a write of an owned name leaves behind, or the new
    /// content of the directory holding it staged there (a mount point's). <paramref name="ownedKey"/> is asked about the copy's
    /// <see cref="LeftoverKey"/>: the name itself, or a long name's start and hash (<see cref="IsShortenedKey"/>).
    /// </summary>
    internal static bool IsLeftoverOf(string entryName, Func<string, bool> ownedKey) =>
        StagingName.IsMatch(entryName)
        || (TempName.Match(entryName) is { Success: true } t && ownedKey(t.Groups["name"].Value))
        || (OldName.Match(entryName) is { Success: true } o && ownedKey(o.Groups["name"].Value));

    /// <summary>The start of the long name a shortened <paramref name="key"/> stands for (the key without its '~' and hash).</summary>
    internal static string ShortenedKeyStart(string key) => key[..^("~".Length + KeyHashChars)];

    /// <summary>The <see cref="LeftoverKey"/> of the target whose temporary copy <paramref name="entryName"/> is; null when it is none.</summary>
    internal static string? TempKey(string entryName) => TempName.Match(entryName) is { Success: true } t ? t.Groups["name"].Value : null;

    /// <summary>
    /// Whether <paramref name="e"/> is a failure to write the output: any I/O failure of the writer's own file operations,
    /// and one of the caller's code that names the temp file (a full disk); others (reading an input) are the caller's own.
    /// </summary>
    internal static bool IsWriteFailure(Exception e, string tmp, bool own) =>
        IsFileTooLarge(e) || (e is IOException or UnauthorizedAccessException && (own || e.Message.Contains(tmp, StringComparison.Ordinal)));

    /// <summary>
    /// Whether <paramref name="e"/> is a write refused with EFBIG (a file past the file system's largest or the process's
    /// RLIMIT_FSIZE, <c>ulimit -f</c>): .NET reports it as an ArgumentOutOfRangeException ("Specified file length was too
    /// large") thrown by its file writes, not as an IOException, and without the file's name; no code of the caller's writes
    /// through <see cref="RandomAccess"/>'s internals, so where it was thrown tells it from an argument bug.
    /// </summary>
    private static bool IsFileTooLarge(Exception e) =>
        e is ArgumentOutOfRangeException && e.TargetSite?.DeclaringType == typeof(RandomAccess);

    /// <summary>
    /// The failure said of the output the caller asked for: .NET's messages name the temp sibling
    /// (<c>/out/.x.png.1a2b3c4d.tmp: not found</c>), a name the caller never gave and that is gone by the time it is read.
    /// </summary>
    internal static OutputWriteException Failure(string path, string full, string tmp, Exception e)
    {
        string Shown(string p) => p.StartsWith(tmp, StringComparison.Ordinal) ? full + p[tmp.Length..] : p;
        var (where, reason) = SystemFailure(e);
        (where, reason) = where is null ? (null, reason.Replace(tmp, full, StringComparison.Ordinal)) : (Shown(where), reason);
        // Each path named once: a file inside the output by its path there (checkpoint-4/model.safetensors), the output itself
        // or a directory above it (a parent that is missing) not again, since the output's own path holds it.
        if (where is null || where == full || full.StartsWith(where + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return new OutputWriteException(path, reason, e);
        }
        return where.StartsWith(full + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? new OutputWriteException(path, Path.GetRelativePath(full, where).Replace(Path.DirectorySeparatorChar, '/'), reason, e)
            : new OutputWriteException(path, $"{where}: {reason}", e);
    }

    /// <summary>
    /// A file operation's failure split into the path the system's message quotes (null when none) and the failure without
    /// it, so that a line naming that path says it once: .NET's "Access to the path '/out/x' is denied." is
    /// <c>("/out/x", "permission denied")</c>, its "No space left on device : '/out/x'" <c>("/out/x", "No space left on device")</c>.
    /// </summary>
    internal static (string? Where, string Reason) SystemFailure(Exception e)
    {
        string? Quoted() => QuotedPath.Match(e.Message) is { Success: true } m ? m.Groups["path"].Value : null;
        return e switch
        {
            OutputWriteException w => (w.FullTarget, w.Reason),
            UnauthorizedAccessException => (Quoted(), "permission denied"),
            FileNotFoundException or DirectoryNotFoundException => (Quoted(), "no such file or directory"),
            _ when IsFileTooLarge(e) => (null, "file too large for the file system or the file size limit, ulimit -f"),
            _ when Quoted() is { } quoted && Path.IsPathRooted(quoted) =>
                (quoted, string.Join(' ', QuotedPath.Replace(e.Message, "", 1).Split(' ', StringSplitOptions.RemoveEmptyEntries)).Replace(" .", ".", StringComparison.Ordinal).TrimEnd('.', ' ', ':')),
            _ => (null, e.Message.TrimEnd('.', ' ')),
        };
    }

    internal static string NewId() => Guid.NewGuid().ToString("N")[..8];

    internal static string TempPath(string full, string id) =>
        Path.Combine(Path.GetDirectoryName(full)!, "." + LeftoverKey(Path.GetFileName(full)) + "." + id + ".tmp");

    /// <summary>Where the old version of <paramref name="full"/> waits while its replacement (sharing <paramref name="id"/>) is renamed in.</summary>
    internal static string OldPath(string full, string id) =>
        Path.Combine(Path.GetDirectoryName(full)!, LeftoverKey(Path.GetFileName(full)) + "." + id + ".old");

    /// <summary>
    /// What stands for the target <paramref name="name"/> in its leftovers' names: the name itself, or, when that would make a
    /// leftover's name longer than a file name may be, the name's start and a hash of the whole name, so that two long names
    /// that start alike still have leftovers of their own. A name that would itself read as such a key (<see cref="IsShortenedKey"/>:
    /// 238-241 bytes ending in '~' and 16 hex digits) is shortened too, so that every key that reads as shortened is one.
    /// </summary>
    internal static string LeftoverKey(string name)
    {
        if (Encoding.UTF8.GetByteCount(name) <= MaxKeyBytes && !IsShortenedKey(name))
        {
            return name;
        }
        var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))[..KeyHashChars];
        // Cut between characters: half of a UTF-8 sequence or of a surrogate pair would not survive the round trip to the disk.
        var room = MaxKeyBytes - "~".Length - KeyHashChars;
        var chars = 0;
        foreach (var rune in name.EnumerateRunes())
        {
            room -= rune.Utf8SequenceLength;
            if (room < 0)
            {
                break;
            }
            chars += rune.Utf16SequenceLength;
        }
        return name[..chars] + "~" + hash;
    }

    /// <summary>
    /// Whether <paramref name="key"/> is a shortened <see cref="LeftoverKey"/> (a cut never leaves more than 3 bytes unused), which
    /// then stands for a name other than itself: no name is its own key when it reads as one.
    /// </summary>
    internal static bool IsShortenedKey(string key) => Encoding.UTF8.GetByteCount(key) > MaxKeyBytes - 4 && ShortenedKey.IsMatch(key);

    /// <summary>
    /// Where the new content of <paramref name="directory"/> is staged inside it (a mount point's), named after the marker so
    /// that no write of an entry of another name takes it for a temporary copy of its own.
    /// </summary>
    private static string StagingPath(string directory, string id) => Path.Combine(directory, OutputDirectory.MarkerName + "." + id + ".staging");

    /// <summary>
    /// The full path of an output as the caller named it: a symbolic link stays the link, so that messages, the run's paths
    /// and the commands shown next name what the user typed, not where it points (a name they may never have seen). Where a
    /// write must happen beside the directory itself, <see cref="Resolve"/> follows the link. A link must end at a directory,
    /// or at a file (to be refused as any file is).
    /// </summary>
    /// <exception cref="BrokenLinkException">A link that ends nowhere: at nothing, or in a cycle of links.</exception>
    internal static string Normalize(string path)
    {
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(path));
        _ = Resolve(full);
        return full;
    }

    /// <summary>
    /// Where <paramref name="full"/> (a <see cref="Normalize"/>d path) ends when it is a symbolic link to a directory, followed
    /// to its final target; otherwise itself. The temporary siblings a write renames into place are made beside that target,
    /// on its filesystem (beside a link onto another disk, each rename failed as a cross-device link), and a replaced directory
    /// replaces the target, not the link.
    /// </summary>
    /// <exception cref="BrokenLinkException">A link that ends nowhere: at nothing, or in a cycle of links.</exception>
    private static string Resolve(string full)
    {
        if (new DirectoryInfo(full).LinkTarget is null)
        {
            return full;
        }
        string resolved;
        try
        {
            resolved = Path.TrimEndingDirectorySeparator(LinkedFile.FinalTarget(full));
        }
        catch (IOException)
        {
            throw new BrokenLinkException(full, "a symbolic link that never ends (a cycle of links); expected a link to a directory.");
        }
        // A kill between a replacement's two renames left the link's directory renamed away (S2): Recover brings it back.
        if (Directory.Exists(resolved) || Interrupted(resolved))
        {
            return resolved;
        }
        if (File.Exists(resolved))
        {
            return full;
        }
        throw new BrokenLinkException(full, $"a symbolic link to {resolved}, which does not exist; expected a link to a directory.");
    }

    private static bool Interrupted(string full) =>
        Path.GetDirectoryName(full) is { } parent && Directory.Exists(parent) && Leftovers(parent, Path.GetFileName(full)) is var (temps, olds)
        && temps.Count + olds.Count > 0;

    internal static void Delete(string path)
    {
        if (Directory.Exists(path))
        {
            Directory.Delete(path, recursive: true);
        }
        else if (File.Exists(path))
        {
            File.Delete(path);
        }
    }
}
