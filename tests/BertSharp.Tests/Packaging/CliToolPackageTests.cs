using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Packaging;

/// <summary>
/// Packs the CLI as a .NET tool (from the build this test run made), installs it with <c>dotnet tool install
/// --tool-path</c> from the packed folder, and runs the installed <c>bert</c>: libtorch must load from the package alone,
/// GLIBCXX fix included, without this repository's build.
/// </summary>
/// <remarks>
/// The package and the installed tool are kept in <c>.build/test-packages/cli-tool-&lt;key&gt;/</c> and reused by later test
/// runs while the key is unchanged: it covers everything the pack reads (<see cref="PackageBuild.PackKey"/>: the build output
/// of the CLI and of every project it references, the project, props and targets files, the restore output, the SDK
/// version, the branch and remotes) and the install command. A tool-path install holds no absolute path (the <c>bert</c> shim names
/// its assembly relative to itself), so the entry is installed in a temporary folder and moved into place whole (see
/// <see cref="PackageCache"/>). <c>BERTSHARP_TEST_NO_CACHE=1</c> packs and installs afresh.
/// </remarks>
public sealed class InstalledCliTool : IDisposable
{
    private const string Project = "BertSharp.Cli";

    // The config file only keeps the install offline (no other source to ask: the tool package carries all its dependencies).
    private const string InstallConfig = """
        <?xml version="1.0" encoding="utf-8"?>
        <configuration><packageSources><clear /></packageSources></configuration>
        """;

    private readonly TempDir _root = new();

    public InstalledCliTool()
    {
        var entry = PackageCache.Get("cli-tool",
            () => PackageBuild.PackKey(TestPaths.RepoRoot, PackageBuild.Configuration, PackageBuild.SdkVersion,
                    PackageBuild.SourceControl(TestPaths.RepoRoot), [Project])
                .Add("install", "dotnet tool install --tool-path TOOLS --add-source PACKAGES --configfile CONFIG " + Project)
                .Add("install config", InstallConfig.ReplaceLineEndings(" ")),
            Build, _root.Path);
        Packages = Path.Combine(entry, "packages");
        ToolPath = Path.Combine(entry, "tools");
    }

    private void Build(string entry)
    {
        var packages = Directory.CreateDirectory(Path.Combine(entry, "packages")).FullName;
        PackageBuild.Pack(_root.Path, packages, Project);
        // The README's command.
        var config = Path.Combine(_root.Path, "nuget.config");
        File.WriteAllText(config, InstallConfig);
        PackageBuild.Run(_root.Path, "dotnet", "tool", "install", "--tool-path", Path.Combine(entry, "tools"), "--add-source", packages,
            "--configfile", config, Project);
    }

    public string Packages { get; }

    public string ToolPath { get; }

    public string Bert => Path.Combine(ToolPath, "bert");

    public string NewDir(string name) => Directory.CreateDirectory(Path.Combine(_root.Path, name)).FullName;

    public void Dispose() => _root.Dispose();
}

[Trait("Category", "Slow")]
public class CliToolPackageTests(InstalledCliTool tool) : IClassFixture<InstalledCliTool>
{
    [Fact]
    public void The_tool_package_holds_linux_x64_natives_only_with_the_patched_libtorchsharp()
    {
        var nupkg = Assert.Single(Directory.GetFiles(tool.Packages, "BertSharp.Cli.*.nupkg"));
        using var zip = ZipFile.OpenRead(nupkg);
        var entries = zip.Entries.Select(e => e.FullName).ToArray();
        Assert.Contains("tools/net10.0/any/bert.dll", entries);
        Assert.Contains("tools/net10.0/any/DotnetToolSettings.xml", entries);
        Assert.Contains("tools/net10.0/any/runtimes/linux-x64/native/libtorch_cpu.so", entries);
        Assert.Equal(["linux-x64"], entries.Where(e => e.StartsWith("tools/net10.0/any/runtimes/", StringComparison.Ordinal))
            .Select(e => e.Split('/')[4]).Distinct());
        var settings = XDocument.Load(zip.GetEntry("tools/net10.0/any/DotnetToolSettings.xml")!.Open());
        Assert.Equal("bert", settings.Descendants("Command").Single().Attribute("Name")!.Value);
    }

    [SkippableFact]
    public void The_tool_package_carries_the_ReadyToRun_images_that_bert_runs_here()
    {
        Runtime.ReadyToRunBuildTests.SkipUnlessImagesAreMade();
        var nupkg = Assert.Single(Directory.GetFiles(tool.Packages, "BertSharp.Cli.*.nupkg"));
        using var zip = ZipFile.OpenRead(nupkg);
        var cli = Path.Combine(TestPaths.RepoRoot, "src", "BertSharp.Cli", "bin", "Release", "net10.0");
        foreach (var name in new[] { "bert.dll", "BertSharp.dll", "TorchSharp.dll", "System.CommandLine.dll" })
        {
            using var packed = new MemoryStream();
            using (var entry = zip.GetEntry("tools/net10.0/any/" + name)!.Open())
            {
                entry.CopyTo(packed);
            }
            // The same bytes as the CLI's build output, which ReadyToRunBuildTests checks are images of the built IL.
            Assert.Equal(File.ReadAllBytes(Path.Combine(cli, name)), packed.ToArray());
            packed.Position = 0;
            Assert.True(Runtime.ReadyToRunBuildTests.Read(packed).ReadyToRun, $"{name} in the tool package is not a ReadyToRun image");
        }
    }

    [SkippableFact]
    public void Installed_bert_doctor_loads_libtorch()
    {
        // Started as a user's shell starts the tool, without the preload ./bert adds: doctor's advice must fit the tool.
        var stdout = PackageBuild.Run(tool.ToolPath, new Dictionary<string, string> { ["LD_PRELOAD"] = "" }, tool.Bert, "doctor", "--quick");
        Assert.Contains("libtorch", stdout, StringComparison.OrdinalIgnoreCase);
        var allocator = stdout.Split('\n').Single(l => l.StartsWith("allocator", StringComparison.Ordinal));
        Assert.DoesNotContain("./bert preloads", allocator, StringComparison.Ordinal);
        Assert.Contains(BertSharp.Runtime.Allocator.InstalledTcmalloc is { } tcmalloc ? "LD_PRELOAD=" + tcmalloc : "apt-get install libtcmalloc-minimal4", allocator, StringComparison.Ordinal);

        // The loader accepted the package's libLibTorchSharp.so because its GLIBCXX_3.4.32 need is weak.
        var library = Directory.GetFiles(Path.Combine(tool.ToolPath, ".store"), "libLibTorchSharp.so", SearchOption.AllDirectories).Single();
        var need = PackageBuild.ReadelfVersionNeed(library, "GLIBCXX_3.4.32");
        Skip.If(need is null, "readelf is not installed");
        Assert.Contains("Flags: WEAK", need, StringComparison.Ordinal);
    }

    [Fact]
    public void Installed_bert_tokenize_writes_the_librarys_encodings()
    {
        var dir = tool.NewDir("tokenize");
        var vocab = Path.Combine(TestPaths.RepoRoot, "samples", "vocab", "bert-base-uncased-vocab.txt");
        string[] texts = ["Hello, world!", "Unaffable naïve café."];
        File.WriteAllLines(Path.Combine(dir, "in.txt"), texts);
        PackageBuild.Run(dir, tool.Bert, "tokenize", "--vocab", vocab, "--input", "in.txt", "--output", "out.jsonl");
        var lines = File.ReadAllLines(Path.Combine(dir, "out.jsonl"));
        Assert.Equal(texts.Length, lines.Length);
        var reference = BertTokenizer.FromVocabFile(vocab, lowercase: true);
        for (var i = 0; i < texts.Length; i++)
        {
            using var json = JsonDocument.Parse(lines[i]);
            Assert.Equal(reference.Encode(texts[i]).Ids, json.RootElement.GetProperty("ids").EnumerateArray().Select(t => t.GetInt32()));
        }
    }
}
