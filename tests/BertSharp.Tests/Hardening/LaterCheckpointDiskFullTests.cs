using System.Text.Json;
using System.Text.RegularExpressions;
using BertSharp.Checkpoints;
using BertSharp.Tests.Distributed;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Training;
using BertSharp.Training;
using Xunit.Abstractions;
using static System.FormattableString;

namespace BertSharp.Tests.Hardening;

/// <summary>
/// A training run whose disk fills after its first checkpoint: the checkpoints written before stay whole and resumable, the
/// one being written leaves nothing, and the error is one line naming it. <see cref="DiskFullTests"/> fills the disk from the
/// start, which cannot single out a later checkpoint (each is as large as the first): here the file size limit drops only once
/// the first checkpoint exists (the test host's <c>--file-size-limit-after</c>), and the run is far too long to end any other
/// way than by that failure.
/// </summary>
[Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
public class LaterCheckpointDiskFullTests(LaterCheckpointDiskFullTests.Runs runs, ITestOutputHelper output) : IClassFixture<LaterCheckpointDiskFullTests.Runs>
{
    /// <summary>
    /// Checkpoints come every this many steps; the limit drops once the first (<c>checkpoint-2</c>) is in place, seen as any
    /// <c>checkpoint-*</c>: fine-tuning, which keeps only the newest, may have removed it by then. A temporary copy
    /// (<c>.checkpoint-N.ID.tmp</c>) does not match.
    /// </summary>
    private const int Interval = 2;

    /// <summary>
    /// Below a checkpoint's weights (about 2 MB for the tiny preset, its optimizer state twice that) and far above the run's
    /// log and loss plot, which are written between checkpoints: the write that fails is the next checkpoint's.
    /// </summary>
    private const long Limit = 1 << 20;

    /// <summary>
    /// The commands, each with its arguments for a run directory, the arguments that resume it, and what that directory holds
    /// besides its marker and checkpoints. A million steps (a hundred thousand epochs of fine-tuning): the run can only end by
    /// failing.
    /// </summary>
    private static readonly Dictionary<string, (Func<Runs, string, string[]> Args, string[] Resume, string[] Entries)> Commands = new()
    {
        ["pretrain"] = (
            (r, o) => ["pretrain", "--data", r.Data, "--config", "tiny", "--vocab", r.Vocab, "--output", o, "--steps", "1000000", "--batch-size", "2",
                "--save-every", Invariant($"{Interval}"), "--device", "cpu"],
            ["--resume"],
            [TrainLog.FileName, LossPlot.FileName]),
        ["finetune"] = (
            (_, o) => OutputSafetyCliTests.Finetune(o, "--epochs", "100000", "--max-train-examples", "6",
                "--save-steps", Invariant($"{Interval}")),
            ["--resume"],
            [TrainLog.FileName]),
    };

    public static TheoryData<string> Names => [.. Commands.Keys];

    /// <summary>
    /// Each command run until its disk fills (one child process for both), what each left in its output, then each resumed for
    /// one step from what it left (a second child process).
    /// </summary>
    public sealed class Runs : IDisposable
    {
        private readonly TempDir _tmp = TestPaths.TempDir();
        private readonly Lazy<(string Failed, string Resumed, Dictionary<string, string[]> Left)> _results;

        public Runs()
        {
            (Data, Vocab) = PretrainingTrainerTests.SmallData(_tmp, dupe: 1);
            _results = new(Run, LazyThreadSafetyMode.ExecutionAndPublication);
        }

        /// <summary>Pre-training data (and its vocabulary) for <c>bert pretrain</c>.</summary>
        public string Data { get; }

        public string Vocab { get; }

        /// <summary>The run directory of the command <paramref name="name"/>.</summary>
        public string Output(string name) => _tmp.File("run-" + name);

        /// <summary>What the command <paramref name="name"/> did when its disk filled.</summary>
        internal MpiJob.ScriptRun Failed(string name) => Script(_results.Value.Failed, name);

        /// <summary>What the resumed command <paramref name="name"/> did.</summary>
        internal MpiJob.ScriptRun Resumed(string name) => Script(_results.Value.Resumed, name);

        /// <summary>Every path (relative, hidden ones included) under the command's output once its disk had filled, before the resume.</summary>
        public string[] Left(string name) => _results.Value.Left[name];

        /// <summary>A copy of the files the command <paramref name="name"/> left (the resume changes its output: fine-tuning prunes the checkpoint it resumed from).</summary>
        public string LeftCopy(string name) => _tmp.File("left-" + name);

        private static MpiJob.ScriptRun Script(string dir, string name) =>
            MpiJob.ScriptOutput(dir, name) ?? throw new InvalidOperationException($"the command {name} did not run");

        private (string, string, Dictionary<string, string[]>) Run()
        {
            var failed = Script("failed", Commands.Select(c =>
                (string[])[c.Key, "--file-size-limit-after", Path.Combine(Output(c.Key), RunDirectory.CheckpointPrefix + "*"), Invariant($"{Limit}"),
                    .. c.Value.Args(this, Output(c.Key))]));
            // A run undone whole (its first checkpoint failed) leaves no directory: the test says so.
            var left = Commands.Keys.ToDictionary(n => n, n => Directory.Exists(Output(n))
                ? Directory.GetFileSystemEntries(Output(n), "*", SearchOption.AllDirectories).Select(p => Path.GetRelativePath(Output(n), p)).Order(StringComparer.Ordinal).ToArray()
                : []);
            foreach (var n in Commands.Keys.Where(n => Directory.Exists(Output(n))))
            {
                TestPaths.CopyTree(Output(n), LeftCopy(n));
            }
            // One step more from the newest checkpoint, which --stop-after checkpoints again.
            var resumed = Script("resumed", Commands.Select(c =>
                (string[])[c.Key, .. c.Value.Args(this, Output(c.Key)), .. c.Value.Resume, "--stop-after", "1"]));
            return (failed, resumed, left);
        }

        private string Script(string name, IEnumerable<string[]> lines)
        {
            var dir = _tmp.File(name);
            Directory.CreateDirectory(dir);
            var job = MpiJob.RunScript(0, dir, [.. lines], keepGoing: true);
            Assert.True(job.ExitCode == 0, $"the CLI's child process: exit {job.ExitCode}\n{job.StdOut}\n{job.StdErr}");
            return dir;
        }

        public void Dispose() => _tmp.Dispose();
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void A_disk_that_fills_after_the_first_checkpoint_fails_in_one_line_and_keeps_every_checkpoint_whole(string name)
    {
        var r = runs.Failed(name);
        output.WriteLine($"exit {r.ExitCode}: {r.StdErr}");
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.StdErr}");
        Assert.DoesNotContain("   at ", r.StdErr, StringComparison.Ordinal);
        var line = Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries), l => l.StartsWith("error: ", StringComparison.Ordinal));
        ErrorLines.AssertNamesEachPathOnce(line);
        // The checkpoint's file as the run names it, inside --output (named once), never its temporary copy
        // (.checkpoint-N.ID.tmp), and the cause.
        var m = Regex.Match(line, "^error: --output " + Regex.Escape(runs.Output(name) + ": " + RunDirectory.CheckpointPrefix) + "(?<step>[0-9]+)/[^ /]+ cannot be written \\(", RegexOptions.CultureInvariant);
        Assert.True(m.Success, line);
        Assert.DoesNotContain(".tmp", line, StringComparison.Ordinal);
        Assert.Contains("file too large for the file system or the file size limit", line, StringComparison.Ordinal);
        var failedStep = long.Parse(m.Groups["step"].Value, System.Globalization.CultureInfo.InvariantCulture);

        // The checkpoints before the failed one, every one (pre-training keeps them all) or the newest (fine-tuning keeps only it);
        // the failed one is not there, neither is a temporary copy of anything, nor the finished model.
        var left = runs.Left(name);
        output.WriteLine(string.Join("\n", left));
        var checkpoints = left.Where(p => !p.Contains('/', StringComparison.Ordinal) && p.StartsWith(RunDirectory.CheckpointPrefix, StringComparison.Ordinal))
            .Select(p => long.Parse(p[RunDirectory.CheckpointPrefix.Length..], System.Globalization.CultureInfo.InvariantCulture)).Order().ToArray();
        Assert.True(failedStep > Interval, $"the first checkpoint, written before the limit, failed: {line}");
        Assert.Equal(name == "pretrain" ? [.. Enumerable.Range(1, (int)(failedStep / Interval) - 1).Select(i => (long)i * Interval)] : [failedStep - Interval], checkpoints);
        string[] expected = [.. new[] { ".bertsharp" }.Concat(Commands[name].Entries).Concat(checkpoints.Select(Checkpoint)).Order(StringComparer.Ordinal)];
        Assert.Equal(expected, left.Where(p => !p.Contains('/', StringComparison.Ordinal)));

        // Each checkpoint holds what a resume needs and exactly the files its marker (written last) names, and each safetensors
        // file is whole: its header's tensors tile the file to its last byte.
        foreach (var step in checkpoints)
        {
            var dir = Path.Combine(runs.LeftCopy(name), Checkpoint(step));
            string[] files = [.. JsonDocument.Parse(File.ReadAllText(Path.Combine(dir, ".bertsharp"))).RootElement.GetProperty("entries").EnumerateArray()
                .Select(e => e.GetString()!).Append(".bertsharp").Order(StringComparer.Ordinal)];
            Assert.Superset(new HashSet<string>(["config.json", "model.safetensors", OptimizerState.FileName, TrainerState.FileName, "vocab.txt"]), files.ToHashSet());
            Assert.Equal(files.Select(f => Checkpoint(step) + "/" + f), left.Where(p => p.StartsWith(Checkpoint(step) + "/", StringComparison.Ordinal)));
            foreach (var f in files.Where(f => f.EndsWith(".safetensors", StringComparison.Ordinal)))
            {
                SafeTensors.ReadHeader(Path.Combine(dir, f));
            }
        }

        // The newest one resumes: its model, optimizer state and trainer state load, and the run goes on from its step.
        var resumed = runs.Resumed(name);
        output.WriteLine($"resume: exit {resumed.ExitCode}: {resumed.StdErr}");
        Assert.True(resumed.ExitCode == 0, resumed.StdErr);
        Assert.Contains("resuming", resumed.StdErr, StringComparison.Ordinal);
        Assert.Contains(Invariant($" step {checkpoints[^1]} of "), resumed.StdErr, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(runs.Output(name), Checkpoint(checkpoints[^1] + 1), TrainerState.FileName)), resumed.StdErr);
    }

    private static string Checkpoint(long step) => RunDirectory.CheckpointPrefix + step.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
