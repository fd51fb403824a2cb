using System.Globalization;
using System.Text;
using BertSharp.Data;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Data;

/// <summary>
/// Trap 1: IMDb's train file is sorted by label, and the old default (the file's tail) gave a validation set of one label.
/// The data here is generated to look like it: a CSV of reviews, all negatives first, then all positives.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class StratifiedSplitTests
{
    private static readonly string Vocab = Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", "vocab.txt");

    /// <summary>An IMDb-like review,sentiment CSV of <paramref name="perLabel"/> negatives followed by as many positives.</summary>
    internal static string SortedImdbLike(TempDir tmp, int perLabel)
    {
        var sb = new StringBuilder("review,sentiment\n");
        foreach (var (label, word) in new[] { ("negative", "dull"), ("positive", "great") })
        {
            for (var i = 0; i < perLabel; i++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"\"the film number {i} was {word} , the actors were {word} .\",{label}\n");
            }
        }
        var path = tmp.File("imdb_like_train.csv");
        File.WriteAllText(path, sb.ToString());
        return path;
    }

    private static TextDataset Read(string path) => DatasetReader.Read(path, TaskSpec.Imdb);

    [Fact]
    public void Tail_split_of_a_label_sorted_file_holds_one_label_and_the_stratified_split_keeps_the_proportions()
    {
        using var tmp = TestPaths.TempDir();
        var data = Read(SortedImdbLike(tmp, 100));

        // The original failure: the tail of a label-sorted file is all one label.
        var (tailTrain, tailVal) = DataSplit.TrainValidation(data, 0.1, SplitMethod.Tail, 42);
        Assert.Equal(["positive"], tailVal!.Examples.Select(e => e.Label).Distinct());
        Assert.Equal(100, tailTrain.Examples.Count(e => e.Label == "negative"));

        // The default now: 10 % of each label, the two parts a partition of the file.
        var (train, val) = DataSplit.TrainValidation(data, 0.1, SplitMethod.Stratified, 42);
        Assert.Equal(10, val!.Examples.Count(e => e.Label == "negative"));
        Assert.Equal(10, val.Examples.Count(e => e.Label == "positive"));
        Assert.Equal(90, train.Examples.Count(e => e.Label == "negative"));
        Assert.Equal(90, train.Examples.Count(e => e.Label == "positive"));
        Assert.Equal(data.Examples.Select(e => e.Line).Order(), train.Examples.Concat(val.Examples).Select(e => e.Line).Order());

        // Seeded: the same seed picks the same examples, another seed others.
        var again = DataSplit.TrainValidation(data, 0.1, SplitMethod.Stratified, 42).Validation!;
        var other = DataSplit.TrainValidation(data, 0.1, SplitMethod.Stratified, 43).Validation!;
        Assert.Equal(val.Examples.Select(e => e.Line), again.Examples.Select(e => e.Line));
        Assert.NotEqual(val.Examples.Select(e => e.Line).Order(), other.Examples.Select(e => e.Line).Order());
        // The training part is in a random order, so "the first N" (--max-train-examples) is not one label either.
        Assert.Equal(2, train.Examples.Take(20).Select(e => e.Label).Distinct().Count());
    }

    [Fact]
    public void Stratified_shares_follow_the_largest_remainders()
    {
        // Counts 5, 7, 3 and 6 held out: exact shares 2.0, 2.8, 1.2 → floors 2, 2, 1; the one leftover example goes to the
        // largest remainder (b's 0.8), not to the first label or the smallest remainder (a's 0.0). Every floor is at least 1,
        // so the rule that gives each label one example cannot stand in for this one (with counts 5, 3, 2 it did).
        string[] labels = [.. Enumerable.Repeat("a", 5), .. Enumerable.Repeat("b", 7), .. Enumerable.Repeat("c", 3)];
        var data = new TextDataset("mem", "label", [.. labels.Select((l, i) => new TextExample("t" + i, null, l, i + 2))]);
        var val = DataSplit.TrainValidation(data, 6, SplitMethod.Stratified, 1).Validation!;
        Assert.Equal(["a", "a", "b", "b", "b", "c"], val.Examples.Select(e => e.Label).Order());
    }

    [Fact]
    public void Label_blocks_are_found_in_sorted_files_only()
    {
        using var tmp = TestPaths.TempDir();
        var blocks = DataSplit.LabelBlocks(Read(SortedImdbLike(tmp, 20)))!;
        Assert.Equal([("negative", 2, 21, 20), ("positive", 22, 41, 20)], blocks);
        Assert.Equal("negative (lines 2-21), positive (lines 22-41)", DataSplit.DescribeBlocks(blocks));
        var interleaved = new TextDataset("mem", "label", [.. Enumerable.Range(0, 20).Select(i => new TextExample("t", null, (i % 2).ToString(CultureInfo.InvariantCulture), i + 2))]);
        Assert.Null(DataSplit.LabelBlocks(interleaved));
    }

    [Fact]
    public void Finetune_on_a_sorted_file_says_what_it_did_and_tail_split_warns()
    {
        using var tmp = TestPaths.TempDir();
        var data = SortedImdbLike(tmp, 20);
        string[] Run(string output, params string[] extra) =>
        [
            "finetune", "--task", "imdb", "--data", data, "--output", tmp.File(output), "--config", "tiny", "--vocab", Vocab,
            "--epochs", "1", "--batch-size", "8", "--max-length", "24", "--lr", "1e-3", "--device", "cpu", .. extra,
        ];
        var stratified = CliRunner.Run(Run("a"));
        Assert.True(stratified.ExitCode == 0, stratified.StdErr);
        Assert.Contains("validation: a stratified random 4 examples of", stratified.StdErr, StringComparison.Ordinal);
        Assert.Contains("is sorted by label: negative (lines 2-21), positive (lines 22-41); the split does not depend on that order", stratified.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("holds only label", stratified.StdErr, StringComparison.Ordinal);
        var args = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(tmp.File("a/training_args.json")))!;
        Assert.Equal("stratified", (string)args["split"]!);

        // The old behaviour, asked for explicitly, is flagged twice: the sorted file and the one-label validation set.
        var tail = CliRunner.Run(Run("b", "--split", "tail"));
        Assert.True(tail.ExitCode == 0, tail.StdErr);
        Assert.Contains("warning: " + data + " is sorted by label", tail.StdErr, StringComparison.Ordinal);
        // The library names its fields (split=tail, eval_data); the CLI shows them as the flags that set them.
        Assert.Contains("its tail is not a fair validation set — drop --split tail (the default splits stratified by label) or give --eval-data.",
            tail.StdErr, StringComparison.Ordinal);
        Assert.Contains("examples of " + data + " (--split tail)", tail.StdErr, StringComparison.Ordinal);
        Assert.Contains("warning: the validation split holds only label 'positive' (4 examples)", tail.StdErr, StringComparison.Ordinal);

        // --shuffle, the old spelling of --split random, still works.
        var shuffled = CliRunner.Run(Run("c", "--shuffle"));
        Assert.True(shuffled.ExitCode == 0, shuffled.StdErr);
        Assert.Contains("validation: a random 4 examples of " + data + " (--split random, --seed ", shuffled.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Max_train_examples_that_cut_a_sorted_file_to_one_label_is_flagged()
    {
        using var tmp = TestPaths.TempDir();
        var data = SortedImdbLike(tmp, 20);
        var run = CliRunner.Run("finetune", "--task", "imdb", "--data", data, "--eval-data", data, "--max-train-examples", "10",
            "--output", tmp.File("m"), "--config", "tiny", "--vocab", Vocab, "--epochs", "1", "--max-length", "24", "--device", "cpu");
        Assert.True(run.ExitCode == 0, run.StdErr);
        Assert.Contains("warning: --max-train-examples 10: the first 10 training examples hold only label(s) 'negative' of 'negative', 'positive'", run.StdErr, StringComparison.Ordinal);
    }
}
