using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Training;

/// <summary>
/// <c>--truncation-side</c> through finetune → training_args.json → evaluate / predict: the model remembers how it was
/// trained to cut long texts, and an explicit flag overrides it (tiny preset, fixture vocabulary, 8 word pieces; seconds).
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class TruncationSideFineTuneTests
{
    private static string Data(string name) => Path.Combine(TestPaths.Fixtures, "data", name);

    private static string Vocab => Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt");

    // 27 word pieces with the fixture vocabulary: head, tail and head+tail keep different ones at 8.
    private const string Long = "demonstrates that the director of such hollywood blockbusters as patriot games can still turn out a small , personal film with an emotional wallop .";

    [Fact]
    public void Finetune_records_the_side_and_evaluate_and_predict_use_it_unless_told_otherwise()
    {
        using var tmp = TestPaths.TempDir();
        var model = tmp.File("model");
        var run = CliRunner.Run("finetune", "--task", "sst2", "--data", Data("sst2_train.tsv"), "--eval-data", Data("sst2_train.tsv"), "--output", model,
            "--config", "tiny", "--vocab", Vocab, "--epochs", "2", "--batch-size", "4", "--lr", "1e-3", "--max-length", "8", "--device", "cpu",
            "--truncation-side", "head+tail", "--head-tokens", "2");
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Contains("  long texts: head+tail (a longer text keeps its first 2 and last 4 word pieces)", run.StdErr, StringComparison.Ordinal);
        var args = JsonNode.Parse(File.ReadAllText(Path.Combine(model, "training_args.json")))!;
        Assert.Equal("head+tail", (string)args["truncation_side"]!);
        Assert.Equal(2, (int)args["head_tokens"]!);

        double[] headTail, head;
        using (var c = TextClassifier.Load(model, "cpu"))
        {
            Assert.Equal(TruncationSide.HeadAndTail, c.TruncationSide);
            Assert.Equal(2, c.HeadTokens);
            var pieces = c.Tokenizer.Encode(Long).Tokens;
            var kept = c.Encode([new TextExample(Long, null, null, 1)])[0].InputIds.Select(id => c.Tokenizer.Vocab[id]);
            Assert.Equal(["[CLS]", pieces[1], pieces[2], .. pieces[^5..]], kept);
            headTail = [.. c.Predict(Long).Probabilities];
            c.TruncationSide = TruncationSide.Head;
            c.HeadTokens = null;
            head = [.. c.Predict(Long).Probabilities];
        }
        Assert.NotEqual(headTail[0], head[0], 6);

        // predict follows training_args.json; --truncation-side head overrides it.
        File.WriteAllText(tmp.File("in.txt"), Long + "\n");
        foreach (var (extra, expected) in new[] { (Array.Empty<string>(), headTail), (["--truncation-side", "head"], head) })
        {
            var p = CliRunner.Run(["predict", "--model", model, "--input", tmp.File("in.txt"), "--output", tmp.File("out.jsonl"), "--device", "cpu", .. extra]);
            Assert.True(p.ExitCode == 0, p.StdErr);
            var probs = JsonNode.Parse(File.ReadAllLines(tmp.File("out.jsonl"))[0])!["probabilities"]!;
            Assert.Equal(expected[0], (double)probs["negative"]!, 1e-6);
        }

        var eval = CliRunner.Run("evaluate", "--model", model, "--data", Data("sst2_train.tsv"), "--output", tmp.File("e.json"), "--device", "cpu");
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        Assert.Contains("max length 8, truncation side head+tail (head 2)", eval.StdOut, StringComparison.Ordinal);
        // finetune's plan warns of the cut training examples in evaluate's words on the same file, the longest named: it said
        // "N examples reach the maximum length (truncated)", counting an example of exactly max_length as cut.
        var cut = Assert.Single(eval.StdErr.Split('\n'), l => l.Contains(" inputs are longer than 8 tokens (longest ", StringComparison.Ordinal));
        Assert.Contains(cut, run.StdErr.Split('\n'));
        var tail = CliRunner.Run("evaluate", "--model", model, "--data", Data("sst2_train.tsv"), "--output", tmp.File("t.json"), "--device", "cpu",
            "--truncation-side", "tail");
        Assert.True(tail.ExitCode == 0, tail.StdErr);
        Assert.Contains("max length 8, truncation side tail", tail.StdOut, StringComparison.Ordinal);
        Assert.NotEqual(JsonNode.Parse(File.ReadAllText(tmp.File("e.json")))!["metrics"]!["loss"]!.ToJsonString(),
            JsonNode.Parse(File.ReadAllText(tmp.File("t.json")))!["metrics"]!["loss"]!.ToJsonString());
    }

    [Theory]
    [InlineData(new[] { "--truncation-side", "middle" }, "--truncation-side 'middle': expected head, tail or head+tail.")]
    [InlineData(new[] { "--head-tokens", "3" }, "--head-tokens 3: only with --truncation-side head+tail, and at least 0.")]
    [InlineData(new[] { "--truncation-side", "head+tail", "--head-tokens", "-1" }, "--head-tokens -1: only with --truncation-side head+tail, and at least 0.")]
    public void Bad_truncation_options_are_one_line_exit_2_and_no_output(string[] extra, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var run = CliRunner.Run(["finetune", "--task", "sst2", "--data", Data("sst2_train.tsv"), "--output", tmp.File("m"), "--config", "tiny",
            "--vocab", Vocab, "--device", "cpu", .. extra]);
        Assert.Equal(2, run.ExitCode);
        Assert.Equal(expected, run.StdErr.Trim().Replace("error: ", "", StringComparison.Ordinal));
        Assert.False(Directory.Exists(tmp.File("m")));
    }
}
