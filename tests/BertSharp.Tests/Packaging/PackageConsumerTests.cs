using System.IO.Compression;
using System.Text.Json;
using System.Xml.Linq;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Packaging;

/// <summary>
/// Packs the four library packages once (from the assemblies this test run built), checks what is in them, and builds and
/// runs <c>samples/PackageConsumer</c> — a copy of it outside the repository, restoring BertSharp only from the packed
/// folder — as a user would.
/// </summary>
/// <remarks>
/// The packages and the built sample are kept in <c>.build/test-packages/packed-libraries-&lt;key&gt;/</c> and reused by
/// later test runs while the key is unchanged: it covers everything the pack reads (<see cref="PackageBuild.PackKey"/>: the
/// libraries' build output, their project, README, props and targets files, the restore output, the SDK version, the
/// branch and remotes), every file of <c>samples/PackageConsumer</c> (by content) and the build command. The entry is built in a
/// temporary folder and moved into place whole (see <see cref="PackageCache"/>); the built apps hold no path of it (their
/// dependencies are copied beside them). <c>BERTSHARP_TEST_NO_CACHE=1</c> packs and builds afresh.
/// </remarks>
public sealed class PackedLibraries : IDisposable
{
    private readonly TempDir _root = new();

    public PackedLibraries()
    {
        var source = Path.Combine(TestPaths.RepoRoot, "samples", "PackageConsumer");
        var entry = PackageCache.Get("packed-libraries",
            () => PackageBuild.PackKey(TestPaths.RepoRoot, PackageBuild.Configuration, PackageBuild.SdkVersion,
                    PackageBuild.SourceControl(TestPaths.RepoRoot), PackageBuild.LibraryProjects)
                .AddTree("samples/PackageConsumer", source)
                .Add("nuget.config", PackageBuild.OfflineNuGetConfig("PACKAGES").ReplaceLineEndings(" "))
                .Add("build", "dotnet build " + string.Join(" ", SampleBuildArguments("NUGET", "FALLBACK"))),
            entry =>
            {
                var packages = Directory.CreateDirectory(Path.Combine(entry, "packages")).FullName;
                PackageBuild.Pack(_root.Path, packages, PackageBuild.LibraryProjects);
                var sample = Path.Combine(entry, "PackageConsumer");
                TestPaths.CopyTree(source, sample);
                PackageBuild.WriteOfflineNuGetConfig(sample, packages);
                PackageBuild.Run(sample, "dotnet", ["build", .. SampleBuildArguments(Path.Combine(_root.Path, "nuget"),
                    PackageBuild.FallbackWithoutBertSharp(Path.Combine(_root.Path, "fallback")))]);
            },
            _root.Path);
        Packages = Path.Combine(entry, "packages");
        Sample = Path.Combine(entry, "PackageConsumer");
    }

    // A private global packages folder: a re-packed 0.1.0 must not be shadowed by one extracted by an earlier run; the
    // machine's own packages but BertSharp's are a fallback, so libtorch is used where it lies instead of being extracted again.
    private static string[] SampleBuildArguments(string restorePackagesPath, string fallback) =>
        ["PackageConsumer.slnx", "-c", "Release", "--disable-build-servers", "-nologo", "-v:q",
         $"-p:RestorePackagesPath={restorePackagesPath}", $"-p:RestoreFallbackFolders={fallback}"];

    /// <summary>The folder holding the .nupkg / .snupkg files.</summary>
    public string Packages { get; }

    /// <summary>The built copy of samples/PackageConsumer.</summary>
    public string Sample { get; }

    public string Output(string app) => Path.Combine(Sample, app, "bin", "Release", "net10.0");

    public void Dispose() => _root.Dispose();
}

[Trait("Category", "Slow")]
public class PackageConsumerTests(PackedLibraries packed) : IClassFixture<PackedLibraries>
{
    internal static readonly string Version =
        XDocument.Load(Path.Combine(TestPaths.RepoRoot, "build", "Packaging.props")).Descendants("Version").Single().Value;

    private static readonly string Vocab = Path.Combine(TestPaths.RepoRoot, "samples", "vocab", "bert-base-uncased-vocab.txt");

    public static TheoryData<string, string[]> ExpectedDependencies => new()
    {
        { "BertSharp.Tokenizers", [] },
        { "BertSharp", ["BertSharp.Tokenizers", "Google.Protobuf", "OnnxSharp", "System.IO.Hashing", "TorchSharp"] },
        { "BertSharp.Training", ["BertSharp", "CsvHelper", "ScottPlot", "System.IO.Hashing"] },
        { "BertSharp.Inference", ["BertSharp", "Microsoft.ML.OnnxRuntime"] },
    };

    [Theory]
    [MemberData(nameof(ExpectedDependencies))]
    public void Each_package_has_its_metadata_readme_symbols_and_only_its_dependencies(string id, string[] dependencies)
    {
        var nupkg = Path.Combine(packed.Packages, $"{id}.{Version}.nupkg");
        using var zip = ZipFile.OpenRead(nupkg);
        var entries = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("README.md", entries);
        Assert.Contains($"lib/net10.0/{id}.dll", entries);
        Assert.Contains($"lib/net10.0/{id}.xml", entries);          // XML docs for IntelliSense
        Assert.DoesNotContain(entries, e => e.EndsWith(".pdb", StringComparison.Ordinal)); // symbols go to the .snupkg

        var nuspec = XDocument.Load(zip.GetEntry($"{id}.nuspec")!.Open());
        XNamespace ns = nuspec.Root!.Name.Namespace;
        var metadata = nuspec.Root.Element(ns + "metadata")!;
        Assert.Equal(Version, metadata.Element(ns + "version")!.Value);
        Assert.Equal("MIT", metadata.Element(ns + "license")!.Value);
        Assert.Equal("README.md", metadata.Element(ns + "readme")!.Value);
        Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")!.Value));
        // SourceLink's repository record: the commit the package was packed at (when built from a git checkout). The cache
        // keeps packages while the packed assemblies are unchanged (PackageBuild.SourceControl), so that may be an earlier
        // commit, one whose packed assemblies were these.
        if (Path.Exists(Path.Combine(TestPaths.RepoRoot, ".git")))
        {
            Assert.Matches("^[0-9a-f]{40}$", metadata.Element(ns + "repository")!.Attribute("commit")!.Value);
        }
        var deps = metadata.Descendants(ns + "dependency").Select(d => d.Attribute("id")!.Value).Order(StringComparer.Ordinal);
        Assert.Equal(dependencies, deps);
        // The BertSharp packages reach each other's internals, so each needs its siblings at exactly its own version
        // (build/Packaging.targets); third-party packages keep NuGet's minimum-version ranges.
        foreach (var d in metadata.Descendants(ns + "dependency"))
        {
            var (dep, range) = (d.Attribute("id")!.Value, d.Attribute("version")!.Value);
            Assert.True(dep.StartsWith("BertSharp", StringComparison.Ordinal) ? range == $"[{Version}]" : !range.StartsWith('['), $"{id} → {dep} {range}");
        }

        using var symbols = ZipFile.OpenRead(Path.ChangeExtension(nupkg, ".snupkg"));
        Assert.Contains($"lib/net10.0/{id}.pdb", symbols.Entries.Select(e => e.FullName));
    }

    [SkippableFact]
    public void The_BertSharp_package_carries_the_glibcxx_fix_for_its_consumers()
    {
        using var zip = ZipFile.OpenRead(Path.Combine(packed.Packages, $"BertSharp.{Version}.nupkg"));
        using var reader = new StreamReader(zip.GetEntry("buildTransitive/BertSharp.targets")!.Open());
        Assert.Equal(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "build", "TorchSharpGlibcFix.targets")), reader.ReadToEnd());

        // ... and it ran in the sample's own build (the sample stops the repository's Directory.Build.targets).
        var library = Path.Combine(packed.Output("FineTune"), "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        var need = PackageBuild.ReadelfVersionNeed(library, "GLIBCXX_3.4.32");
        Skip.If(need is null, "readelf is not installed");
        Assert.Contains("Flags: WEAK", need, StringComparison.Ordinal);
    }

    [Fact]
    public void The_tokenizers_package_turns_on_strict_gzip_validation_in_its_consumers()
    {
        // The sample's build stops the repository's Directory.Build.props, which sets the switch for the repository's own
        // executables: here it comes from the package alone, directly (Tokenize) and through BertSharp.Training (FineTune).
        foreach (var app in new[] { "Tokenize", "FineTune" })
        {
            using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(packed.Output(app), app + ".runtimeconfig.json")));
            var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");
            Assert.True(properties.TryGetProperty("System.IO.Compression.UseStrictValidation", out var strict), $"{app}: {properties}");
            Assert.True(strict.GetBoolean(), app);
        }
        using (var zip = ZipFile.OpenRead(Path.Combine(packed.Packages, $"BertSharp.Tokenizers.{Version}.nupkg")))
        {
            var props = zip.GetEntry("buildTransitive/BertSharp.Tokenizers.props");
            Assert.NotNull(props);
            using var reader = new StreamReader(props.Open());
            Assert.Equal(File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "build", "StrictGzipValidation.props")), reader.ReadToEnd());
        }

        // What the switch changes: the app reads a whole .gz, and refuses one cut short (an interrupted download) instead of
        // reading its first lines as the whole file.
        using var tmp = new TempDir();
        var gz = Path.Combine(tmp.Path, "lines.txt.gz");
        using (var file = File.Create(gz))
        using (var zip = new GZipStream(file, CompressionLevel.Optimal))
        using (var writer = new StreamWriter(zip))
        {
            for (var i = 0; i < 400; i++)
            {
                writer.WriteLine($"line {i} of a corpus whose tail must not go missing");
            }
        }
        var output = packed.Output("Tokenize");
        var whole = PackageBuild.Run(output, "dotnet", Path.Combine(output, "Tokenize.dll"), Vocab, "--file", gz)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(400, whole.Length);
        var cut = Path.Combine(tmp.Path, "cut.txt.gz");
        File.WriteAllBytes(cut, File.ReadAllBytes(gz)[..^10]);
        var e = Assert.Throws<InvalidOperationException>(() =>
            PackageBuild.Run(output, "dotnet", Path.Combine(output, "Tokenize.dll"), Vocab, "--file", cut));
        Assert.Contains("exited with 1:", e.Message, StringComparison.Ordinal);
        Assert.Contains($"error: {cut}: not a valid gzip file", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_sample_pins_the_packed_version_and_the_repositorys_libtorch()
    {
        static Dictionary<string, string> Versions(string file) =>
            XDocument.Load(file).Descendants("PackageVersion").ToDictionary(e => e.Attribute("Include")!.Value, e => e.Attribute("Version")!.Value);
        var sample = Versions(Path.Combine(TestPaths.RepoRoot, "samples", "PackageConsumer", "Directory.Packages.props"));
        var repo = Versions(Path.Combine(TestPaths.RepoRoot, "Directory.Packages.props"));
        foreach (var id in PackageBuild.LibraryProjects)
        {
            Assert.Equal(Version, sample[id]);
        }
        Assert.Equal(repo["libtorch-cpu-linux-x64"], sample["libtorch-cpu-linux-x64"]);
        // The sample is not part of the solution: it builds only against the packages.
        Assert.DoesNotContain("PackageConsumer", File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "BertSharp.slnx")), StringComparison.Ordinal);
    }

    [Fact]
    public void Tokenizer_only_app_tokenizes_as_the_library_does_without_torch()
    {
        var output = packed.Output("Tokenize");
        string[] texts = ["Hello, world! Unaffable naïve café.", "The movie was great; I'd see it again."];
        var lines = PackageBuild.Run(output, "dotnet", [Path.Combine(output, "Tokenize.dll"), Vocab, .. texts])
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(texts.Length, lines.Length);
        var reference = BertTokenizer.FromVocabFile(Vocab, lowercase: true);
        for (var i = 0; i < texts.Length; i++)
        {
            using var json = JsonDocument.Parse(lines[i]);
            var expected = reference.Encode(texts[i], options: new EncodeOptions { MaxLength = 32 });
            Assert.Equal(texts[i], json.RootElement.GetProperty("text").GetString());
            Assert.Equal(expected.Tokens, json.RootElement.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!));
            Assert.Equal(expected.Ids, json.RootElement.GetProperty("ids").EnumerateArray().Select(t => t.GetInt32()));
        }
        Assert.Equal(["[CLS]", "hello", ",", "world", "!", "una", "##ffa", "##ble", "naive", "cafe", ".", "[SEP]"],
            reference.Encode(texts[0]).Tokens);

        // No TorchSharp, libtorch or other native library came with BertSharp.Tokenizers.
        var deps = File.ReadAllText(Path.Combine(output, "Tokenize.deps.json"));
        Assert.Contains("BertSharp.Tokenizers/" + Version, deps, StringComparison.Ordinal);
        Assert.DoesNotContain("Torch", deps, StringComparison.OrdinalIgnoreCase);
        Assert.Empty(Directory.GetFiles(output, "*.so", SearchOption.AllDirectories));
        Assert.Equal(["BertSharp.Tokenizers.dll", "Tokenize.dll"],
            Directory.GetFiles(output, "*.dll").Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Fine_tune_app_trains_a_tiny_model_and_its_predictions_are_the_librarys()
    {
        var output = packed.Output("FineTune");
        using var run = new TempDir();
        var lines = PackageBuild.Run(output, "dotnet", Path.Combine(output, "FineTune.dll"), run.Path)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        // The 24 training sentences are also the validation set: a 2-layer model fits them all.
        var summary = Assert.Single(lines, l => l.StartsWith("validation accuracy ", StringComparison.Ordinal));
        Assert.StartsWith("validation accuracy 1.0000 ", summary, StringComparison.Ordinal);

        var predictions = lines.Where(l => l.StartsWith('{')).Select(l => JsonDocument.Parse(l).RootElement).ToArray();
        Assert.Equal(2, predictions.Length);
        Assert.Equal(["positive", "negative"], predictions.Select(p => p.GetProperty("label").GetString()));

        // The same model directory read by this repository's library gives the same probabilities.
        using var classifier = TextClassifier.Load(Path.Combine(run.Path, "model"), device: "cpu");
        foreach (var p in predictions)
        {
            var expected = classifier.Predict(p.GetProperty("text").GetString()!);
            Assert.Equal(expected.Label, p.GetProperty("label").GetString());
            var got = p.GetProperty("probabilities").EnumerateArray().Select(x => x.GetDouble()).ToArray();
            Assert.Equal(expected.Probabilities.Count, got.Length);
            for (var i = 0; i < got.Length; i++)
            {
                Assert.Equal(expected.Probabilities[i], got[i], 1e-6);
            }
        }
    }
}
