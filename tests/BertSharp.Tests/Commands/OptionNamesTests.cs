using System.CommandLine;
using System.Text.Json.Nodes;
using BertSharp.Data.Pretraining;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Commands;

/// <summary>One spelling per option across commands; older spellings still work as hidden aliases.</summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class OptionNamesTests
{
    private static Command Find(string path)
    {
        Command c = Cli.Program.BuildRoot();
        foreach (var name in path.Split(' '))
        {
            c = c.Subcommands.Single(s => s.Name == name);
        }
        return c;
    }

    private static bool Has(string command, string option) => Find(command).Options.Any(o => o.Name == option && !o.Hidden);

    public static TheoryData<string> Computing => ["finetune", "evaluate", "predict", "pretrain", "fill-mask", "nsp", "ner", "qa", "embed", "search", "serve"];

    [Theory]
    [MemberData(nameof(Computing))]
    public void Every_computing_command_has_model_device_threads_and_max_length(string command)
    {
        Assert.True(Has(command, "--device"), $"{command} --device");
        Assert.True(Has(command, "--threads"), $"{command} --threads");
        Assert.True(Has(command, "--model"), $"{command} --model");
        if (command != "pretrain")
        {
            Assert.True(Has(command, "--max-length"), $"{command} --max-length");
        }
    }

    [Theory]
    [InlineData("inspect")]
    [InlineData("convert")]
    [InlineData("download")]
    [InlineData("data stats")]
    [InlineData("export-onnx")]
    public void Model_is_an_option_everywhere(string command) => Assert.True(Has(command, "--model"), command);

    [Fact]
    public void Inspect_and_convert_accept_model_as_an_option_and_positionally()
    {
        var fixture = HfFixture.Dir("pretraining");
        var positional = CliRunner.Run("inspect", fixture, "--no-tree");
        var named = CliRunner.Run("inspect", "--model", fixture, "--no-tree");
        Assert.Equal(0, named.ExitCode);
        Assert.Equal(positional.StdOut, named.StdOut);
        var twice = CliRunner.Run("inspect", fixture, "--model", fixture);
        Assert.Equal(2, twice.ExitCode);
        Assert.Contains("--model: given twice", twice.StdErr, StringComparison.Ordinal);

        using var tmp = TestPaths.TempDir();
        var convert = CliRunner.Run("convert", "--model", fixture, "--output", tmp.File("out"));
        Assert.True(convert.ExitCode == 0, convert.StdErr);
        Assert.True(File.Exists(tmp.File("out/model.safetensors")));
        // The output positionally after --model: the positional fills what the options left out.
        var mixed = CliRunner.Run("convert", "--model", fixture, tmp.File("mixed"));
        Assert.True(mixed.ExitCode == 0, mixed.StdErr);
        Assert.Equal(File.ReadAllBytes(tmp.File("out/model.safetensors")), File.ReadAllBytes(tmp.File("mixed/model.safetensors")));
        // The weights a conversion initialises are warned of as the CLI's other warnings are (CliErrors.Warn: a line break in
        // the path is a space; it was written "\x0a"), and the output's path is shown as data: its escape drove the terminal.
        var based = tmp.File("base\nmodel");
        Directory.CreateDirectory(based);
        HfFixture.CopyCase("base-model", based);
        var headed = CliRunner.Run("convert", based, tmp.File("head\u001b[31m\u202e"), "--architecture", "BertForSequenceClassification");
        Assert.True(headed.ExitCode == 0, headed.StdErr);
        Assert.Equal($"warning: {tmp.File("base model")}: 2 weight(s) not in the checkpoint were newly initialised (train the model before using it): " +
            "classifier.bias, classifier.weight.", headed.StdErr.TrimEnd());
        Assert.EndsWith($" → {tmp.File("head\\x1b[31m\\u202e")}/model.safetensors (float32)", headed.StdOut.TrimEnd(), StringComparison.Ordinal);
        var extra = CliRunner.Run("convert", "--model", fixture, "--output", tmp.File("o2"), tmp.File("o3"));
        Assert.Equal(2, extra.ExitCode);
        Assert.Equal($"error: {tmp.File("o3")}: unexpected argument (--model and --output are both given as options).", extra.StdErr.Trim());
        var missing = CliRunner.Run("convert", "--model", fixture);
        Assert.Equal(2, missing.ExitCode);
        Assert.Equal("error: --output: required (the directory to write).", missing.StdErr.Trim());
        Assert.False(Directory.Exists(tmp.File("o2")));
    }

    [Fact]
    public void Bench_pretrain_memory_takes_threads_as_every_computing_command_does() =>
        Assert.True(Has("bench pretrain-memory", "--threads"));

    [Fact]
    public void Pretrain_data_takes_max_length_and_still_its_old_spelling()
    {
        Assert.True(Has("pretrain-data", "--max-length"));
        Assert.False(Has("pretrain-data", "--max-seq-length"));
        Assert.DoesNotContain("--max-seq-length", CliRunner.Run("pretrain-data", "--help").StdOut, StringComparison.Ordinal);
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", Enumerable.Range(0, 6).Select(i => $"the movie {i} was good . the actors were fine . it ended .")));
        var vocab = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt");
        foreach (var (flag, dir) in new[] { ("--max-length", "a"), ("--max-seq-length", "b") })
        {
            var r = CliRunner.Run("pretrain-data", "--input", tmp.File("c.txt"), "--vocab", vocab, "--output", tmp.File(dir), flag, "24", "--dupe-factor", "1");
            Assert.True(r.ExitCode == 0, r.StdErr);
            Assert.Equal(24, PretrainingDataset.Open(tmp.File(dir)).Manifest.MaxSeqLength);
        }
    }

    [Fact]
    public void Evaluate_takes_max_examples_and_writes_beside_the_model_by_default()
    {
        using var tmp = TestPaths.TempDir();
        // The data's and the output's paths are shown as data: their escape drove the terminal, U+202E reversed the line.
        var dir = tmp.File("odd\u001b[31m\u202e");
        var shown = tmp.File("odd\\x1b[31m\\u202e");
        var model = Path.Combine(dir, "model");
        Directory.CreateDirectory(model);
        HfFixture.CopyCase("sequence-classification", model);
        var data = Path.Combine(dir, "custom.csv");
        File.WriteAllText(data, "text,label\na fine film,LABEL_1\nan odd film,LABEL_1\na dull film,LABEL_0\n");
        var r = CliRunner.Run("evaluate", "--model", model, "--task", "csv", "--data", data, "--max-examples", "2");
        Assert.True(r.ExitCode == 0, r.StdErr);
        // The fixture predicts LABEL_0 for these texts, and the first two are LABEL_1: both precision and recall have a zero
        // denominator for one class each, which sklearn warns of (UndefinedMetricWarning) and scores 0.
        Assert.Contains($"warning: undefined (a zero denominator), counted as 0 as scikit-learn's zero_division default: the precision of 'LABEL_1' (never predicted), the recall of 'LABEL_0' (no example of {shown}/custom.csv has that label);",
            r.StdErr, StringComparison.Ordinal);
        var written = Path.Combine(model, "eval", "custom.metrics.json");
        Assert.Contains($"wrote {shown}/model/eval/custom.metrics.json\n", r.StdOut, StringComparison.Ordinal);
        Assert.StartsWith($"{shown}/custom.csv: 2 examples (the first of", r.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(r.StdOut + r.StdErr, c => c is '\u001b' or '\u202e');
        Assert.Equal(2, (int)JsonNode.Parse(File.ReadAllText(written))!["examples"]!);
        Assert.False(File.Exists("metrics.json"), "evaluate wrote into the current directory");
        var bad = CliRunner.Run("evaluate", "--model", model, "--task", "csv", "--data", data, "--max-examples", "0");
        Assert.Equal(2, bad.ExitCode);
    }

    [Fact]
    public void Embed_names_the_labels_in_its_output_and_plot_legend()
    {
        using var tmp = TestPaths.TempDir();
        var sst2 = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
        var model = HfFixture.Dir("sequence-classification");
        // --task sst2: the file's 0/1 become negative/positive, as the legend shows them.
        var r = CliRunner.Run("embed", "--model", model, "--input", sst2, "--task", "sst2", "--output", tmp.File("e.jsonl"), "--plot", tmp.File("p.png"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        var labels = File.ReadAllLines(tmp.File("e.jsonl")).Select(l => (string)JsonNode.Parse(l)!["label"]!).ToList();
        Assert.Equal(["negative", "negative", "positive", "negative", "negative", "negative", "positive", "positive"], labels);

        // A classifier's own id2label names class ids read from a label column.
        Assert.Equal(["neg", "pos", "neg"], Cli.Commands.EmbedInput.NameLabels(["0", "1", "0"], new Dictionary<int, string> { [0] = "neg", [1] = "pos" }));
        Assert.Equal(["0", "1"], Cli.Commands.EmbedInput.NameLabels(["0", "1"], new Dictionary<int, string> { [0] = "LABEL_0", [1] = "LABEL_1" }));
        Assert.Equal(["x", "1"], Cli.Commands.EmbedInput.NameLabels(["x", "1"], new Dictionary<int, string> { [0] = "neg", [1] = "pos" }));
    }
}
