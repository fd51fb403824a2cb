using System.Text.RegularExpressions;

namespace BertSharp.Tests.Data.Pretraining;

/// <summary>
/// A deterministic stand-in for WordPiece in the data tests: lower-cased words; words longer than 6 letters become a
/// 3-letter head plus <c>##</c> pieces of 3 letters, so whole-word masking has multi-piece words to group.
/// </summary>
internal sealed partial class ToyTokenizer
{
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);

    public ToyTokenizer(IEnumerable<string> texts)
    {
        foreach (var t in new[] { "[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]" })
        {
            Add(t);
        }
        foreach (var text in texts)
        {
            foreach (var p in Pieces(text))
            {
                Add(p);
            }
        }
    }

    public List<string> Tokens { get; } = [];

    public int[] Encode(string text) => Pieces(text).Select(p => _ids.TryGetValue(p, out var id) ? id : 1).ToArray();

    public static IEnumerable<string> Pieces(string text)
    {
        foreach (Match m in Word().Matches(text.ToLowerInvariant()))
        {
            var w = m.Value;
            if (w.Length <= 6)
            {
                yield return w;
                continue;
            }
            yield return w[..3];
            for (var i = 3; i < w.Length; i += 3)
            {
                yield return "##" + w[i..Math.Min(w.Length, i + 3)];
            }
        }
    }

    private void Add(string t)
    {
        if (_ids.TryAdd(t, Tokens.Count))
        {
            Tokens.Add(t);
        }
    }

    [GeneratedRegex(@"[a-z0-9]+|[^\sa-z0-9]")]
    private static partial Regex Word();
}
