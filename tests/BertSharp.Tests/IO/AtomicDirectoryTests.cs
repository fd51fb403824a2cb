using BertSharp.IO;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.IO;

/// <summary>
/// Directory replacement at every state a kill can leave (the table in <see cref="AtomicFile"/>), ownership of output
/// directories, and the temporary leftovers the next write removes.
/// </summary>
public class AtomicDirectoryTests
{
    internal static void Fill(string dir, string content)
    {
        File.WriteAllText(Path.Combine(dir, "weights.bin"), content);
        File.WriteAllText(Path.Combine(dir, "config.json"), "{\"v\":\"" + content + "\"}");
    }

    internal static string Content(string dir) => File.ReadAllText(Path.Combine(dir, "weights.bin"));

    internal static string[] Siblings(string parent) => [.. Directory.GetFileSystemEntries(parent).Select(Path.GetFileName).Order().OfType<string>()];

    /// <summary>
    /// Starts of names that bring a target's name (with the 2 to 12 bytes a test adds) near a file name's limit of 255 UTF-8
    /// bytes, too near to add a temp name's 14: none, one-byte, two-byte and four-byte characters (surrogate pairs, which a
    /// shortened name must not split; 121 chars for 241 bytes).
    /// </summary>
    public static TheoryData<string> LongPrefixes =>
    [
        "",
        new string('m', 243),
        new string('é', 121),
        "a" + string.Concat(Enumerable.Repeat("\U0001F642", 60)),
    ];

    /// <summary>
    /// A complete replacement tmp as WriteDirectory leaves it just before its renames: content, then the marker last, naming
    /// the target (WriteDirectory records the name only where the leftovers' names cannot carry it; for any other it is ignored).
    /// </summary>
    internal static string CompleteTmp(string target, string id, string content)
    {
        var tmp = AtomicFile.TempPath(target, id);
        Directory.CreateDirectory(tmp);
        Fill(tmp, content);
        var marker = new System.Text.Json.Nodes.JsonObject
        {
            ["written_by"] = "BertSharp",
            ["entries"] = new System.Text.Json.Nodes.JsonArray("config.json", "weights.bin"),
            ["name"] = Path.GetFileName(target),
        };
        File.WriteAllText(Path.Combine(tmp, OutputDirectory.MarkerName), marker.ToJsonString());
        return tmp;
    }

    [Theory]
    [MemberData(nameof(LongPrefixes))]
    public void Replacing_our_directory_keeps_the_old_one_until_the_new_one_is_complete(string prefix)
    {
        using var tmp = TestPaths.TempDir();
        var target = tmp.File(prefix + "model");
        AtomicFile.WriteDirectory(target, d => Fill(d, "old"));
        Assert.True(OutputDirectory.Inspect(target).HasMarker);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.WriteDirectory(target, d =>
        {
            Fill(d, "new");
            throw new InvalidOperationException("fill failed");
        }));
        Assert.Equal("old", Content(target));
        AtomicFile.WriteDirectory(target, d => Fill(d, "new"));
        Assert.Equal("new", Content(target));
        Assert.Equal([prefix + "model"], Siblings(tmp.Path));

        // Files replaced together: the first one's old version waits under its .old name until the second is in place.
        var files = tmp.File("files");
        var (a, b) = (Path.Combine(files, prefix + "a.json"), Path.Combine(files, prefix + "b.json"));
        AtomicFile.WriteFiles([(a, s => s.Write("old"u8)), (b, s => s.Write("old"u8))]);
        AtomicFile.WriteFiles([(a, s => s.Write("new"u8)), (b, s => s.Write("new"u8))]);
        Assert.Equal(["new", "new"], [File.ReadAllText(a), File.ReadAllText(b)]);
        Assert.Equal([prefix + "a.json", prefix + "b.json"], Siblings(files));
    }

    [Theory]
    [MemberData(nameof(LongPrefixes))]
    public void Each_state_a_kill_leaves_recovers_to_one_complete_directory_and_no_leftovers(string prefix)
    {
        using var tmp = TestPaths.TempDir();
        string Named(string name) => tmp.File(prefix + name);

        // S0: fill() was running (no marker yet): the old directory stays.
        var s0 = Named("s0");
        AtomicFile.WriteDirectory(s0, d => Fill(d, "old"));
        var partial = AtomicFile.TempPath(s0, "0000aaaa");
        Directory.CreateDirectory(partial);
        File.WriteAllText(Path.Combine(partial, "weights.bin"), "half");
        AtomicFile.Recover(s0);
        Assert.Equal("old", Content(s0));

        // S1: the tmp was complete but nothing was renamed yet: still the old directory.
        var s1 = Named("s1");
        AtomicFile.WriteDirectory(s1, d => Fill(d, "old"));
        CompleteTmp(s1, "0000bbbb", "new");
        AtomicFile.Recover(s1);
        Assert.Equal("old", Content(s1));

        // S2: the old directory was renamed away, the complete tmp not yet in place: the new one is finished.
        var s2 = Named("s2");
        AtomicFile.WriteDirectory(s2, d => Fill(d, "old"));
        Directory.Move(s2, AtomicFile.OldPath(s2, "0000cccc"));
        CompleteTmp(s2, "0000cccc", "new");
        AtomicFile.Recover(s2);
        Assert.Equal("new", Content(s2));

        // S2 with a stale partial tmp of an earlier kill beside it: the complete one wins.
        var s2b = Named("s2b");
        AtomicFile.WriteDirectory(s2b, d => Fill(d, "old"));
        Directory.Move(s2b, AtomicFile.OldPath(s2b, "0000dddd"));
        Directory.CreateDirectory(AtomicFile.TempPath(s2b, "0000eeee"));
        CompleteTmp(s2b, "0000dddd", "new");
        AtomicFile.Recover(s2b);
        Assert.Equal("new", Content(s2b));

        // S2 without its tmp (someone removed it): the old copy comes back rather than nothing.
        var s2c = Named("s2c");
        AtomicFile.WriteDirectory(s2c, d => Fill(d, "old"));
        Directory.Move(s2c, AtomicFile.OldPath(s2c, "0000ffff"));
        AtomicFile.Recover(s2c);
        Assert.Equal("old", Content(s2c));

        // S3: the new directory is in place, the old one half deleted.
        var s3 = Named("s3");
        AtomicFile.WriteDirectory(s3, d => Fill(d, "new"));
        var old = AtomicFile.OldPath(s3, "00001111");
        Directory.CreateDirectory(old);
        File.WriteAllText(Path.Combine(old, "config.json"), "{}");
        AtomicFile.Recover(s3);
        Assert.Equal("new", Content(s3));

        // A first write killed before its rename: the complete tmp becomes the directory.
        var first = Named("first");
        CompleteTmp(first, "00002222", "new");
        AtomicFile.Recover(first);
        Assert.Equal("new", Content(first));

        Assert.Equal([.. new[] { "first", "s0", "s1", "s2", "s2b", "s2c", "s3" }.Select(n => prefix + n).Order()], Siblings(tmp.Path));
    }

    [Fact]
    public void A_directory_we_did_not_write_is_refused_and_overwrite_replaces_only_our_files()
    {
        using var tmp = TestPaths.TempDir();
        var target = tmp.File("project");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "notes.txt"), "keep");
        File.WriteAllText(Path.Combine(target, "config.json"), "the user's");

        var refused = Assert.Throws<ForeignOutputException>(() => AtomicFile.WriteDirectory(target, d => Fill(d, "new")));
        Assert.Equal(["config.json", "notes.txt"], refused.ForeignEntries);
        Assert.Contains("not empty and not written by BertSharp (it holds config.json, notes.txt)", refused.Message, StringComparison.Ordinal);
        Assert.Equal("the user's", File.ReadAllText(Path.Combine(target, "config.json")));
        Assert.Equal(["project"], Siblings(tmp.Path));

        // Overwriting replaces files of the same name and removes nothing else.
        AtomicFile.WriteDirectory(target, d => Fill(d, "v1"), overwrite: true);
        Assert.Equal("keep", File.ReadAllText(Path.Combine(target, "notes.txt")));
        Assert.Equal("v1", Content(target));
        var info = OutputDirectory.Inspect(target);
        Assert.Equal(["notes.txt"], info.ForeignEntries);

        // From now on the directory is partly ours: a new write needs no overwrite, replaces our files, drops our stale ones,
        // and still leaves the user's alone.
        AtomicFile.WriteDirectory(target, d => File.WriteAllText(Path.Combine(d, "weights.bin"), "v2"));
        Assert.Equal("v2", Content(target));
        Assert.False(File.Exists(Path.Combine(target, "config.json")));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(target, "notes.txt")));
        Assert.Equal(["project"], Siblings(tmp.Path));

        // A subdirectory of ours (a checkpoint) is replaced whole by its new version, as is an entry of ours that was a file
        // and is now a directory; the user's own subdirectory stays as it is.
        Directory.CreateDirectory(Path.Combine(target, "data"));
        File.WriteAllText(Path.Combine(target, "data", "mine.txt"), "keep");
        AtomicFile.WriteDirectory(target, d =>
        {
            Fill(Directory.CreateDirectory(Path.Combine(d, "checkpoint-1")).FullName, "v3");
            File.WriteAllText(Path.Combine(d, "checkpoint-1", "optimizer.bin"), "v3");
            File.WriteAllText(Path.Combine(d, "logs"), "v3");
        });
        AtomicFile.WriteDirectory(target, d =>
        {
            Fill(Directory.CreateDirectory(Path.Combine(d, "checkpoint-1")).FullName, "v4");
            File.WriteAllText(Path.Combine(Directory.CreateDirectory(Path.Combine(d, "logs")).FullName, "train.jsonl"), "v4");
        });
        Assert.Equal([OutputDirectory.MarkerName, "checkpoint-1", "data", "logs", "notes.txt"], Siblings(target));
        Assert.Equal(["config.json", "weights.bin"], Siblings(Path.Combine(target, "checkpoint-1")).Where(e => e != OutputDirectory.MarkerName));
        Assert.Equal("v4", Content(Path.Combine(target, "checkpoint-1")));
        Assert.Equal("v4", File.ReadAllText(Path.Combine(target, "logs", "train.jsonl")));
        Assert.Equal(["mine.txt"], Siblings(Path.Combine(target, "data")));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(target, "data", "mine.txt")));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(target, "notes.txt")));
        Assert.Equal(["project"], Siblings(tmp.Path));
    }

    [Fact]
    public void A_merge_killed_between_moving_a_subdirectory_aside_and_its_replacement_in_loses_neither()
    {
        // Merging into a directory that holds the user's files moves an old subdirectory of ours aside under its temp name
        // (.checkpoint-1.X.tmp) before the new one comes in. A kill between the two leaves the old one only under that name:
        // the recovery a resumed run does inside its directory brings it back, and the next write replaces it.
        using var tmp = TestPaths.TempDir();
        var target = tmp.File("project");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "notes.txt"), "keep");
        AtomicFile.WriteDirectory(target, d => AtomicFile.WriteDirectory(Path.Combine(d, "checkpoint-1"), c => Fill(c, "old")), overwrite: true);
        var staged = CompleteTmp(target, "0000abcd", "new");
        AtomicFile.WriteDirectory(Path.Combine(staged, "checkpoint-1"), c => Fill(c, "new"));
        Directory.Move(Path.Combine(target, "checkpoint-1"), Path.Combine(target, ".checkpoint-1.0000beef.tmp"));

        AtomicFile.RecoverChildren(target);
        Assert.Equal("old", Content(Path.Combine(target, "checkpoint-1")));
        Assert.Equal([OutputDirectory.MarkerName, "checkpoint-1", "notes.txt"], Siblings(target));

        Directory.Move(Path.Combine(target, "checkpoint-1"), Path.Combine(target, ".checkpoint-1.0000beef.tmp"));
        ReplaceCheckpointBesideNotes(target, "v2");
        Assert.Equal(["project"], Siblings(tmp.Path));
    }

    [SkippableFact]
    public void An_output_directory_linked_onto_another_filesystem_is_written_where_the_link_points_and_stays_a_link()
    {
        // Staged beside the link (on its filesystem), a merge's new checkpoint-1 could never be renamed into the linked
        // directory (EXDEV), and a replaced directory took the link's place as a real folder on the wrong disk.
        var shm = Path.Combine("/dev/shm", "bertsharp-test-" + Guid.NewGuid().ToString("N")[..10]);
        using var tmp = TestPaths.TempDir();
        Skip.IfNot(Directory.Exists("/dev/shm") && AnotherFilesystem(shm, tmp.File("probe")), "needs /dev/shm on another filesystem than the temp directory");
        try
        {
            var elsewhere = Path.Combine(shm, "project");
            OutputDirectory.Claim(elsewhere, ["checkpoint-*"], overwrite: false);
            AtomicFile.WriteDirectory(Path.Combine(elsewhere, "checkpoint-1"), c => Fill(c, "old"));
            File.WriteAllText(Path.Combine(elsewhere, "notes.txt"), "keep");
            var target = tmp.File("project");
            Directory.CreateSymbolicLink(target, elsewhere);

            AtomicFile.WriteDirectory(target, d => AtomicFile.WriteDirectory(Path.Combine(d, "checkpoint-1"), c => Fill(c, "new")));
            Assert.Equal("new", Content(Path.Combine(elsewhere, "checkpoint-1")));
            Assert.Equal([OutputDirectory.MarkerName, "checkpoint-1", "notes.txt"], Siblings(elsewhere));

            File.Delete(Path.Combine(elsewhere, "notes.txt"));
            AtomicFile.WriteDirectory(target, d => Fill(d, "whole"));
            Assert.Equal("whole", Content(elsewhere));
            Assert.Equal(elsewhere, new DirectoryInfo(target).LinkTarget);
            Assert.Equal(["project"], Siblings(tmp.Path));
            Assert.Equal(["project"], Siblings(shm));
        }
        finally
        {
            if (Directory.Exists(shm))
            {
                Directory.Delete(shm, recursive: true);
            }
        }
    }

    [SkippableFact]
    public void An_empty_mount_point_is_written_in_place_and_stays_mounted()
    {
        // A mount point (a Docker volume) cannot be renamed (EBUSY): its whole replacement renamed it away, and failed.
        using var tmp = TestPaths.TempDir();
        using var mount = TmpfsMount.At(tmp.File("the out")); // mountinfo spells the space \040
        var target = mount.Path;
        AtomicFile.WriteDirectory(target, d => Fill(d, "v1"));
        Assert.Equal("v1", Content(target));
        Assert.Equal([OutputDirectory.MarkerName, "config.json", "weights.bin"], Siblings(target));

        // Through a link above it, the path the kernel does not list it by.
        Directory.CreateSymbolicLink(tmp.File("via"), tmp.Path);
        Assert.Throws<InvalidOperationException>(() => AtomicFile.WriteDirectory(tmp.File("via/the out"), d =>
        {
            Fill(d, "v2");
            throw new InvalidOperationException("fill failed");
        }));
        Assert.Equal("v1", Content(target));
        AtomicFile.WriteDirectory(tmp.File("via/the out"), d => File.WriteAllText(Path.Combine(d, "weights.bin"), "v3"));
        Assert.Equal("v3", Content(target));
        Assert.Equal([OutputDirectory.MarkerName, "weights.bin"], Siblings(target));
        Assert.Equal(["the out", "via"], Siblings(tmp.Path));
        Assert.Contains(" " + target.Replace(" ", "\\040", StringComparison.Ordinal) + " ", File.ReadAllText("/proc/self/mountinfo"), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_mount_points_lost_and_found_is_the_filesystems_and_anywhere_else_the_users()
    {
        // A freshly formatted ext4 volume mounted as the output holds mkfs's lost+found: it was refused as the user's entry.
        using var tmp = TestPaths.TempDir();
        using var mount = TmpfsMount.At(tmp.File("out"));
        var found = Directory.CreateDirectory(Path.Combine(mount.Path, "lost+found")).FullName;
        File.WriteAllText(Path.Combine(found, "#131073"), "recovered");
        var model = new OutputKind("a model", ["config.json", "weights.bin"]);
        AtomicFile.WriteDirectory(mount.Path, d => Fill(d, "v1"), kind: model);
        Assert.Equal([OutputDirectory.MarkerName, "config.json", "lost+found", "weights.bin"], Siblings(mount.Path));
        // A merge removes the stale entries of ours (config.json), neither moving nor removing the filesystem's.
        AtomicFile.WriteDirectory(mount.Path, d => File.WriteAllText(Path.Combine(d, "weights.bin"), "v2"), kind: model);
        Assert.Equal([OutputDirectory.MarkerName, "lost+found", "weights.bin"], Siblings(mount.Path));
        Assert.Equal(["#131073"], Siblings(found));
        Assert.Equal("recovered", File.ReadAllText(Path.Combine(found, "#131073")));
        Assert.Equal(["out"], Siblings(tmp.Path));

        // In a folder that is not a mount point, it is the user's folder of that name.
        Directory.CreateDirectory(tmp.File("copy/lost+found"));
        var refused = Assert.Throws<ForeignOutputException>(() => AtomicFile.WriteDirectory(tmp.File("copy"), d => Fill(d, "v1"), kind: model));
        Assert.Equal(["lost+found"], refused.ForeignEntries);
    }

    [SkippableFact]
    public void A_merge_whose_new_subdirectory_cannot_move_in_puts_the_old_one_back()
    {
        // The new checkpoint-1 staged as a mount point cannot be renamed (EBUSY), after the old one was moved aside: it stayed
        // under its temp name until the next write or a resumed run recovered it.
        using var tmp = TestPaths.TempDir();
        var target = tmp.File("project");
        Directory.CreateDirectory(target);
        File.WriteAllText(Path.Combine(target, "notes.txt"), "keep");
        AtomicFile.WriteDirectory(target, d => AtomicFile.WriteDirectory(Path.Combine(d, "checkpoint-1"), c => Fill(c, "old")), overwrite: true);
        TmpfsMount? staged = null;
        try
        {
            Assert.ThrowsAny<Exception>(() => AtomicFile.WriteDirectory(target, d =>
            {
                staged = TmpfsMount.At(Path.Combine(d, "checkpoint-1"));
                Fill(staged.Path, "new");
            }));
            Assert.Equal("old", Content(Path.Combine(target, "checkpoint-1")));
            Assert.Equal([OutputDirectory.MarkerName, "checkpoint-1", "notes.txt"], Siblings(target));
        }
        finally
        {
            staged?.Dispose();
        }
        AtomicFile.Recover(target);
        Assert.Equal(["project"], Siblings(tmp.Path));
    }

    [SkippableFact]
    public void A_failed_write_whose_temp_directory_cannot_be_removed_reports_its_own_failure()
    {
        // A mount inside the temp copy (a real EBUSY on removing it): the clean-up's error replaced the write's.
        using var tmp = TestPaths.TempDir();
        TmpfsMount? inside = null;
        try
        {
            var e = Assert.Throws<InvalidOperationException>(() => AtomicFile.WriteDirectory(tmp.File("out"), d =>
            {
                Fill(d, "v1");
                inside = TmpfsMount.At(Path.Combine(d, "busy"));
                throw new InvalidOperationException("fill failed");
            }));
            Assert.Equal("fill failed", e.Message);
        }
        finally
        {
            inside?.Dispose();
        }
        Assert.False(Directory.Exists(tmp.File("out")));
        // What stayed behind is a temp copy the next write removes.
        AtomicFile.WriteDirectory(tmp.File("out"), d => Fill(d, "v2"));
        Assert.Equal("v2", Content(tmp.File("out")));
        Assert.Equal(["out"], Siblings(tmp.Path));
    }

    [SkippableFact]
    public void A_merge_into_a_mount_point_holding_the_users_files_stages_on_the_mounts_filesystem()
    {
        // Staged beside the mount point, on its parent's filesystem, the new checkpoint-1 could not be renamed in (EXDEV),
        // and each file was copied into its final name, where a kill left it half written.
        using var tmp = TestPaths.TempDir();
        using var mount = TmpfsMount.At(tmp.File("out"));
        var target = mount.Path;
        File.WriteAllText(Path.Combine(target, "notes.txt"), "keep");
        AtomicFile.WriteDirectory(target, d => AtomicFile.WriteDirectory(Path.Combine(d, "checkpoint-1"), c => Fill(c, "old")), overwrite: true);

        // A write killed while filling its staged copy: it is ours, not the user's, and recovery (the next write's, a resumed
        // run's) removes it.
        var staged = Path.Combine(target, OutputDirectory.MarkerName + ".0000abcd.staging");
        Directory.CreateDirectory(staged);
        File.WriteAllText(Path.Combine(staged, "weights.bin"), "half");
        Assert.Equal(["notes.txt"], OutputDirectory.Inspect(target).ForeignEntries);
        AtomicFile.Recover(target);
        Assert.Equal([OutputDirectory.MarkerName, "checkpoint-1", "notes.txt"], Siblings(target));

        ReplaceCheckpointBesideNotes(target, "new");
        Assert.Equal(["out"], Siblings(tmp.Path));
    }

    /// <summary>A write of checkpoint-1 into a directory holding the user's notes.txt replaces it and leaves the notes.</summary>
    private static void ReplaceCheckpointBesideNotes(string target, string content)
    {
        AtomicFile.WriteDirectory(target, d => AtomicFile.WriteDirectory(Path.Combine(d, "checkpoint-1"), c => Fill(c, content)));
        Assert.Equal(content, Content(Path.Combine(target, "checkpoint-1")));
        Assert.Equal([OutputDirectory.MarkerName, "checkpoint-1", "notes.txt"], Siblings(target));
        Assert.Equal("keep", File.ReadAllText(Path.Combine(target, "notes.txt")));
    }

    [Fact]
    public void A_link_is_followed_to_its_directory_and_one_to_nothing_or_to_a_file_is_refused()
    {
        using var tmp = TestPaths.TempDir();
        AtomicFile.WriteDirectory(tmp.File("disk/model"), d => Fill(d, "old"));
        // Relative, through a second link: each is read from the folder that holds it.
        Directory.CreateSymbolicLink(tmp.File("disk/latest"), "model");
        Directory.CreateSymbolicLink(tmp.File("out"), "disk/latest");
        AtomicFile.WriteDirectory(tmp.File("out"), d => Fill(d, "new"));
        Assert.Equal("new", Content(tmp.File("disk/model")));
        Assert.Equal("disk/latest", new DirectoryInfo(tmp.File("out")).LinkTarget);
        Assert.Equal("model", new DirectoryInfo(tmp.File("disk/latest")).LinkTarget);
        Assert.Equal(["latest", "model"], Siblings(tmp.File("disk")));
        // Killed between a replacement's two renames (S2): the link ended nowhere, so every later write refused it, and
        // the model stayed under its hidden name.
        Directory.Move(tmp.File("disk/model"), tmp.File("disk/model.0000abcd.old"));
        Assert.False(OutputDirectory.Inspect(tmp.File("out")).Exists);
        Assert.Null(BertSharp.Training.RunDirectory.Check(tmp.File("out"), resume: false, overwrite: false, BertSharp.Training.FineTuner.Kind));
        AtomicFile.WriteDirectory(tmp.File("out"), d => File.WriteAllText(Path.Combine(d, "weights.bin"), "again"));
        Assert.Equal("again", File.ReadAllText(tmp.File("disk/model/weights.bin")));
        Assert.Equal(["latest", "model"], Siblings(tmp.File("disk")));

        Directory.CreateSymbolicLink(tmp.File("gone"), "disk/nowhere");
        Assert.Equal($"{tmp.File("gone")}: a symbolic link to {tmp.File("disk/nowhere")}, which does not exist; expected a link to a directory.",
            Assert.Throws<BrokenLinkException>(() => AtomicFile.WriteDirectory(tmp.File("gone"), d => Fill(d, "x"))).Message);
        Directory.CreateSymbolicLink(tmp.File("loop"), "loop");
        Assert.Equal($"{tmp.File("loop")}: a symbolic link that never ends (a cycle of links); expected a link to a directory.",
            Assert.Throws<BrokenLinkException>(() => OutputDirectory.Claim(tmp.File("loop"), ["checkpoint-*"], overwrite: false)).Message);
        File.WriteAllText(tmp.File("file.txt"), "x");
        File.CreateSymbolicLink(tmp.File("tofile"), "file.txt");
        Assert.Equal($"{tmp.File("tofile")}: is a file; expected a directory.",
            Assert.Throws<PathException>(() => AtomicFile.WriteDirectory(tmp.File("tofile"), d => Fill(d, "y"))).Message);
        Assert.Equal(["disk", "file.txt", "gone", "loop", "out", "tofile"], Siblings(tmp.Path));
    }

    /// <summary>Whether a directory made at <paramref name="there"/> cannot be renamed to <paramref name="here"/> (another filesystem).</summary>
    private static bool AnotherFilesystem(string there, string here)
    {
        Directory.CreateDirectory(there);
        try
        {
            Directory.Move(there, here);
            Directory.Delete(here);
            return false;
        }
        catch (IOException)
        {
            return true;
        }
    }

    [Fact]
    public void A_write_of_one_kind_replaces_only_that_kind_and_refuses_other_bert_output()
    {
        using var tmp = TestPaths.TempDir();
        var model = new OutputKind("a model", ["config.json", "weights.bin"]);
        var target = tmp.File("out");
        OutputDirectory.Claim(target, ["checkpoint-*", "train_log.jsonl"], overwrite: false);
        Directory.CreateDirectory(Path.Combine(target, "checkpoint-4"));
        File.WriteAllText(Path.Combine(target, "train_log.jsonl"), "log");

        var refused = Assert.Throws<OtherOutputException>(() => AtomicFile.WriteDirectory(target, d => Fill(d, "new"), overwrite: true, model));
        Assert.Equal($"output_dir {target}: holds BertSharp output that is not a model (checkpoint-4, train_log.jsonl), which writing a model there " +
            "would delete, with or without overwrite; choose another output directory.", refused.Message);
        Assert.Equal(["checkpoint-4", "train_log.jsonl"], refused.OtherEntries);
        Assert.Equal("a model", refused.Kind);
        Assert.Equal("log", File.ReadAllText(Path.Combine(target, "train_log.jsonl")));
        Assert.Equal(["out"], Siblings(tmp.Path));

        var own = tmp.File("model");
        AtomicFile.WriteDirectory(own, d => Fill(d, "v1"), kind: model);
        AtomicFile.WriteDirectory(own, d => Fill(d, "v2"), kind: model);
        Assert.Equal("v2", File.ReadAllText(Path.Combine(own, "weights.bin")));
    }

    [Fact]
    public void An_empty_directory_is_fine_and_a_file_is_refused()
    {
        using var tmp = TestPaths.TempDir();
        Directory.CreateDirectory(tmp.File("empty"));
        AtomicFile.WriteDirectory(tmp.File("empty"), d => Fill(d, "x"));
        Assert.Equal("x", Content(tmp.File("empty")));
        File.WriteAllText(tmp.File("file"), "x");
        Assert.Contains("is a file", Assert.Throws<PathException>(() => AtomicFile.WriteDirectory(tmp.File("file"), d => Fill(d, "y"))).Message,
            StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(LongPrefixes))]
    public void Recover_children_removes_what_killed_writes_left_inside_a_run_directory(string prefix)
    {
        using var tmp = TestPaths.TempDir();
        var run = tmp.File("run");
        Directory.CreateDirectory(run);
        string Child(string name) => Path.Combine(run, prefix + name);
        AtomicFile.WriteDirectory(Child("checkpoint-2"), d => Fill(d, "two"));
        Directory.CreateDirectory(AtomicFile.TempPath(Child("checkpoint-2"), "0000abcd"));
        File.WriteAllText(Path.Combine(AtomicFile.TempPath(Child("checkpoint-2"), "0000abcd"), "weights.bin"), "half");
        Directory.CreateDirectory(AtomicFile.OldPath(Child("checkpoint-2"), "0000beef"));
        File.WriteAllText(AtomicFile.TempPath(Child("log.jsonl"), "0000cafe"), "{");
        File.WriteAllText(Child("log.jsonl"), "");
        AtomicFile.RecoverChildren(run);
        Assert.Equal([prefix + "checkpoint-2", prefix + "log.jsonl"], Siblings(run));
        Assert.Equal("two", Content(Child("checkpoint-2")));
    }

    // .NET names the temp sibling a write goes through ("/proc/.x.png.1a2b3c4d.tmp: not found"): a name the caller never gave.
    [Fact]
    public void A_file_or_directory_that_cannot_be_written_is_named_as_the_caller_gave_it()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("afile"), "x");
        var file = Assert.Throws<OutputWriteException>(() => AtomicFile.WriteAllText("/proc/x.txt", "x"));
        Assert.Equal("/proc/x.txt", file.Path);
        Assert.Equal("/proc/x.txt: cannot be written (no such file or directory).", file.Message);
        var underFile = Assert.Throws<OutputWriteException>(() => AtomicFile.WriteAllText(tmp.File("afile/x.txt"), "x"));
        Assert.StartsWith(tmp.File("afile/x.txt") + ": cannot be written (", underFile.Message, StringComparison.Ordinal);
        var dir = Assert.Throws<OutputWriteException>(() => AtomicFile.WriteDirectory("/proc/model", d => Fill(d, "new")));
        Assert.Equal("/proc/model: cannot be written (no such file or directory).", dir.Message);
        var claimed = Assert.Throws<OutputWriteException>(() => OutputDirectory.Claim("/proc/run", ["checkpoint-*"], overwrite: false));
        Assert.Equal("/proc/run: cannot be written (no such file or directory).", claimed.Message);
        foreach (var e in new Exception[] { file, underFile, dir, claimed })
        {
            Assert.DoesNotContain(".tmp", e.Message, StringComparison.Ordinal);
        }
        Assert.Equal(["afile"], Siblings(tmp.Path));
    }

    // A file inside a directory output that could not be written (a checkpoint's weights inside a run) is named by its path
    // there: the output's own path, which holds it, once, and the file's as precisely as the failure knows it.
    [Fact]
    public void A_file_that_fails_inside_a_directory_output_is_named_by_its_path_inside_it()
    {
        using var tmp = TestPaths.TempDir();
        var run = tmp.File("run");
        var e = Assert.Throws<OutputWriteException>(() => AtomicFile.WriteDirectory(run, d => AtomicFile.WriteDirectory(Path.Combine(d, "checkpoint-4"),
            c => AtomicFile.Write(Path.Combine(c, "model.safetensors"), s => throw new IOException($"No space left on device : '{((FileStream)s).Name}'")))));
        Assert.Equal(run, e.Path);
        Assert.Equal("checkpoint-4/model.safetensors", e.Entry);
        Assert.Equal("No space left on device", e.Reason);
        Assert.Equal($"{run}: checkpoint-4/model.safetensors cannot be written (No space left on device).", e.Message);
        Assert.Empty(Siblings(tmp.Path));
    }

    [Fact]
    public void Files_written_together_are_renamed_into_place_only_when_all_are_complete()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("a.jsonl"), "old");
        // The disk filling up while the second file is written: .NET says so naming the temp file.
        var e = Assert.Throws<OutputWriteException>(() => AtomicFile.WriteFiles(
        [
            (tmp.File("a.jsonl"), s => s.Write("new"u8)),
            (tmp.File("b.png"), s => throw new IOException($"No space left on device : '{((FileStream)s).Name}'")),
        ]));
        Assert.Equal($"{tmp.File("b.png")}: cannot be written (No space left on device).", e.Message);
        Assert.Equal("old", File.ReadAllText(tmp.File("a.jsonl")));
        Assert.Equal(["a.jsonl"], Siblings(tmp.Path));
        // A failure of the caller's own (reading an input) is its own, not the output's.
        Assert.Throws<FileNotFoundException>(() => AtomicFile.WriteFiles([(tmp.File("c.txt"), _ => File.ReadAllText(tmp.File("missing.txt")))]));
        AtomicFile.WriteFiles([(tmp.File("a.jsonl"), s => s.Write("new"u8)), (tmp.File("b.png"), s => s.Write("png"u8))]);
        Assert.Equal(["a.jsonl", "b.png"], Siblings(tmp.Path));
        Assert.Equal("new", File.ReadAllText(tmp.File("a.jsonl")));

        // A rename that fails once others are done (a directory holds the last file's name) puts them back: the old a.jsonl
        // returns and the new c.txt, which had no old version, goes (both new ones stayed).
        Directory.CreateDirectory(tmp.File("d.png"));
        var renaming = Assert.Throws<OutputWriteException>(() => AtomicFile.WriteFiles(
        [
            (tmp.File("a.jsonl"), s => s.Write("newer"u8)),
            (tmp.File("c.txt"), s => s.Write("new"u8)),
            (tmp.File("d.png"), s => s.Write("png"u8)),
        ]));
        Assert.Equal($"{tmp.File("d.png")}: cannot be written (Is a directory).", renaming.Message);
        Assert.Equal("new", File.ReadAllText(tmp.File("a.jsonl")));
        Assert.Equal(["a.jsonl", "b.png", "d.png"], Siblings(tmp.Path));
        Assert.Empty(Directory.GetFileSystemEntries(tmp.File("d.png")));
    }
}
