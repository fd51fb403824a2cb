using System.Diagnostics;
using System.Text.Json;
using BertSharp.Distributed;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// Starts a multi-process job with Open MPI's mpirun on this machine (the flags and settings of <c>bert launch</c>) and
/// collects its exit code, output and the JSON each rank wrote. Tests using it are skipped when Open MPI is missing
/// (<c>./test.sh</c> installs it when it runs as root).
/// </summary>
internal static class MpiJob
{
    /// <summary>Upper bound of any MPI test job; a job still running then is a hang, killed and reported as a failure.</summary>
    public static readonly TimeSpan HangLimit = TimeSpan.FromSeconds(120);

    public sealed record Result(int ExitCode, string StdOut, string StdErr, TimeSpan Elapsed, IReadOnlyList<JsonElement> Ranks);

    /// <summary>Skips the calling test unless mpirun and libmpi are installed.</summary>
    public static string RequireMpirun()
    {
        var mpirun = MpiLauncher.FindMpirun();
        Skip.If(mpirun is null, $"Open MPI is not installed ({MpiLauncher.InstallHint}; ./test.sh does this when run as root)");
        try
        {
            MpiLibrary.Load(null); // binds libmpi without initialising MPI
        }
        catch (BertSharpException e)
        {
            Skip.If(true, e.Message);
        }
        return mpirun!;
    }

    /// <summary>Runs the test host as <paramref name="ranks"/> ranks: <c>host SCENARIO OUTDIR ARGS...</c>.</summary>
    public static Result RunHost(int ranks, string scenario, IReadOnlyDictionary<string, string>? environment = null, params string[] args)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "BertSharp.DistributedHost.dll");
        using var dir = TestPaths.TempDir();
        var result = Run(ranks, ["dotnet", host, scenario, dir.Path, .. args], environment);
        var files = Enumerable.Range(0, ranks).Select(r => Path.Combine(dir.Path, $"rank{r}.json")).Where(File.Exists);
        return result with { Ranks = [.. files.Select(f => JsonDocument.Parse(File.ReadAllText(f)).RootElement.Clone())] };
    }

    /// <summary>Runs <paramref name="command"/> as <paramref name="ranks"/> ranks under mpirun.</summary>
    public static Result Run(int ranks, IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(RequireMpirun())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in MpiLauncher.SingleHostArguments(ranks, command))
        {
            start.ArgumentList.Add(a);
        }
        foreach (var (k, v) in MpiLauncher.SingleHostEnvironment)
        {
            start.Environment[k] = v;
        }
        start.Environment["OMP_NUM_THREADS"] = "1";
        start.Environment["TERM"] = "dumb";
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }
        var watch = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(HangLimit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            Assert.Fail($"mpirun -np {ranks} {string.Join(' ', command)} hung for {HangLimit.TotalSeconds} s; output:\n{stdout.Result}\n{stderr.Result}");
        }
        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result, watch.Elapsed, []);
    }
}
