using System.Text.RegularExpressions;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Architecture;

/// <summary>
/// The library (and its tests) pass TorchSharp no implicit Scalars made from number literals (<c>t.mul(0.5)</c>, <c>t.clamp_min(1e-9)</c>):
/// TorchSharp 0.107 does not keep such a Scalar alive during the native call, so a garbage collection on another thread can
/// free it while libtorch reads it (wrong values, an exception from c10/core/Scalar.h, or a crash; tests/README.md, "A test
/// host that crashes"). Constants come from <c>StableScalars.Of</c>, per-call values from a <c>using var</c> Scalar.
/// A source scan: it sees literal arguments of the Scalar-taking methods, not every implicit conversion.
/// </summary>
public sealed partial class ImplicitScalarTests
{
    [Fact]
    public void Library_and_test_code_pass_no_number_literal_where_torch_takes_a_scalar()
    {
        var obj = $"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}";
        var found = new List<string>();
        var scanned = 0;
        // The tests too: an implicit Scalar that the GC frees mid-call crashes the test host (and every test after it).
        string[] folders = ["src/BertSharp", "src/BertSharp.Training", "src/BertSharp.Inference", "src/BertSharp.Server", "tests/BertSharp.Tests"];
        foreach (var folder in folders)
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(TestPaths.RepoRoot, folder), "*.cs", SearchOption.AllDirectories)
                         .Where(f => !f.Contains(obj, StringComparison.Ordinal) && Path.GetFileName(f) != nameof(ImplicitScalarTests) + ".cs"))
            {
                var lines = File.ReadAllLines(file);
                if (!lines.Any(l => l.Contains("using TorchSharp", StringComparison.Ordinal) || l.Contains("using static TorchSharp", StringComparison.Ordinal)))
                {
                    continue;
                }
                scanned++;
                for (var i = 0; i < lines.Length; i++)
                {
                    var code = lines[i].Split("//")[0];
                    if (LiteralScalarCall().IsMatch(code))
                    {
                        found.Add($"{Path.GetRelativePath(TestPaths.RepoRoot, file)}:{i + 1}: {lines[i].Trim()}");
                    }
                }
            }
        }
        Assert.True(scanned >= 100, $"only {scanned} TorchSharp files scanned");
        Assert.True(found.Count == 0, string.Join("\n", found));
    }

    [Theory]
    [InlineData("x.mul(0.5)", true)]
    [InlineData("m.sum(1).clamp_min(1e-9)", true)]
    [InlineData("labels.ne(-100)", true)]
    [InlineData("w.fill_(1.0)", true)]
    [InlineData("t.add(1, alpha)", true)]
    [InlineData("x.mul(StableScalars.Of(0.5))", false)]
    [InlineData("m.sum(1)", false)]
    [InlineData("x.view(-1)", false)]
    [InlineData("h.bitwise_right_shift(16)", false)]
    public void The_scan_tells_literal_scalars_from_other_arguments(string code, bool flagged) =>
        Assert.Equal(flagged, LiteralScalarCall().IsMatch(code));

    // Methods whose first argument TorchSharp takes as a Scalar (or a number it turns into one).
    [GeneratedRegex(@"\.(mul|mul_|div|div_|add|add_|sub|sub_|rsub|pow|pow_|clamp|clamp_|clamp_min|clamp_max|fill_|masked_fill|masked_fill_|eq|ne|lt|le|gt|ge|remainder|fmod|lerp|lerp_)\(\s*-?\d")]
    private static partial Regex LiteralScalarCall();
}
