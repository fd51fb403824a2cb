using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Runtime;

/// <summary>
/// build/ReadyToRun.targets: the Release output of the tests (from which the CLI child processes run) and of the CLI holds
/// ReadyToRun images, of BertSharp's assemblies (the same compilations that obj/ holds as IL) and of the packages' alike;
/// the two outputs share one compilation of each assembly they both copy (.build/r2r/), and the cache keeps three entries
/// per assembly (build/prune-r2r-cache.sh); the CLI's own image is the entry the tests' build finds for the bert.dll it copies.
/// </summary>
public class ReadyToRunBuildTests
{
    private static readonly string[] Assemblies = ["bert.dll", "BertSharp.dll", "BertSharp.Training.dll", "TorchSharp.dll", "System.CommandLine.dll"];

    /// <summary>Whether the assembly in <paramref name="stream"/> holds ReadyToRun code, and its module version id.</summary>
    internal static (bool ReadyToRun, Guid Mvid) Read(Stream stream)
    {
        using var pe = new PEReader(stream);
        var mvid = pe.GetMetadataReader().GetGuid(pe.GetMetadataReader().GetModuleDefinition().Mvid);
        return (pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, mvid);
    }

    internal static (bool ReadyToRun, Guid Mvid) Read(string path) => Read(File.OpenRead(path));

    /// <summary>Skips the calling test where build/ReadyToRun.targets makes no images: Debug builds, other platforms.</summary>
    internal static void SkipUnlessImagesAreMade()
    {
        Skip.IfNot(AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal),
            "ReadyToRun images are made for Release builds only");
        Skip.IfNot(OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64,
            "ReadyToRun images are made on linux-x64 only");
    }

    public static TheoryData<string> OutputFolders => new()
    {
        AppContext.BaseDirectory,
        Path.Combine(TestPaths.RepoRoot, "src", "BertSharp.Cli", "bin", "Release", "net10.0"),
    };

    [SkippableTheory]
    [MemberData(nameof(OutputFolders))]
    public void Release_output_holds_ReadyToRun_images_of_the_compiled_assemblies(string folder)
    {
        SkipUnlessImagesAreMade();
        Skip.IfNot(Directory.Exists(folder), $"{folder} is not built");
        // The IL that BertSharp's images were made from: each project's own compilation in obj/.
        var il = new Dictionary<string, string>
        {
            ["bert.dll"] = Path.Combine(TestPaths.RepoRoot, "src", "BertSharp.Cli", "obj", "Release", "net10.0", "bert.dll"),
            ["BertSharp.dll"] = Path.Combine(TestPaths.RepoRoot, "src", "BertSharp", "obj", "Release", "net10.0", "BertSharp.dll"),
            ["BertSharp.Training.dll"] = Path.Combine(TestPaths.RepoRoot, "src", "BertSharp.Training", "obj", "Release", "net10.0", "BertSharp.Training.dll"),
        };
        foreach (var name in Assemblies)
        {
            var image = Read(Path.Combine(folder, name));
            Assert.True(image.ReadyToRun, $"{name} in {folder} is not a ReadyToRun image");
            if (il.TryGetValue(name, out var source))
            {
                var original = Read(source);
                Assert.False(original.ReadyToRun, $"{source} should be IL");
                Assert.Equal(original.Mvid, image.Mvid);
            }
        }
        // Roslyn is left as IL (build/ReadyToRun.targets says why); only the tests' output copies it.
        foreach (var name in new[] { "Microsoft.CodeAnalysis.dll", "Microsoft.CodeAnalysis.CSharp.dll" }.Where(n => File.Exists(Path.Combine(folder, n))))
        {
            Assert.False(Read(Path.Combine(folder, name)).ReadyToRun, $"{name} in {folder} is a ReadyToRun image");
        }
    }

    [SkippableFact]
    public void The_CLI_and_the_tests_copy_one_shared_image_of_each_assembly_they_both_use()
    {
        SkipUnlessImagesAreMade();
        var cli = Path.Combine(TestPaths.RepoRoot, "src", "BertSharp.Cli", "bin", "Release", "net10.0");
        Skip.IfNot(Directory.Exists(cli), $"{cli} is not built");
        var cache = Path.Combine(TestPaths.RepoRoot, ".build", "r2r");
        foreach (var name in new[] { "TorchSharp.dll", "BertSharp.dll", "bert.dll" })
        {
            var ours = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, name));
            Assert.Equal(ours, File.ReadAllBytes(Path.Combine(cli, name)));
            // The entry is named after its input's SHA-256 (first 16 hex digits) and crossgen2's version: the IL's, or for
            // bert.dll, which the test project copies from the CLI's output already compiled, that image's.
            var entries = Directory.GetDirectories(Path.Combine(cache, name));
            Assert.Contains(entries, e => File.Exists(Path.Combine(e, name)) && File.ReadAllBytes(Path.Combine(e, name)).AsSpan().SequenceEqual(ours));
        }
        // bert.dll's entry is the CLI's own image, hard-linked there by the CLI's build (BertSharpShareOwnImage): the tests'
        // build found it instead of running crossgen2 on the image again, which wrote a second file.
        var own = Path.Combine(TestPaths.RepoRoot, "src", "BertSharp.Cli", "obj", "Release", "net10.0", "r2r", "bert.dll");
        var image = File.ReadAllBytes(own);
        var entry = Directory.GetDirectories(Path.Combine(cache, "bert.dll")).Select(e => Path.Combine(e, "bert.dll"))
            .Single(f => File.Exists(f) && File.ReadAllBytes(f).AsSpan().SequenceEqual(image));
        var files = Packaging.PackageBuild.Run(cache, "stat", "-c", "%d:%i", own, entry).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(files.Length == 2 && files[0] == files[1], $"{entry} is not {own} (device:inode {string.Join(", ", files)})");
    }

    [SkippableFact]
    public void The_image_cache_keeps_the_three_most_recently_used_entries_of_each_assembly()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "the image cache exists on linux-x64 only");
        using var dir = TestPaths.TempDir();
        var cache = dir.Path + "/";
        var now = DateTime.UtcNow;
        string Entry(string name, string key, int minutesAgo)
        {
            var e = Path.Combine(cache, name, key);
            Directory.CreateDirectory(e);
            File.WriteAllText(Path.Combine(e, name), key);
            Directory.SetLastWriteTimeUtc(e, now.AddMinutes(-minutesAgo));
            return e;
        }
        // A.dll: five entries, oldest used now; B.dll: two entries (fewer than three: all stay).
        var a = Enumerable.Range(1, 5).Select(i => Entry("A.dll", $"a{i}-10.0.0", 10 * i)).ToArray();
        var b = Enumerable.Range(1, 2).Select(i => Entry("B.dll", $"b{i}-10.0.0", 10 * i)).ToArray();
        // Temporary files of a compile: one abandoned two hours ago, one in progress.
        var stale = Path.Combine(a[0], ".tmp-1.dll");
        var fresh = Path.Combine(a[0], ".tmp-2.dll");
        File.WriteAllText(stale, "");
        File.SetLastWriteTimeUtc(stale, now.AddHours(-2));
        File.WriteAllText(fresh, "");

        // Throws with the script's output when it fails.
        Packaging.PackageBuild.Run(dir.Path, "sh", Path.Combine(TestPaths.RepoRoot, "build", "prune-r2r-cache.sh"), cache, "3", a[4]);

        // a5 was the oldest but this build used it: a5, a1, a2 stay; a3, a4 go.
        Assert.Equal(new[] { a[0], a[1], a[4] }, Directory.GetDirectories(Path.Combine(cache, "A.dll")).Order().ToArray());
        Assert.Equal(b, Directory.GetDirectories(Path.Combine(cache, "B.dll")).Order().ToArray());
        Assert.False(File.Exists(stale));
        Assert.True(File.Exists(fresh));
    }
}
