using System.Text;

namespace BertSharp.Tokenization;

public sealed partial class BertTokenizer
{
    /// <summary>
    /// Turns ids back into text as HF does: ids outside the vocabulary are skipped, special tokens too when
    /// <paramref name="skipSpecialTokens"/>; <c>##</c> pieces are glued to the previous token, others get a space; the
    /// WordPiece decoder's per-token clean-up runs when <see cref="DecoderCleanup"/>, and transformers'
    /// <c>clean_up_tokenization</c> on the whole string when <paramref name="cleanUpTokenizationSpaces"/>.
    /// </summary>
    public string Decode(IEnumerable<int> ids, bool skipSpecialTokens = true, bool cleanUpTokenizationSpaces = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = ids.Where(id => (uint)id < (uint)Vocab.Count && !(skipSpecialTokens && IsSpecialId(id))).Select(id => Vocab[id]);
        var sb = new StringBuilder(ConvertTokensToString(tokens, DecoderCleanup));
        if (cleanUpTokenizationSpaces)
        {
            CleanUpTokenization(sb);
        }
        return sb.ToString();
    }

    /// <summary>
    /// HF's WordPiece decoder, which a BERT tokenizer's <c>convert_tokens_to_string</c> runs (and so the word text of HF's
    /// token-classification pipeline): each token but the first gets a space, or loses its <c>##</c> prefix; with
    /// <paramref name="decoderCleanup"/> (the tokenizer's <see cref="DecoderCleanup"/>, on for BERT) each token so prefixed is
    /// cleaned up on its own, so " ." becomes "." but " ' " stays. ["u", ".", "s", "."] gives "u. s.".
    /// </summary>
    public static string ConvertTokensToString(IEnumerable<string> tokens, bool decoderCleanup = true)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        var sb = new StringBuilder();
        var piece = new StringBuilder();
        var first = true;
        foreach (var token in tokens)
        {
            piece.Clear();
            if (first)
            {
                piece.Append(token);
            }
            else if (token.StartsWith(WordPiece.Prefix, StringComparison.Ordinal))
            {
                piece.Append(token, WordPiece.Prefix.Length, token.Length - WordPiece.Prefix.Length);
            }
            else
            {
                piece.Append(' ').Append(token);
            }
            first = false;
            if (decoderCleanup)
            {
                DecoderCleanUp(piece);
            }
            sb.Append(piece);
        }
        return sb.ToString();
    }

    /// <summary>HF <c>decoders::wordpiece::cleanup</c>, applied to each decoded token.</summary>
    private static void DecoderCleanUp(StringBuilder s) =>
        s.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'").Replace(" n't", "n't")
            .Replace(" 'm", "'m").Replace(" do not", " don't").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");

    /// <summary>transformers' <c>PreTrainedTokenizerBase.clean_up_tokenization</c> on the decoded string.</summary>
    private static void CleanUpTokenization(StringBuilder s) =>
        s.Replace(" .", ".").Replace(" ?", "?").Replace(" !", "!").Replace(" ,", ",").Replace(" ' ", "'").Replace(" n't", "n't")
            .Replace(" 'm", "'m").Replace(" 's", "'s").Replace(" 've", "'ve").Replace(" 're", "'re");
}
