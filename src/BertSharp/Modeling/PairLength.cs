
namespace BertSharp.Modeling;

/// <summary>
/// The shortest max_length at which a text pair keeps a token of each text (<c>[CLS] a [SEP] b [SEP]</c>). Shared by the
/// pipelines that score pairs (next-sentence prediction, multiple choice), multiple-choice fine-tuning, and the front ends
/// that check it before they warn about truncation, so all of them refuse it alike.
/// </summary>
internal static class PairLength
{
    /// <summary>[CLS], a token of each text, [SEP] twice.</summary>
    public const int Minimum = 5;

    /// <summary>
    /// Refuses a length that leaves a text of the pair no token: at 3 both were cut away and the head scored
    /// <c>[CLS] [SEP] [SEP]</c> as if it were the pair.
    /// </summary>
    /// <exception cref="BertSharpException"><paramref name="maxLength"/> is below <see cref="Minimum"/>; the message names max_length.</exception>
    public static void Check(int maxLength)
    {
        if (maxLength < Minimum)
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("max_length")} {maxLength}: expected at least {Minimum} for a pair ([CLS], a token of each text, [SEP] twice)."));
        }
    }
}
