using System.Text;
using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Server;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Modeling;

/// <summary>
/// Trap 4: the maximum length differed by command (predict cut silently to the fine-tune length, serve capped at
/// tokenizer_config's 128 even with --max-length 256, finetune --task imdb defaulted to 512 on a model trained to 256).
/// One rule now: the trained length (model_max_length), --max-length up to max_position_embeddings, warnings for cut
/// inputs and untrained positions.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public sealed class ModelLengthTests
{
    private static readonly string Tiny = Path.Combine(TestPaths.RepoRoot, "models", "bertsharp-tiny");

    [Fact]
    public void The_rule_defaults_to_the_trained_length_and_warns_beyond_it()
    {
        var trained = ModelLength.Resolve(256, 512, null, "m");
        Assert.Equal(new ResolvedLength(256, 256, 512, null), trained);
        // A task default below the trained length is kept; above it (imdb's 512 on a 256 model) it is bounded.
        Assert.Equal(128, ModelLength.Resolve(256, 512, null, "m", preferred: 128).Length);
        Assert.Equal(256, ModelLength.Resolve(256, 512, null, "m", preferred: 512).Length);
        // --max-length may go past the trained length, with a warning naming the untrained positions.
        var beyond = ModelLength.Resolve(256, 512, 300, "m");
        Assert.Equal(300, beyond.Length);
        Assert.Equal("max_length 300: m was trained on inputs of at most 256 tokens; positions 256-299 were never trained, so inputs longer than 256 tokens get untrained position embeddings.", beyond.Warning);
        // The library names the field; the CLI prints the flag.
        Assert.StartsWith("--max-length 300: m was trained on inputs", Cli.CliErrors.RenameFields(beyond.Warning!), StringComparison.Ordinal);
        Assert.Null(ModelLength.Resolve(256, 512, 200, "m").Warning);
        var tooLong = Assert.Throws<BertSharpException>(() => ModelLength.Resolve(256, 512, 513, "m"));
        Assert.Equal(["max_length"], tooLong.Fields);
        Assert.StartsWith("max_length 513: ", tooLong.Message, StringComparison.Ordinal);
        Assert.StartsWith("--max-length 513: ", Cli.CliErrors.Describe(tooLong), StringComparison.Ordinal);
        Assert.Contains("above the model's max_position_embeddings 512 (m)", Assert.Throws<BertSharpException>(() => ModelLength.Resolve(256, 512, 513, "m")).Message, StringComparison.Ordinal);
        Assert.Throws<BertSharpException>(() => ModelLength.Resolve(256, 512, 2, "m"));
        // A model_max_length above the positions (HF's sentinel, a wrong file) is bounded by them.
        Assert.Equal(512, ModelLength.Resolve(100_000, 512, null, "m").Length);
    }

    [Fact]
    public void Truncation_warnings_count_the_inputs_cut()
    {
        Assert.Null(ModelLength.TruncationWarning(0, 10, 128));
        Assert.Equal("the input is longer than 8 tokens (longest 20) and was truncated to 8; the tokens after that were not read (max_length sets the limit).",
            ModelLength.TruncationWarning(1, 1, 8, 20));
        Assert.StartsWith("3 of 1,000 inputs are longer than 128 tokens and were truncated to 128", ModelLength.TruncationWarning(3, 1000, 128), StringComparison.Ordinal);
        // A tail or head+tail cut reads the end of the text: the warning says what was kept instead of "the words after".
        // 256 tokens keep 254 word pieces; head+tail's default head for 254 is 64 (128/510 of them, rounded), the tail 190.
        Assert.Equal("10,027 of 25,000 inputs are longer than 256 tokens (longest 2,875) and were truncated to 256; cut head+tail (a longer "
            + "text keeps its first 64 and last 190 word pieces) (max_length and truncation_side set the cut).",
            ModelLength.TruncationWarning(10_027, 25_000, 256, 2_875, TruncationSide.HeadAndTail));
        var tail = ModelLength.TruncationWarning(1, 1, 8, side: TruncationSide.Tail)!;
        Assert.EndsWith("truncated to 8; cut tail (a longer text keeps its last 6 word pieces) (max_length and truncation_side set the cut).",
            tail, StringComparison.Ordinal);
        Assert.DoesNotContain("--", tail, StringComparison.Ordinal);
        // What a CLI user reads: the flags.
        Assert.EndsWith("(--max-length and --truncation-side set the cut).", Cli.CliErrors.RenameFields(tail), StringComparison.Ordinal);
        Assert.Contains("cut head+tail (a longer text keeps its first 2 and last 4 word pieces)",
            ModelLength.TruncationWarning(1, 1, 8, side: TruncationSide.HeadAndTail, headTokens: 2), StringComparison.Ordinal);
        Assert.DoesNotContain("words after", ModelLength.TruncationWarning(2, 5, 8, side: TruncationSide.Head, pair: true), StringComparison.Ordinal);
        // Where the side is no option of the caller's, the warning says what was cut without naming a side to choose.
        Assert.EndsWith("truncated to 8; a text of a pair that is cut keeps its start; the longer text is cut first (max_length sets the limit).",
            ModelLength.TruncationWarning(2, 5, 8, pair: true, sideIsOption: false), StringComparison.Ordinal);
    }

    [Fact]
    public void The_shipped_model_records_its_trained_length()
    {
        // Stage 3 of its pre-training ran at 256 word pieces: model_max_length says so.
        var tokenizer = BertSharp.Tokenization.BertTokenizer.FromDirectory(Tiny);
        Assert.Equal(256, ModelLength.Trained(BertConfig.Load(Path.Combine(Tiny, "config.json")), tokenizer));
    }

    [Fact]
    public void Finetune_imdb_on_a_model_trained_to_256_defaults_to_256_and_records_the_trained_length()
    {
        using var tmp = TestPaths.TempDir();
        var data = tmp.File("reviews.csv");
        File.WriteAllText(data, "review,sentiment\n\"a fine film .\",positive\n\"a dull film .\",negative\n\"great acting .\",positive\n\"poor acting .\",negative\n");
        var model = tmp.File("imdb");
        var run = CliRunner.Run("finetune", "--task", "imdb", "--data", data, "--eval-data", data, "--model", Tiny, "--output", model,
            "--epochs", "1", "--batch-size", "4", "--device", "cpu");
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Contains("max length: 256 tokens (the model is trained to 256, max_position_embeddings 512)", run.StdErr, StringComparison.Ordinal);
        Assert.Equal(256, (int)JsonNode.Parse(File.ReadAllText(Path.Combine(model, "training_args.json")))!["max_length"]!);
        Assert.Equal(256, (int)JsonNode.Parse(File.ReadAllText(Path.Combine(model, "tokenizer_config.json")))!["model_max_length"]!);

        // The fine-tuned model is read at its trained length by predict, evaluate and serve alike.
        using (var classifier = TextClassifier.Load(model, "cpu"))
        {
            Assert.Equal(256, classifier.MaxLength);
        }
        using var served = ServedModel.Load(model, "cpu", null);
        Assert.Equal(256, served.MaxLength);

        // A run at a shorter length keeps the positions pre-training trained (HF keeps model_max_length the same way).
        var shorter = CliRunner.Run("finetune", "--task", "imdb", "--data", data, "--eval-data", data, "--model", Tiny, "--output", tmp.File("short"),
            "--epochs", "1", "--batch-size", "4", "--max-length", "64", "--device", "cpu");
        Assert.True(shorter.ExitCode == 0, shorter.StdErr);
        Assert.Equal(256, (int)JsonNode.Parse(File.ReadAllText(tmp.File("short/tokenizer_config.json")))!["model_max_length"]!);
        Assert.Equal(64, (int)JsonNode.Parse(File.ReadAllText(tmp.File("short/training_args.json")))!["max_length"]!);
    }

    [Fact]
    public void Serve_accepts_up_to_the_requested_length_beyond_a_shorter_tokenizer_config()
    {
        using var tmp = TestPaths.TempDir();
        // The original failure: tokenizer_config said 128 and serve --max-length 256 still answered 422 above 128.
        HfFixture.CopyCase("sequence-classification", tmp.Path, f => f != "tokenizer_config.json");
        File.WriteAllText(tmp.File("tokenizer_config.json"), """{"do_lower_case": true, "model_max_length": 32}""");
        using (var served = ServedModel.Load(tmp.Path, "cpu", 48))
        {
            Assert.Equal(48, served.MaxLength);
            Assert.Contains("positions 32-47 were never trained", served.Length.Warning, StringComparison.Ordinal);
            served.CheckLength(string.Join(' ', Enumerable.Repeat("the", 46)), "text");
        }
        using (var fallback = ServedModel.Load(tmp.Path, "cpu", null))
        {
            Assert.Equal(32, fallback.MaxLength);
            Assert.Null(fallback.Length.Warning);
        }
        Assert.Throws<BertSharpException>(() => ServedModel.Load(tmp.Path, "cpu", 65));
    }

    [Fact]
    public void Predict_evaluate_nsp_and_multiple_choice_warn_when_they_cut_inputs()
    {
        using var tmp = TestPaths.TempDir();
        HfFixture.CopyCase("sequence-classification", tmp.Path);
        var longText = string.Join(' ', Enumerable.Repeat("the movie", 20));
        var predict = CliRunner.Run("predict", "--model", tmp.Path, "--text", longText, "--max-length", "16");
        Assert.True(predict.ExitCode == 0, predict.StdErr);
        Assert.Contains("warning: the input is longer than 16 tokens (longest 42) and was truncated to 16", predict.StdErr, StringComparison.Ordinal);

        var data = tmp.File("eval.tsv");
        File.WriteAllText(data, new StringBuilder("sentence\tlabel\n").Append(longText).Append("\t1\nshort one\t0\n").ToString());
        var evaluate = CliRunner.Run("evaluate", "--model", tmp.Path, "--task", "sst2", "--data", data, "--max-length", "16", "--output", tmp.File("metrics.json"));
        Assert.Contains("warning: 1 of 2 inputs are longer than 16 tokens (longest 42) and were truncated to 16", evaluate.StdErr, StringComparison.Ordinal);

        // Pairs cut longest-first, in predict's pair words less the side no flag sets ("cut head" named a --truncation-side
        // value these commands do not have): nsp said "the words after that were not read", which a longest-first cut does
        // not do, and multiple choice cut its choices without a word.
        const string pairCut = "and was truncated to 8; a text of a pair that is cut keeps its start; the longer text is cut first (--max-length sets the limit).";
        var nsp = CliRunner.Run("nsp", "--model", HfFixture.Dir("pretraining"), "--text", longText, "--text-pair", "it was happy", "--max-length", "8");
        Assert.True(nsp.ExitCode == 0, nsp.StdErr);
        Assert.Contains($"warning: the input is longer than 8 tokens (longest 46) {pairCut}", nsp.StdErr, StringComparison.Ordinal);
        var choice = CliRunner.Run("predict", "--model", HfFixture.Dir("multiple-choice"), "--text", longText, "--choice", "it was happy", "--choice", "the sky eats",
            "--max-length", "8");
        Assert.True(choice.ExitCode == 0, choice.StdErr);
        Assert.Contains($"warning: the input is longer than 8 tokens (longest 48) {pairCut}", choice.StdErr, StringComparison.Ordinal);
        // evaluate encoded its choices with SwagData.Encode and cut them without a word.
        var swag = tmp.File("swag.csv");
        File.WriteAllText(swag, $"sent1,sent2,ending0,ending1,label\n{longText},it was,happy,eats,0\n");
        var evaluateChoices = CliRunner.Run("evaluate", "--model", HfFixture.Dir("multiple-choice"), "--data", swag, "--max-length", "8",
            "--output", tmp.File("choices.json"));
        Assert.True(evaluateChoices.ExitCode == 0, evaluateChoices.StdErr);
        Assert.Contains($"warning: the input is longer than 8 tokens (longest 46) {pairCut}", evaluateChoices.StdErr, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("predict")]
    [InlineData("evaluate")]
    [InlineData("finetune")]
    [InlineData("serve")]
    [InlineData("embed")]
    [InlineData("ner")]
    public void Help_states_the_one_rule(string command)
    {
        var help = CliRunner.Run(command, "--help");
        Assert.Contains("model_max_length in tokenizer_config.json", help.StdOut.ReplaceLineEndings(" "), StringComparison.Ordinal);
    }
}
