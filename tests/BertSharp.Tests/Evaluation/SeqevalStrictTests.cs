using System.Text.Json.Nodes;
using BertSharp.Evaluation;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using TorchSharp;

namespace BertSharp.Tests.Evaluation;

/// <summary>seqeval's strict mode (<c>mode="strict", scheme=...</c>) against the cases of seqeval's own tests and README.</summary>
public class SeqevalStrictTests
{
    private static IReadOnlyList<IReadOnlyList<string>> S(params string[] sentences) =>
        [.. sentences.Select(s => (IReadOnlyList<string>)s.Split(' '))];

    // seqeval's tests/test_scheme.py, test_iob2_tokens, test_ioe2_tokens, test_iobes_tokens and test_bilou_tokens (with
    // their _without_tag variants): tags → entities (TYPE START END). seqeval's ends are exclusive, these are the last tag.
    [Theory]
    [InlineData(SeqevalScheme.IOB2, "B-PER", "PER 0 0")]
    [InlineData(SeqevalScheme.IOB2, "I-PER", "")]
    [InlineData(SeqevalScheme.IOB2, "O I-PER", "")]
    [InlineData(SeqevalScheme.IOB2, "I-PER I-PER", "")]
    [InlineData(SeqevalScheme.IOB2, "I-PER B-ORG", "ORG 1 1")]
    [InlineData(SeqevalScheme.IOB2, "B-PER I-PER", "PER 0 1")]
    [InlineData(SeqevalScheme.IOB2, "B-PER I-ORG", "PER 0 0")]
    [InlineData(SeqevalScheme.IOB2, "B-PER B-PER", "PER 0 0;PER 1 1")]
    [InlineData(SeqevalScheme.IOB2, "B I", "_ 0 1")]
    [InlineData(SeqevalScheme.IOE2, "E-PER", "PER 0 0")]
    [InlineData(SeqevalScheme.IOE2, "I-PER", "")]
    [InlineData(SeqevalScheme.IOE2, "I-PER O", "")]
    [InlineData(SeqevalScheme.IOE2, "I-PER E-PER", "PER 0 1")]
    [InlineData(SeqevalScheme.IOE2, "I-PER E-ORG", "ORG 1 1")]
    [InlineData(SeqevalScheme.IOE2, "E-PER I-PER", "PER 0 0")]
    [InlineData(SeqevalScheme.IOE2, "E-PER E-ORG", "PER 0 0;ORG 1 1")]
    [InlineData(SeqevalScheme.IOE2, "E I", "_ 0 0")]
    [InlineData(SeqevalScheme.IOBES, "S-PER", "PER 0 0")]
    [InlineData(SeqevalScheme.IOBES, "B-PER", "")]
    [InlineData(SeqevalScheme.IOBES, "B-PER I-PER", "")]
    [InlineData(SeqevalScheme.IOBES, "B-PER E-PER", "PER 0 1")]
    [InlineData(SeqevalScheme.IOBES, "B-PER E-ORG", "")]
    [InlineData(SeqevalScheme.IOBES, "B-PER S-PER", "PER 1 1")]
    [InlineData(SeqevalScheme.IOBES, "I-PER E-PER", "")]
    [InlineData(SeqevalScheme.IOBES, "S-PER E-PER", "PER 0 0")]
    [InlineData(SeqevalScheme.IOBES, "S-PER S-PER", "PER 0 0;PER 1 1")]
    [InlineData(SeqevalScheme.IOBES, "B E", "_ 0 1")]
    [InlineData(SeqevalScheme.BILOU, "U-PER", "PER 0 0")]
    [InlineData(SeqevalScheme.BILOU, "B-PER", "")]
    [InlineData(SeqevalScheme.BILOU, "B-PER L-PER", "PER 0 1")]
    [InlineData(SeqevalScheme.BILOU, "B-PER L-ORG", "")]
    [InlineData(SeqevalScheme.BILOU, "B-PER U-PER", "PER 1 1")]
    [InlineData(SeqevalScheme.BILOU, "L-PER U-PER", "PER 1 1")]
    [InlineData(SeqevalScheme.BILOU, "U-PER L-PER", "PER 0 0")]
    [InlineData(SeqevalScheme.BILOU, "U U", "_ 0 0;_ 1 1")]
    // Longer chunks (worked out by seqeval's patterns): a chunk is read to its last inside tag, and one that does not end
    // there is dropped whole, its tags not read again.
    [InlineData(SeqevalScheme.IOB2, "B-PER I-PER I-PER O I-LOC B-LOC", "PER 0 2;LOC 5 5")]
    [InlineData(SeqevalScheme.IOE2, "I-PER I-LOC E-LOC", "LOC 1 2")]
    [InlineData(SeqevalScheme.IOBES, "B-PER I-PER I-PER E-PER S-LOC", "PER 0 3;LOC 4 4")]
    [InlineData(SeqevalScheme.BILOU, "B-PER I-PER O L-PER", "")]
    public void Strict_entities_are_seqevals(SeqevalScheme scheme, string tags, string expected)
    {
        var entities = SeqevalStrict.Entities(tags.Split(' '), scheme, "tags");
        Assert.Equal(expected, string.Join(';', entities.Select(e => $"{e.Type} {e.Start} {e.End}")));
    }

    [Fact]
    public void Strict_and_default_modes_score_seqevals_readme_examples()
    {
        // seqeval's README, "A minimum case to explain differences between the default and strict mode": NP is right by
        // default (an I- after O starts an entity) and wrong in strict IOB2 (no entity predicted: precision 0/0 → 0).
        var truth = S("B-NP I-NP O");
        var predicted = S("I-NP I-NP O");
        Assert.Equal(1.0, SeqevalMetrics.Evaluate(truth, predicted).Micro.F1, 12);
        var strict = SeqevalMetrics.Evaluate(truth, predicted, SeqevalScheme.IOB2);
        Assert.Equal(new EntityScores(0, 0, 0, 1) { Predicted = 0 }, strict.Micro);
        Assert.Equal(SeqevalScheme.IOB2, strict.StrictScheme);
        Assert.Null(SeqevalMetrics.Evaluate(truth, predicted).StrictScheme);
        // The README's strict classification_report of its first example: the same 0.5 as the default mode (valid IOB2).
        var card = SeqevalMetrics.Evaluate(S("O O O B-MISC I-MISC I-MISC O", "B-PER I-PER O"), S("O O B-MISC I-MISC I-MISC I-MISC O", "B-PER I-PER O"), SeqevalScheme.IOB2);
        Assert.Equal((0.5, 0.5, 0.5), (card.Micro.Precision, card.Micro.Recall, card.Micro.F1));
        Assert.Equal(0.8, card.Accuracy, 12);
        // A sentence starts afresh: an I-PER opening the second is no continuation of the first's B-PER.
        var split = SeqevalMetrics.Evaluate(S("O B-PER", "I-PER O"), S("O B-PER", "O O"), SeqevalScheme.IOB2);
        Assert.Equal((1, 1), (split.Micro.Support, split.Micro.Predicted));
        Assert.Equal(1.0, split.Micro.F1, 12);
    }

    [Theory]
    // seqeval raises on a prefix its scheme does not allow (Token.is_valid) and on a tag that is no prefix tag at all
    // (KeyError): one line here, naming the tag, the scheme and which input holds it. The default mode reads the same tag
    // as seqeval's get_entities does (worked out by hand, last column: predicted entities, each as "TYPE predicted/support"):
    // any first letter other than O opens an entity of the type after the dash, which the O ending the sentence closes.
    [InlineData(SeqevalScheme.IOB2, "S-PER", "predicted: tag 'S-PER' is not a tag of the IOB2 scheme, whose tags are B-TYPE, I-TYPE and O.", "PER 1/0")]
    [InlineData(SeqevalScheme.IOE2, "B-PER", "predicted: tag 'B-PER' is not a tag of the IOE2 scheme, whose tags are I-TYPE, E-TYPE and O.", "PER 1/0")]
    [InlineData(SeqevalScheme.IOBES, "U-PER", "predicted: tag 'U-PER' is not a tag of the IOBES scheme, whose tags are B-TYPE, I-TYPE, E-TYPE, S-TYPE and O.", "PER 1/0")]
    [InlineData(SeqevalScheme.BILOU, "b-PER", "predicted: tag 'b-PER' is not a tag of the BILOU scheme, whose tags are B-TYPE, I-TYPE, L-TYPE, U-TYPE and O.", "PER 1/0")]
    public void A_tag_outside_the_strict_scheme_is_an_error_naming_it(SeqevalScheme scheme, string tag, string message, string byDefault)
    {
        var e = Assert.Throws<BertSharpException>(() => SeqevalMetrics.Evaluate(S("O O"), [["O", tag]], scheme));
        Assert.Equal(message, e.Message);
        var report = SeqevalMetrics.Evaluate(S("O O"), [["O", tag]]);
        Assert.Equal(byDefault, string.Join(';', report.PerType.Select(kv => $"{kv.Key} {kv.Value.Predicted}/{kv.Value.Support}")));
        Assert.Equal(byDefault.Length > 0 ? 1 : 0, report.Micro.Predicted);
    }

    // seqeval raises IndexError on an empty tag in either mode (get_entities reads chunk[0]); the default mode read it as O
    // and scored the sentence as if it were one.
    [Theory]
    [InlineData(null)]
    [InlineData(SeqevalScheme.IOB2)]
    public void An_empty_tag_is_refused_naming_its_sentence_and_position(SeqevalScheme? scheme)
    {
        IReadOnlyList<IReadOnlyList<string>> gold = [["O", "O"], ["B-PER", "O"]];
        IReadOnlyList<IReadOnlyList<string>> empty = [["O", "O"], ["B-PER", ""]];
        var e = Assert.Throws<ArgumentException>("predicted", () => SeqevalMetrics.Evaluate(gold, empty, scheme));
        Assert.Equal("sentence 1 has an empty tag at position 1; expected a tag such as O or B-PER. (Parameter 'predicted')", e.Message);
        e = Assert.Throws<ArgumentException>("truth", () => SeqevalMetrics.Evaluate(empty, gold, scheme));
        Assert.Equal("sentence 1 has an empty tag at position 1; expected a tag such as O or B-PER. (Parameter 'truth')", e.Message);
        e = Assert.Throws<ArgumentException>("tags", () => SeqevalMetrics.Entities(["B-PER", ""]));
        Assert.Equal("the tag at position 1 is empty; expected a tag such as O or B-PER. (Parameter 'tags')", e.Message);
    }

    [Fact]
    public void Metrics_json_records_the_mode_and_reads_it_back()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("metrics.json");
        var strict = SeqevalMetrics.Evaluate(S("B-PER O"), S("B-PER O"), SeqevalScheme.BILOU);
        MetricsReport.ForTagging(new TaggingEvaluation(strict, 0.5, [], 0), 1).Save(path);
        var json = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.Equal(("strict", "BILOU"), ((string)json["ner_mode"]!, (string)json["ner_scheme"]!));
        Assert.Equal(SeqevalScheme.BILOU, MetricsReport.Load(path).Entities!.StrictScheme);
        MetricsReport.ForTagging(new TaggingEvaluation(SeqevalMetrics.Evaluate(S("B-PER O"), S("B-PER O")), 0.5, [], 0), 1).Save(path);
        json = JsonNode.Parse(File.ReadAllText(path))!;
        Assert.Equal("default", (string)json["ner_mode"]!);
        Assert.Null(json["ner_scheme"]);
        Assert.Null(MetricsReport.Load(path).Entities!.StrictScheme);
        // A file from before the mode was recorded was scored by the default mode.
        json.AsObject().Remove("ner_mode");
        File.WriteAllText(path, json.ToJsonString());
        Assert.Null(MetricsReport.Load(path).Entities!.StrictScheme);
        json["ner_mode"] = "strict";
        File.WriteAllText(path, json.ToJsonString());
        Assert.Equal($"{path}: not a metrics file (\"ner_mode\" strict with \"ner_scheme\" null; expected default without a scheme, or strict with one of IOB2, IOE2, IOBES, BILOU).",
            Assert.Throws<BertSharpException>(() => MetricsReport.Load(path)).Message);
    }

    [Fact]
    public void Bert_evaluate_ner_mode_strict_scores_the_crafted_file_by_the_scheme()
    {
        using var tmp = TestPaths.TempDir();
        var model = tmp.File("model");
        // The fixture's encoder under a head that says I-PER for every word, whatever the text.
        using (var m = BertPretrained.Load<BertForTokenClassification>(HfFixture.Dir("token-classification")))
        {
            m.Config.Id2Label = new SortedDictionary<int, string> { [0] = "O", [1] = "B-PER", [2] = "I-PER", [3] = "B-LOC", [4] = "I-LOC" };
            using (torch.no_grad())
            {
                var parameters = m.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
                parameters["classifier.weight"].zero_();
                parameters["classifier.bias"].copy_(torch.tensor(new float[] { 0, 0, 1, 0, 0 }));
            }
            BertPretrained.Save(m, model, new SaveOptions(TokenizerFrom: HfFixture.Dir("token-classification")));
        }
        var data = tmp.File("dev.conll");
        File.WriteAllText(data, "anna B-PER\nsmith I-PER\n");
        string[] Args(string output, params string[] more) => ["evaluate", "--model", model, "--task", "ner", "--data", data, "--output", tmp.File(output), .. more];
        JsonNode Saved(string output) => JsonNode.Parse(File.ReadAllText(tmp.File(output)))!;

        // Predicted I-PER I-PER: by default an entity from the first word, right; in strict IOB2 no entity at all.
        var byDefault = CliRunner.Run(Args("default.json"));
        Assert.True(byDefault.ExitCode == 0, byDefault.StdErr);
        Assert.Equal(1.0, (double)Saved("default.json")["metrics"]!["f1"]!);
        Assert.Equal("default", (string)Saved("default.json")["ner_mode"]!);
        var strict = CliRunner.Run(Args("strict.json", "--ner-mode", "strict", "--ner-scheme", "IOB2"));
        Assert.True(strict.ExitCode == 0, strict.StdErr);
        Assert.Equal(0.0, (double)Saved("strict.json")["metrics"]!["f1"]!);
        Assert.Equal(("strict", "IOB2"), ((string)Saved("strict.json")["ner_mode"]!, (string)Saved("strict.json")["ner_scheme"]!));
        Assert.Contains("the precision overall and of every type (the model predicted no entity)", strict.StdErr, StringComparison.Ordinal);

        // Refused before the model runs, and nothing written: a tag of the model outside the scheme, a mode without its
        // scheme, a scheme the default mode would ignore.
        CliRunner.Run(Args("ioe.json", "--ner-mode", "strict", "--ner-scheme", "IOE2"))
            .AssertOneLineError($"the model's tags ({model}): tag 'B-PER' is not a tag of the IOE2 scheme, whose tags are I-TYPE, E-TYPE and O.");
        CliRunner.Run(Args("ioe.json", "--ner-mode", "strict")).AssertOneLineError("--ner-mode strict: give the scheme with --ner-scheme (IOB2, IOE2, IOBES, BILOU).");
        CliRunner.Run(Args("ioe.json", "--ner-scheme", "IOBES")).AssertOneLineError("--ner-scheme IOBES: only with --ner-mode strict, or alone for a model " +
            "fine-tuned in strict mode (the model's training_args.json records no strict mode; the default mode reads IOB1, IOB2, IOE and IOBES tags alike).");
        Assert.False(File.Exists(tmp.File("ioe.json")));

        // A model fine-tuned in strict mode is scored so unless --ner-mode says otherwise: its F1 is its run's own.
        var trainingArgs = Path.Combine(model, "training_args.json");
        File.WriteAllText(trainingArgs, """{"task": "ner", "ner_mode": "strict", "ner_scheme": "IOB2"}""");
        var recorded = CliRunner.Run(Args("recorded.json"));
        Assert.True(recorded.ExitCode == 0, recorded.StdErr);
        Assert.Equal(0.0, (double)Saved("recorded.json")["metrics"]!["f1"]!);
        Assert.Contains(", seqeval's strict mode, IOB2 scheme (the model's training_args.json)\n", recorded.StdOut, StringComparison.Ordinal);
        var overridden = CliRunner.Run(Args("overridden.json", "--ner-mode", "default"));
        Assert.True(overridden.ExitCode == 0, overridden.StdErr);
        Assert.Equal(1.0, (double)Saved("overridden.json")["metrics"]!["f1"]!);
        Assert.Contains(", seqeval's default mode (--ner-mode)\n", overridden.StdOut, StringComparison.Ordinal);
        // --ner-scheme alone keeps the recorded strict mode and changes only its scheme: it was refused as if the mode were default.
        File.WriteAllText(trainingArgs, """{"task": "ner", "ner_mode": "strict", "ner_scheme": "IOBES"}""");
        var rescheme = CliRunner.Run(Args("rescheme.json", "--ner-scheme", "IOB2"));
        Assert.True(rescheme.ExitCode == 0, rescheme.StdErr);
        Assert.Equal(("strict", "IOB2"), ((string)Saved("rescheme.json")["ner_mode"]!, (string)Saved("rescheme.json")["ner_scheme"]!));
        Assert.Contains(", seqeval's strict mode, IOB2 scheme (--ner-scheme, strict as in the model's training_args.json)\n", rescheme.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain("seqeval", byDefault.StdOut, StringComparison.Ordinal);
        File.WriteAllText(trainingArgs, """{"task": "ner", "ner_mode": "strict"}""");
        CliRunner.Run(Args("bad.json")).AssertOneLineError(
            $"{trainingArgs}: \"ner_mode\" strict with \"ner_scheme\" null; expected default without a scheme, or strict with one of IOB2, IOE2, IOBES, BILOU.");
        Assert.False(File.Exists(tmp.File("bad.json")));

        // A model whose id2label names a class "" (HF allows it) is refused before it runs: seqeval reads the entities from
        // the tag names and failed on the empty one once the model had predicted it.
        File.Delete(trainingArgs);
        var configPath = Path.Combine(model, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(configPath))!;
        config["id2label"]!["3"] = "";
        config.AsObject().Remove("label2id");
        File.WriteAllText(configPath, config.ToJsonString());
        CliRunner.Run(Args("unnamed.json")).AssertOneLineError(
            $"error: {configPath}: field 'id2label': the name of class \"3\" is empty; expected a tag such as O or B-PER (seqeval reads the entities from the tag names).");
        Assert.False(File.Exists(tmp.File("unnamed.json")));
        // Two classes named O (HF allows it too) made seqeval's entities ambiguous and a prediction's tag say nothing of its class.
        config["id2label"]!["3"] = "O";
        File.WriteAllText(configPath, config.ToJsonString());
        CliRunner.Run(Args("twice.json")).AssertOneLineError(
            $"error: {configPath}: field 'id2label': classes \"0\" and \"3\" are both named \"O\"; expected each tag once, in id order.");
        Assert.False(File.Exists(tmp.File("twice.json")));
    }
}
