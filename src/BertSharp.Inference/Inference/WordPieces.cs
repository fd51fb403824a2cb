using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>
/// The rule that a text must keep a word piece: one of only control or zero-width characters passes a blank check, and the
/// pipelines answered it as if it were text (no answer, no entity, the probability of <c>[CLS] [SEP] [SEP]</c>). Shared by
/// the pipelines and the front ends that check before they load or queue, so all of them say it alike.
/// </summary>
internal static class WordPieces
{
    /// <summary>The one-line message for <paramref name="name"/> (a field, a flag, a JSON field) that keeps no word piece.</summary>
    public static string Missing(string name) =>
        $"{name}: no word pieces (only characters the tokenizer drops, such as control or zero-width ones); expected text.";

    /// <summary>Throws when <paramref name="tokenizer"/> keeps no word piece of <paramref name="text"/>.</summary>
    /// <exception cref="BertSharpException">The text has no word piece; the message names <paramref name="name"/>.</exception>
    public static void Require(BertTokenizer tokenizer, string text, string name)
    {
        // Front ends refuse a blank text first, each in its own words; a library caller gets told it is blank, not what it lacks.
        if (string.IsNullOrWhiteSpace(text))
        {
            throw new BertSharpException($"{name}: empty or white space only; expected text.");
        }
        if (tokenizer.CountTokens(text) == 0)
        {
            throw new BertSharpException(Missing(name));
        }
    }
}
