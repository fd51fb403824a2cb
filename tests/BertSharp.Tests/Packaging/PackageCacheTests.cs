using System.Reflection;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Packaging;

/// <summary>
/// The packaging fixtures' cache (<see cref="PackageCache"/>, <see cref="PackageBuild.PackKey"/>) on a small made-up
/// repository: a key changes with each input of a pack and only with those, and entries are made whole or not at all.
/// </summary>
public class PackageCacheTests
{
    private static readonly DateTime Stamp = new(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);

    /// <summary>src/A references src/B; both built (bin/, obj/) and restored; A is the packed project.</summary>
    private static TempDir FakeRepository()
    {
        var repo = new TempDir();
        void Write(string rel, string text)
        {
            var path = Path.Combine(repo.Path, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, text);
            File.SetLastWriteTimeUtc(path, Stamp);
        }
        Write("Directory.Build.props", "<Project><Import Project=\"build/Packaging.props\" /></Project>");
        Write("Directory.Packages.props", "<Project><ItemGroup><PackageVersion Include=\"X\" Version=\"1.0.0\" /></ItemGroup></Project>");
        Write("build/Packaging.props", "<Project><PropertyGroup><Version>0.1.0</Version></PropertyGroup></Project>");
        Write("src/A/A.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\"><ItemGroup><ProjectReference Include=\"../B/B.csproj\" /></ItemGroup></Project>");
        Write("src/A/README.md", "# A\n");
        Write("src/A/Program.cs", "class P {}");
        Write("src/A/obj/project.assets.json", "{\"version\": 3}");
        Write("src/A/obj/A.csproj.nuget.g.props", "<Project />");
        Write("src/A/obj/Release/net10.0/A.dll", "MZ-A");
        Write("src/A/obj/Release/net10.0/A.csproj.CoreCompileInputs.cache", "1");
        Write("src/A/bin/Release/net10.0/A.dll", "MZ-A");
        Write("src/A/bin/Release/net10.0/A.xml", "<doc />");
        Write("src/A/bin/Release/net10.0/runtimes/linux-x64/native/libx.so", "ELF");
        Write("src/B/B.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\" />");
        Write("src/B/README.md", "# B\n");
        Write("src/B/bin/Release/net10.0/B.dll", "MZ-B");
        return repo;
    }

    private static string Key(string repo, string sdk = "10.0.401", string sourceControl = "abc refs/heads/main", string project = "A") =>
        PackageBuild.PackKey(repo, "Release", sdk, sourceControl, [project]).Hash;

    [Fact]
    public void Unchanged_inputs_give_the_same_key_wherever_the_checkout_is()
    {
        using var repo = FakeRepository();
        using var other = FakeRepository();
        var key = Key(repo.Path);
        Assert.Matches("^[0-9a-f]{16}$", key);
        Assert.Equal(key, Key(repo.Path));
        Assert.Equal(key, Key(other.Path));
    }

    [Fact]
    public void What_a_pack_does_not_read_leaves_the_key_alone()
    {
        using var repo = FakeRepository();
        var key = Key(repo.Path);
        // A source file (the pack reads the build output, whose stamps change when it is rebuilt) ...
        File.WriteAllText(Path.Combine(repo.Path, "src/A/Program.cs"), "class Q {}");
        // ... MSBuild's bookkeeping in obj/, rewritten by builds that compile nothing ...
        File.WriteAllText(Path.Combine(repo.Path, "src/A/obj/Release/net10.0/A.csproj.CoreCompileInputs.cache"), "2");
        // ... a project file rewritten with the same text (content, not time, counts for it) ...
        var csproj = Path.Combine(repo.Path, "src/A/A.csproj");
        File.WriteAllText(csproj, File.ReadAllText(csproj));
        // ... the tool settings that packing a tool writes into obj/ ...
        File.WriteAllText(Path.Combine(repo.Path, "src/A/obj/Release/net10.0/DotnetToolSettings.xml"), "<DotNetCliTool />");
        // ... and another project's output.
        Directory.CreateDirectory(Path.Combine(repo.Path, "src/C/bin/Release/net10.0"));
        File.WriteAllText(Path.Combine(repo.Path, "src/C/bin/Release/net10.0/C.dll"), "MZ-C");
        Assert.Equal(key, Key(repo.Path));
    }

    public static TheoryData<string> Inputs => new()
    {
        "touched build output", "new build output file", "removed build output file", "touched native in build output",
        "touched referenced project's build output", "touched compiled assembly in obj", "project file edited, same size and time",
        "referenced project file edited", "README edited", "Directory.Packages.props edited", "Directory.Build.targets added",
        "build/*.targets added", "project.assets.json edited", "nuget.g.props edited",
    };

    [Theory]
    [MemberData(nameof(Inputs))]
    public void Changing_one_input_file_changes_the_key(string change)
    {
        using var repo = FakeRepository();
        var before = Key(repo.Path);
        string P(string rel) => Path.Combine(repo.Path, rel);
        void Touch(string rel) => File.SetLastWriteTimeUtc(P(rel), Stamp.AddSeconds(1));
        void Edit(string rel, string text)
        {
            File.WriteAllText(P(rel), text);
            File.SetLastWriteTimeUtc(P(rel), Stamp);
        }
        switch (change)
        {
            case "touched build output": Touch("src/A/bin/Release/net10.0/A.dll"); break;
            case "new build output file": Edit("src/A/bin/Release/net10.0/A.pdb", "pdb"); break;
            case "removed build output file": File.Delete(P("src/A/bin/Release/net10.0/A.xml")); break;
            case "touched native in build output": Touch("src/A/bin/Release/net10.0/runtimes/linux-x64/native/libx.so"); break;
            case "touched referenced project's build output": Touch("src/B/bin/Release/net10.0/B.dll"); break;
            case "touched compiled assembly in obj": Touch("src/A/obj/Release/net10.0/A.dll"); break;
            case "project file edited, same size and time":
                Edit("src/A/A.csproj", File.ReadAllText(P("src/A/A.csproj")).Replace("Sdk=", "SDK=", StringComparison.Ordinal)); break;
            case "referenced project file edited": Edit("src/B/B.csproj", "<Project Sdk=\"Microsoft.NET.Sdk\"><!-- x --></Project>"); break;
            case "README edited": Edit("src/A/README.md", "# A!\n"); break;
            case "Directory.Packages.props edited": Edit("Directory.Packages.props", File.ReadAllText(P("Directory.Packages.props")).Replace("1.0.0", "1.0.1", StringComparison.Ordinal)); break;
            case "Directory.Build.targets added": Edit("Directory.Build.targets", "<Project />"); break;
            case "build/*.targets added": Edit("build/Fix.targets", "<Project />"); break;
            case "project.assets.json edited": Edit("src/A/obj/project.assets.json", "{\"version\": 4}"); break;
            case "nuget.g.props edited": Edit("src/A/obj/A.csproj.nuget.g.props", "<Project></Project>"); break;
            default: throw new ArgumentOutOfRangeException(nameof(change), change, null);
        }
        Assert.NotEqual(before, Key(repo.Path));
    }

    [Fact]
    public void The_sdk_version_the_source_control_record_and_the_packed_projects_are_in_the_key()
    {
        using var repo = FakeRepository();
        var key = Key(repo.Path);
        Assert.NotEqual(key, Key(repo.Path, sdk: "10.0.402"));
        Assert.NotEqual(key, Key(repo.Path, sourceControl: "refs/heads/other"));
        Assert.NotEqual(key, Key(repo.Path, project: "B"));
    }

    [SkippableFact]
    public void The_source_control_record_is_the_same_every_time_and_names_the_branch_not_the_commit()
    {
        Skip.IfNot(Path.Exists(Path.Combine(TestPaths.RepoRoot, ".git")), "not a git checkout");
        var records = Enumerable.Range(0, 4).Select(_ => PackageBuild.SourceControl(TestPaths.RepoRoot)).ToArray();
        Assert.All(records, r => Assert.Equal(records[0], r));
        var words = records[0].Split(' ');
        Assert.Equal(PackageBuild.Run(TestPaths.RepoRoot, "git", "rev-parse", "--symbolic-full-name", "HEAD").Trim(), words[0]);
        Assert.DoesNotContain("", words);
        // A new commit alone leaves the key as it is: the packed assemblies do not carry it (next test).
        var commit = PackageBuild.Run(TestPaths.RepoRoot, "git", "rev-parse", "HEAD").Trim();
        Assert.DoesNotContain(commit, records[0], StringComparison.Ordinal);
    }

    [Fact]
    public void The_assemblies_a_test_run_packs_do_not_carry_the_commit()
    {
        // build/Packaging.props adds the commit to the informational version only when packing builds; in the test run's
        // build it made every commit rebuild every project and every packaging fixture miss its cache.
        foreach (var assembly in new[] { typeof(BertSharp.Tokenization.BertTokenizer).Assembly, typeof(BertSharp.Runtime.TorchRuntime).Assembly,
                     typeof(BertSharp.Cli.Commands.DoctorCommand).Assembly, typeof(PackageCacheTests).Assembly })
        {
            Assert.Equal(PackageConsumerTests.Version, assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()!.InformationalVersion);
        }
    }

    [Fact]
    public void A_tree_is_keyed_by_content_without_its_bin_and_obj()
    {
        using var repo = FakeRepository();
        var sample = Path.Combine(repo.Path, "src/A");
        string Tree() => new CacheKey().AddTree("sample", sample).Hash;
        var key = Tree();
        File.WriteAllText(Path.Combine(sample, "bin/Release/net10.0/extra.dll"), "x");
        File.WriteAllText(Path.Combine(sample, "obj/project.assets.json"), "{}");
        File.SetLastWriteTimeUtc(Path.Combine(sample, "Program.cs"), Stamp.AddDays(1));
        Assert.Equal(key, Tree());
        File.WriteAllText(Path.Combine(sample, "Program.cs"), "class R {}");
        Assert.NotEqual(key, Tree());
    }

    [Fact]
    public void An_entry_is_built_once_and_reused_with_its_inputs_listed()
    {
        using var root = new TempDir();
        var key = new CacheKey().Add("input", "1");
        var builds = 0;
        void Build(string dir)
        {
            builds++;
            File.WriteAllText(Path.Combine(dir, "out.txt"), "built");
        }
        var first = PackageCache.GetOrCreate(root.Path, "fixture", key, Build);
        var second = PackageCache.GetOrCreate(root.Path, "fixture", new CacheKey().Add("input", "1"), Build);
        Assert.Equal(1, builds);
        Assert.Equal(first, second);
        Assert.Equal(Path.Combine(root.Path, "fixture-" + key.Hash), first);
        Assert.Equal("built", File.ReadAllText(Path.Combine(first, "out.txt")));
        Assert.Equal("input: 1\n", File.ReadAllText(Path.Combine(first, PackageCache.InputsFile)));
        Assert.Equal([first], Directory.GetDirectories(root.Path)); // no temporary folder left behind
    }

    [Fact]
    public void A_failed_build_leaves_no_entry_and_the_next_run_builds_again()
    {
        using var root = new TempDir();
        var key = new CacheKey().Add("input", "1");
        var error = Assert.Throws<InvalidOperationException>(() => PackageCache.GetOrCreate(root.Path, "fixture", key, dir =>
        {
            File.WriteAllText(Path.Combine(dir, "half.txt"), "half");
            throw new InvalidOperationException("pack failed");
        }));
        Assert.Equal("pack failed", error.Message);
        Assert.Empty(Directory.GetFileSystemEntries(root.Path));

        var entry = PackageCache.GetOrCreate(root.Path, "fixture", key, dir => File.WriteAllText(Path.Combine(dir, "whole.txt"), "whole"));
        Assert.Equal([PackageCache.InputsFile, "whole.txt"], Directory.GetFiles(entry).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Only_the_most_recently_used_entries_of_a_fixture_and_no_abandoned_temporaries_are_kept()
    {
        using var root = new TempDir();
        string Entry(string fixture, int input) =>
            PackageCache.GetOrCreate(root.Path, fixture, new CacheKey().Add("input", input.ToString(System.Globalization.CultureInfo.InvariantCulture)), _ => { });
        var other = Entry("other", 0);
        var abandoned = Directory.CreateDirectory(Path.Combine(root.Path, ".tmp-fixture-0123456789abcdef-deadbeef")).FullName;
        Directory.SetLastWriteTimeUtc(abandoned, DateTime.UtcNow.AddHours(-3));
        var running = Directory.CreateDirectory(Path.Combine(root.Path, ".tmp-fixture-0123456789abcdef-feedbeef")).FullName;

        var one = Entry("fixture", 1);
        Directory.SetLastWriteTimeUtc(one, DateTime.UtcNow.AddMinutes(-10));
        var two = Entry("fixture", 2);
        Directory.SetLastWriteTimeUtc(two, DateTime.UtcNow.AddMinutes(-5));
        Assert.Equal(one, Entry("fixture", 1)); // a hit makes it the most recently used ...
        var three = Entry("fixture", 3);         // ... so the third entry pushes out the second

        Assert.Equal(new[] { one, three, other, running }.Order(StringComparer.Ordinal),
            Directory.GetDirectories(root.Path).Order(StringComparer.Ordinal));
        Assert.False(Directory.Exists(two));
        Assert.False(Directory.Exists(abandoned));
    }
}
