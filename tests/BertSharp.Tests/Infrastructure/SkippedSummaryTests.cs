namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// <c>tests/trx-skipped.sh</c>, which <c>./test.sh</c> runs over its result files to say why tests were skipped: one line
/// per reason with its count, XML entities decoded, skipped results without a reason counted, other results ignored.
/// </summary>
public sealed class SkippedSummaryTests
{
    private static string Run(params string[] trx)
    {
        var (exit, stdout, stderr) = RunScript(trx);
        Assert.True(exit == 0, stderr);
        return stdout;
    }

    private static (int Exit, string Stdout, string Stderr) RunScript(params string[] trx) => TestScripts.Run("trx-skipped.sh", trx);

    [SkippableFact]
    public void Each_reason_is_listed_once_with_how_many_tests_it_skipped()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "./test.sh and its helpers are POSIX shell scripts");
        var trx = Path.Combine(TestPaths.Fixtures, "trx", "skipped.trx");
        Assert.Equal(
            "  1  (no reason given)\n" +
            "  1  ../shared is not present beside this checkout (set BERTSHARP_SHARED to point at it)\n" +
            "  1  Chromium & playwright-core are not installed (\"bash tests/browser/setup.sh\" installs them) <browser>\n",
            Run(trx));
        // Two result files (./test.sh has one per test process): counts add up, the most frequent reason first.
        using var dir = TestPaths.TempDir();
        var first = dir.File("first.trx");
        File.WriteAllText(first, KeepOnly(File.ReadAllText(trx), r => r.Contains("../shared", StringComparison.Ordinal)));
        Assert.Equal(
            "  2  ../shared is not present beside this checkout (set BERTSHARP_SHARED to point at it)\n" +
            "  1  (no reason given)\n" +
            "  1  Chromium & playwright-core are not installed (\"bash tests/browser/setup.sh\" installs them) <browser>\n",
            Run(trx, first));
    }

    /// <summary>A result file with only the results that <paramref name="keep"/> accepts.</summary>
    private static string KeepOnly(string text, Func<string, bool> keep)
    {
        var results = System.Text.RegularExpressions.Regex.Matches(text, @"    <UnitTestResult .*?</UnitTestResult>\n", System.Text.RegularExpressions.RegexOptions.Singleline);
        Assert.Equal(4, results.Count);
        var kept = string.Concat(results.Select(m => m.Value).Where(keep));
        return text.Replace(string.Concat(results.Select(m => m.Value)), kept, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Results_without_skipped_tests_print_nothing()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "./test.sh and its helpers are POSIX shell scripts");
        using var dir = TestPaths.TempDir();
        var trx = dir.File("passed.trx");
        // The fixture's passed result alone.
        File.WriteAllText(trx, KeepOnly(File.ReadAllText(Path.Combine(TestPaths.Fixtures, "trx", "skipped.trx")),
            r => r.Contains("outcome=\"Passed\"", StringComparison.Ordinal)));
        Assert.Contains("outcome=\"Passed\"", File.ReadAllText(trx), StringComparison.Ordinal);
        Assert.DoesNotContain("NotExecuted", File.ReadAllText(trx), StringComparison.Ordinal);
        Assert.Equal("", Run(trx));
    }

    [SkippableFact]
    public void A_missing_result_file_is_an_error_that_names_it()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "./test.sh and its helpers are POSIX shell scripts");
        using var dir = TestPaths.TempDir();
        var missing = dir.File("missing.trx");
        var (exit, stdout, stderr) = RunScript(Path.Combine(TestPaths.Fixtures, "trx", "skipped.trx"), missing);
        Assert.NotEqual(0, exit);
        Assert.Equal("", stdout);
        Assert.Equal($"tests/trx-skipped.sh: {missing}: no such result file", stderr.Trim());
    }
}
