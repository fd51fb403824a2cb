using System.Text.RegularExpressions;

namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// <c>tests/trx-counts.sh</c>, which gives <c>./test.sh</c> the numbers of its last line from the result files and the exit
/// codes of the test processes that wrote them: a process that failed without a failed result (its test host crashed)
/// counts as one failure, so the line cannot say "0 failed" for a run that failed.
/// </summary>
public sealed class TrxCountsTests
{
    private static (int Exit, string Stdout, string Stderr) Run(params string[] args)
    {
        var (exit, stdout, stderr) = TestScripts.Run("trx-counts.sh", args);
        return (exit, stdout.Trim(), stderr.Trim());
    }

    /// <summary>The fixture (1 passed, 3 skipped) with its counters set to <paramref name="passed"/> and <paramref name="failed"/> of <paramref name="total"/>.</summary>
    private static string WithCounters(TempDir dir, string name, int total, int passed, int failed)
    {
        var text = File.ReadAllText(Path.Combine(TestPaths.Fixtures, "trx", "skipped.trx"));
        text = Regex.Replace(text, @"<Counters [^>]*>", $"<Counters total=\"{total}\" executed=\"{total}\" passed=\"{passed}\" failed=\"{failed}\" error=\"0\" />");
        var path = dir.File(name);
        File.WriteAllText(path, text);
        return path;
    }

    [SkippableFact]
    public void Counts_add_up_over_the_processes_and_the_rest_are_skipped()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "./test.sh and its helpers are POSIX shell scripts");
        using var dir = TestPaths.TempDir();
        var fixture = Path.Combine(TestPaths.Fixtures, "trx", "skipped.trx");
        Assert.Equal((0, "1 0 3", ""), Run(fixture + "=0"));
        var other = WithCounters(dir, "parallel.trx", total: 10, passed: 7, failed: 2);
        // A process with failed results exits non-zero: nothing is added to its own count.
        Assert.Equal((0, "8 2 4", ""), Run(fixture + "=0", other + "=1"));
    }

    [SkippableFact]
    public void A_process_that_failed_without_a_failed_result_counts_as_one_failure_and_is_named()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "./test.sh and its helpers are POSIX shell scripts");
        using var dir = TestPaths.TempDir();
        // As on 2026-12-03: the serial host segfaulted after 187 of its tests, all passed, and dotnet test exited 1.
        var serial = WithCounters(dir, "serial.trx", total: 187, passed: 187, failed: 0);
        var parallel = WithCounters(dir, "parallel.trx", total: 984, passed: 984, failed: 0);
        var (exit, stdout, stderr) = Run(serial + "=1", parallel + "=0");
        Assert.Equal(0, exit);
        Assert.Equal("1171 1 0", stdout);
        Assert.Contains("the test process of serial.trx exited with code 1 after 187 results and no failed test", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("parallel.trx", stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public void A_missing_or_cut_short_result_file_is_an_error_that_names_it()
    {
        Skip.IfNot(OperatingSystem.IsLinux() || OperatingSystem.IsMacOS(), "./test.sh and its helpers are POSIX shell scripts");
        using var dir = TestPaths.TempDir();
        var missing = Run(dir.File("none.trx") + "=0");
        Assert.Equal(1, missing.Exit);
        Assert.Contains("none.trx: no such result file", missing.Stderr, StringComparison.Ordinal);
        var cut = dir.File("cut.trx");
        File.WriteAllText(cut, File.ReadAllText(Path.Combine(TestPaths.Fixtures, "trx", "skipped.trx"))[..200]);
        var (exit, _, stderr) = Run(cut + "=0");
        Assert.Equal(1, exit);
        Assert.Contains("cut.trx: no <Counters> element", stderr, StringComparison.Ordinal);
    }
}
