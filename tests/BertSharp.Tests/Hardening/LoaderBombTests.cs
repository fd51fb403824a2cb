using BertSharp.Modeling;
using BertSharp.Tests.Distributed;
using BertSharp.Tests.Infrastructure;
using Xunit.Abstractions;

namespace BertSharp.Tests.Hardening;

/// <summary>
/// Issue 21 items 6–10: memory and CPU bombs in checkpoints and configs are refused with a one-line error naming the file and
/// the limit, before the model or any tensor is allocated.
/// </summary>
public class LoaderBombTests(LoaderBombTests.Files files, ITestOutputHelper output) : IClassFixture<LoaderBombTests.Files>
{
    /// <summary>
    /// Each bomb is written once per run and shared by the tests of this class, and every CLI command of the class runs once,
    /// all in one child process (<see cref="Cli"/>).
    /// </summary>
    public sealed class Files : IDisposable
    {
        private readonly TempDir _tmp = TestPaths.TempDir();
        private readonly Dictionary<string, string> _dirs = [];
        private readonly Lazy<string> _cliOutput;

        public Files() => _cliOutput = new(RunCli, LazyThreadSafetyMode.ExecutionAndPublication);

        /// <summary>The folder <c>bert convert</c> of <paramref name="bomb"/> was told to write (and must not have).</summary>
        public string ConvertOutput(string bomb) => _tmp.File("out-" + bomb.Replace('^', '_'));

        /// <summary>
        /// What <c>bert <paramref name="command"/></c> (convert or inspect) did with <paramref name="bomb"/>. The commands run
        /// one after another in one child process (the test host's <c>cli</c> scenario), each with its own CPU time and peak
        /// RSS, as they would in a process of their own: a process per command cost about a CPU-second each, 17 in all.
        /// </summary>
        internal MpiJob.ScriptRun Cli(string command, string bomb) =>
            MpiJob.ScriptOutput(_cliOutput.Value, $"{command}-{bomb.Replace('^', '_')}") ?? throw new InvalidOperationException($"bert {command} of {bomb} did not run");

        private string RunCli()
        {
            var dir = _tmp.File("cli");
            Directory.CreateDirectory(dir);
            List<string[]> lines =
            [
                .. Bombs.Expected.Keys.Select(b => (string[])[$"convert-{b.Replace('^', '_')}", "convert", this[b], ConvertOutput(b)]),
                .. InspectedBombs.Select(b => (string[])[$"inspect-{b.Replace('^', '_')}", "inspect", this[b]]),
            ];
            var job = MpiJob.RunScript(0, dir, lines, keepGoing: true);
            Assert.True(job.ExitCode == 0, $"the CLI's child process: exit {job.ExitCode}\n{job.StdOut}\n{job.StdErr}");
            return dir;
        }

        public string this[string bomb]
        {
            get
            {
                lock (_dirs)
                {
                    if (!_dirs.TryGetValue(bomb, out var dir))
                    {
                        dir = _tmp.File(bomb.Replace('^', '_'));
                        Bombs.Write(bomb, dir);
                        _dirs[bomb] = dir;
                    }
                    return dir;
                }
            }
        }

        public void Dispose() => _tmp.Dispose();
    }

    public static TheoryData<string> Names => [.. Bombs.Expected.Keys];

    /// <summary>The bombs <c>bert inspect</c> must refuse: those in a header or config, which inspect reads.</summary>
    private static readonly string[] InspectedBombs =
        ["safetensors-many-tensors", "shard-index-cycle", "pickle-empty-dicts", "zip-shared-stream", "config-vocab-2^23", "config-missing-layers"];

    public static TheoryData<string> InspectedNames => [.. InspectedBombs];

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Theory]
    [MemberData(nameof(Names))]
    public void The_library_refuses_each_bomb_before_building_the_model(string bomb)
    {
        var dir = files[bomb];
        var e = Assert.Throws<BertSharpException>(() => BertPretrained.Load(null, dir, out _));
        Assert.Contains(Bombs.Expected[bomb], e.Message);
        Assert.Contains(Path.Combine(dir, Bombs.Culprit(bomb)).TrimEnd('/'), e.Message);
        Assert.DoesNotContain('\n', e.Message);
        // Where it was thrown: config parsing or the header pass, never model construction or tensor loading.
        Assert.DoesNotContain("BertPretrained.Construct", e.StackTrace);
        Assert.DoesNotContain("StateDictSource.Load", e.StackTrace);
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Theory]
    [MemberData(nameof(Names))]
    public void Convert_refuses_each_bomb_in_one_line_exit_2_within_5_cpu_seconds_and_500_MB(string bomb)
    {
        AssertRefused(files.Cli("convert", bomb), bomb);
        Assert.False(Directory.Exists(files.ConvertOutput(bomb)));
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Theory]
    [MemberData(nameof(InspectedNames))]
    public void Inspect_refuses_header_bombs_the_same_way(string bomb) => AssertRefused(files.Cli("inspect", bomb), bomb);

    private void AssertRefused(MpiJob.ScriptRun r, string bomb)
    {
        output.WriteLine($"{bomb}: exit {r.ExitCode}, peak RSS {r.PeakRssKb / 1024} MB, {r.CpuSeconds:F2} CPU s: {r.StdErr.Trim()}");
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.StdErr}");
        var lines = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        ErrorLines.AssertNamesEachPathOnce(lines[0]);
        Assert.Contains(Bombs.Expected[bomb], lines[0]);
        Assert.True(r.PeakRssKb < 500 * 1024, $"peak RSS {r.PeakRssKb / 1024} MB");
        Assert.True(r.CpuSeconds < 5, $"{r.CpuSeconds} CPU seconds");
    }
}
