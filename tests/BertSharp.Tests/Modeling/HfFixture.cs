using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Tests.Modeling;

/// <summary>
/// The HF transformers reference fixtures (tests/fixtures/hf_bert, copied from shared/fixtures/hf_bert): case directories,
/// their reference tensors and the per-tensor tolerances of manifest.json.
/// </summary>
internal static class HfFixture
{
    public static string Root => Path.Combine(TestPaths.Fixtures, "hf_bert");

    private static readonly Lazy<JsonObject> ManifestLazy = new(() =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(Path.Combine(Root, "manifest.json")))!);

    public static JsonObject Manifest => ManifestLazy.Value;

    public static IEnumerable<string> CaseNames => ((JsonObject)Manifest["cases"]!).Select(kv => kv.Key);

    public static string Dir(string caseName) => Path.Combine(Root, caseName);

    public static JsonObject Case(string caseName) => (JsonObject)Manifest["cases"]![caseName]!;

    /// <summary>Tensors of <c>&lt;case&gt;/&lt;file&gt;</c>.</summary>
    public static Dictionary<string, Tensor> Tensors(string caseName, string file = "reference.safetensors")
    {
        TorchRuntime.EnsureLoaded();
        return SafeTensors.Load(Path.Combine(Dir(caseName), file));
    }

    /// <summary>The manifest's atol for one tensor (1e-5 when the manifest gives none).</summary>
    public static double Atol(string caseName, string file, string tensor)
    {
        var tensors = (JsonArray)Case(caseName)["files"]![file]!["tensors"]!;
        var entry = tensors.FirstOrDefault(t => (string)t!["name"]! == tensor)
                    ?? throw new InvalidOperationException($"{caseName}/{file}: {tensor} not in manifest");
        return entry["atol"] is { } a ? (double)a : 1e-5;
    }

    /// <summary>Asserts equal shapes and max |expected - actual| within atol; the message names the tensor and the worst diff.</summary>
    public static double AssertClose(Tensor expected, Tensor actual, double atol, string name)
    {
        Assert.True(expected.shape.SequenceEqual(actual.shape),
            $"{name}: shape [{string.Join(",", actual.shape)}] != expected [{string.Join(",", expected.shape)}]");
        using var e = expected.to_type(ScalarType.Float64);
        using var a = actual.detach().to_type(ScalarType.Float64);
        using var diff = (e - a).abs();
        var max = diff.numel() == 0 ? 0.0 : diff.max().item<double>();
        Assert.True(max <= atol, $"{name}: max |diff| {max:E3} > atol {atol:E1}");
        return max;
    }

    public static void DisposeAll(Dictionary<string, Tensor> d)
    {
        foreach (var t in d.Values)
        {
            t.Dispose();
        }
    }
}
