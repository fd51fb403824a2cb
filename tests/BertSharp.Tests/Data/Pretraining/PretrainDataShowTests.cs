using System.Text.RegularExpressions;
using BertSharp.Data.Pretraining;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Data.Pretraining;

/// <summary><c>bert pretrain-data --show N</c>: instances decoded, masked positions as &lt;input|original&gt;.</summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public partial class PretrainDataShowTests
{
    [Fact]
    public void An_instance_is_written_with_its_segments_and_masks()
    {
        string[] vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "the", "movie", "was", "good", "dog", "it", "ended"];
        // [CLS] the movie was good [SEP] it ended [SEP]; "movie" masked, "good" replaced by "dog", "ended" kept.
        var instance = new PretrainingInstance([2, 5, 4, 7, 9, 3, 10, 11, 3], 6, false, [2, 4, 7], [6, 8, 11]);
        Assert.Equal(
            "#7: B follows A, 9 tokens (A 4, B 2), 3 masked\n  [CLS] the <[MASK]|movie> was <dog|good> [SEP] || it <ended|ended> [SEP]\n",
            InstanceText.Format(instance, vocab, 7));
    }

    [Fact]
    public void Show_prints_the_first_instances_of_the_data_and_they_decode_to_the_originals()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = Training.PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        var r = CliRunner.Run("pretrain-data", "--stats", data, "--vocab", vocab, "--show", "2");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains(InstanceText.Legend, r.StdOut, StringComparison.Ordinal);
        var tokens = File.ReadAllLines(vocab);
        var first = PretrainingDataset.Open(data).Read().Take(2).ToList();
        var shown = r.StdOut.Split('\n').Where(l => l.StartsWith("  [CLS]", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, shown.Count);
        for (var i = 0; i < 2; i++)
        {
            // Replacing every <input|original> by its original gives the instance before masking.
            var original = Masked().Replace(shown[i].Trim().Replace(" || ", " ", StringComparison.Ordinal), m => m.Groups[2].Value);
            Assert.Equal(string.Join(' ', first[i].OriginalIds().Select(id => tokens[id])), original);
            Assert.Equal(first[i].MaskedPositions.Length, Masked().Matches(shown[i]).Count);
        }

        // A vocabulary token with an escape is shown as data, where it drove the terminal.
        using (var odd = TestPaths.TempDir())
        {
            var (oddData, oddVocab) = Training.PretrainingTrainerTests.SmallData(odd, dupe: 1, vocabToken: t => t == "movie" ? "mo\u001b[31mvie" : t);
            var o = CliRunner.Run("pretrain-data", "--stats", oddData, "--vocab", oddVocab, "--show", "2");
            Assert.True(o.ExitCode == 0, o.StdErr);
            Assert.DoesNotContain('\u001b', o.StdOut);
            Assert.Contains("mo\\x1b[31mvie", o.StdOut, StringComparison.Ordinal);
        }

        var noVocab = CliRunner.Run("pretrain-data", "--stats", data, "--show", "2");
        Assert.Equal(2, noVocab.ExitCode);
        Assert.Contains("--show: needs --vocab", noVocab.StdErr, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"<([^|<>]+)\|([^|<>]+)>")]
    private static partial Regex Masked();
}
