using System.Globalization;
using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Inference;

/// <summary>
/// <see cref="ZeroShotClassifier"/> and <c>bert zero-shot</c> against HF's <c>ZeroShotClassificationPipeline.postprocess</c>,
/// written out here over the raw logits of each (text, hypothesis) pair of a three-label NLI model
/// (<see cref="CrossEncoderFixture.Nli"/>): the pairs are built here token by token, and the model run on them directly.
/// </summary>
public sealed class ZeroShotClassifierTests
{
    private const double Tolerance = 1e-6;

    private const string Text = "the cat sat on the table .";

    private static readonly string[] Candidates = ["music", "film", "school", "drama"];

    // The pair as HF's tokenizer builds it: [CLS] text [SEP] hypothesis [SEP], the text cut to keep the hypothesis whole
    // (only_first), type ids 0 then 1.
    private static EncodedExample Pair(TextClassifier c, string text, string hypothesis, int maxLength)
    {
        var a = c.Tokenizer.EncodeIds(text)[1..^1];
        var b = c.Tokenizer.EncodeIds(hypothesis)[1..^1];
        a = a[..Math.Min(a.Length, maxLength - 3 - b.Length)];
        int[] ids = [c.Tokenizer.ClsId, .. a, c.Tokenizer.SepId, .. b, c.Tokenizer.SepId];
        int[] types = [.. Enumerable.Repeat(0, a.Length + 2), .. Enumerable.Repeat(1, b.Length + 1)];
        return new EncodedExample(ids, types, float.NaN);
    }

    private static float[][] RawLogits(TextClassifier c, string text, IEnumerable<string> hypotheses, int maxLength) =>
        ClassifierRunner.Run(c.Model, [.. hypotheses.Select(h => Pair(c, text, h, maxLength))], 8, c.Tokenizer.PadId, withLabels: false, c.Device).Logits;

    private static double[] Softmax(params double[] x)
    {
        var e = x.Select(v => Math.Exp(v - x.Max())).ToArray();
        return [.. e.Select(v => v / e.Sum())];
    }

    // HF's postprocess, then its sort (descending; no ties in these logits).
    private static (string[] Labels, double[] Scores) Hf(float[][] logits, IReadOnlyList<string> labels, int entailment, bool multiLabel)
    {
        var contradiction = entailment == 0 ? logits[0].Length - 1 : 0;
        var scores = multiLabel || labels.Count == 1
            ? logits.Select(l => Softmax(l[contradiction], l[entailment])[1]).ToArray()
            : Softmax([.. logits.Select(l => (double)l[entailment])]);
        var order = Enumerable.Range(0, labels.Count).OrderByDescending(i => scores[i]).ToArray();
        return ([.. order.Select(i => labels[i])], [.. order.Select(i => scores[i])]);
    }

    private static void AssertHf((string[] Labels, double[] Scores) expected, ZeroShotResult actual)
    {
        Assert.Equal(expected.Labels, actual.Labels);
        Assert.Equal(expected.Scores.Length, actual.Scores.Count);
        for (var i = 0; i < expected.Scores.Length; i++)
        {
            Assert.Equal(expected.Scores[i], actual.Scores[i], Tolerance);
        }
    }

    [Fact]
    public void Single_label_is_a_softmax_over_entailment_logits_sorted_descending()
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        using var zs = ZeroShotClassifier.Load(nli.Path, "cpu");
        Assert.Equal((2, 0), (zs.EntailmentId, zs.ContradictionId));
        var logits = RawLogits(zs.Classifier, Text, Candidates.Select(l => $"This example is {l}."), zs.Classifier.MaxLength);
        var expected = Hf(logits, Candidates, entailment: 2, multiLabel: false);
        var result = zs.Classify(Text, Candidates);
        Assert.Equal(Text, result.Sequence);
        AssertHf(expected, result);
        Assert.Equal(1, result.Scores.Sum(), 1e-9);
        // The scores spread and the sort moved the labels: the order checked above is not the order given.
        Assert.NotEqual(Candidates, result.Labels);
        Assert.True(result.Scores[0] - result.Scores[^1] > 0.05, string.Join(", ", result.Scores));
    }

    [Fact]
    public void Multi_label_and_a_single_label_score_each_label_by_contradiction_against_entailment()
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        using var zs = ZeroShotClassifier.Load(nli.Path, "cpu");
        var logits = RawLogits(zs.Classifier, Text, Candidates.Select(l => $"This example is {l}."), zs.Classifier.MaxLength);
        var multi = zs.Classify(Text, Candidates, multiLabel: true);
        AssertHf(Hf(logits, Candidates, entailment: 2, multiLabel: true), multi);
        Assert.True(Math.Abs(multi.Scores.Sum() - 1) > 1e-3, string.Join(", ", multi.Scores));

        // One label: HF scores it as multi-label even without multi_label (a softmax over one label would be 1).
        var one = zs.Classify(Text, ["film"]);
        var single = RawLogits(zs.Classifier, Text, ["This example is film."], zs.Classifier.MaxLength)[0];
        Assert.Equal(["film"], one.Labels);
        Assert.Equal(Softmax(single[0], single[2])[1], one.Scores[0], Tolerance);
        Assert.True(one.Scores[0] < 1 - 1e-3, one.Scores[0].ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Labels_that_tokenize_alike_tie_and_come_in_hfs_order_the_reverse_of_the_given_one()
    {
        // The tiny model is uncased: "Film" and "film" make the same pair, hence the same score. HF's
        // reversed(scores.argsort()) over [.., x, x] (numpy's sort is stable for a few elements) puts the later label first.
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        using var zs = ZeroShotClassifier.Load(nli.Path, "cpu");
        foreach (var multiLabel in new[] { false, true })
        {
            var result = zs.Classify(Text, ["Film", "music", "film"], multiLabel: multiLabel);
            var film = result.Labels.ToList().IndexOf("film");
            Assert.Equal(result.Scores[film], result.Scores[result.Labels.ToList().IndexOf("Film")]);
            Assert.Equal("Film", result.Labels[film + 1]);
        }
    }

    [Fact]
    public void Entailment_first_reads_the_last_label_as_contradiction_and_its_name_ignores_case()
    {
        using var nli = CrossEncoderFixture.Nli("ENTAILMENT", "neutral", "contradiction");
        using var zs = ZeroShotClassifier.Load(nli.Path, "cpu");
        Assert.Equal((0, 2), (zs.EntailmentId, zs.ContradictionId));
        var logits = RawLogits(zs.Classifier, Text, Candidates.Select(l => $"This example is {l}."), zs.Classifier.MaxLength);
        AssertHf(Hf(logits, Candidates, entailment: 0, multiLabel: false), zs.Classify(Text, Candidates));
        AssertHf(Hf(logits, Candidates, entailment: 0, multiLabel: true), zs.Classify(Text, Candidates, multiLabel: true));
        // Not the scores of entailment at 2: the position of the label matters.
        Assert.True(Math.Abs(Hf(logits, Candidates, entailment: 2, multiLabel: false).Scores[0] - zs.Classify(Text, Candidates).Scores[0]) > 1e-3);
    }

    [Fact]
    public void The_template_is_filled_with_each_label_and_several_texts_are_scored_apart()
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        using var zs = ZeroShotClassifier.Load(nli.Path, "cpu");
        Assert.Equal("It is about film.", ZeroShotClassifier.Hypothesis("It is about {}.", "film"));
        string[] texts = [Text, "he was born in the city ."];
        var results = zs.Classify(texts, Candidates, "It is about {}.");
        for (var t = 0; t < texts.Length; t++)
        {
            // The hypotheses written out by hand: the pairs' tokens are [CLS] text [SEP] it is about music . [SEP] ...
            string[] hypotheses = ["It is about music.", "It is about film.", "It is about school.", "It is about drama."];
            var logits = RawLogits(zs.Classifier, texts[t], hypotheses, zs.Classifier.MaxLength);
            Assert.Equal(texts[t], results[t].Sequence);
            AssertHf(Hf(logits, Candidates, entailment: 2, multiLabel: false), results[t]);
        }
        // The default template gives other scores: the template reached the model.
        Assert.True(Math.Abs(zs.Classify(Text, Candidates).Scores[0] - results[0].Scores[0]) > 1e-4);
        Assert.Equal(["music", "film", "school"], ZeroShotClassifier.ParseLabels(" music, film ,,school ,"));
    }

    [Fact]
    public void A_long_text_is_cut_and_the_hypothesis_kept_whole()
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        const int maxLength = 16;
        using var zs = ZeroShotClassifier.Load(nli.Path, "cpu", maxLength);
        const string text = "he has no immediate plans for television advertising , believing it is unnecessary this early .";
        string[] labels = ["television advertising", "music"];
        const string template = "It is about {} , it was said .";
        // Longest-first would cut the 10-piece hypothesis to 6 or 7 pieces and keep as many of the text; only_first keeps
        // the hypothesis whole and 3 pieces of the text.
        var hypotheses = labels.Select(l => template.Replace("{}", l, StringComparison.Ordinal)).ToArray();
        Assert.Equal(10, zs.Classifier.Tokenizer.CountTokens(hypotheses[0]));
        Assert.True(zs.Classifier.Tokenizer.CountTokens(text) + zs.Classifier.Tokenizer.CountTokens(hypotheses[0]) + 3 > maxLength);
        var logits = RawLogits(zs.Classifier, text, hypotheses, maxLength);
        Assert.All(hypotheses, h => Assert.Equal(maxLength, Pair(zs.Classifier, text, h, maxLength).InputIds.Length));
        AssertHf(Hf(logits, labels, entailment: 2, multiLabel: true), zs.Classify(text, labels, template, multiLabel: true));

        // A hypothesis that leaves no room for one piece of text is refused, naming its label.
        var e = Assert.Throws<BertSharpException>(() => zs.Classify(text, ["music", "film film film film film film film film film"]));
        Assert.Equal(["candidate_labels"], e.Fields);
        Assert.Contains("[1]: the hypothesis \"This example is film film film film film film film film film.\" is ", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("word pieces, which leaves no room for the text within the maximum length of 16 tokens; expected a shorter label or hypothesis_template.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Refusals_name_the_model_labels_and_template()
    {
        var plain = HfFixture.Dir("sequence-classification");
        var e = Assert.Throws<BertSharpException>(() => ZeroShotClassifier.Load(plain, "cpu"));
        Assert.Equal($"{plain}: no entailment label; zero-shot classification needs an NLI model whose config.json id2label names one starting with \"entail\" (this model's labels: LABEL_0, LABEL_1, LABEL_2).", e.Message);
        using var one = CrossEncoderFixture.Temp(new JsonObject { ["id2label"] = new JsonObject { ["0"] = "entailment" }, ["label2id"] = new JsonObject { ["entailment"] = 0 } });
        Assert.StartsWith($"{one.Path}: not an NLI classifier;", Assert.Throws<BertSharpException>(() => ZeroShotClassifier.Load(one.Path, "cpu")).Message, StringComparison.Ordinal);

        // A model fine-tuned on single texts never read a hypothesis after its text.
        using var sst2 = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        File.WriteAllText(Path.Combine(sst2.Path, "training_args.json"), """{"task": "sst2"}""");
        Assert.Equal($"{sst2.Path}: not an NLI classifier; {sst2.Path} was fine-tuned on single texts (task sst2) and never saw a second one.",
            Assert.Throws<BertSharpException>(() => ZeroShotClassifier.Load(sst2.Path, "cpu")).Message);

        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        using var zs = ZeroShotClassifier.Load(nli.Path, "cpu");
        var template = Assert.Throws<BertSharpException>(() => zs.Classify(Text, Candidates, "This example is about"));
        Assert.Equal(["hypothesis_template"], template.Fields);
        Assert.Equal(["candidate_labels"], Assert.Throws<BertSharpException>(() => zs.Classify(Text, [])).Fields);
        var twice = Assert.Throws<BertSharpException>(() => zs.Classify(Text, ["film", "music", "film"]));
        Assert.EndsWith("[2]: \"film\" is given twice; expected each label once.", twice.Message, StringComparison.Ordinal);
        Assert.EndsWith("[1]: empty or white space only; expected a label.", Assert.Throws<BertSharpException>(() => zs.Classify(Text, ["film", " "])).Message, StringComparison.Ordinal);
        Assert.Equal(["sequences"], Assert.Throws<BertSharpException>(() => zs.Classify(" ", Candidates)).Fields);
    }

    [Fact]
    public void Cli_prints_the_labels_by_score_and_writes_jsonl_and_tsv()
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        using var work = TestPaths.TempDir();
        ZeroShotResult expected;
        using (var zs = ZeroShotClassifier.Load(nli.Path, "cpu"))
        {
            expected = zs.Classify(Text, Candidates, "It is about {}.", multiLabel: true);
        }
        var table = CliRunner.Run("zero-shot", "--model", nli.Path, "--text", Text, "--labels", "music, film,school,drama", "--hypothesis-template", "It is about {}.", "--multi-label");
        Assert.True(table.ExitCode == 0, table.StdErr);
        Assert.Equal([$"text: {Text}", .. expected.Labels.Select((l, i) => string.Create(CultureInfo.InvariantCulture, $"  {i + 1}. {expected.Scores[i]:0.0000}  {l}"))],
            table.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries));

        File.WriteAllLines(work.File("texts.txt"), [Text, Text]);
        string[] labels = [.. Candidates.SelectMany(l => new[] { "--label", l })];
        var jsonl = CliRunner.Run(["zero-shot", "--model", nli.Path, "--input", work.File("texts.txt"), "--labels", " music, film,school ,drama,", "--hypothesis-template", "It is about {}.", "--multi-label", "--output", work.File("out.jsonl")]);
        Assert.True(jsonl.ExitCode == 0, jsonl.StdErr);
        var rows = File.ReadAllLines(work.File("out.jsonl")).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        Assert.Equal(2, rows.Count);
        Assert.All(rows, o =>
        {
            Assert.Equal(["sequence", "labels", "scores"], o.Select(kv => kv.Key));
            Assert.Equal(Text, (string)o["sequence"]!);
            Assert.Equal(expected.Labels, o["labels"]!.AsArray().Select(x => (string)x!));
            Assert.Equal(expected.Scores.Select(s => Math.Round(s, 6)), o["scores"]!.AsArray().Select(x => (double)x!));
        });

        var tsv = CliRunner.Run(["zero-shot", "--model", nli.Path, "--text", Text, .. labels, "--hypothesis-template", "It is about {}.", "--multi-label", "--output", work.File("out.tsv")]);
        Assert.True(tsv.ExitCode == 0, tsv.StdErr);
        Assert.Equal(["index\trank\tlabel\tscore\ttext", .. expected.Labels.Select((l, i) => string.Create(CultureInfo.InvariantCulture, $"0\t{i + 1}\t{l}\t{expected.Scores[i]:0.######}\t{Text}"))],
            File.ReadAllLines(work.File("out.tsv")));
    }

    [Fact]
    public void Cli_refuses_bad_input_in_one_line_and_writes_nothing()
    {
        using var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
        using var work = TestPaths.TempDir();
        var output = work.File("out.jsonl");
        string[] run = ["zero-shot", "--model", nli.Path, "--text", Text, "--output", output];
        CliRunner.Run(run).AssertOneLineError("zero-shot: no candidate labels; give them with --labels \"a,b,c\" or --label (repeatable).");
        CliRunner.Run([.. run, "--labels", " , "]).AssertOneLineError("--labels: none given; expected at least one label.");
        CliRunner.Run([.. run, "--labels", "film,music,film"]).AssertOneLineError("--labels[2]: \"film\" is given twice; expected each label once.");
        CliRunner.Run([.. run, "--label", "film", "--label", "film"]).AssertOneLineError("--label[1]: \"film\" is given twice; expected each label once.");
        CliRunner.Run([.. run, "--labels", "film", "--label", "music"]).AssertOneLineError("not both");
        CliRunner.Run([.. run, "--labels", "film,music", "--hypothesis-template", "It is about"])
            .AssertOneLineError("--hypothesis-template \"It is about\": no {} where the label should go (e.g. \"This example is {}.\").");
        var plain = HfFixture.Dir("sequence-classification");
        CliRunner.Run("zero-shot", "--model", plain, "--text", Text, "--labels", "film,music", "--output", output)
            .AssertOneLineError("no entailment label; zero-shot classification needs an NLI model whose config.json id2label names one starting with \"entail\" (this model's labels: LABEL_0, LABEL_1, LABEL_2).");
        var notClassifier = HfFixture.Dir("masked-lm");
        var r = CliRunner.Run("zero-shot", "--model", notClassifier, "--text", Text, "--labels", "film,music", "--output", output);
        Assert.Equal(BertSharp.Cli.CliErrors.BadInput, r.ExitCode);
        Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.False(File.Exists(output));
    }
}
