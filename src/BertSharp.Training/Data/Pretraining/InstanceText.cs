using System.Globalization;
using System.Text;

namespace BertSharp.Data.Pretraining;

/// <summary>
/// A pre-training instance as text (what <c>bert pretrain-data --show</c> prints): its word pieces, segment boundary, NSP
/// label, and every masked position as <c>&lt;input|original&gt;</c> — <c>&lt;[MASK]|very&gt;</c> replaced by [MASK],
/// <c>&lt;dog|very&gt;</c> by a random token, <c>&lt;very|very&gt;</c> kept (google's 80/10/10).
/// </summary>
public static class InstanceText
{
    /// <summary>The legend printed above the instances.</summary>
    public const string Legend = "masked positions: <input|original> — <[MASK]|x> masked, <y|x> random replacement, <x|x> kept; '||' marks the end of segment A";

    /// <summary>Two lines: a header (index, NSP label, lengths) and the tokens.</summary>
    /// <param name="instance">The instance.</param>
    /// <param name="vocab">Tokens by id.</param>
    /// <param name="index">0-based position in the data, for the header.</param>
    public static string Format(PretrainingInstance instance, IReadOnlyList<string> vocab, long index)
    {
        ArgumentNullException.ThrowIfNull(instance);
        ArgumentNullException.ThrowIfNull(vocab);
        var masked = new Dictionary<int, int>();
        for (var i = 0; i < instance.MaskedPositions.Length; i++)
        {
            masked[instance.MaskedPositions[i]] = instance.MaskedLabels[i];
        }
        string Token(int id) => id >= 0 && id < vocab.Count ? vocab[id] : Invariant($"#{id}");
        var sb = new StringBuilder();
        if (instance.SegmentALength == instance.Length)
        {
            sb.Append(CultureInfo.InvariantCulture, $"#{index}: one segment (masked LM only), {instance.Length} tokens, {masked.Count} masked\n  ");
        }
        else
        {
            sb.Append(CultureInfo.InvariantCulture,
                $"#{index}: {(instance.IsRandomNext ? "B is a random segment" : "B follows A")}, {instance.Length} tokens (A {instance.SegmentALength - 2}, B {instance.Length - instance.SegmentALength - 1}), {masked.Count} masked\n  ");
        }
        for (var p = 0; p < instance.Length; p++)
        {
            if (p > 0)
            {
                sb.Append(p == instance.SegmentALength ? " || " : " ");
            }
            var input = Token(instance.InputIds[p]);
            sb.Append(masked.TryGetValue(p, out var original) ? $"<{input}|{Token(original)}>" : input);
        }
        return sb.Append('\n').ToString();
    }
}
