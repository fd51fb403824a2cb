using System.Diagnostics;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// docs/distributed.md quotes <c>bench/scaling-model.sh</c>: its default table and the speed-ups of the measured H200 host.
/// The script is checked against hand-computed values, and the doc against the script's output.
/// </summary>
public sealed class ScalingModelDocsTests
{
    private static string Script(params (string Name, string Value)[] env)
    {
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(TestPaths.RepoRoot, "bench", "scaling-model.sh"));
        foreach (var (name, value) in env)
        {
            psi.Environment[name] = value;
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stderr.Result);
        return stdout;
    }

    private static readonly string Doc = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "docs", "distributed.md"));

    [Fact]
    public void Default_table_is_the_scripts_and_its_first_row_is_the_hand_computed_one()
    {
        var rows = Script().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(6, rows.Length);
        // 6 × 110,106,428 × 4,096 FLOP at 1 TFLOP/s = 2.706 s; ring on 2 hosts over 10 Gb/s: 440.4 MB / 1.25 GB/s = 0.352 s
        // plus 2 × 16 buckets × 50 µs = 0.0016 s → 0.354 s; speed-up 2 × 2.706 / (2.706 + 0.354) = 1.77.
        Assert.StartsWith("| cpu-server (1) | 2.706 s | 10 Gb/s | 0.354 s / ", rows[2], StringComparison.Ordinal);
        Assert.Contains("| 1.77 / ", rows[2], StringComparison.Ordinal);
        Assert.All(rows, row => Assert.Contains(row, Doc, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("16384", "1.24 / 2.04 / 3.62", "0.29 / 0.41 / 0.70")]
    [InlineData("131072", "1.86 / 3.57 / 6.95", "1.15 / 1.90 / 3.47")]
    public void Measured_h200_speed_ups_in_the_doc_are_the_scripts(string tokens, string fast, string slow)
    {
        var rows = Script(("HOSTS", "gpu-h200-hf:180"), ("TOKENS", tokens)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains($"| {slow} |", rows[2], StringComparison.Ordinal);
        Assert.Contains($"| {fast} |", rows[3], StringComparison.Ordinal);
        Assert.Contains($"{fast} over 100 Gb/s and {slow} over 10 Gb/s", Doc.ReplaceLineEndings(" "), StringComparison.Ordinal);
    }
}
