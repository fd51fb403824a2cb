using System.Globalization;
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
/// <see cref="DefaultBatchSize"/>; <see cref="DefaultMaxLengthOf"/>). A setting of one head (<see cref="TaskSettings"/>) is
/// null when not given, and refused by <see cref="Validate"/> when given for another head.
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

    /// <summary>Token classification: label every word piece (B-X → I-X on continuation pieces) instead of the first only; null = false.</summary>
    public bool? LabelAllTokens { get; init; }

    /// <summary>Token classification: tag names in class-id order (for JSON lines with integer tags); null = the sorted tags of the training data.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>
    /// Token classification: read the validation entities by seqeval's strict mode with this scheme (a tag of the data outside
    /// it is an error before training); null for seqeval's default mode, as HF run_ner reports.
    /// </summary>
    public SeqevalScheme? NerScheme { get; init; }

    /// <summary>
    /// Keep the weights of the epoch with the best value of this validation metric, one of the task's
    /// (<see cref="HeadFineTuner.MetricNames"/>; loss is minimised, the rest maximised); null keeps the last step's. Needs
    /// <see cref="TrainingOptions.EvalDataPath"/>.
    /// </summary>
    public string? SaveBest { get; init; }

    /// <summary>
    /// Dropout masks keyed by (seed, step, example index) instead of torch's generator (<see cref="Modeling.ExampleDropout"/>),
    /// so a run gives the same result on any number of ranks; always on in a data-parallel run.
    /// </summary>
    public bool ExampleDropout { get; init; }

    /// <summary>
    /// Group examples of similar length into the training and validation batches (less padding; the default). False is HF's
    /// group_by_length=False: training batches of a plain shuffle and validation batches in file order, so that the validation
    /// loss, a mean over each batch's labelled tokens for token classification, equals HF Trainer's eval_loss.
    /// </summary>
    public bool BucketByLength { get; init; } = true;

    /// <summary>
    /// QA: context tokens shared by consecutive windows (capped at half of a window's context room); null =
    /// <see cref="QuestionAnsweringWindows.DefaultDocStride"/>.
    /// </summary>
    public int? DocStride { get; init; }

    /// <summary>QA: longest answer in tokens at evaluation; null = <see cref="DefaultMaxAnswerLength"/> (HF run_qa's).</summary>
    public int? MaxAnswerLength { get; init; }

    /// <summary>QA, SQuAD v2.0: answer "no answer" when ln P(null) − ln P(best span) is above this; null = 0.</summary>
    public double? NullScoreDiffThreshold { get; init; }

    /// <summary><see cref="DocStride"/>, or its default when not given.</summary>
    public int EffectiveDocStride => DocStride ?? QuestionAnsweringWindows.DefaultDocStride;

    /// <summary><see cref="MaxAnswerLength"/>, or its default when not given.</summary>
    public int EffectiveMaxAnswerLength => MaxAnswerLength ?? DefaultMaxAnswerLength;

    /// <summary><see cref="NullScoreDiffThreshold"/>, or 0 when not given.</summary>
    public double EffectiveNullScoreDiffThreshold => NullScoreDiffThreshold ?? 0;

    /// <summary>Epochs of a head fine-tuning without <see cref="TrainingOptions.Epochs"/> (HF's example scripts).</summary>
    public const int DefaultEpochs = 3;

    /// <summary>Longest answer in tokens when QA validation decodes spans (HF run_qa's max_answer_length).</summary>
    public const int DefaultMaxAnswerLength = 30;

    /// <summary>Epochs the run trains: <see cref="TrainingOptions.Epochs"/>, or <see cref="DefaultEpochs"/>.</summary>
    public int EffectiveEpochs => Training.Epochs ?? DefaultEpochs;

    /// <summary>
    /// Examples per micro-batch over all ranks (a step takes <see cref="TrainingOptions.GradAccum"/> of them): sentences for
    /// token classification, context windows for question answering, questions with their choices for multiple choice;
    /// <see cref="TrainingOptions.BatchSize"/>, or the head's <see cref="DefaultBatchSize"/>.
    /// </summary>
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
    /// The settings of one head only, by field (as errors and training_args.json name them), with the head that reads each.
    /// ner_mode is seqeval's mode, which <see cref="NerScheme"/> carries (null for the default mode) and training_args.json
    /// records apart: a front end that takes the mode apart from the scheme checks it here by <see cref="RequireTaskSetting"/>.
    /// </summary>
    public static IReadOnlyDictionary<string, HeadTask> TaskSettings { get; } = new Dictionary<string, HeadTask>(StringComparer.Ordinal)
    {
        ["label_all_tokens"] = HeadTask.TokenClassification,
        ["labels"] = HeadTask.TokenClassification,
        ["ner_mode"] = HeadTask.TokenClassification,
        ["ner_scheme"] = HeadTask.TokenClassification,
        ["doc_stride"] = HeadTask.QuestionAnswering,
        ["max_answer_length"] = HeadTask.QuestionAnswering,
        ["null_score_diff_threshold"] = HeadTask.QuestionAnswering,
    };

    /// <summary>
    /// Refuses <paramref name="value"/> of the setting <paramref name="field"/> (a key of <see cref="TaskSettings"/>) for
    /// <paramref name="task"/> when another head reads it, naming the field, the value and the head it is for: the other heads
    /// would ignore it without a word. A null value is a setting not given and passes, as a setting of <paramref name="task"/> does.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="field"/> is no key of <see cref="TaskSettings"/>.</exception>
    public static void RequireTaskSetting(HeadTask task, string field, object? value)
    {
        ArgumentNullException.ThrowIfNull(field);
        if (!TaskSettings.TryGetValue(field, out var owner))
        {
            throw new ArgumentException($"'{field}' is no setting of one head; expected one of {string.Join(", ", TaskSettings.Keys)}.", nameof(field));
        }
        if (value is not null && owner != task)
        {
            throw new BertSharpException($"{BertSharpException.Field(field)} {Shown(value)}: only for {Describe(owner)}, not for {Names(task)[0]}.");
        }
    }

    /// <summary>
    /// Checks that each setting of one head is given for that head only (<see cref="TaskSettings"/>), ranges (the shared
    /// settings by <see cref="TrainingOptions.Validate"/>) and a token classification's <see cref="Labels"/> (as
    /// <see cref="TaggedCorpus.Labels"/> does), before any data is read; errors name the field.
    /// </summary>
    public void Validate()
    {
        static string F(string name) => BertSharpException.Field(name);
        TrainingOptions.Require(Training);
        Training.Validate();
        Training.RequireSaveBestForEarlyStopping(SaveBest);
        // Before the ranges: a value out of range for a head that does not read it is refused as misplaced.
        RequireTaskSetting(Task, "label_all_tokens", LabelAllTokens);
        RequireTaskSetting(Task, "labels", Labels is { Count: > 0 } ? Labels : null);
        RequireTaskSetting(Task, "ner_scheme", NerScheme);
        RequireTaskSetting(Task, "doc_stride", DocStride);
        RequireTaskSetting(Task, "max_answer_length", MaxAnswerLength);
        RequireTaskSetting(Task, "null_score_diff_threshold", NullScoreDiffThreshold);
        Training.RequireClassesForLabelSmoothing("squad", Task == HeadTask.QuestionAnswering
            ? "trains on answer start and end positions, which HF's Trainer leaves unsmoothed (its LabelSmoother takes only an input named labels), so it would change nothing"
            : null);
        if (DocStride < 0)
        {
            throw new BertSharpException(Invariant($"{F("doc_stride")} {DocStride}: expected a number ≥ 0."));
        }
        if (MaxAnswerLength < 1)
        {
            throw new BertSharpException(Invariant($"{F("max_answer_length")} {MaxAnswerLength}: expected at least 1."));
        }
        if (NerScheme is { } scheme && !Enum.IsDefined(scheme))
        {
            throw new BertSharpException(Invariant($"{F("ner_scheme")} {(int)scheme}: expected one of {string.Join(", ", Enum.GetNames<SeqevalScheme>())}."));
        }
        if (Labels is { Count: > 0 } labels)
        {
            // TaggedCorpus.Labels checks the list too, but only once the training and validation files are read (minutes on big data).
            TaggedCorpus.RequireTagList(labels, F("labels"));
        }
        if (NullScoreDiffThreshold is double.NaN)
        {
            throw new BertSharpException($"{F("null_score_diff_threshold")}: expected a number.");
        }
    }

    private static string Describe(HeadTask task) => task switch
    {
        HeadTask.TokenClassification => "token classification",
        HeadTask.QuestionAnswering => "question answering",
        _ => "multiple choice",
    };

    // As the value reads where it is given: a tag list comma-separated, booleans and numbers as training_args.json writes them.
    private static string Shown(object value) => value switch
    {
        bool b => b ? "true" : "false",
        IEnumerable<string> list => string.Join(",", list),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}
