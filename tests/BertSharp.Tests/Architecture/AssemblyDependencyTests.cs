using System.Reflection;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Server;
using BertSharp.Tokenization;
using BertSharp.Training;

namespace BertSharp.Tests.Architecture;

/// <summary>
/// The layers' dependency graph, read from the compiled assemblies' reference tables (the compiler records only the
/// assemblies a layer really uses): Tokenizers ← BertSharp ← {Training, Inference} ← Server / CLI, one way only.
/// </summary>
public class AssemblyDependencyTests
{
    private static readonly Assembly Tokenizers = typeof(BertTokenizer).Assembly;
    private static readonly Assembly Core = typeof(BertModel).Assembly;
    private static readonly Assembly Training = typeof(FineTuner).Assembly;
    private static readonly Assembly Inference = typeof(FillMask).Assembly;
    private static readonly Assembly Server = typeof(BertServer).Assembly;
    private static readonly Assembly Cli = typeof(BertSharp.Cli.CliErrors).Assembly;

    /// <summary>The exact non-framework references each layer may (and does) have.</summary>
    public static TheoryData<string, string[]> AllowedGraph => new()
    {
        { "BertSharp.Tokenizers", [] },
        { "BertSharp", ["BertSharp.Tokenizers", "Google.Protobuf", "OnnxSharp", "TorchSharp"] },
        { "BertSharp.Training", ["BertSharp", "BertSharp.Tokenizers", "CsvHelper", "ScottPlot", "TorchSharp"] },
        { "BertSharp.Inference", ["BertSharp", "BertSharp.Tokenizers", "TorchSharp"] },
        { "BertSharp.Server", ["BertSharp", "BertSharp.Inference", "BertSharp.Tokenizers", "TorchSharp"] },
    };

    [Theory]
    [MemberData(nameof(AllowedGraph))]
    public void Each_layer_references_exactly_its_allowed_assemblies(string name, string[] expected)
    {
        var assembly = new[] { Tokenizers, Core, Training, Inference, Server }.Single(a => a.GetName().Name == name);
        Assert.Equal(expected, NonFrameworkReferences(assembly));
    }

    [Fact]
    public void The_layers_are_the_assemblies_the_tests_name()
    {
        Assert.Equal(
            ["BertSharp.Tokenizers", "BertSharp", "BertSharp.Training", "BertSharp.Inference", "BertSharp.Server", "bert"],
            new[] { Tokenizers, Core, Training, Inference, Server, Cli }.Select(a => a.GetName().Name!));
        // Types that moved between layers stay in their namespaces.
        Assert.Equal("BertSharp.Data", typeof(LabelMap).Namespace);
        Assert.Same(Core, typeof(LabelMap).Assembly);
        Assert.Same(Core, typeof(ClassifierCheckpoint).Assembly);
        Assert.Same(Training, typeof(DatasetReader).Assembly);
    }

    [Fact]
    public void Tokenizers_has_no_torch_and_no_native_code()
    {
        Assert.DoesNotContain(Tokenizers.GetReferencedAssemblies(), r => r.Name!.Contains("Torch", StringComparison.OrdinalIgnoreCase));
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        var pinvokes = Tokenizers.GetTypes()
            .SelectMany(t => t.GetMethods(all))
            .Where(m => (m.Attributes & MethodAttributes.PinvokeImpl) != 0)
            .Select(m => m.DeclaringType!.Name + "." + m.Name)
            .ToList();
        Assert.Empty(pinvokes);
    }

    [Fact]
    public void Nothing_references_the_cli_and_training_and_inference_do_not_reference_each_other()
    {
        foreach (var a in new[] { Tokenizers, Core, Training, Inference, Server })
        {
            Assert.DoesNotContain("bert", Names(a));
        }
        Assert.DoesNotContain("BertSharp.Inference", Names(Training));
        Assert.DoesNotContain("BertSharp.Training", Names(Inference));
        Assert.DoesNotContain("BertSharp.Training", Names(Server));
    }

    /// <summary>
    /// A package whose assembly the CLI uses is one its project references itself, not one that only reaches it through a
    /// layer (CsvHelper came through BertSharp.Training). TorchSharp is the exception: the CLI handles the layers' tensors
    /// and libtorch settings, and the TorchSharp package comes with BertSharp (the CLI adds only the native libtorch).
    /// </summary>
    [Fact]
    public void The_cli_references_the_packages_it_uses_directly()
    {
        var project = File.ReadAllText(Path.Combine(Tests.Infrastructure.TestPaths.RepoRoot, "src", "BertSharp.Cli", "BertSharp.Cli.csproj"));
        var layers = new[] { Tokenizers, Core, Training, Inference, Server }.Select(a => a.GetName().Name!).ToHashSet(StringComparer.Ordinal);
        var packages = NonFrameworkReferences(Cli).Where(n => !layers.Contains(n) && n != "TorchSharp").ToList();
        Assert.Contains("ScottPlot", packages); // bert embed's plot (Visualization/EmbeddingPlot.cs)
        // CSV and TSV files are parsed in one place, Training's DatasetReader: the CLI reads them through it.
        Assert.DoesNotContain("CsvHelper", packages);
        var referenced = System.Text.RegularExpressions.Regex.Matches(project, "<PackageReference Include=\"([^\"]+)\"").Select(m => m.Groups[1].Value).ToList();
        // A package's own parts count as the package (Spectre.Console.Ansi comes with Spectre.Console, whose API shows its types).
        Assert.All(packages, n => Assert.Contains(referenced, r => n == r || n.StartsWith(r + ".", StringComparison.Ordinal)));
    }

    private static IEnumerable<string> Names(Assembly a) => a.GetReferencedAssemblies().Select(r => r.Name!);

    private static string[] NonFrameworkReferences(Assembly a) =>
    [
        .. Names(a)
            .Where(n => !(n.StartsWith("System", StringComparison.Ordinal) || n.StartsWith("Microsoft.", StringComparison.Ordinal)
                          || n is "netstandard" or "mscorlib"))
            .Order(StringComparer.Ordinal),
    ];
}
