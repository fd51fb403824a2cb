using BertSharp.Tests.Distributed;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Tests.Training;
using Xunit.Abstractions;
using static System.FormattableString;

namespace BertSharp.Tests.Hardening;

/// <summary>
/// Every command that writes files, run out of room part-way through its output: a one-line error naming the output and
/// the cause, a non-zero exit, and nothing at the output path nor beside it. The disk fills without root: each command runs
/// with a file size limit (RLIMIT_FSIZE) below its output's size, so the write past it fails with EFBIG as a full disk's
/// fails with ENOSPC.
/// </summary>
[Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
public class DiskFullTests(DiskFullTests.Runs runs, ITestOutputHelper output) : IClassFixture<DiskFullTests.Runs>
{
    /// <summary>
    /// The sweep's commands, each with the output it was told to write (alone in a folder of its own) and the file size
    /// limit it ran under: below the size of the file that output holds (or, for a directory, its largest file), so that
    /// the command gets part-way through writing it.
    /// </summary>
    private static readonly Dictionary<string, (long Limit, string Output, Func<Runs, string, string[]> Args)> Commands = new()
    {
        ["tokenize"] = (1024, "tok.jsonl", (r, o) => ["tokenize", "--vocab", Vocab, "--input", r.Texts, "--output", o]),
        ["vocab-train"] = (1024, "vocab.txt", (_, o) => ["vocab", "train", "--input", Alice, "--vocab-size", "500", "--output", o]),
        ["convert"] = (4096, "converted", (_, o) => ["convert", Classifier, o]),
        ["export-onnx"] = (4096, "model.onnx", (_, o) => ["export-onnx", Classifier, o]),
        // The graph (21 kB) fits; the weights beside it (426 kB) do not, and the graph must not stay without them.
        ["export-onnx-external-data"] = (32768, "model.onnx", (_, o) => ["export-onnx", Classifier, o, "--external-data"]),
        ["pretrain-data"] = (4096, "data", (_, o) => ["pretrain-data", "--input", Alice, "--vocab", Vocab, "--output", o, "--dupe-factor", "1", "--threads", "1"]),
        ["pretrain"] = (16384, "run", (r, o) => ["pretrain", "--data", r.PretrainingData, "--config", "tiny", "--vocab", Vocab, "--output", o, "--steps", "2", "--batch-size", "2", "--device", "cpu"]),
        ["finetune"] = (16384, "model", (_, o) => OutputSafetyCliTests.Finetune(o, "--epochs", "1", "--max-train-examples", "6")),
        ["predict"] = (1024, "predictions.jsonl", (r, o) => ["predict", "--model", Classifier, "--input", r.Texts, "--output", o]),
        ["evaluate"] = (256, "metrics.json", (r, o) => ["evaluate", "--model", Classifier, "--task", "tsv", "--text-column", "sentence", "--data", r.Labelled, "--output", o]),
        // The embeddings (4 texts) fit; the plot does not.
        ["embed-plot"] = (8192, "plot.png", (r, o) => ["embed", "--model", Classifier, "--input", r.FewTexts, "--output", Path.Combine(Path.GetDirectoryName(o)!, "embeddings.jsonl"), "--plot", o]),
    };

    public static TheoryData<string> Names => [.. Commands.Keys];

    private static string Vocab => Path.Combine(Classifier, "vocab.txt");

    private static string Classifier => HfFixture.Dir("sequence-classification");

    private static string Alice => Path.Combine(TestPaths.RepoRoot, "samples", "corpus", "pg11_alice.txt");

    /// <summary>Every command of the sweep, run once, one after another in one child process (the test host's <c>cli</c> scenario).</summary>
    public sealed class Runs : IDisposable
    {
        private readonly TempDir _tmp = TestPaths.TempDir();
        private readonly Lazy<string> _results;

        public Runs() => _results = new(Run, LazyThreadSafetyMode.ExecutionAndPublication);

        /// <summary>100 short texts, one a line.</summary>
        public string Texts => _tmp.File("texts.txt");

        /// <summary>4 short texts, one a line.</summary>
        public string FewTexts => _tmp.File("few.txt");

        /// <summary>60 texts with the labels of the classifier fixture (a TSV with a header).</summary>
        public string Labelled => _tmp.File("labelled.tsv");

        /// <summary>Pre-training data the sweep makes with no limit, for <c>bert pretrain</c>.</summary>
        public string PretrainingData => _tmp.File("pretraining-data");

        /// <summary>The folder that held nothing but the output of the command <paramref name="name"/>.</summary>
        public string Folder(string name) => _tmp.File("out-" + name);

        /// <summary>What the command <paramref name="name"/> did.</summary>
        internal MpiJob.ScriptRun this[string name] =>
            MpiJob.ScriptOutput(_results.Value, name) ?? throw new InvalidOperationException($"the command {name} did not run");

        private string Run()
        {
            File.WriteAllLines(Texts, Enumerable.Range(0, 50).SelectMany(i => new[] { Invariant($"a fine film, number {i}"), "a terrible one" }));
            File.WriteAllLines(FewTexts, ["a fine film", "a terrible one", "the plot is thin", "the actors are great"]);
            File.WriteAllLines(Labelled, ["sentence\tlabel", .. Enumerable.Range(0, 30).SelectMany(i => new[] { Invariant($"a fine film {i}\tLABEL_1"), Invariant($"terrible {i}\tLABEL_0") })]);
            var dir = _tmp.File("cli");
            Directory.CreateDirectory(dir);
            List<string[]> lines = [["make-pretraining-data", "pretrain-data", "--input", Alice, "--vocab", Vocab, "--output", PretrainingData, "--dupe-factor", "1", "--threads", "1"]];
            foreach (var (name, (limit, output, args)) in Commands)
            {
                Directory.CreateDirectory(Folder(name));
                lines.Add([name, "--file-size-limit", limit.ToString(System.Globalization.CultureInfo.InvariantCulture), .. args(this, Path.Combine(Folder(name), output))]);
            }
            var job = MpiJob.RunScript(0, dir, lines, keepGoing: true);
            Assert.True(job.ExitCode == 0, $"the CLI's child process: exit {job.ExitCode}\n{job.StdOut}\n{job.StdErr}");
            var data = MpiJob.ScriptOutput(dir, "make-pretraining-data");
            Assert.True(data?.ExitCode == 0, data?.StdErr);
            return dir;
        }

        public void Dispose() => _tmp.Dispose();
    }

    [Theory]
    [MemberData(nameof(Names))]
    public void A_full_disk_fails_the_command_in_one_line_naming_the_output_and_leaves_nothing(string name)
    {
        var r = runs[name];
        output.WriteLine($"exit {r.ExitCode}: {r.StdErr}");
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.StdErr}");
        var error = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("error: ", StringComparison.Ordinal));
        var line = Assert.Single(error);
        ErrorLines.AssertNamesEachPathOnce(line);
        Assert.DoesNotContain("internal error", line, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StdErr, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(runs.Folder(name), Commands[name].Output), line, StringComparison.Ordinal);
        Assert.Contains("file too large for the file system or the file size limit", line, StringComparison.Ordinal);
        // Neither the output nor a temporary copy of it (hidden names included), nor the embeddings written beside a plot.
        Assert.Empty(Directory.GetFileSystemEntries(runs.Folder(name)));
    }

    // The sweep's host ignores SIGXFSZ, which the kernel sends with EFBIG; bert itself, started under `ulimit -f` as a user
    // starts it, was killed by that signal (exit 153, "File size limit exceeded") and left its temporary copy behind.
    // W^X off: under a limit of a few kB the runtime cannot create the memory file of its code mapping and does not start.
    [Fact]
    public async Task Bert_started_under_a_file_size_limit_fails_in_one_line_and_leaves_nothing()
    {
        using var tmp = TestPaths.TempDir();
        var input = tmp.File("texts.txt");
        File.WriteAllLines(input, Enumerable.Range(0, 100).Select(i => Invariant($"a fine film, number {i}")));
        var folder = tmp.File("out");
        Directory.CreateDirectory(folder);
        var tokens = Path.Combine(folder, "tok.jsonl");
        var psi = new System.Diagnostics.ProcessStartInfo("/bin/sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in (string[])["-c", "ulimit -f 4 && exec \"$@\"", "sh", .. MpiJob.Bert("tokenize", "--vocab", Vocab, "--input", input, "--output", tokens)])
        {
            psi.ArgumentList.Add(a);
        }
        psi.Environment["DOTNET_EnableWriteXorExecute"] = "0";
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = await p.StandardError.ReadToEndAsync();
        await p.WaitForExitAsync();
        await stdout;
        Assert.True(p.ExitCode == 2, $"exit {p.ExitCode}: {stderr}");
        Assert.Equal($"error: --output {tokens}: cannot be written (file too large for the file system or the file size limit, ulimit -f).", stderr.Trim());
        Assert.Empty(Directory.GetFileSystemEntries(folder));
    }
}
