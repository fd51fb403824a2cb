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

    /// <summary>
    /// What one command line of a script (<see cref="RunScript"/>) did on one rank: its exit code, output, the process's CPU
    /// time during it, and the process's peak RSS during it (from the resident set it started with).
    /// </summary>
    public sealed record ScriptRun(int ExitCode, string StdOut, string StdErr, double CpuSeconds, long PeakRssKb);

    /// <summary>
    /// Runs the <c>bert</c> command lines <paramref name="lines"/> (each [name, arg, ...]) one after another in one test host
    /// process per rank (<c>host cli</c>): as <paramref name="ranks"/> ranks under mpirun, or as one ordinary process when
    /// <paramref name="ranks"/> is 0 (with the ranks' thread settings); <c>{rank}</c> in an argument is the rank running it
    /// (0 for one process). Each command's output lands in
    /// <paramref name="dir"/> (<see cref="ScriptOutput"/>); the first failing one ends the job, unless
    /// <paramref name="keepGoing"/> (for commands expected to fail). <paramref name="workingDirectory"/> (one process only) is
    /// the directory the commands' relative paths are read from, for tests of how the CLI names paths typed relative.
    /// </summary>
    public static Result RunScript(int ranks, string dir, IReadOnlyList<string[]> lines, bool keepGoing = false, string? workingDirectory = null)
    {
        var host = Path.Combine(AppContext.BaseDirectory, "BertSharp.DistributedHost.dll");
        var script = Path.Combine(dir, $"script-{Guid.NewGuid():N}.json");
        File.WriteAllText(script, JsonSerializer.Serialize(lines));
        string[] command = ["dotnet", host, "cli", dir, script, .. keepGoing ? (string[])["--keep-going"] : []];
        if (workingDirectory is not null && ranks != 0)
        {
            throw new ArgumentException("a working directory is for one process (ranks 0)", nameof(workingDirectory));
        }
        return ranks == 0 ? RunProcess(command, workingDirectory) : Run(ranks, command);
    }

    /// <summary>Rank <paramref name="rank"/>'s exit code and output of the script line <paramref name="name"/>, or null if it did not run.</summary>
    public static ScriptRun? ScriptOutput(string dir, string name, int rank = 0)
    {
        var file = Path.Combine(dir, $"{name}.rank{rank}.json");
        if (!File.Exists(file))
        {
            return null;
        }
        var json = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
        return new ScriptRun(json.GetProperty("exit").GetInt32(), json.GetProperty("stdout").GetString()!, json.GetProperty("stderr").GetString()!,
            json.GetProperty("cpu_seconds").GetDouble(), json.GetProperty("peak_rss_kb").GetInt64());
    }

    /// <summary>Runs <paramref name="command"/> as <paramref name="ranks"/> ranks under mpirun.</summary>
    public static Result Run(int ranks, IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null)
    {
        var watch = Stopwatch.StartNew();
        using var job = Start(ranks, command, environment);
        return job.Wait(watch);
    }

    /// <summary>The command line of the <c>bert</c> CLI built beside the tests: <c>dotnet bert.dll</c>.</summary>
    public static string[] Bert(params string[] args) => ["dotnet", typeof(Cli.Program).Assembly.Location, .. args];

    /// <summary>
    /// Runs <paramref name="command"/> as one ordinary process, without mpirun, with the ranks' thread settings: a
    /// single-process reference of a data-parallel run. A child process has its own torch generator, so tests using it need
    /// not be serial.
    /// </summary>
    private static Result RunProcess(string[] command, string? workingDirectory)
    {
        var watch = Stopwatch.StartNew();
        var start = new ProcessStartInfo(command[0])
        {
            WorkingDirectory = workingDirectory ?? "",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in command[1..])
        {
            start.ArgumentList.Add(a);
        }
        start.Environment["OMP_NUM_THREADS"] = "1";
        start.Environment["TERM"] = "dumb";
        var process = Process.Start(start)!;
        process.StandardInput.Close();
        using var job = new Running(process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync(), string.Join(' ', command));
        return job.Wait(watch);
    }

    /// <summary>Starts <paramref name="command"/> as <paramref name="ranks"/> ranks under mpirun without waiting.</summary>
    public static Running Start(int ranks, IReadOnlyList<string> command, IReadOnlyDictionary<string, string>? environment = null)
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
        var process = Process.Start(start)!;
        process.StandardInput.Close();
        return new Running(process, process.StandardOutput.ReadToEndAsync(), process.StandardError.ReadToEndAsync(), $"mpirun -np {ranks} {string.Join(' ', command)}");
    }

    /// <summary>A job under way.</summary>
    public sealed class Running(Process process, Task<string> stdout, Task<string> stderr, string what) : IDisposable
    {
        /// <summary>mpirun's process (the ranks are its children).</summary>
        public Process Process => process;

        /// <summary>The process id of rank <paramref name="rank"/> (a child of mpirun whose environment says so), or null.</summary>
        public int? RankPid(int rank)
        {
            foreach (var dir in Directory.EnumerateDirectories("/proc"))
            {
                if (!int.TryParse(Path.GetFileName(dir), out var pid))
                {
                    continue;
                }
                try
                {
                    // /proc/PID/stat: "pid (comm) state ppid ..."; comm may hold spaces, so read after the last ')'.
                    var stat = File.ReadAllText(Path.Combine(dir, "stat"));
                    var ppid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
                    if (ppid == process.Id && File.ReadAllText(Path.Combine(dir, "environ")).Split('\0').Contains($"OMPI_COMM_WORLD_RANK={rank}"))
                    {
                        return pid;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
                {
                    // The process ended while being read, or is not ours.
                }
            }
            return null;
        }

        /// <summary>Waits for the job (a hang past <see cref="HangLimit"/> fails the test).</summary>
        public Result Wait(Stopwatch? watch = null)
        {
            if (!process.WaitForExit(HangLimit))
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
                Assert.Fail($"{what} hung for {HangLimit.TotalSeconds} s; output:\n{stdout.Result}\n{stderr.Result}");
            }
            process.WaitForExit();
            return new Result(process.ExitCode, stdout.Result, stderr.Result, watch?.Elapsed ?? TimeSpan.Zero, []);
        }

        public void Dispose()
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                process.WaitForExit();
            }
            process.Dispose();
        }
    }
}
