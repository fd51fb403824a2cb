using BertSharp.IO;
using BertSharp.Tests.Infrastructure;
using static BertSharp.Tests.IO.AtomicDirectoryTests;

namespace BertSharp.Tests.IO;

/// <summary>
/// Leftovers of targets whose names are too long for the leftovers' names to carry them (<see cref="AtomicFile.LeftoverKey"/>:
/// the name's start and a hash): recovered when the target is gone, owned by the entries they belong to, and never confused
/// with a real name that happens to read like such a key.
/// </summary>
public class LongNameLeftoverTests
{
    [Theory]
    [MemberData(nameof(LongPrefixes), MemberType = typeof(AtomicDirectoryTests))]
    public void Leftovers_of_a_target_that_is_gone_are_put_in_its_place_or_removed(string prefix)
    {
        using var tmp = TestPaths.TempDir();
        var run = tmp.File("run");
        Directory.CreateDirectory(run);
        string Child(string name) => Path.Combine(run, prefix + name);

        // S2: the old directory renamed away, the complete new one not yet in place.
        var s2 = Child("s2");
        AtomicFile.WriteDirectory(s2, d => Fill(d, "old"));
        Directory.Move(s2, AtomicFile.OldPath(s2, "0000cccc"));
        CompleteTmp(s2, "0000cccc", "new");
        // S2 without its tmp: the old copy, named by its own marker, comes back.
        var s2c = Child("s2c");
        AtomicFile.WriteDirectory(s2c, d => Fill(d, "old"));
        Directory.Move(s2c, AtomicFile.OldPath(s2c, "0000ffff"));
        // A first write killed just before its rename: the complete copy becomes the directory.
        var first = Child("first");
        CompleteTmp(first, "00002222", "new");
        // A first write killed while filling, and a file's first write killed: nothing to restore, removed.
        var partial = AtomicFile.TempPath(Child("partial"), "00003333");
        Directory.CreateDirectory(partial);
        File.WriteAllText(Path.Combine(partial, "weights.bin"), "half");
        File.WriteAllText(AtomicFile.TempPath(Child("log.jsonl"), "0000cafe"), "{");

        AtomicFile.RecoverChildren(run);
        Assert.Equal([.. new[] { "first", "s2", "s2c" }.Select(n => prefix + n).Order()], Siblings(run));
        Assert.Equal(["new", "new", "old"], new[] { first, s2, s2c }.Select(Content));
    }

    // A complete copy of a long-named directory whose marker records no name (a write of a version that did not record
    // names, or a marker that lost it) stands for a name its leftover's name cannot give back. Recovering the run directory
    // keeps it where it is: removed, it would be the only copy lost; renamed, it would get a name that is not its own.
    // A write that knows the name (its key is the copy's) puts it back first.
    [Fact]
    public void A_complete_copy_whose_marker_names_nothing_is_kept_until_its_name_is_known()
    {
        foreach (var prefix in ((IEnumerable<object[]>)LongPrefixes).Select(row => (string)row[0]).Where(p => p.Length > 0))
        {
            using var tmp = TestPaths.TempDir();
            var run = tmp.File("run");
            Directory.CreateDirectory(run);
            var target = Path.Combine(run, prefix + "checkpoint-7");
            Assert.NotEqual(Path.GetFileName(target), AtomicFile.LeftoverKey(Path.GetFileName(target)));
            var copy = CompleteTmp(target, "0000dddd", "new");
            var marker = Path.Combine(copy, OutputDirectory.MarkerName);
            var json = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(marker))!.AsObject();
            Assert.True(json.Remove("name"));
            File.WriteAllText(marker, json.ToJsonString());
            // Partial copies of the same key (writes stopped while filling, of a directory and of a file) can never be
            // restored: they were kept beside the complete copy at every recovery.
            var partial = AtomicFile.TempPath(target, "0000eeee");
            Directory.CreateDirectory(partial);
            File.WriteAllText(Path.Combine(partial, "weights.bin"), "half");
            File.WriteAllText(AtomicFile.TempPath(target, "0000fafa"), "{");
            Assert.Equal(3, Siblings(run).Length);

            AtomicFile.RecoverChildren(run);
            AtomicFile.RecoverChildren(run);
            Assert.Equal([Path.GetFileName(copy)], Siblings(run));
            Assert.Equal("new", Content(copy));

            AtomicFile.Recover(target);
            Assert.Equal([Path.GetFileName(target)], Siblings(run));
            Assert.Equal("new", Content(target));
        }
    }

    /// <summary>Real names of 238-241 bytes that end as a shortened key does ('~' and 16 hex digits).</summary>
    public static TheoryData<string> KeyLikeNames =>
    [
        new string('k', 221) + "~0123456789abcdef",
        new string('k', 224) + "~0123456789abcdef",
        new string('é', 112) + "~fedcba9876543210",
    ];

    [Theory]
    [MemberData(nameof(KeyLikeNames))]
    public void A_name_that_reads_as_a_shortened_key_is_recovered_as_itself(string name)
    {
        using var tmp = TestPaths.TempDir();
        var run = tmp.File("run");
        Directory.CreateDirectory(run);
        var model = Path.Combine(run, name);
        AtomicFile.WriteDirectory(model, d => Fill(d, "two"));
        Directory.CreateDirectory(AtomicFile.TempPath(model, "0000abcd"));
        Directory.CreateDirectory(AtomicFile.OldPath(model, "0000beef"));
        AtomicFile.RecoverChildren(run);
        Assert.Equal([name], Siblings(run));
        Assert.Equal("two", Content(model));

        // Gone between a replacement's renames: put back from its leftovers under its own name.
        Directory.Move(model, AtomicFile.OldPath(model, "0000cccc"));
        CompleteTmp(model, "0000cccc", "three");
        AtomicFile.RecoverChildren(run);
        Assert.Equal([name], Siblings(run));
        Assert.Equal("three", Content(model));
    }

    [Theory]
    [MemberData(nameof(LongPrefixes), MemberType = typeof(AtomicDirectoryTests))]
    public void A_long_named_entrys_leftover_is_ours_when_the_entry_is_and_the_users_when_not(string prefix)
    {
        using var tmp = TestPaths.TempDir();
        // A model holding a long-named subdirectory, and what a killed write of that subdirectory left beside it.
        var model = tmp.File("model");
        var sub = prefix + "tokenizer";
        AtomicFile.WriteDirectory(model, d =>
        {
            Fill(d, "v1");
            Fill(Directory.CreateDirectory(Path.Combine(d, sub)).FullName, "v1");
        });
        Directory.CreateDirectory(AtomicFile.TempPath(Path.Combine(model, sub), "0000abcd"));
        Assert.Empty(OutputDirectory.Inspect(model).ForeignEntries);
        // Ours, so the next write replaces the directory whole, the leftover with it.
        AtomicFile.WriteDirectory(model, d => Fill(d, "v2"));
        Assert.Equal([OutputDirectory.MarkerName, "config.json", "weights.bin"], Siblings(model));

        // A run's pattern owns a long checkpoint name's leftover; a long name the marker does not list is the user's, and so is its leftover.
        var run = tmp.File("run");
        OutputDirectory.Claim(run, ["checkpoint-*"], overwrite: false);
        Directory.CreateDirectory(AtomicFile.TempPath(Path.Combine(run, "checkpoint-" + prefix + "7"), "0000abcd"));
        var users = AtomicFile.TempPath(Path.Combine(run, prefix + "notes.txt"), "0000beef");
        File.WriteAllText(users, "the user's");
        Assert.Equal([Path.GetFileName(users)], OutputDirectory.Inspect(run).ForeignEntries);
    }
}
