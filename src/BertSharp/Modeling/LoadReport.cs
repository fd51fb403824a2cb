
namespace BertSharp.Modeling;

/// <summary>What happened when a checkpoint was loaded into a model (HF's <c>output_loading_info</c>).</summary>
/// <param name="Source">The checkpoint file that was read.</param>
/// <param name="MissingKeys">Model parameters the checkpoint did not have; they keep HF's fresh initialisation.</param>
/// <param name="UnexpectedKeys">Checkpoint tensors the model has no place for; they were ignored.</param>
/// <param name="RenamedKeys">Legacy names that were mapped (<c>old → new</c>), e.g. LayerNorm gamma/beta.</param>
/// <param name="SourceDtypes">The distinct dtypes of the loaded tensors (fp16/bf16 are converted to the model's fp32).</param>
public sealed record LoadReport(
    string Source,
    IReadOnlyList<string> MissingKeys,
    IReadOnlyList<string> UnexpectedKeys,
    IReadOnlyList<string> RenamedKeys,
    IReadOnlyList<string> SourceDtypes)
{
    /// <summary>A warning for the user when keys were missing or unexpected (as HF logs), else null.</summary>
    public string? Warning
    {
        get
        {
            var parts = new List<string>();
            if (MissingKeys.Count > 0)
            {
                parts.Add(Invariant($"{MissingKeys.Count} weight(s) not in the checkpoint were newly initialised ") +
                          $"(train the model before using it): {string.Join(", ", MissingKeys)}");
            }
            if (UnexpectedKeys.Count > 0)
            {
                parts.Add(Invariant($"{UnexpectedKeys.Count} checkpoint tensor(s) were not used: {string.Join(", ", UnexpectedKeys)}"));
            }
            return parts.Count == 0 ? null : $"{Source}: " + string.Join("; ", parts) + ".";
        }
    }

    /// <summary>
    /// <see cref="MissingKeys"/> as weights of <paramref name="model"/>: a tied alias (the MLM decoder's weight, which is the
    /// word-embedding matrix) is missing only with what it is tied to, and is one weight with it, named once, by its owner.
    /// </summary>
    internal List<string> MissingWeights(BertPreTrainedModel model) => [.. MissingKeys.Where(k => !model.TiedKeys.ContainsKey(k))];
}
