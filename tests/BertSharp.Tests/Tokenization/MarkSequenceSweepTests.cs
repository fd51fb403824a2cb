using System.IO.Compression;
using System.Text.Json;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Tokenization;

/// <summary>
/// Issue 21 item 15: sequences of combining marks give HF's ids and offsets. NFD puts a run of marks in canonical order
/// across code points, and HF aligns the reordered characters positionally; the per-code-point sweep cannot see either.
/// The golden file holds npm tokenizers@0.23.2 output (tools/hf_mark_sweep.js) for every combining mark of planes 0, 1
/// and 14 in fixed contexts and for 4,000 seeded random mixtures of bases (several planes) and marks, with accent
/// stripping lowercased (bert-base-uncased) and cased (bert-base-cased vocabulary, strip_accents on).
/// </summary>
public class MarkSequenceSweepTests
{
    [Theory]
    [InlineData("uncased", "bert-base-uncased", true)]
    [InlineData("cased-strip-accents", "bert-base-cased", false)]
    public void Every_mark_in_context_and_random_mark_sequences_match_huggingface(string key, string model, bool lowercase)
    {
        var tok = BertTokenizer.FromVocabFile(TokenizationFixtures.VocabPath(model), lowercase, stripAccents: true);
        var options = new EncodeOptions { AddSpecialTokens = false };
        var differing = new List<string>();
        var count = 0;
        using var reader = new StreamReader(new GZipStream(File.OpenRead(Path.Combine(TokenizationFixtures.Dir, "mark-sequences.hf.jsonl.gz")), CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            using var doc = JsonDocument.Parse(line);
            var text = doc.RootElement.GetProperty("text").GetString()!;
            var expected = doc.RootElement.GetProperty(key);
            var ids = expected[0].EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var offsets = expected[1].EnumerateArray().Select(e => e.GetInt32()).ToArray();
            var e = tok.Encode(text, null, options);
            var actualOffsets = e.Offsets.SelectMany(o => new[] { o.Start, o.End }).ToArray();
            count++;
            if (!e.Ids.SequenceEqual(ids) || !actualOffsets.SequenceEqual(offsets))
            {
                differing.Add($"{Escape(text)}: ids [{string.Join(",", e.Ids)}] vs HF [{string.Join(",", ids)}], offsets [{string.Join(",", actualOffsets)}] vs HF [{string.Join(",", offsets)}]");
            }
        }
        Assert.Equal(6543, count);
        Assert.True(differing.Count == 0, $"{differing.Count} of {count} texts differ from HF, e.g.\n" + string.Join("\n", differing.Take(5)));
    }

    private static string Escape(string s) => string.Concat(s.EnumerateRunes().Select(r => r.Value < 0x80 && r.Value >= 0x20 ? ((char)r.Value).ToString() : $"\\u{{{r.Value:x}}}"));

    [Fact]
    public void The_issue_example_puts_the_unknown_token_where_hf_does()
    {
        // "x ̧𞥄́": NFD moves the cedilla (class 202) before the two class-230 marks; ADLAM ALIF LENGTHENER is kept (not Mn in
        // HF's Unicode 8.0 table) and, aligned positionally, covers the acute accent's code point [3, 4] as in HF.
        var tok = BertTokenizer.FromVocabFile(TokenizationFixtures.VocabPath("bert-base-uncased"), lowercase: true);
        var e = tok.Encode("x \U0001E944\u0301\u0327", null, new EncodeOptions { AddSpecialTokens = false });
        Assert.Equal(["x", "[UNK]"], e.Tokens);
        Assert.Equal((3, 4), (e.Offsets[1].Start, e.Offsets[1].End));
    }

    [Fact]
    public void A_run_of_a_hundred_thousand_marks_is_reordered_in_linear_time()
    {
        // Alternating classes 230 and 220 force reordering of the whole run; a quadratic sort would take minutes.
        var tok = BertTokenizer.FromVocabFile(TokenizationFixtures.VocabPath("bert-base-uncased"), lowercase: true);
        var text = "a" + string.Concat(Enumerable.Repeat("\U0001E944\u0316", 50_000)) + " b";
        var e = tok.Encode(text, null, new EncodeOptions { AddSpecialTokens = false });
        Assert.Equal(["[UNK]", "b"], e.Tokens);
    }
}
