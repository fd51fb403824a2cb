namespace BertSharp.Inference;

/// <summary>
/// The model produced NaN or infinite outputs: its weights hold NaN/Inf (a diverged run, a corrupt checkpoint) or they
/// overflow. No prediction can be made from such numbers, so the pipelines refuse instead of answering "LABEL_0 (NaN)".
/// </summary>
public sealed class NonFiniteOutputException : BertSharpException
{
    /// <summary>
    /// Creates the error from its one-line <paramref name="message"/>, which names the output that is not finite.
    /// </summary>
    public NonFiniteOutputException(string message) : base(message)
    {
    }

    /// <summary>
    /// Creates the error from its one-line <paramref name="message"/> and the <paramref name="inner"/> exception that
    /// revealed it.
    /// </summary>
    public NonFiniteOutputException(string message, Exception inner) : base(message, inner)
    {
    }

    /// <summary>Throws when any of <paramref name="values"/> is NaN or infinite; <paramref name="what"/> names the output.</summary>
    public static void ThrowIfNotFinite(ReadOnlySpan<float> values, string what)
    {
        foreach (var v in values)
        {
            if (!float.IsFinite(v))
            {
                throw new NonFiniteOutputException(
                    $"the model produced {(float.IsNaN(v) ? "NaN" : "infinite")} {what}; its weights probably contain NaN or Inf " +
                    "(a diverged training run or a corrupt checkpoint), so no prediction can be made.");
            }
        }
    }
}
