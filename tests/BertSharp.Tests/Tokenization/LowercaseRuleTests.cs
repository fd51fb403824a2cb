using System.Text.Json.Nodes;
using BertSharp.Data.Pretraining;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Tokenization;

/// <summary>
/// Trap 6: tokenize and pretrain-data lower-cased by default whatever the vocabulary (a cased vocab.txt then sees almost
/// no capitalised word), while finetune --config guessed from the vocab. One rule now: --lowercase, else the tokenizer's
/// config, else the vocabulary decides; the decision is printed.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public sealed class LowercaseRuleTests
{
    private static string Cased => TokenizationFixtures.VocabPath("bert-base-cased");

    private static string Uncased => TokenizationFixtures.VocabPath("bert-base-uncased");

    [Fact]
    public void The_vocabulary_decides_when_nothing_else_does()
    {
        var cased = LowercaseRule.Resolve(Cased, null);
        Assert.False(cased.Lowercase);
        Assert.StartsWith("detected: ", cased.Source, StringComparison.Ordinal);
        Assert.Contains("have upper-case letters, e.g. '", cased.Source, StringComparison.Ordinal);
        // bert-base-uncased holds 'ℝ', an upper-case letter without a lower-case form: not a sign of a cased vocabulary.
        var uncased = LowercaseRule.Resolve(Uncased, null);
        Assert.True(uncased.Lowercase);
        Assert.Equal("lower-casing on (detected: no token of bert-base-uncased-vocab.txt has an upper-case letter)", uncased.ToString());
        Assert.Equal(new LowercaseDecision(true, "lowercase=true given"), LowercaseRule.Resolve(Cased, true));
    }

    [Fact]
    public void A_tokenizer_config_beside_vocab_txt_wins_over_detection_but_not_beside_other_names()
    {
        using var tmp = TestPaths.TempDir();
        File.Copy(Cased, tmp.File("vocab.txt"));
        File.Copy(Cased, tmp.File("cased-vocab.txt"));
        File.WriteAllText(tmp.File("tokenizer_config.json"), """{"do_lower_case": true}""");
        var d = LowercaseRule.Resolve(tmp.File("vocab.txt"), null);
        Assert.Equal(new LowercaseDecision(true, $"do_lower_case in {tmp.File("tokenizer_config.json")}"), d);
        Assert.Equal(d, LowercaseRule.Resolve(tmp.Path, null));
        // A vocabulary file of another name is not part of an HF directory: the folder's config is not its config.
        Assert.False(LowercaseRule.Resolve(tmp.File("cased-vocab.txt"), null).Lowercase);
    }

    [Fact]
    public void Tokenize_keeps_the_case_of_a_cased_vocabulary_and_says_why()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("in.txt"), "Hello Paris\n");
        var r = CliRunner.Run("tokenize", "--vocab", Cased, "--input", tmp.File("in.txt"));
        Assert.True(r.ExitCode == 0, r.StdErr);
        // Before: ["[CLS]", "hello", "paris", "[SEP]"] — lower-cased text looked up in a cased vocabulary.
        Assert.Equal(["[CLS]", "Hello", "Paris", "[SEP]"], JsonNode.Parse(r.StdOut.Trim())!["tokens"]!.AsArray().Select(t => (string)t!));
        Assert.StartsWith("tokenize: lower-casing off (detected: ", r.StdErr, StringComparison.Ordinal);
        var forced = CliRunner.Run("tokenize", "--vocab", Cased, "--input", tmp.File("in.txt"), "--lowercase", "true");
        Assert.Equal("hello", (string)JsonNode.Parse(forced.StdOut.Trim())!["tokens"]![1]!);
        Assert.Contains("lower-casing on (--lowercase)", forced.StdErr, StringComparison.Ordinal);
        // The line quotes the vocabulary's tokens, which are the file's data: an escape in one is shown, not sent to the terminal.
        var vocab = tmp.File("vocab.txt");
        File.WriteAllText(vocab, "[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nparis\nA\u001b[31mB\n");
        const string Detected = "lower-casing off (detected: 1 tokens of vocab.txt have upper-case letters, e.g. 'A\\x1b[31mB')";
        var escaped = CliRunner.Run("tokenize", "--vocab", vocab, "--input", tmp.File("in.txt"));
        Assert.Equal("tokenize: " + Detected, escaped.StdErr.TrimEnd('\n'));
        // The input's name is shown as data as well: a folder listing can bring any file name.
        File.WriteAllText(tmp.File("cor\u001b[31mpus.txt"), "hello paris. paris hello.\n\nhello hello. paris paris.\n");
        var built = CliRunner.Run("pretrain-data", "--input", tmp.File("cor\u001b[31mpus.txt"), "--vocab", vocab, "--output", tmp.File("da\u202eta"), "--dupe-factor", "1");
        Assert.True(built.ExitCode == 0, built.StdErr);
        Assert.Contains("tokenized with " + Detected + "\n", built.StdOut, StringComparison.Ordinal);
        Assert.Contains("cor\\x1b[31mpus.txt: ", built.StdOut, StringComparison.Ordinal);
        // So is the output's: U+202E reversed the rest of the line.
        Assert.Contains($" shard(s) to {tmp.File("da\\u202eta")} (", built.StdOut, StringComparison.Ordinal);
        Assert.DoesNotContain(built.StdOut, c => c is '\u001b' or '\u202e');
    }

    [Fact]
    public void Pretrain_data_and_finetune_follow_the_same_rule()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("corpus.txt"), string.Join("\n\n", Enumerable.Range(0, 8).Select(i =>
            $"Anna went to Paris in {1990 + i}. She saw the Louvre. Then she came home to Berlin. It rained all day.")));
        var r = CliRunner.Run("pretrain-data", "--input", tmp.File("corpus.txt"), "--vocab", Cased, "--output", tmp.File("data"), "--dupe-factor", "1");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("tokenized with lower-casing off (detected: ", r.StdOut, StringComparison.Ordinal);
        Assert.False(PretrainingDataset.Open(tmp.File("data")).Manifest.Lowercase);

        var data = tmp.File("train.tsv");
        File.WriteAllText(data, "sentence\tlabel\nAnna liked Paris\t1\nBerlin was grey\t0\nParis was lovely\t1\nThe Louvre was shut\t0\n");
        var f = CliRunner.Run("finetune", "--task", "sst2", "--data", data, "--val-size", "0", "--config", "tiny", "--vocab", Cased, "--output", tmp.File("m"),
            "--epochs", "1", "--max-length", "16", "--device", "cpu");
        Assert.True(f.ExitCode == 0, f.StdErr);
        Assert.Contains("lower-casing off (detected: ", f.StdErr, StringComparison.Ordinal);
        Assert.False((bool)JsonNode.Parse(File.ReadAllText(tmp.File("m/tokenizer_config.json")))!["do_lower_case"]!);
    }

    [Theory]
    [InlineData("tokenize")]
    [InlineData("pretrain-data")]
    [InlineData("finetune")]
    public void Help_states_the_rule(string command) =>
        Assert.Contains("else detected from the vocabulary", CliRunner.Run(command, "--help").StdOut.ReplaceLineEndings(" "), StringComparison.Ordinal);
}
