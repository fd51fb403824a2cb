using System.Text;
using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Tests.Checkpoints;
using BertSharp.Tests.Checkpoints.Hub;
using BertSharp.Tests.Distributed;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Tests.Tokenization;

namespace BertSharp.Tests.Hardening;

/// <summary>Issue 21 items 11 and 12: one-line exit-2 errors (never exit 70) for bad input, and bad values refused.</summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class CliInputHardeningTests(CliInputHardeningTests.ChildRuns child) : IClassFixture<CliInputHardeningTests.ChildRuns>
{
    /// <summary>
    /// The commands of this class that need a process of their own (a peak RSS to bound, the CLI's runtime configuration),
    /// run once, one after another in one child process (the test host's <c>cli</c> scenario), each with its own peak RSS:
    /// a process per command cost about a CPU-second each.
    /// </summary>
    public sealed class ChildRuns : IDisposable
    {
        private readonly TempDir _tmp = TestPaths.TempDir();
        private readonly Lazy<string> _output;

        public ChildRuns() => _output = new(Run, LazyThreadSafetyMode.ExecutionAndPublication);

        /// <summary>A path in the folder the commands read from and write to.</summary>
        public string File(string name) => _tmp.File(name);

        /// <summary>What the command named <paramref name="name"/> did.</summary>
        internal MpiJob.ScriptRun this[string name] =>
            MpiJob.ScriptOutput(_output.Value, name) ?? throw new InvalidOperationException($"the command {name} did not run");

        private string Run()
        {
            WriteLongLine(File("one-line.txt"), 256L << 20);
            WriteTruncatedGzip(File("whole.txt.gz"), File("cut.txt.gz"));
            var dir = File("cli");
            Directory.CreateDirectory(dir);
            List<string[]> lines =
            [
                ["tokenize", "tokenize", "--vocab", Vocab, "--input", File("one-line.txt"), "--output", File("out-tokenize.jsonl")],
                ["pretrain-data", "pretrain-data", "--input", File("one-line.txt"), "--vocab", Vocab, "--output", File("out-pretrain-data")],
                ["truncated-gzip", "pretrain-data", "--input", File("cut.txt.gz"), "--vocab", Vocab, "--output", File("out-gzip"), "--dupe-factor", "1", "--threads", "1"],
            ];
            var job = MpiJob.RunScript(0, dir, lines, keepGoing: true);
            Assert.True(job.ExitCode == 0, $"the CLI's child process: exit {job.ExitCode}\n{job.StdOut}\n{job.StdErr}");
            return dir;
        }

        public void Dispose() => _tmp.Dispose();
    }

    private static string Vocab => TokenizationFixtures.VocabPath("bert-base-uncased");

    private static string Classifier => HfFixture.Dir("sequence-classification");

    /// <summary>20,000 good lines, then a bad byte on line 20,001 (far past any reader's first buffer).</summary>
    private static void WriteBadUtf8(string path, string lineFormat = "line {0} is fine")
    {
        using var f = File.Create(path);
        for (var i = 1; i <= 20_000; i++)
        {
            f.Write(Encoding.UTF8.GetBytes(string.Format(System.Globalization.CultureInfo.InvariantCulture, lineFormat, i) + "\n"));
        }
        f.Write([.. "bad "u8, 0xFF, .. "\n"u8]);
        f.Write("after\n"u8);
    }

    [Fact]
    public void Predict_input_with_invalid_utf8_names_the_exact_line()
    {
        using var tmp = TestPaths.TempDir();
        WriteBadUtf8(tmp.File("in.txt"));
        CliRunner.Run("predict", "--model", Classifier, "--input", tmp.File("in.txt")).AssertOneLineError(tmp.File("in.txt"), "line 20001", "invalid UTF-8");
    }

    [Theory]
    [InlineData("in.txt", "line {0} is fine")]
    [InlineData("in.csv", "{0},fine")]
    [InlineData("in.jsonl", "{{\"text\": \"line {0}\"}}")]
    public void Embed_input_with_invalid_utf8_names_the_exact_line(string name, string format)
    {
        using var tmp = TestPaths.TempDir();
        var input = tmp.File(name);
        if (name.EndsWith(".csv", StringComparison.Ordinal))
        {
            File.WriteAllText(input, "text,x\n");
            using var f = File.Open(input, FileMode.Append);
            for (var i = 2; i <= 20_000; i++)
            {
                f.Write(Encoding.UTF8.GetBytes(string.Format(System.Globalization.CultureInfo.InvariantCulture, format, i) + "\n"));
            }
            f.Write([.. "bad "u8, 0xFF, .. ",x\n"u8]);
        }
        else
        {
            WriteBadUtf8(input, format);
        }
        CliRunner.Run("embed", "--model", HfFixture.Dir("base-model"), "--input", input, "--output", tmp.File("out.jsonl")).AssertOneLineError("line 20001", "invalid UTF-8");
        Assert.False(File.Exists(tmp.File("out.jsonl")));
    }

    [Fact]
    public void Embed_jsonl_with_an_escaped_lone_surrogate_names_the_line()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("in.jsonl"), "{\"text\":\"fine\"}\n{\"text\":\"a \\ud800 b\"}\n");
        CliRunner.Run("embed", "--model", HfFixture.Dir("base-model"), "--input", tmp.File("in.jsonl"), "--output", tmp.File("out.jsonl")).AssertOneLineError("in.jsonl line 2: field 'text' is not valid text: it holds a lone UTF-16 surrogate (\\ud800)");
    }

    [Fact]
    public void Tokenize_input_with_invalid_utf8_names_the_exact_line()
    {
        using var tmp = TestPaths.TempDir();
        WriteBadUtf8(tmp.File("in.txt"));
        CliRunner.Run("tokenize", "--vocab", Vocab, "--input", tmp.File("in.txt")).AssertOneLineError("line 20001", "invalid UTF-8");
        WriteBadUtf8(tmp.File("in.jsonl"), "{{\"text\": \"line {0}\"}}");
        CliRunner.Run("tokenize", "--vocab", Vocab, "--input", tmp.File("in.jsonl")).AssertOneLineError("line 20001", "invalid UTF-8");
    }

    [Fact]
    public void Tokenize_jsonl_with_an_escaped_lone_surrogate_names_the_line()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("in.jsonl"), "{\"text\":\"fine\"}\n{\"text\":\"a \\ud800 b\"}\n");
        CliRunner.Run("tokenize", "--vocab", Vocab, "--input", tmp.File("in.jsonl")).AssertOneLineError("in.jsonl line 2: field 'text' is not valid text: it holds a lone UTF-16 surrogate (\\ud800)");
    }

    [Fact]
    public void Tokenize_writes_nothing_when_a_line_past_the_first_chunk_fails_to_encode()
    {
        using var tmp = TestPaths.TempDir();
        // Past the 8,192 lines encoded at once, so the lines before the bad one are encoded (and were written) first.
        var lines = Enumerable.Repeat("fine", 8_200).Append("a text too long for six tokens without a pair to cut");
        File.WriteAllLines(tmp.File("in.txt"), lines);
        string[] args = ["tokenize", "--vocab", Vocab, "--input", tmp.File("in.txt"), "--max-length", "6", "--truncation", "only_second"];
        CliRunner.Run(args).AssertOneLineError("in.txt line 8201", "only_second needs a text pair");
        CliRunner.Run([.. args, "--output", tmp.File("out.jsonl")]).AssertOneLineError("line 8201");
        Assert.False(File.Exists(tmp.File("out.jsonl")));
    }

    [Fact]
    public void Tokenize_and_bench_tokenize_refuse_a_vocabulary_without_cls_naming_the_vocab_not_a_line()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllLines(tmp.File("vocab.txt"), ["[PAD]", "[UNK]", "[SEP]", "hello", "world"]);
        File.WriteAllText(tmp.File("in.txt"), "hello world\n");
        var line = CliRunner.Run("tokenize", "--vocab", tmp.File("vocab.txt"), "--input", tmp.File("in.txt"))
            .AssertOneLineError($"--vocab {tmp.File("vocab.txt")}: has no [CLS] token; expected a BERT vocabulary with [CLS] and [SEP]");
        Assert.DoesNotContain("line 1", line, StringComparison.Ordinal);
        // bench tokenize gave the library's advice, add_special_tokens false, which no flag sets.
        Assert.Equal($"error: --vocab {tmp.File("vocab.txt")}: has no [CLS] token; expected a BERT vocabulary with [CLS] and [SEP], which bench tokenize adds to every encoding.",
            CliRunner.Run("bench", "tokenize", "--vocab", tmp.File("vocab.txt"), "--input", tmp.File("in.txt")).AssertOneLineError());
    }

    [Fact]
    public void Tokenize_refuses_a_line_longer_than_the_limit()
    {
        using var tmp = TestPaths.TempDir();
        WriteLongLine(tmp.File("long.txt"), Utf8LineReader.DefaultMaxLineBytes + 10);
        CliRunner.Run("tokenize", "--vocab", Vocab, "--input", tmp.File("long.txt")).AssertOneLineError("line 1 is longer than 16,777,216 bytes");
    }

    private static void WriteLongLine(string path, long bytes)
    {
        using var f = File.Create(path);
        var chunk = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("word ", 1 << 14)));
        for (long written = 0; written < bytes; written += chunk.Length)
        {
            f.Write(chunk);
        }
        f.Write("\n"u8);
    }

    [Theory]
    [InlineData("tokenize", "out-tokenize.jsonl")]
    [InlineData("pretrain-data", "out-pretrain-data")]
    public void A_256_MB_single_line_is_refused_within_500_MB(string command, string output)
    {
        var r = child[command];
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.StdErr}");
        Assert.Contains("is longer than 16,777,216 bytes", r.StdErr);
        ErrorLines.AssertNamesEachPathOnce(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1]);
        Assert.True(r.PeakRssKb < 500 * 1024, $"peak RSS {r.PeakRssKb / 1024} MB");
        Assert.False(File.Exists(child.File(output)) || Directory.Exists(child.File(output)));
    }

    /// <summary>Writes a gzip corpus to <paramref name="whole"/> and its first half to <paramref name="cut"/>.</summary>
    private static void WriteTruncatedGzip(string whole, string cut)
    {
        using (var gz = new System.IO.Compression.GZipStream(File.Create(whole), System.IO.Compression.CompressionLevel.Fastest))
        {
            for (var d = 0; d < 2000; d++)
            {
                gz.Write(Encoding.UTF8.GetBytes($"Document {d} starts here. Its second sentence is number {d * 7}.\n\n"));
            }
        }
        var bytes = File.ReadAllBytes(whole);
        File.WriteAllBytes(cut, bytes[..(bytes.Length / 2)]);
    }

    // The switch that makes .NET report a truncated gzip stream is the runtime configuration of the CLI and of the process
    // that runs its commands here.
    [Fact]
    public void Pretrain_data_refuses_a_truncated_gzip_corpus_naming_it()
    {
        var r = child["truncated-gzip"];
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.StdErr}");
        var last = r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1];
        ErrorLines.AssertNamesEachPathOnce(last);
        Assert.StartsWith($"error: {child.File("cut.txt.gz")}: not a valid gzip file (", last, StringComparison.Ordinal);
        Assert.Contains("truncated", last, StringComparison.Ordinal);
        Assert.False(Directory.Exists(child.File("out-gzip")));
    }

    [Fact]
    public void Pretrain_data_refuses_invalid_utf8_naming_the_line()
    {
        using var tmp = TestPaths.TempDir();
        WriteBadUtf8(tmp.File("corpus.txt"), "Sentence number {0} is here.");
        var r = CliRunner.Run("pretrain-data", "--input", tmp.File("corpus.txt"), "--vocab", Vocab, "--output", tmp.File("out"));
        Assert.True(r.ExitCode == 2, r.StdErr);
        Assert.Contains(tmp.File("corpus.txt") + " line 20001: invalid UTF-8", r.StdErr);
        Assert.False(Directory.Exists(tmp.File("out")));
    }

    [Fact]
    public void Predict_with_nan_weights_is_an_error_not_a_label()
    {
        using var tmp = TestPaths.TempDir();
        using (var model = BertPretrained.Load(null, Classifier, out _))
        {
            ServerHardeningTests.PoisonClassifier(model);
            BertPretrained.Save(model, tmp.File("nan"), new SaveOptions(TokenizerFrom: Classifier));
        }
        var r = CliRunner.Run("predict", "--model", tmp.File("nan"), "--text", "a fine film", "--device", "cpu");
        r.AssertOneLineError("the model produced NaN logits");
        Assert.DoesNotContain("LABEL_", r.StdOut);
    }

    [Fact]
    public void Evaluate_with_nan_weights_is_an_error_not_label_0_metrics()
    {
        using var tmp = TestPaths.TempDir();
        using (var model = BertPretrained.Load(null, Classifier, out _))
        {
            ServerHardeningTests.PoisonClassifier(model);
            BertPretrained.Save(model, tmp.File("nan"), new SaveOptions(TokenizerFrom: Classifier));
        }
        var data = tmp.File("custom.csv");
        File.WriteAllText(data, "text,label\na fine film,LABEL_1\na dull film,LABEL_0\n");
        var r = CliRunner.Run("evaluate", "--model", tmp.File("nan"), "--task", "csv", "--data", data, "--output", tmp.File("metrics.json"), "--device", "cpu");
        r.AssertOneLineError("the model produced NaN logits");
        Assert.False(File.Exists(tmp.File("metrics.json")));
    }

    [Fact]
    public void A_directory_given_as_a_text_file_is_called_a_directory()
    {
        using var tmp = TestPaths.TempDir();
        var dir = tmp.File("texts.txt");
        Directory.CreateDirectory(dir);
        // Was "--input texts.txt: not found." (embed, search) and "cannot be read (Access to the path ... is denied.)" (predict).
        CliRunner.Run("embed", "--model", Classifier, "--input", dir, "--output", tmp.File("e.jsonl")).AssertOneLineError($"--input {dir}: is a directory; expected a file.");
        CliRunner.Run("search", "--model", Classifier, "--corpus", dir, "--query", "a").AssertOneLineError($"--corpus {dir}: is a directory; expected a file.");
        CliRunner.Run("qa", "--model", HfFixture.Dir("question-answering"), "--question", "who?", "--context-file", dir)
            .AssertOneLineError($"--context-file {dir}: is a directory; expected a file.");
        CliRunner.Run("predict", "--model", Classifier, "--input", dir).AssertOneLineError($"{dir}: is a directory; expected a file.");
    }

    // A file of blank lines was "b.txt: empty file" (predict) or "no texts." (embed, search), though its user sees lines in it.
    [Fact]
    public void A_text_file_of_blank_lines_is_said_to_have_no_texts_and_an_empty_one_to_be_empty()
    {
        using var tmp = TestPaths.TempDir();
        var blank = tmp.File("b.txt");
        File.WriteAllText(blank, "\n \n");
        var empty = tmp.File("z.txt");
        File.WriteAllText(empty, "");
        CliRunner.Run("predict", "--model", Classifier, "--input", blank).AssertOneLineError($"error: {blank}: no texts, only blank lines; expected one text per line.");
        CliRunner.Run("predict", "--model", Classifier, "--input", empty).AssertOneLineError($"error: {empty}: empty file; expected one text per line.");
        CliRunner.Run("embed", "--model", Classifier, "--input", blank, "--output", tmp.File("e.jsonl"))
            .AssertOneLineError($"error: --input {blank}: no texts, only blank lines; expected one text per line.");
        CliRunner.Run("search", "--model", Classifier, "--corpus", empty, "--query", "a")
            .AssertOneLineError($"error: --corpus {empty}: empty file; expected one text per line.");
        Assert.False(File.Exists(tmp.File("e.jsonl")));
        // tokenize keeps one row per line, so a blank line is a text; nothing at all is refused as elsewhere.
        CliRunner.Run("tokenize", "--vocab", Vocab, "--input", empty, "--output", tmp.File("t.jsonl"))
            .AssertOneLineError($"error: {empty}: empty file; expected one text per line.");
        CliRunner.Run("tokenize", "--vocab", Vocab, "--input", blank, "--format", "jsonl", "--output", tmp.File("t.jsonl"))
            .AssertOneLineError($"error: {blank}: no texts, only blank lines; expected one text per line.");
        Assert.False(File.Exists(tmp.File("t.jsonl")));
        var rows = CliRunner.Run("tokenize", "--vocab", Vocab, "--input", blank, "--output", tmp.File("t.jsonl"));
        Assert.True(rows.ExitCode == 0, rows.StdErr);
        Assert.Equal(2, File.ReadAllLines(tmp.File("t.jsonl")).Length);
    }

    // bert evaluate on a ner / squad / swag model ignored the sequence-classification options with exit 0 (finetune refused them).
    [Fact]
    public void Evaluate_on_a_head_model_refuses_the_classification_options()
    {
        using var tmp = TestPaths.TempDir();
        var metrics = tmp.File("m.json");
        var swag = Path.Combine(TestPaths.RepoRoot, "samples", "swag", "dev.csv");
        CliRunner.Run("evaluate", "--model", HfFixture.Dir("multiple-choice"), "--data", swag, "--output", metrics, "--truncation-side", "tail")
            .AssertOneLineError("error: --truncation-side: not available for a swag model (sequence classification only).");
        CliRunner.Run("evaluate", "--model", HfFixture.Dir("token-classification"), "--task", "ner", "--data", swag, "--output", metrics, "--per-batch-mcc")
            .AssertOneLineError("error: --per-batch-mcc: not available for --task ner (sequence classification only).");
        Assert.False(File.Exists(metrics));
    }

    [Theory]
    [InlineData("predict", "--text", "", "--text: empty")]
    [InlineData("nsp", "--text", "", "--text-pair", "x", "--text and --text-pair must not be empty")]
    [InlineData("nsp", "--text", "a", "--text-pair", " ", "--text and --text-pair must not be empty")]
    [InlineData("predict", "--text", "   ", "--text: empty")]
    // A classifier's data options say how to read --input; with --text they were ignored with exit 0.
    [InlineData("predict", "--text", "a", "--text-column", "t", "error: --text-column: only together with --input (it says how to read the file).")]
    [InlineData("predict", "--text", "a", "--task", "sst2", "--task: only together with --input")]
    [InlineData("predict", "--input", "x.txt", "--output", "x.xlsx", "--output x.xlsx: unknown extension")]
    // A multiple-choice model wrote JSON lines into any --output (x.csv, x.txt) and ignored --output with --text and --text-pair.
    [InlineData("predict-choice", "--input", "x.csv", "--output", "x.txt", "--output x.txt: unknown extension")]
    [InlineData("predict-choice", "--input", "x.csv", "--output", "y.csv", "--output y.csv: a multiple-choice model's predictions are JSON lines")]
    [InlineData("predict-choice", "--text", "a", "--choice", "b", "--choice", "c", "--output", "x.jsonl", "--output: only together with --input")]
    [InlineData("predict-choice", "--text", "a", "--choice", "b", "--choice", "c", "--text-pair", "d", "--text-pair: not for a multiple-choice model")]
    // A multiple-choice model ignored these with exit 0: its choices are cut longest-first, and its --input is SWAG data.
    [InlineData("predict-choice", "--text", "a", "--choice", "b", "--choice", "c", "--truncation-side", "tail",
        "error: --truncation-side: not for a multiple-choice model; its choices are cut longest-first, as HF run_swag and 'bert finetune --task swag' cut them.")]
    [InlineData("predict-choice", "--text", "a", "--choice", "b", "--choice", "c", "--head-tokens", "4", "--head-tokens: not for a multiple-choice model")]
    [InlineData("predict-choice", "--text", "a", "--choice", "b", "--choice", "c", "--interactive", "--interactive: not for a multiple-choice model")]
    [InlineData("predict-choice", "--input", "x.csv", "--text-column", "t", "--text-column: not for a multiple-choice model; its --input is SWAG data")]
    [InlineData("predict-choice", "--input", "x.csv", "--regression", "--regression: not for a multiple-choice model")]
    [InlineData("predict-choice", "--input", "x.csv", "--task", "sst2", "--task sst2: not for a multiple-choice model")]
    [InlineData("predict-choice", "--text", "  ", "--choice", "b", "--choice", "c", "error: --text: empty; give the context the candidates continue.")]
    [InlineData("tokenize", "--max-length", "8", "--stride", "8", "--stride 8 must be smaller than --max-length 8")]
    [InlineData("tokenize", "--max-length", "8", "--stride", "20", "--stride 20 must be smaller than --max-length 8")]
    [InlineData("tokenize", "--stride", "2", "--stride 2: only with --max-length")]
    [InlineData("pretrain-data", "--threads", "0", "--threads 0: expected 1..")]
    [InlineData("finetune", "--val-size", "1.5", "--val-size 1.5: expected a fraction in [0, 1) or a whole number")]
    [InlineData("finetune", "--val-size", "-0.1", "--val-size -0.1: expected a fraction")]
    public void Bad_values_are_refused_naming_the_option(params string[] argsAndMessage)
    {
        using var tmp = TestPaths.TempDir();
        var args = argsAndMessage[..^1].ToList();
        var command = args[0];
        switch (command)
        {
            case "predict" or "nsp":
                args.AddRange(["--model", command == "nsp" ? HfFixture.Dir("pretraining") : Classifier]);
                break;
            case "predict-choice":
                args[0] = "predict";
                args.AddRange(["--model", HfFixture.Dir("multiple-choice")]);
                break;
            case "tokenize":
                args.AddRange(["--vocab", Vocab, "--input", CliInputFile(tmp)]);
                break;
            case "pretrain-data":
                args.AddRange(["--input", CliInputFile(tmp), "--vocab", Vocab, "--output", tmp.File("out")]);
                break;
            case "finetune":
                args.AddRange(["--task", "sst2", "--data", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), "--model", Classifier, "--output", tmp.File("run")]);
                break;
        }
        CliRunner.Run([.. args]).AssertOneLineError(argsAndMessage[^1]);
        Assert.False(Directory.Exists(tmp.File("out")) || Directory.Exists(tmp.File("run")));
    }

    private static string CliInputFile(TempDir tmp)
    {
        File.WriteAllText(tmp.File("in.txt"), "The cat sat on the mat.\nIt was happy.\n");
        return tmp.File("in.txt");
    }

    [Fact]
    public void Val_size_check_accepts_fractions_and_whole_counts()
    {
        foreach (var ok in new[] { 0, 0.1, 0.999, 1, 200 })
        {
            DataSplit.CheckValSize(ok);
        }
        foreach (var bad in new[] { 1.5, -0.1, double.NaN, double.PositiveInfinity, 3.25 })
        {
            Assert.Throws<BertSharpException>(() => DataSplit.CheckValSize(bad));
        }
    }

    [Theory]
    [InlineData(".")]
    [InlineData("x/")]
    [InlineData("..")]
    [InlineData("a//b")]
    [InlineData(".hidden")]
    [InlineData("a/.b")]
    [InlineData("main.lock")]
    [InlineData("/abs")]
    [InlineData("a\\b")]
    public void Revisions_that_are_not_git_ref_names_are_refused(string revision)
    {
        var e = Assert.Throws<BertSharpException>(() => HubCache.ValidateRevision(revision));
        // The library names the field; the CLI shows it as --revision.
        Assert.StartsWith($"revision '{revision}'", e.Message, StringComparison.Ordinal);
        Assert.Equal(["revision"], e.Fields);
    }

    [Theory]
    [InlineData("main")]
    [InlineData("v1.0")]
    [InlineData("refs/pr/1")]
    [InlineData("0123456789abcdef0123456789abcdef01234567")]
    public void Branch_tag_and_commit_revisions_are_accepted(string revision) =>
        Assert.Equal(revision, HubCache.ValidateRevision(revision));

    [Theory]
    [InlineData("file:///etc/passwd")]
    [InlineData("ftp://127.0.0.1/x")]
    public void A_hub_redirect_to_a_non_http_url_is_refused(string location)
    {
        using var hub = new FakeHub { LfsLocationOverride = location };
        using var cache = TestPaths.TempDir();
        hub.AddRepo("org/tiny", ("config.json", "{}"u8.ToArray(), false), ("model.safetensors", File.ReadAllBytes(CheckpointFixtures.PretrainingSafeTensors), true));
        using var client = new HubClient(new HubOptions { Endpoint = hub.Endpoint, CacheDir = cache.Path, ReadTimeout = TimeSpan.FromSeconds(20) });
        var e = Assert.Throws<BertSharpException>(() => client.DownloadModel("org/tiny"));
        Assert.Contains($"redirected to '{location}', which is not an http(s) URL", e.Message);
    }
}
