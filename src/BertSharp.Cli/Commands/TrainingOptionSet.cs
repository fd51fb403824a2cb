using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Training;

namespace BertSharp.Cli.Commands;

/// <summary>
/// AdamW's options (<c>--lr</c>, <c>--eps</c>, <c>--weight-decay</c>, <c>--max-grad-norm</c>, <c>--grad-accum</c>) and the
/// learning-rate schedule's (<c>--lr-scheduler</c>, <c>--lr-scheduler-kwargs</c>), declared once for fine-tuning and
/// pre-training; each run type brings its own library defaults.
/// </summary>
internal sealed class OptimizerOptions(double learningRate, double eps, double weightDecay, double maxGradNorm)
{
    public Option<double> LearningRate { get; } = new("--lr") { Description = "Peak learning rate of AdamW.", DefaultValueFactory = _ => learningRate };

    public Option<double> Eps { get; } = new("--eps") { Description = "AdamW epsilon.", DefaultValueFactory = _ => eps };

    public Option<double> WeightDecay { get; } = new("--weight-decay")
    {
        Description = "AdamW weight decay (not on biases and LayerNorm weights).", DefaultValueFactory = _ => weightDecay,
    };

    public Option<double> MaxGradNorm { get; } = new("--max-grad-norm")
    {
        Description = "Clip the global gradient norm to this, a number ≥ 0 (0 disables clipping).", DefaultValueFactory = _ => maxGradNorm,
    };

    public Option<int> GradAccum { get; } = new("--grad-accum") { Description = "Micro-batches accumulated per optimizer step.", DefaultValueFactory = _ => 1 };

    public Option<string> LrScheduler { get; } = SchedulerOption();

    public Option<string?> LrSchedulerKwargs { get; } = new("--lr-scheduler-kwargs")
    {
        Description = "The schedule's own arguments as a JSON object, as HF's lr_scheduler_kwargs: num_cycles (cosine, cosine_with_restarts, " +
                      "cosine_with_min_lr), lr_end and power (polynomial), min_lr or min_lr_rate (cosine_with_min_lr, one of them required), " +
                      "num_decay_steps (required), num_stable_steps, warmup_type, decay_type, min_lr_ratio and num_cycles (warmup_stable_decay).",
        HelpName = "JSON",
    };

    public IEnumerable<Option> All => [LearningRate, Eps, WeightDecay, MaxGradNorm, GradAccum, LrScheduler, LrSchedulerKwargs];

    /// <summary>The <c>--lr-scheduler-kwargs</c> given, as the library's JSON object (null when not given).</summary>
    public JsonObject? SchedulerKwargs(ParseResult p)
    {
        if (p.GetValue(LrSchedulerKwargs) is not { } text)
        {
            return null;
        }
        JsonNode? node;
        try
        {
            // Strict, as every JSON bert reads: the default parse kept both keys and failed on first access as an internal error.
            node = JsonNode.Parse(text, documentOptions: IO.StrictJson.Options);
        }
        catch (JsonException e)
        {
            // A key given twice is named; any other fault is not a JSON object, refused below.
            node = IO.StrictJson.DuplicateKeyError(LrSchedulerKwargs.Name, text, e) is { } duplicate ? throw duplicate : null;
        }
        return node as JsonObject
            ?? throw new BertSharpException($"{LrSchedulerKwargs.Name} {CliErrors.Shown(text)}: expected a JSON object such as '{{\"num_cycles\": 2}}'.");
    }

    private static Option<string> SchedulerOption()
    {
        var option = new Option<string>("--lr-scheduler")
        {
            Description = "Learning-rate schedule, as HF's lr_scheduler_type: " + string.Join(", ", LearningRateSchedule.Types) +
                          " (all but constant and reduce_lr_on_plateau warm up first; reduce_lr_on_plateau lowers the rate at validations, pre-training's --eval-every evaluations;" +
                          " see --lr-scheduler-kwargs).",
            DefaultValueFactory = _ => LearningRateSchedule.DefaultType,
            HelpName = "NAME",
        };
        option.AcceptOnlyFromAmong([.. LearningRateSchedule.Types]);
        return option;
    }
}

/// <summary>
/// The options of every fine-tuning — sequence classification and the task heads (<c>finetune --task ner|squad|swag</c>) —
/// declared once, with their defaults taken from the library, and bound once to <see cref="TrainingOptions"/>.
/// </summary>
internal sealed class TrainingOptionSet
{
    public Option<string> Data { get; } = new("--data") { Description = "Training data file (.gz is decompressed).", Required = true };

    public Option<string?> EvalData { get; } = new("--eval-data")
    {
        Description = "Validation data file, evaluated at each epoch end (or every --eval-steps); without it classification holds --val-size of the training data out (ner, squad, swag: no validation).",
    };

    public Option<string> Output { get; } = new("--output")
    {
        Description = "Output directory: checkpoint-N/ during the run, an HF checkpoint directory at the end (replaced atomically). " +
                      "A non-empty directory bert did not write is refused (see --overwrite).",
        Required = true,
    };

    public Option<string?> Model { get; } = CommonOptions.ModelOption("HF checkpoint directory or Hub id to fine-tune.", required: false);

    public Option<string?> Config { get; } = new("--config")
    {
        Description = "Train from scratch: a size preset (tiny, mini, small, medium, base, large) or a config.json file (needs --vocab; vocab_size comes from it).",
    };

    public Option<string?> Vocab { get; } = new("--vocab") { Description = "vocab.txt for --config." };

    public Option<bool?> Lowercase { get; } = CommonOptions.Lowercase("--config");

    public Option<int?> Epochs { get; } = new("--epochs")
    {
        Description = $"Epochs (default {TaskSpec.Sst2.DefaultEpochs}; {TaskSpec.Imdb.DefaultEpochs} for imdb; {HeadFineTuneOptions.DefaultEpochs} for ner, squad and swag).",
    };

    public Option<int?> BatchSize { get; } = CommonOptions.BatchSize<int?>(
        $"Examples per batch (default {TaskSpec.Sst2.DefaultBatchSize}; {TaskSpec.Imdb.DefaultBatchSize} for imdb, " +
        $"{HeadFineTuneOptions.DefaultBatchSize(HeadTask.QuestionAnswering)} for squad, {HeadFineTuneOptions.DefaultBatchSize(HeadTask.MultipleChoice)} for swag), " +
        "over all ranks of a data-parallel run (each takes its share).");

    public Option<int?> EvalBatchSize { get; } = CommonOptions.EvalBatchSize("Examples");

    public Option<int?> MaxLength { get; } = CommonOptions.MaxLength(
        $"Fine-tuning defaults to the task's length ({TaskSpec.Sst2.DefaultMaxLength}; {TaskSpec.Imdb.DefaultMaxLength} for imdb, " +
        $"{HeadFineTuneOptions.DefaultMaxLengthOf(HeadTask.QuestionAnswering)} for squad) when the model's trained length is not shorter.");

    public OptimizerOptions Optimizer { get; } = new(TrainingOptions.DefaultLearningRate, TrainingOptions.DefaultEps, TrainingOptions.DefaultWeightDecay,
        TrainingOptions.DefaultMaxGradNorm);

    public Option<double?> WarmupRatio { get; } = CommonOptions.WarmupRatio("0");

    public Option<int?> WarmupSteps { get; } = CommonOptions.WarmupSteps<int?>();

    public Option<double> LabelSmoothing { get; } = new("--label-smoothing")
    {
        HelpName = "X",
        Description = "HF's label_smoothing_factor, 0 ≤ X < 1: train and validate on (1 − X) · cross-entropy + X · the mean −log p over the classes " +
                      "(HF's LabelSmoother) instead of the plain cross-entropy; classification (pairs too), ner and swag, not regression or squad (default 0).",
    };

    public Option<ulong> Seed { get; } = CommonOptions.Seed(TrainingOptions.DefaultSeed,
        "Seed for initialisation, dropout and shuffling; the same seed gives the same losses on the same CPU.");

    public Option<int?> MaxTrainExamples { get; } = new("--max-train-examples") { Description = "Use only the first N training examples." };

    public Option<int?> MaxEvalExamples { get; } = new("--max-eval-examples") { Description = "Use only the first N validation examples." };

    public Option<double> SaveSteps { get; } = new("--save-steps")
    {
        HelpName = "N",
        Description = "Also write a checkpoint every N optimizer steps (one is always written where the run validates; with --eval-steps a multiple of it); " +
                      "N below 1 is a share of the run's steps, ceil(steps × N), as HF's save_steps=0.1.",
    };

    public Option<double?> EvalSteps { get; } = new("--eval-steps")
    {
        HelpName = "N",
        Description = "Validate every N optimizer steps (and at the last) instead of at each epoch end, each with a checkpoint; --save-best and --early-stopping-patience count these validations (HF's eval_strategy=\"steps\"); " +
                      "N below 1 is a share of the run's steps, ceil(steps × N), as HF's eval_steps=0.1.",
    };

    public Option<int?> EarlyStoppingPatience { get; } = new("--early-stopping-patience")
    {
        HelpName = "N",
        Description = "Stop when the --save-best metric (required) has not improved for N validations (epochs, or --eval-steps) in a row, and keep the best one's weights (HF's EarlyStoppingCallback).",
    };

    public Option<double?> EarlyStoppingThreshold { get; } = new("--early-stopping-threshold")
    {
        HelpName = "X",
        Description = "With --early-stopping-patience: a validation improves only when it beats the best so far by more than X (absolute; default 0).",
    };

    public Option<bool> Resume { get; } = ResumeOption("Continue the unfinished run in --output from its latest checkpoint (same settings); the result is bitwise the uninterrupted run's.");

    public Option<int?> StopAfter { get; } = StopAfterOption();

    public Option<string> Device { get; } = CommonOptions.Device();

    public Option<int?> Threads { get; } = CommonOptions.Threads();

    public Option<bool> Overwrite { get; } = CommonOptions.Overwrite();

    public Option<bool> Bf16 { get; } = Bf16Option();

    public Option<bool> FreezeEncoder { get; } = new("--freeze-encoder") { Description = "Train only the task head: BERT's embeddings, layers and pooler stay as loaded (every task)." };

    public Option<int?> FreezeLayers { get; } = new("--freeze-layers") { Description = "Keep the embeddings and the first N encoder layers as loaded; the rest trains (every task)." };

    public IEnumerable<Option> All =>
    [
        Data, EvalData, Output, Model, Config, Vocab, Lowercase, Epochs, BatchSize, EvalBatchSize, MaxLength, .. Optimizer.All, WarmupRatio, WarmupSteps, LabelSmoothing, Seed,
        MaxTrainExamples, MaxEvalExamples, SaveSteps, EvalSteps, EarlyStoppingPatience, EarlyStoppingThreshold, Resume, StopAfter, Device, Threads, Overwrite, Bf16, FreezeEncoder, FreezeLayers,
    ];

    /// <summary>The shared settings as given on the command line (nothing checked yet: <see cref="TrainingOptions.Validate"/> does).</summary>
    public TrainingOptions Bind(ParseResult p) => new()
    {
        DataPath = p.GetValue(Data)!, EvalDataPath = p.GetValue(EvalData), OutputDir = p.GetValue(Output)!, Overwrite = p.GetValue(Overwrite),
        ModelDir = p.GetValue(Model), ConfigPreset = p.GetValue(Config), VocabPath = p.GetValue(Vocab), Lowercase = p.GetValue(Lowercase),
        Epochs = p.GetValue(Epochs), BatchSize = p.GetValue(BatchSize), EvalBatchSize = p.GetValue(EvalBatchSize), MaxLength = p.GetValue(MaxLength),
        LearningRate = p.GetValue(Optimizer.LearningRate), Eps = p.GetValue(Optimizer.Eps), WeightDecay = p.GetValue(Optimizer.WeightDecay),
        MaxGradNorm = p.GetValue(Optimizer.MaxGradNorm), GradAccum = p.GetValue(Optimizer.GradAccum),
        LrSchedulerType = p.GetValue(Optimizer.LrScheduler)!, LrSchedulerKwargs = Optimizer.SchedulerKwargs(p),
        WarmupRatio = p.GetValue(WarmupRatio), WarmupSteps = p.GetValue(WarmupSteps), LabelSmoothing = p.GetValue(LabelSmoothing), Seed = p.GetValue(Seed),
        MaxTrainExamples = p.GetValue(MaxTrainExamples), MaxEvalExamples = p.GetValue(MaxEvalExamples),
        SaveSteps = p.GetValue(SaveSteps), EvalSteps = p.GetValue(EvalSteps), EarlyStoppingPatience = p.GetValue(EarlyStoppingPatience),
        EarlyStoppingThreshold = p.GetValue(EarlyStoppingThreshold), Resume = p.GetValue(Resume), StopAfter = p.GetValue(StopAfter),
        Device = p.GetValue(Device)!, Bf16 = p.GetValue(Bf16), FreezeEncoder = p.GetValue(FreezeEncoder), FreezeLayers = p.GetValue(FreezeLayers),
    };

    /// <summary><c>--resume</c> of a training command; <paramref name="description"/> says which settings a resumed run takes.</summary>
    public static Option<bool> ResumeOption(string description) => new("--resume") { Description = description };

    /// <summary><c>--stop-after N</c> of a training command that checkpoints and resumes.</summary>
    public static Option<int?> StopAfterOption() =>
        new("--stop-after") { Description = "Stop this invocation after N optimizer steps, writing a checkpoint there (--resume continues it)." };

    /// <summary><c>--bf16</c> of every training command (HF's flag name).</summary>
    public static Option<bool> Bf16Option() => new("--bf16")
    {
        Description = "bf16 mixed precision, as HF's bf16=True (torch CUDA autocast's policy, done explicitly): every Linear and the attention run in bfloat16, " +
                      "embeddings, LayerNorm, softmax and the losses in float32; weights, gradients, optimizer state and checkpoints stay float32. " +
                      "Validation runs so too. Recorded in the run's settings; a --resume may not change it.",
    };

    /// <summary><c>--example-dropout</c> of a training command that runs data-parallel.</summary>
    public static Option<bool> ExampleDropout() => new("--example-dropout")
    {
        Description = "Key dropout masks by (seed, step, example) so that any number of ranks gives the same run (always on with several ranks; pass it to a single-process run that will be resumed on several).",
    };
}
