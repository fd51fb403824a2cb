using BertSharp.Data;
using BertSharp.Evaluation;

namespace BertSharp.Training;

/// <summary>The task heads fine-tuned by <see cref="HeadFineTuner"/>.</summary>
public enum HeadTask
{
    /// <summary>Token classification (NER): CoNLL columns or JSON lines, seqeval entity F1.</summary>
    TokenClassification,

    /// <summary>Extractive question answering: SQuAD v1.1 / v2.0 JSON, SQuAD exact match and F1.</summary>
    QuestionAnswering,

    /// <summary>Multiple choice: SWAG CSV or JSON lines, accuracy.</summary>
    MultipleChoice,
}

/// <summary>
/// Everything <see cref="HeadFineTuner"/> needs: the head, the settings every fine-tuning shares (<see cref="Training"/>) and
/// the head's own. Null numeric settings take the task's default (HF's example scripts: <see cref="DefaultEpochs"/> epochs;
/// <see cref="DefaultBatchSize"/>; <see cref="DefaultMaxLengthOf"/>).
/// </summary>
public sealed record HeadFineTuneOptions
{
    /// <summary>Which head.</summary>
    public required HeadTask Task { get; init; }

    /// <summary>
    /// The settings shared with every fine-tuning (data, model, optimiser, schedule, checkpoints, device, output); the heads
    /// validate on <see cref="TrainingOptions.EvalDataPath"/> at each epoch end and hold nothing out without it.
    /// </summary>
    public required TrainingOptions Training { get; init; }

    /// <summary>Token classification: label every word piece (B-X → I-X on continuation pieces) instead of the first only.</summary>
    public bool LabelAllTokens { get; init; }

    /// <summary>Token classification: tag names in class-id order (for JSON lines with integer tags); null = the sorted tags of the training data.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>
    /// Token classification: read the validation entities by seqeval's strict mode with this scheme (a tag of the data outside
    /// it is an error before training); null for seqeval's default mode, as HF run_ner reports.
    /// </summary>
    public SeqevalScheme? NerScheme { get; init; }

    /// <summary>
    /// Dropout masks keyed by (seed, step, example index) instead of torch's generator (<see cref="Modeling.ExampleDropout"/>),
    /// so a run gives the same result on any number of ranks; always on in a data-parallel run.
    /// </summary>
    public bool ExampleDropout { get; init; }

    /// <summary>QA: context tokens shared by consecutive windows (capped at half of a window's context room).</summary>
    public int DocStride { get; init; } = QuestionAnsweringWindows.DefaultDocStride;

    /// <summary>QA: longest answer in tokens at evaluation (HF run_qa's default 30).</summary>
    public int MaxAnswerLength { get; init; } = DefaultMaxAnswerLength;

    /// <summary>QA, SQuAD v2.0: answer "no answer" when ln P(null) − ln P(best span) is above this.</summary>
    public double NullScoreDiffThreshold { get; init; }

    /// <summary>Epochs of a head fine-tuning without <see cref="TrainingOptions.Epochs"/> (HF's example scripts).</summary>
    public const int DefaultEpochs = 3;

    /// <summary>Longest answer in tokens when QA validation decodes spans (HF run_qa's max_answer_length).</summary>
    public const int DefaultMaxAnswerLength = 30;

    public int EffectiveEpochs => Training.Epochs ?? DefaultEpochs;

    public int EffectiveBatchSize => Training.BatchSize ?? DefaultBatchSize(Task);

    /// <summary>The task's default maximum length (before the model's trained length bounds it).</summary>
    public int DefaultMaxLength => DefaultMaxLengthOf(Task);

    /// <summary>Batch size of a head fine-tuning without <see cref="TrainingOptions.BatchSize"/> (HF's example scripts: 12 for QA, 16 for multiple choice, else 32).</summary>
    public static int DefaultBatchSize(HeadTask task) => task switch
    {
        HeadTask.QuestionAnswering => 12,
        HeadTask.MultipleChoice => 16,
        _ => 32,
    };

    /// <summary>Maximum length of a head fine-tuning without <see cref="TrainingOptions.MaxLength"/>: QA's window, else <see cref="TaskSpec.StandardMaxLength"/>.</summary>
    public static int DefaultMaxLengthOf(HeadTask task) => task == HeadTask.QuestionAnswering ? QuestionAnsweringWindows.DefaultWindow : TaskSpec.StandardMaxLength;

    /// <summary>The task's name in training_args.json and on the command line.</summary>
    public string TaskName => Names(Task)[0];

    /// <summary>Command-line names of a head task (the first is the one recorded).</summary>
    public static IReadOnlyList<string> Names(HeadTask task) => task switch
    {
        HeadTask.TokenClassification => ["ner", "conll", "token-classification"],
        HeadTask.QuestionAnswering => ["squad", "qa", "question-answering"],
        _ => ["swag", "multiple-choice"],
    };

    /// <summary>The head task a name means, or null for a sequence-classification task name.</summary>
    public static HeadTask? Parse(string? name)
    {
        var key = (name ?? "").Trim().ToLowerInvariant();
        foreach (var t in Enum.GetValues<HeadTask>())
        {
            if (Names(t).Contains(key))
            {
                return t;
            }
        }
        return null;
    }

    /// <summary>
    /// Checks ranges (the shared settings by <see cref="TrainingOptions.Validate"/>), that <see cref="NerScheme"/> and
    /// <see cref="Labels"/> are given for token classification only, and its <see cref="Labels"/> (as
    /// <see cref="TaggedCorpus.Labels"/> does), before any data is read; errors name the field.
    /// </summary>
    public void Validate()
    {
        static string F(string name) => BertSharpException.Field(name);
        TrainingOptions.Require(Training);
        Training.Validate();
        if (DocStride < 0)
        {
            throw new BertSharpException($"{F("doc_stride")} {DocStride}: expected a number ≥ 0.");
        }
        if (MaxAnswerLength < 1)
        {
            throw new BertSharpException($"{F("max_answer_length")} {MaxAnswerLength}: expected at least 1.");
        }
        if (NerScheme is { } scheme && (Task != HeadTask.TokenClassification || !Enum.IsDefined(scheme)))
        {
            throw new BertSharpException(Task != HeadTask.TokenClassification
                ? $"{F("ner_scheme")} {scheme}: only for token classification, not for {TaskName}."
                : $"{F("ner_scheme")} {(int)scheme}: expected one of {string.Join(", ", Enum.GetNames<SeqevalScheme>())}.");
        }
        if (Labels is { Count: > 0 } labels)
        {
            // Only token classification reads a tag list; another head would ignore it without a word.
            if (Task != HeadTask.TokenClassification)
            {
                throw new BertSharpException($"{F("labels")} {string.Join(",", labels)}: only for token classification, not for {TaskName}.");
            }
            // TaggedCorpus.Labels checks the list too, but only once the training and validation files are read (minutes on big data).
            TaggedCorpus.RequireTagList(labels, F("labels"));
        }
        if (double.IsNaN(NullScoreDiffThreshold))
        {
            throw new BertSharpException($"{F("null_score_diff_threshold")}: expected a number.");
        }
    }
}
