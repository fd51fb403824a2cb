using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Hardening;

/// <summary>
/// A model directory whose files disagree with each other (tokenizer against config.json, weights against the command's
/// task) is refused when it is loaded, with one line naming the file, instead of failing inside libtorch or running a head
/// it does not have.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class ModelDirectoryConsistencyTests
{
    private static void AssertOneLine(CliRunner.Result r, params string[] fragments)
    {
        Assert.True(r.ExitCode == 2, $"exit {r.ExitCode}: {r.StdErr}");
        var line = Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("error: ", line);
        foreach (var f in fragments)
        {
            Assert.Contains(f, line);
        }
    }

    /// <summary>A copy of an HF fixture case (vocab_size 512, vocab.txt of 512 tokens) to break.</summary>
    private static string CopyCase(TempDir tmp, string caseName)
    {
        var dir = tmp.File(caseName);
        TestPaths.CopyTree(HfFixture.Dir(caseName), dir);
        return dir;
    }

    [Fact]
    public void A_vocab_txt_longer_than_vocab_size_is_refused_before_any_text_reaches_the_model()
    {
        using var tmp = TestPaths.TempDir();
        var dir = CopyCase(tmp, "sequence-classification");
        File.AppendAllLines(Path.Combine(dir, "vocab.txt"), Enumerable.Range(0, 500).Select(i => "extra" + i));
        // 512 + 500 tokens: "extra499" is id 1011, past the 512-row embedding matrix.
        const string expected = "1012 tokens (ids up to 1011), but config.json vocab_size is 512";
        AssertOneLine(CliRunner.Run("predict", "--model", dir, "--text", "extra499"), Path.Combine(dir, "vocab.txt") + ": " + expected);
        File.WriteAllText(tmp.File("in.txt"), "extra499\n");
        AssertOneLine(CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("out.jsonl")),
            Path.Combine(dir, "vocab.txt") + ": " + expected);
        var e = Assert.Throws<BertSharpException>(() => BertPretrained.LoadTokenizer(dir, BertPretrained.LoadConfig(dir)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_tokenizer_json_with_the_id_vocab_size_is_refused_naming_tokenizer_json()
    {
        using var tmp = TestPaths.TempDir();
        var dir = CopyCase(tmp, "token-classification");
        var tok = BertTokenizer.FromDirectory(dir);
        Assert.Equal(512, tok.Vocab.Count);
        // One token more: its id is 512 == vocab_size, one past the last embedding row (511).
        new BertTokenizer(new Vocabulary([.. tok.Vocab.Tokens, "extra"]), tok.Normalizer, tok.Specials).Save(dir);
        Assert.Equal(513, BertTokenizer.FromDirectory(dir).Vocab.Count);
        AssertOneLine(CliRunner.Run("ner", "--model", dir, "--text", "extra"),
            Path.Combine(dir, "tokenizer.json") + ": 513 tokens (ids up to 512), but config.json vocab_size is 512");
    }

    [Fact]
    public void Ner_and_evaluate_refuse_a_sequence_classifier_as_predict_refuses_a_token_classifier()
    {
        using var tmp = TestPaths.TempDir();
        // Its classifier.* has the shape of a 3-tag token-classification head: only config.json's architectures tells them apart.
        var classifier = HfFixture.Dir("sequence-classification");
        var expected = Path.Combine(classifier, "config.json") + ": architectures is BertForSequenceClassification; expected {0} " +
                       "(a sequence classifier: run it with 'bert predict').";
        AssertOneLine(CliRunner.Run("ner", "--model", classifier, "--text", "hello world"), string.Format(expected, "BertForTokenClassification"));
        File.WriteAllText(tmp.File("tags.txt"), "hello O\nworld O\n");
        var metrics = tmp.File("m.json");
        AssertOneLine(CliRunner.Run("evaluate", "--model", classifier, "--task", "ner", "--data", tmp.File("tags.txt"), "--output", metrics),
            string.Format(expected, "BertForTokenClassification"));
        AssertOneLine(CliRunner.Run("evaluate", "--model", classifier, "--task", "swag", "--data", tmp.File("tags.txt"), "--output", metrics),
            string.Format(expected, "BertForMultipleChoice"));
        AssertOneLine(CliRunner.Run("evaluate", "--model", classifier, "--task", "squad", "--data", tmp.File("tags.txt"), "--output", metrics),
            string.Format(expected, "BertForQuestionAnswering"));
        Assert.False(File.Exists(metrics));
        var tagger = HfFixture.Dir("token-classification");
        AssertOneLine(CliRunner.Run("predict", "--model", tagger, "--text", "hello world"),
            Path.Combine(tagger, "config.json") + ": architectures is BertForTokenClassification; expected BertForSequenceClassification (a token classifier: run it with 'bert ner').");
        // The right model still runs.
        Assert.Equal(0, CliRunner.Run("ner", "--model", tagger, "--text", "hello world").ExitCode);
    }

    [Fact]
    public void A_vocabulary_up_to_vocab_size_still_loads()
    {
        using var tmp = TestPaths.TempDir();
        var dir = CopyCase(tmp, "sequence-classification");
        var config = BertPretrained.LoadConfig(dir);
        Assert.Equal(512, BertPretrained.LoadTokenizer(dir, config).Vocab.Count);
        // HF pads vocab_size past the vocabulary (e.g. to a multiple of 64): fewer tokens than rows is fine.
        config.VocabSize = 1024;
        Assert.Equal(512, BertPretrained.LoadTokenizer(dir, config).Vocab.Count);
    }
}
