using System.Globalization;
using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Tests.Server;

namespace BertSharp.Tests.Inference;

/// <summary>
/// Trap 5: a model fine-tuned on sentence pairs (MRPC) accepted one text without complaint in predict, on the page and in
/// the hint printed after fine-tuning. The task recorded in training_args.json now makes the second text required.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public sealed class SentencePairTests
{
    /// <summary>The fixture classifier, recorded as fine-tuned on MRPC (the weights do not matter to the checks).</summary>
    private static string PairModel(TempDir tmp)
    {
        HfFixture.CopyCase("sequence-classification", tmp.Path);
        MarkAsMrpc(tmp.Path);
        return tmp.Path;
    }

    private static void MarkAsMrpc(string dir) => File.WriteAllText(Path.Combine(dir, "training_args.json"), """{"task": "mrpc"}""");

    [Fact]
    public void Predict_requires_the_second_text_of_a_pair_model()
    {
        using var tmp = TestPaths.TempDir();
        var model = PairModel(tmp);
        var single = CliRunner.Run("predict", "--model", model, "--text", "the company said profit rose .");
        Assert.Equal(2, single.ExitCode);
        Assert.Contains($"--text-pair: required; {model} was fine-tuned on sentence pairs (task mrpc)", single.StdErr, StringComparison.Ordinal);
        Assert.Equal("", single.StdOut);

        var pair = CliRunner.Run("predict", "--model", model, "--text", "the company said profit rose .", "--text-pair", "profit rose , the company said .");
        Assert.True(pair.ExitCode == 0, pair.StdErr);
        using var classifier = TextClassifier.Load(model, "cpu");
        Assert.True(classifier.PairInput);
        Assert.StartsWith(classifier.Predict("the company said profit rose .", "profit rose , the company said .").Label + " (", pair.StdOut, StringComparison.Ordinal);

        // A file of single texts is refused too, naming its first line without a pair.
        File.WriteAllText(tmp.File("texts.txt"), "one text\nanother\n");
        var file = CliRunner.Run("predict", "--model", model, "--input", tmp.File("texts.txt"));
        Assert.Equal(2, file.ExitCode);
        Assert.Contains("texts.txt line 1: no second text", file.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("csv")]
    [InlineData("jsonl")]
    public void Predict_reads_the_pairs_of_a_csv_by_its_column_flags_and_writes_both_texts(string output)
    {
        // Columns named by flags (not the task the model records): a file of another task's columns, read as the model's
        // own, and the text_pair column of a written CSV or field of written JSON lines were run by no test.
        using var tmp = TestPaths.TempDir();
        var model = PairModel(tmp);
        File.WriteAllText(tmp.File("pairs.csv"), "first,second\n\"the company said, profit rose .\",profit rose .\nshe sat down .,he stood up .\n");
        var r = CliRunner.Run("predict", "--model", model, "--input", tmp.File("pairs.csv"), "--text-column", "first", "--text-pair-column", "second",
            "--output", tmp.File("out." + output));
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal($"wrote 2 predictions to {tmp.File("out." + output)}\n", r.StdOut);

        using var classifier = TextClassifier.Load(model, "cpu");
        var lines = File.ReadAllLines(tmp.File("out." + output));
        (string Line, string Text, string Pair)[] rows = [("2", "\"the company said, profit rose .\"", "profit rose ."), ("3", "she sat down .", "he stood up .")];
        if (output == "jsonl")
        {
            Assert.Equal(rows.Length, lines.Length);
            for (var i = 0; i < rows.Length; i++)
            {
                var expected = classifier.Predict(rows[i].Text.Trim('"'), rows[i].Pair);
                var o = JsonNode.Parse(lines[i])!.AsObject();
                Assert.Equal(["line", "text", "text_pair", "label", "score", "probabilities"], o.Select(kv => kv.Key));
                Assert.Equal((int.Parse(rows[i].Line, CultureInfo.InvariantCulture), rows[i].Text.Trim('"'), rows[i].Pair, expected.Label),
                    ((int)o["line"]!, (string)o["text"]!, (string)o["text_pair"]!, (string)o["label"]!));
                Assert.Equal(expected.Score, (double)o["score"]!, 1e-5);
                var probabilities = o["probabilities"]!.AsObject();
                Assert.Equal(["LABEL_0", "LABEL_1", "LABEL_2"], probabilities.Select(kv => kv.Key));
                Assert.Equal(expected.Probabilities, probabilities.Select(kv => (double)kv.Value!), (a, b) => Math.Abs(a - b) < 1e-5);
            }
            return;
        }
        Assert.Equal("line,text,text_pair,label,score,p_LABEL_0,p_LABEL_1,p_LABEL_2", lines[0]);
        Assert.Equal(rows.Length + 1, lines.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            var expected = classifier.Predict(rows[i].Text.Trim('"'), rows[i].Pair);
            var prefix = $"{rows[i].Line},{rows[i].Text},{rows[i].Pair},{expected.Label},";
            Assert.StartsWith(prefix, lines[i + 1], StringComparison.Ordinal);
            var numbers = lines[i + 1][prefix.Length..].Split(',').Select(n => double.Parse(n, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal([expected.Score, .. expected.Probabilities], numbers, (a, b) => Math.Abs(a - b) < 1e-5);
        }
    }

    [Fact]
    public void Interactive_predict_asks_a_pair_model_for_both_texts()
    {
        using var tmp = TestPaths.TempDir();
        var model = PairModel(tmp);
        var stdin = Console.In;
        CliRunner.Result r;
        try
        {
            Console.SetIn(new StringReader("the company said profit rose .\nprofit rose , the company said .\n\n"));
            r = CliRunner.Run("predict", "--model", model, "--interactive");
        }
        finally
        {
            Console.SetIn(stdin);
        }
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("a sentence-pair model: type the first text, Enter, then the second", r.StdErr, StringComparison.Ordinal);
        Assert.Contains("A> B> ", r.StdErr, StringComparison.Ordinal);
        using var classifier = TextClassifier.Load(model, "cpu");
        Assert.StartsWith(classifier.Predict("the company said profit rose .", "profit rose , the company said .").Label + " (", r.StdOut, StringComparison.Ordinal);
        Assert.Single(r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));
    }

    private static string SingleTextModel(TempDir tmp)
    {
        HfFixture.CopyCase("sequence-classification", tmp.Path);
        File.WriteAllText(Path.Combine(tmp.Path, "training_args.json"), """{"task": "sst2"}""");
        return tmp.Path;
    }

    [Fact]
    public void The_library_refuses_what_the_model_was_not_fine_tuned_on_naming_text_pair()
    {
        using var pairTmp = TestPaths.TempDir();
        using var pairModel = TextClassifier.Load(PairModel(pairTmp), "cpu");
        var missing = Assert.Throws<BertSharpException>(() => pairModel.Predict("the company said profit rose ."));
        Assert.Equal($"text_pair: required; {pairTmp.Path} was fine-tuned on sentence pairs (task mrpc) and judges a second text against the first.", missing.Message);
        Assert.Equal(["text_pair"], missing.Fields);
        var second = Assert.Throws<BertSharpException>(() => pairModel.Predict([("a .", "b ."), ("c .", null)]));
        Assert.StartsWith("text_pair of inputs[1]: required; ", second.Message, StringComparison.Ordinal);

        using var singleTmp = TestPaths.TempDir();
        using var singleModel = TextClassifier.Load(SingleTextModel(singleTmp), "cpu");
        var extra = Assert.Throws<BertSharpException>(() => singleModel.Predict("a tender , heartfelt family drama .", "it is ."));
        Assert.Equal($"text_pair: not for this model; {singleTmp.Path} was fine-tuned on single texts (task sst2) and never saw a second one.", extra.Message);
        Assert.Equal(["text_pair"], extra.Fields);
        Assert.Equal(singleModel.Predict("a tender , heartfelt family drama ."), singleModel.Predict([("a tender , heartfelt family drama .", null)])[0],
            (a, b) => a.Label == b.Label && a.Score == b.Score);

        // With no training_args.json the task is unknown: a pair and a single text are both taken.
        using var unknownTmp = TestPaths.TempDir();
        HfFixture.CopyCase("sequence-classification", unknownTmp.Path);
        using var unknown = TextClassifier.Load(unknownTmp.Path, "cpu");
        Assert.Equal(2, unknown.Predict([("a .", "b ."), ("c .", null)]).Count);
    }

    [Fact]
    public void Predict_refuses_a_second_text_for_a_single_text_model()
    {
        using var tmp = TestPaths.TempDir();
        // Typed relative, as a user types it: the refusal named the full path the directory resolved to.
        var model = Path.GetRelativePath(Environment.CurrentDirectory, SingleTextModel(tmp));
        var r = CliRunner.Run("predict", "--model", model, "--text", "a tender , heartfelt family drama .", "--text-pair", "it is .");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"--text-pair: not for this model; {model} was fine-tuned on single texts (task sst2) and never saw a second one.", r.StdErr, StringComparison.Ordinal);
        Assert.Equal("", r.StdOut);

        File.WriteAllText(tmp.File("pairs.csv"), "first,second\nshe sat down .,he stood up .\n");
        var file = CliRunner.Run("predict", "--model", model, "--input", tmp.File("pairs.csv"), "--text-column", "first", "--text-pair-column", "second");
        Assert.Equal(2, file.ExitCode);
        Assert.Contains($"pairs.csv line 2: a second text; {model} was fine-tuned on single texts (task sst2)", file.StdErr, StringComparison.Ordinal);
        Assert.Equal("", file.StdOut);
    }

    [Fact]
    public async Task The_server_refuses_text_pair_for_a_single_text_model()
    {
        await using var host = await ServerHost.Start("sequence-classification",
            prepare: dir => File.WriteAllText(Path.Combine(dir, "training_args.json"), """{"task": "sst2"}"""));
        var (status, body) = await host.Post("/v1/classify", """{"text": "a tender , heartfelt family drama .", "text_pair": "it is ."}""");
        Assert.Equal(422, status);
        Assert.Contains("fine-tuned on single texts (task sst2): leave 'text_pair' out", (string)body!["error"]!, StringComparison.Ordinal);
        var (ok, _) = await host.Post("/v1/classify", """{"text": "a tender , heartfelt family drama ."}""");
        Assert.Equal(200, ok);
    }

    [Fact]
    public void A_single_text_model_takes_one_text_as_before()
    {
        using var tmp = TestPaths.TempDir();
        HfFixture.CopyCase("sequence-classification", tmp.Path);
        using (var classifier = TextClassifier.Load(tmp.Path, "cpu"))
        {
            Assert.False(classifier.PairInput);
        }
        // Row 3 of the fixture batch, one text: the label and the probabilities printed are the softmax of HF's logits for it.
        var r = CliRunner.Run("predict", "--model", tmp.Path, "--text", "a tender , heartfelt family drama .");
        Assert.True(r.ExitCode == 0, r.StdErr);
        var refs = HfFixture.Tensors("sequence-classification");
        double[] logits;
        try
        {
            logits = [.. refs["out.logits"][3].data<float>().Select(l => (double)l)];
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
        var hf = logits.Select(l => Math.Exp(l - logits.Max()) / logits.Sum(k => Math.Exp(k - logits.Max()))).ToArray();
        var best = Array.IndexOf(hf, hf.Max());
        var lines = r.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, lines.Length);
        Assert.Matches($@"^LABEL_{best} \(\d\.\d\d\)$", lines[0]);
        Assert.Equal(hf[best], double.Parse(lines[0][^5..^1], CultureInfo.InvariantCulture), 0.0051);
        var printed = lines[1].Split("  ").Select(p => p.Split(' ')).ToArray();
        Assert.Equal(["LABEL_0", "LABEL_1", "LABEL_2"], printed.Select(p => p[0]));
        for (var k = 0; k < hf.Length; k++)
        {
            Assert.Equal(hf[k], double.Parse(printed[k][1], CultureInfo.InvariantCulture), 0.0001);
        }
    }

    [Fact]
    public async Task The_server_says_a_pair_model_needs_text_pair()
    {
        await using var host = await ServerHost.Start("sequence-classification", prepare: MarkAsMrpc);
        Assert.True((bool)(await host.Health())["text_pair"]!);
        var (status, body) = await host.Post("/v1/classify", """{"text": "the company said profit rose ."}""");
        Assert.Equal(422, status);
        Assert.Contains("fine-tuned on sentence pairs (task mrpc): give 'text' and 'text_pair'", (string)body!["error"]!, StringComparison.Ordinal);
        var (ok, _) = await host.Post("/v1/classify", """{"text": "the company said profit rose .", "text_pair": "profit rose ."}""");
        Assert.Equal(200, ok);
    }

    [Fact]
    public void The_hint_after_an_mrpc_finetune_shows_text_pair()
    {
        using var tmp = TestPaths.TempDir();
        var r = CliRunner.Run("finetune", "--task", "mrpc", "--data", Path.Combine(TestPaths.Fixtures, "data", "mrpc_train.tsv"), "--val-size", "0",
            "--output", tmp.File("m"), "--config", "tiny", "--vocab", Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt"),
            "--epochs", "1", "--batch-size", "2", "--max-length", "48", "--device", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains($"bert predict --model {tmp.File("m")} --text \"...\" --text-pair \"...\"", r.StdOut, StringComparison.Ordinal);
    }
}
