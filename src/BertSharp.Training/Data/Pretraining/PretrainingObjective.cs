namespace BertSharp.Data.Pretraining;

/// <summary>What a pre-training run learns, and what shape its data has.</summary>
public enum PretrainingObjective
{
    /// <summary>
    /// Masked LM + next-sentence prediction (HF <c>BertForPreTraining</c>, google-research/bert): instances are
    /// <c>[CLS] A [SEP] B [SEP]</c> pairs with an "is next" label. Written <c>mlm+nsp</c>.
    /// </summary>
    MaskedLmNextSentence,

    /// <summary>
    /// Masked LM only (HF <c>BertForMaskedLM</c>, <c>run_mlm.py</c>): instances are <c>[CLS] packed text [SEP]</c>, one segment,
    /// documents separated by <c>[SEP]</c>; no pooler and no NSP head. Written <c>mlm</c>.
    /// </summary>
    MaskedLm,
}

/// <summary>The names of <see cref="PretrainingObjective"/> in flags, manifests and trainer states.</summary>
public static class PretrainingObjectives
{
    /// <summary><c>mlm+nsp</c> or <c>mlm</c>.</summary>
    public static string Name(PretrainingObjective objective) => objective == PretrainingObjective.MaskedLm ? "mlm" : "mlm+nsp";

    /// <summary>Parses <c>mlm</c> or <c>mlm+nsp</c> (case-insensitive); anything else is a <see cref="BertSharpException"/> naming <c>objective</c>.</summary>
    public static PretrainingObjective Parse(string value) => value?.Trim().ToLowerInvariant() switch
    {
        "mlm" => PretrainingObjective.MaskedLm,
        "mlm+nsp" or "mlm-nsp" => PretrainingObjective.MaskedLmNextSentence,
        _ => throw new BertSharpException($"{BertSharpException.Field("objective")} '{value}': expected mlm or mlm+nsp."),
    };
}
