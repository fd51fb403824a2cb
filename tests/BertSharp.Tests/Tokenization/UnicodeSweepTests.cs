using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Tokenization;

/// <summary>
/// Every Unicode code point, in context ("a{c}b {c}{c}"), gives HF's ids and offsets: compared plane by plane against
/// SHA-256 digests of npm tokenizers@0.23.2 output (tools/hf_unicode_sweep.js), for bert-base-uncased (lowercase, strip
/// accents), bert-base-cased, and lowercasing without accent stripping. This covers the category tables, NFD, lowercasing, CJK and whitespace rules.
/// </summary>
public class UnicodeSweepTests
{
    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Theory]
    [InlineData("uncased", "bert-base-uncased", true, null)]
    [InlineData("cased", "bert-base-cased", false, null)]
    [InlineData("lowercase-keep-accents", "bert-base-uncased", true, false)]
    public void EveryCodePointMatchesHuggingFace(string key, string model, bool lowercase, bool? stripAccents)
    {
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(TokenizationFixtures.Dir, "unicode-sweep.hf-sha256.json")));
        var expected = doc.RootElement.GetProperty(key).EnumerateArray().Select(e => e.GetString()!).ToArray();
        var tok = BertTokenizer.FromVocabFile(TokenizationFixtures.VocabPath(model), lowercase, stripAccents);
        var options = new EncodeOptions { AddSpecialTokens = false };
        var differing = new List<string>();
        var sb = new StringBuilder();
        for (var plane = 0; plane < 17; plane++)
        {
            sb.Clear();
            for (var cp = plane << 16; cp < (plane + 1) << 16; cp++)
            {
                if (cp is >= 0xD800 and <= 0xDFFF)
                {
                    continue;
                }
                var c = char.ConvertFromUtf32(cp);
                var e = tok.Encode($"a{c}b {c}{c}", null, options);
                sb.Append("[[").AppendJoin(',', e.Ids).Append("],[");
                for (var i = 0; i < e.Length; i++)
                {
                    sb.Append(i == 0 ? "" : ",").Append(e.Offsets[i].Start).Append(',').Append(e.Offsets[i].End);
                }
                sb.Append("]]\n");
            }
            var hash = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sb.ToString())));
            if (hash != expected[plane])
            {
                differing.Add($"plane {plane}");
            }
        }
        Assert.True(differing.Count == 0, "output differs from HF in " + string.Join(", ", differing));
    }
}
