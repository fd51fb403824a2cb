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
/// Everything <see cref="HeadFineTuner"/> needs. Null numeric options take the task's default (HF's example scripts:
/// 3 epochs; batch 32, 12 for QA, 16 for multiple choice; max length 128, 384 for QA); the optimiser defaults are
/// fine-tuning's (<see cref="FineTuneOptions"/>).
/// </summary>
public sealed record HeadFineTuneOptions
{
    /// <summary>Which head.</summary>
    public required HeadTask Task { get; init; }

    /// <summary>Training data file.</summary>
    public required string DataPath { get; init; }

    /// <summary>Validation data file (evaluated at each epoch end and for the saved metrics.json), or null for none.</summary>
    public string? EvalDataPath { get; init; }

    /// <summary>Output directory (an HF checkpoint directory, written atomically at the end).</summary>
    public required string OutputDir { get; init; }

    /// <summary>HF checkpoint directory to start from; null to train from scratch with <see cref="ConfigPreset"/>.</summary>
    public string? ModelDir { get; init; }

    /// <summary>Size preset or config.json for a model trained from scratch.</summary>
    public string? ConfigPreset { get; init; }

    /// <summary>WordPiece vocab.txt for a model trained from scratch.</summary>
    public string? VocabPath { get; init; }

    /// <summary>Lower-case input for a model trained from scratch; null = the tokenizer config, else the vocab.</summary>
    public bool? Lowercase { get; init; }

    public int? Epochs { get; init; }

    public int? BatchSize { get; init; }

    public double LearningRate { get; init; } = FineTuneOptions.DefaultLearningRate;

    public double Eps { get; init; } = FineTuneOptions.DefaultEps;

    public double WeightDecay { get; init; } = FineTuneOptions.DefaultWeightDecay;

    public double? WarmupRatio { get; init; }

    public int? WarmupSteps { get; init; }

    public int? MaxLength { get; init; }

    public int GradAccum { get; init; } = 1;

    public double MaxGradNorm { get; init; } = FineTuneOptions.DefaultMaxGradNorm;

    public ulong Seed { get; init; } = FineTuneOptions.DefaultSeed;

    /// <summary>Use only the first N training examples (sentences, questions).</summary>
    public int? MaxTrainExamples { get; init; }

    /// <summary>Use only the first N validation examples.</summary>
    public int? MaxEvalExamples { get; init; }

    /// <summary>auto, cpu, cuda, cuda:N.</summary>
    public string Device { get; init; } = "auto";

    /// <summary>Allow an output directory holding files BertSharp did not write.</summary>
    public bool Overwrite { get; init; }

    /// <summary>Train only the head: every BERT parameter (embeddings, layers, pooler) stays as loaded.</summary>
    public bool FreezeEncoder { get; init; }

    /// <summary>Keep the embeddings and the first N encoder layers as loaded.</summary>
    public int? FreezeLayers { get; init; }

    /// <summary>Token classification: label every word piece (B-X → I-X on continuation pieces) instead of the first only.</summary>
    public bool LabelAllTokens { get; init; }

    /// <summary>Token classification: tag names in class-id order (for JSON lines with integer tags); null = the sorted tags of the training data.</summary>
    public IReadOnlyList<string>? Labels { get; init; }

    /// <summary>QA: context tokens shared by consecutive windows.</summary>
    public int DocStride { get; init; } = 128;

    /// <summary>QA: longest answer in tokens at evaluation (HF run_qa's default 30).</summary>
    public int MaxAnswerLength { get; init; } = 30;

    /// <summary>QA, SQuAD v2.0: answer "no answer" when ln P(null) − ln P(best span) is above this.</summary>
    public double NullScoreDiffThreshold { get; init; }

    public int EffectiveEpochs => Epochs ?? 3;

    public int EffectiveBatchSize => BatchSize ?? Task switch
    {
        HeadTask.QuestionAnswering => 12,
        HeadTask.MultipleChoice => 16,
        _ => 32,
    };

    /// <summary>The task's default maximum length (before the model's trained length bounds it).</summary>
    public int DefaultMaxLength => Task == HeadTask.QuestionAnswering ? 384 : 128;

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

    /// <summary>Checks ranges; errors name the field.</summary>
    public void Validate()
    {
        static string F(string name) => BertSharpException.Field(name);
        var probe = new FineTuneOptions
        {
            Task = Data.TaskSpec.Sst2,
            DataPath = DataPath,
            EvalDataPath = EvalDataPath ?? DataPath,
            OutputDir = OutputDir,
            ModelDir = ModelDir,
            ConfigPreset = ConfigPreset,
            VocabPath = VocabPath,
            Epochs = EffectiveEpochs,
            BatchSize = EffectiveBatchSize,
            LearningRate = LearningRate,
            Eps = Eps,
            WeightDecay = WeightDecay,
            WarmupRatio = WarmupRatio,
            WarmupSteps = WarmupSteps,
            MaxLength = MaxLength ?? DefaultMaxLength,
            GradAccum = GradAccum,
            MaxTrainExamples = MaxTrainExamples,
            MaxEvalExamples = MaxEvalExamples,
        };
        // The options shared with sequence classification are checked by the same rules.
        probe.Validate();
        if (FreezeEncoder && FreezeLayers is not null)
        {
            throw new BertSharpException($"{F("freeze_encoder")} and {F("freeze_layers")}: give one or the other.");
        }
        if (DocStride < 0)
        {
            throw new BertSharpException($"{F("doc_stride")} {DocStride}: expected a number ≥ 0.");
        }
        if (MaxAnswerLength < 1)
        {
            throw new BertSharpException($"{F("max_answer_length")} {MaxAnswerLength}: expected at least 1.");
        }
        if (double.IsNaN(NullScoreDiffThreshold))
        {
            throw new BertSharpException($"{F("null_score_diff_threshold")}: expected a number.");
        }
    }
}
