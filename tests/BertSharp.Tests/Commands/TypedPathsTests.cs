using BertSharp.Tests.Distributed;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Commands;

/// <summary>
/// The CLI names a path as the user typed it: each command, run from a working directory with relative paths, prints none of
/// that directory's full path in its plan, load report, notices, closing line or error, where the library resolves what
/// it is given to full paths (<c>model: /tmp/r2/pr3/final</c> for <c>--output pr3</c>). Not <c>bert download</c>'s snapshot
/// directory, shown in full as documented, nor the "no local directory" of a Hub id that is not found, nor where an ONNX
/// model that is not there was looked for. <c>bert serve</c> runs until stopped: its refusals run here.
/// </summary>
public class TypedPathsTests(TypedPathsTests.Runs runs) : IClassFixture<TypedPathsTests.Runs>
{
    /// <summary>
    /// Every command line of the class, run once, one after another, in one child process whose working directory holds
    /// copies of the fixtures (the test host's <c>cli</c> scenario): a process per command would cost a CPU-second each.
    /// </summary>
    public sealed class Runs : IDisposable
    {
        private readonly TempDir _tmp = TestPaths.TempDir();
        private readonly Lazy<string> _output;

        public Runs() => _output = new(Run, LazyThreadSafetyMode.ExecutionAndPublication);

        /// <summary>The working directory of the commands, whose full path no output may name.</summary>
        public string Work => _tmp.File("work");

        /// <summary>What the command line <paramref name="name"/> printed.</summary>
        internal MpiJob.ScriptRun this[string name] =>
            MpiJob.ScriptOutput(_output.Value, name) ?? throw new InvalidOperationException($"{name} did not run");

        private string Run()
        {
            var fixtures = Path.Combine(TestPaths.Fixtures, "hf_bert");
            TestPaths.CopyTree(Path.Combine(fixtures, "sequence-classification"), Path.Combine(Work, "cls"));
            TestPaths.CopyTree(Path.Combine(fixtures, "pretraining"), Path.Combine(Work, "pre"));
            TestPaths.CopyTree(Path.Combine(fixtures, "masked-lm"), Path.Combine(Work, "mlm"));
            File.Copy(Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), Path.Combine(Work, "sst2.tsv"));
            File.Copy(Path.Combine(TestPaths.Fixtures, "data", "bad_label.tsv"), Path.Combine(Work, "bad.tsv"));
            File.WriteAllLines(Path.Combine(Work, "alice.txt"), File.ReadLines(Path.Combine(TestPaths.RepoRoot, "samples", "corpus", "pg11_alice.txt")).Take(300));
            File.WriteAllText(Path.Combine(Work, "texts.txt"), "a fine film\na dull one\n");
            File.WriteAllText(Path.Combine(Work, "empty.txt"), "");
            Directory.CreateDirectory(Path.Combine(Work, "emptydir"));
            var dir = _tmp.File("cli");
            Directory.CreateDirectory(dir);
            var job = MpiJob.RunScript(0, dir, [.. Lines.Where(l => l.Args.Length > 0).Select(l => (string[])[l.Name, .. l.Args])], keepGoing: true, workingDirectory: Work);
            Assert.True(job.ExitCode == 0, $"the CLI's child process: exit {job.ExitCode}\n{job.StdOut}\n{job.StdErr}");
            return dir;
        }

        public void Dispose() => _tmp.Dispose();
    }

    /// <summary>
    /// Each command line (in order: later ones read what earlier ones wrote), its exit code, and what it prints that names a
    /// typed path, as typed: the line that named the full path before.
    /// </summary>
    private static readonly (string Name, string[] Args, int Exit, string Shown)[] Lines =
    [
        ("pretrain-data", ["pretrain-data", "--input", "alice.txt", "--vocab", "pre/vocab.txt", "--output", "pd", "--max-length", "32"], 0,
            "tokenized with lower-casing on (do_lower_case in pre/tokenizer_config.json)"),
        ("pretrain-config", ["pretrain", "--data", "pd", "--output", "pr", "--config", "tiny", "--vocab", "pre/vocab.txt", "--steps", "2"], 0, "\nmodel: pr/final\n"),
        ("pretrain-model", ["pretrain", "--data", "pd", "--output", "pm", "--model", "pre", "--steps", "2"], 0, "model: pre as BertForPreTraining — every weight loaded"),
        ("pretrain-stopped", ["pretrain", "--data", "pd", "--output", "ps", "--model", "pre", "--steps", "4", "--save-every", "1", "--stop-after", "1"], 0,
            "\nmodel: ps/checkpoint-1\n"),
        ("finetune", ["finetune", "--task", "sst2", "--data", "sst2.tsv", "--model", "cls", "--output", "ft", "--epochs", "1"], 0, "  model: cls — 2 weight(s) newly initialised"),
        ("finetune-lowercasing", [], 0, "  lower-casing on (do_lower_case in cls/tokenizer_config.json)\n"),
        ("finetune-stopped", ["finetune", "--task", "sst2", "--data", "sst2.tsv", "--model", "cls", "--output", "fs", "--epochs", "2", "--stop-after", "1"], 0,
            "stopped after step 1; checkpoint fs/checkpoint-1\n"),
        ("evaluate", ["evaluate", "--model", "ft", "--task", "sst2", "--data", "sst2.tsv"], 0, "\nwrote ft/eval/sst2.metrics.json\n"),
        ("evaluate-refused", ["evaluate", "--model", "ft", "--task", "sst2", "--data", "bad.tsv"], 2, "error: bad.tsv line 3: field 'label'"),
        ("predict", ["predict", "--model", "ft", "--text", "a fine film"], 0, "negative "),
        ("inspect", ["inspect", "--model", "cls", "--no-tree"], 0, "model        cls\n"),
        ("convert", ["convert", "--model", "cls", "--output", "conv"], 0, "→ conv/model.safetensors (float32)"),
        ("export-onnx", ["export-onnx", "cls", "cls.onnx"], 0, "BertForSequenceClassification → cls.onnx ("),
        ("convert-onnx", ["convert", "cls.onnx", "onnx-model", "--vocab", "cls/vocab.txt"], 0, "  vocabulary cls/vocab.txt (uncased)"),
        ("data-stats", ["data", "stats", "sst2.tsv", "--task", "sst2", "--model", "cls"], 0, "(cls, trained to 64 tokens, lower-casing on)"),
        ("tokenize", ["tokenize", "--vocab", "pre/vocab.txt", "--input", "texts.txt", "--output", "tokens.jsonl"], 0,
            "tokenize: lower-casing on (do_lower_case in pre/tokenizer_config.json)"),
        ("vocab-train", ["vocab", "train", "--input", "alice.txt", "--vocab-size", "200", "--output", "vocab.txt"], 0, "wrote vocab.txt: 200 tokens"),
        ("embed", ["embed", "--model", "cls", "--input", "texts.txt", "--output", "embeddings.jsonl"], 0, "to embeddings.jsonl"),
        ("search", ["search", "--model", "cls", "--corpus", "texts.txt", "--query", "film"], 0, "query: film"),
        ("fill-mask", ["fill-mask", "--model", "mlm", "--text", "the [MASK] ."], 0, "the "),
        ("nsp", ["nsp", "--model", "pre", "--text", "a", "--text-pair", "b"], 0, "prediction: B "),
        ("search-refused", ["search", "--model", "cls", "--corpus", "empty.txt", "--query", "film"], 2, "error: --corpus empty.txt: empty file"),
        ("vocab-train-refused", ["vocab", "train", "--input", "empty.txt", "--vocab-size", "200", "--output", "v2.txt"], 2, "error: empty.txt: no words found"),
        ("data-stats-refused", ["data", "stats", "bad.tsv", "--task", "sst2", "--vocab", "pre/vocab.txt"], 2, "error: bad.tsv line 3: field 'label'"),
        ("data-stats-vocab", ["data", "stats", "sst2.tsv", "--task", "sst2", "--vocab", "nope/vocab.txt"], 2,
            "error: nope/vocab.txt: cannot read the vocabulary (no such file or directory).\n"),
        ("bench-tokenize", ["bench", "tokenize", "--vocab", "pre/vocab.txt", "--input", "texts.txt", "--rounds", "1"], 0, "{\"texts\": 2, "),
        ("bench-tokenize-vocab", ["bench", "tokenize", "--vocab", "nope/vocab.txt", "--input", "texts.txt"], 2,
            "error: nope/vocab.txt: cannot read the vocabulary (no such file or directory).\n"),
        ("bench-pretrain-memory", ["bench", "pretrain-memory", "--data", "pd", "--vocab", "pre/vocab.txt", "--config", "nope.json"], 2, "error: nope.json: config file not found."),
        // Refused by launch itself, before mpirun starts a rank.
        ("launch-refused", ["launch", "--nproc", "2", "--", "pretrain", "--data", "pd", "--output", "texts.txt/x", "--config", "tiny", "--vocab", "pre/vocab.txt"], 2,
            "error: --output texts.txt/x: texts.txt is a file"),
        ("download-offline", ["download", "org/m", "--offline", "--cache-dir", "hf"], 2, "is not in the cache (hf/models--org--m) and offline mode is on"),
        ("serve-refused", ["serve", "--model", "emptydir", "--port", "0"], 2, "error: emptydir/config.json: config file not found.\n"),
        ("predict-refused", ["predict", "--model", "emptydir", "--text", "a"], 2, "error: emptydir/config.json: config file not found.\n"),
    ];

    public static TheoryData<string> Names => [.. Lines.Select(l => l.Name)];

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Theory]
    [MemberData(nameof(Names))]
    public void A_command_run_with_relative_paths_names_them_as_typed(string name)
    {
        var line = Lines.Single(l => l.Name == name);
        // A second look at an earlier command's output, for a line of its own.
        var r = runs[line.Args.Length == 0 ? Lines[Array.IndexOf(Lines, line) - 1].Name : name];
        Assert.True(r.ExitCode == line.Exit, $"exit {r.ExitCode}: {r.StdErr}");
        var printed = r.StdOut + r.StdErr;
        Assert.Contains(line.Shown, printed, StringComparison.Ordinal);
        Assert.DoesNotContain(runs.Work, printed, StringComparison.Ordinal);
        if (line.Exit != 0)
        {
            ErrorLines.AssertNamesEachPathOnce(r.StdErr.Trim());
        }
    }
}
