using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Tokenization;
using BertSharp.Training;

namespace BertSharp.Tests.Data;

/// <summary>JSON-lines NER sentences without tokens: left out, as before, but said once with their count and first line.</summary>
public class TaggedCorpusEmptyLineTests
{
    private const string Word = """{"tokens": ["EU"], "ner_tags": ["B-ORG"]}""";
    private const string Empty = """{"tokens": [], "ner_tags": []}""";

    [Fact]
    public void Lines_without_tokens_are_left_out_with_one_warning_naming_the_count_and_the_first()
    {
        var warnings = new List<string>();
        var s = TaggedCorpus.ReadJsonLines("t.jsonl", string.Join("\n", Word, Empty, Word, "", Empty, Empty), null, warnings);
        Assert.Equal([1, 3], s.Select(x => x.Line));
        Assert.Equal(["t.jsonl: 3 lines with no tokens (\"tokens\": []) left out, the first line 2; an empty sentence adds nothing to training or scores."], warnings);
        warnings.Clear();
        TaggedCorpus.ReadJsonLines("t.jsonl", string.Join("\n", Empty, Word), null, warnings);
        Assert.Equal(["t.jsonl: 1 line with no tokens (\"tokens\": []) left out, the first line 1; an empty sentence adds nothing to training or scores."], warnings);
        warnings.Clear();
        TaggedCorpus.ReadJsonLines("t.jsonl", Word, null, warnings);
        Assert.Empty(warnings);
    }

    [Fact]
    public void The_fine_tuning_plan_warns_of_both_files_lines_without_tokens()
    {
        using var tmp = TestPaths.TempDir();
        var (train, dev) = (tmp.File("train.jsonl"), tmp.File("dev.jsonl"));
        File.WriteAllText(train, string.Join("\n", Word, """{"tokens": ["x"], "ner_tags": ["O"]}""", Empty));
        File.WriteAllText(dev, string.Join("\n", Empty, Word));
        var tokenizer = BertTokenizer.FromVocabFile(Path.Combine(TestPaths.Fixtures, "hf_bert", "token-classification", "vocab.txt"));
        var options = new HeadFineTuneOptions
        {
            Task = HeadTask.TokenClassification,
            Training = new TrainingOptions { DataPath = train, EvalDataPath = dev, OutputDir = tmp.File("out") },
        };
        var recipe = new TaggingRecipe(options, new ModelSource(BertConfig.FromPresetOrFile("tiny"), "m/config.json", null, tokenizer), 16, validates: true);
        Assert.Equal([$"{train}: 1 line with no tokens (\"tokens\": []) left out, the first line 3; an empty sentence adds nothing to training or scores.",
                      $"{dev}: 1 line with no tokens (\"tokens\": []) left out, the first line 1; an empty sentence adds nothing to training or scores."], recipe.Warnings);
    }

    [Fact]
    [Trait("Category", "Slow")]
    public void Finetune_and_evaluate_print_the_warning()
    {
        using var tmp = TestPaths.TempDir();
        var (train, dev, output) = (tmp.File("train.jsonl"), tmp.File("dev.jsonl"), tmp.File("ner"));
        File.WriteAllText(train, string.Join("\n", """{"tokens": ["Emma", "ran"], "ner_tags": ["B-PER", "O"]}""", Empty));
        File.WriteAllText(dev, string.Join("\n", Empty, Empty, """{"tokens": ["Emma"], "ner_tags": ["B-PER"]}"""));
        var run = CliRunner.Run("finetune", "--task", "ner", "--data", train, "--eval-data", dev, "--model", HfFixture.Dir("token-classification"),
            "--output", output, "--epochs", "1", "--max-length", "16");
        Assert.True(run.ExitCode == 0, run.StdErr);
        var all = run.StdOut + run.StdErr;
        Assert.Contains($"warning: {train}: 1 line with no tokens (\"tokens\": []) left out, the first line 2;", all, StringComparison.Ordinal);
        Assert.Contains($"warning: {dev}: 2 lines with no tokens (\"tokens\": []) left out, the first line 1;", all, StringComparison.Ordinal);
        var evaluate = CliRunner.Run("evaluate", "--model", output, "--data", dev, "--output", tmp.File("m.json"));
        Assert.True(evaluate.ExitCode == 0, evaluate.StdErr);
        Assert.Contains($"warning: {dev}: 2 lines with no tokens (\"tokens\": []) left out, the first line 1; an empty sentence adds nothing to training or scores.",
            evaluate.StdErr, StringComparison.Ordinal);
    }
}
