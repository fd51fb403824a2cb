using BertSharp.Modeling;

namespace BertSharp.Inference;

/// <summary>
/// The weights each model class must find in a checkpoint before it may answer anything. A head that the checkpoint lacks
/// would be newly initialised and answer with noise, so every inference entry point (CLI pipelines, the server) refuses it
/// instead; missing encoder weights mean the checkpoint is not this model at all.
/// </summary>
public static class RequiredWeights
{
    /// <summary>The checkpoint key prefixes <paramref name="architecture"/> needs, and a description for the error.</summary>
    public static (string[] Prefixes, string What) For(string architecture) => architecture switch
    {
        nameof(BertForSequenceClassification) =>
            (["classifier.", "bert.pooler."], "sequence-classification head (classifier.* and the pooler); fine-tune it first with FineTuner"),
        nameof(BertForTokenClassification) =>
            (["classifier."], "token-classification head (classifier.*): it is not a fine-tuned NER model"),
        nameof(BertForQuestionAnswering) =>
            (["qa_outputs."], "question-answering head (qa_outputs.*): it is not a fine-tuned question-answering model"),
        nameof(BertForMaskedLM) =>
            (["cls.predictions."], "masked-LM head (cls.predictions.*): it is not a pre-trained or masked-LM model"),
        nameof(BertForPreTraining) =>
            (["cls.predictions.", "cls.seq_relationship.", "bert.pooler."], "pre-training heads (cls.predictions.*, cls.seq_relationship.* and the pooler)"),
        nameof(BertForNextSentencePrediction) =>
            (["cls.seq_relationship.", "bert.pooler."], "next-sentence head (cls.seq_relationship.* and the pooler): it is not a model pre-trained with next-sentence prediction"),
        nameof(BertForMultipleChoice) =>
            (["classifier.", "bert.pooler."], "multiple-choice head (classifier.* and the pooler)"),
        _ => ([], ""),
    };

    /// <summary>
    /// Throws when <paramref name="report"/> lists a newly initialised weight under one of <paramref name="prefixes"/>, or any
    /// encoder weight (embeddings, layers).
    /// </summary>
    /// <param name="report">The load report.</param>
    /// <param name="prefixes">Head prefixes that must have been loaded.</param>
    /// <param name="what">What the checkpoint lacks, for the message.</param>
    /// <param name="modelDirectory">The directory, for the message.</param>
    public static void Check(LoadReport report, IReadOnlyCollection<string> prefixes, string what, string modelDirectory)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(prefixes);
        var head = report.MissingKeys.Where(k => prefixes.Any(p => k.StartsWith(p, StringComparison.Ordinal))).ToList();
        if (head.Count > 0)
        {
            throw new BertSharpException($"{modelDirectory}: the checkpoint has no {what} — {Names(head)} would be newly initialised and answer at random.");
        }
        CheckEncoder(report, modelDirectory);
    }

    /// <summary>
    /// Throws when the encoder (embeddings, layers) of <paramref name="report"/>'s model did not come whole from the
    /// checkpoint, or the checkpoint holds encoder weights the model has no place for: either way config.json and the
    /// weights do not describe the same model. The head is not looked at (see <see cref="Check(LoadReport, IReadOnlyCollection{string}, string, string)"/>).
    /// </summary>
    public static void CheckEncoder(LoadReport report, string modelDirectory)
    {
        ArgumentNullException.ThrowIfNull(report);
        var encoder = Encoder(report.MissingKeys);
        if (encoder.Count > 0)
        {
            throw new BertSharpException($"{modelDirectory}: the checkpoint lacks encoder weights ({Names(encoder)}); it is not a BERT model of this config.json's shape.");
        }
        // The other way round: encoder weights the model has no place for (layers past num_hidden_layers, say) would be
        // dropped, and the model would answer without them.
        var unused = Encoder(report.UnexpectedKeys);
        if (unused.Count > 0)
        {
            throw new BertSharpException($"{modelDirectory}: the checkpoint holds encoder weights this config.json has no place for ({Names(unused)}); config.json does not match the weights.");
        }
    }

    /// <summary>
    /// Throws, naming <paramref name="file"/> and the keys, when <paramref name="report"/>'s model did not come whole from it:
    /// a weight newly initialised, or a tensor the model has no place for. A training checkpoint continues the very model it
    /// was written from, so either means it is damaged or another model's, and the run would go on from fresh weights.
    /// The weights are named as <paramref name="model"/>'s (<see cref="LoadReport.MissingWeights"/>).
    /// </summary>
    internal static void CheckWhole(LoadReport report, BertPreTrainedModel model, string file)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(model);
        if (report.MissingWeights(model) is { Count: > 0 } missing)
        {
            throw new BertSharpException($"{file}: the checkpoint lacks {Names(missing)}; it does not hold every weight of the model it continues.");
        }
        if (report.UnexpectedKeys.Count > 0)
        {
            throw new BertSharpException($"{file}: the checkpoint holds {Names([.. report.UnexpectedKeys])}, which the model it continues has no place for.");
        }
    }

    private static List<string> Encoder(IEnumerable<string> keys)
    {
        const string prefix = BertPreTrainedModel.BaseModelPrefix + ".";
        return [.. keys.Select(k => k.StartsWith(prefix, StringComparison.Ordinal) ? k[prefix.Length..] : k)
            .Where(k => k.StartsWith("embeddings.", StringComparison.Ordinal) || k.StartsWith("encoder.", StringComparison.Ordinal))];
    }

    /// <summary>
    /// Refuses a checkpoint whose config.json names model classes other than <paramref name="architecture"/> (one without
    /// <c>architectures</c> is judged by its weights alone). The weight check cannot tell some heads apart: a sequence
    /// classifier's <c>classifier.*</c> loads into a token-classification or multiple-choice head and would answer nonsense.
    /// </summary>
    internal static void CheckArchitecture(BertConfig config, string architecture, string modelDirectory)
    {
        if (config.Architectures is not { Count: > 0 } arch || arch.Contains(architecture))
        {
            return;
        }
        var hint = arch[0] switch
        {
            nameof(BertForSequenceClassification) => "a sequence classifier: run it with TextClassifier",
            nameof(BertForTokenClassification) => "a token classifier: run it with TokenClassification",
            nameof(BertForQuestionAnswering) => "an extractive QA model: run it with QuestionAnswering",
            nameof(BertForMultipleChoice) => "a multiple-choice model: run it with MultipleChoice",
            nameof(BertForMaskedLM) or nameof(BertForPreTraining) => "a masked-LM model: run it with FillMask, or fine-tune it first with FineTuner",
            _ => "fine-tune it first with FineTuner",
        };
        throw new BertSharpException(
            $"{Path.Combine(modelDirectory, "config.json")}: architectures is {string.Join(", ", arch)}; expected {architecture} ({hint}).");
    }

    /// <summary>
    /// As <see cref="CheckArchitecture"/>, for a model fine-tuned for another task only (its head may fit this one's and
    /// would then load). A checkpoint not fine-tuned (BertModel, pre-training, masked LM) lacks the head altogether and is
    /// refused by <see cref="Check(LoadReport, IReadOnlyCollection{string}, string, string)"/>, whose message says so.
    /// </summary>
    internal static void CheckFineTunedFor(BertConfig config, string architecture, string modelDirectory)
    {
        if (config.Architectures?.FirstOrDefault() is not (null or nameof(BertModel) or nameof(BertForPreTraining) or nameof(BertForMaskedLM)))
        {
            CheckArchitecture(config, architecture, modelDirectory);
        }
    }

    /// <summary>Checks <paramref name="report"/> against what <paramref name="architecture"/> needs.</summary>
    public static void Check(LoadReport report, string architecture, string modelDirectory)
    {
        var (prefixes, what) = For(architecture);
        Check(report, prefixes, what, modelDirectory);
    }

    private static string Names(List<string> keys) => string.Join(", ", keys.Take(3)) + (keys.Count > 3 ? Invariant($" and {keys.Count - 3} more") : "");
}
