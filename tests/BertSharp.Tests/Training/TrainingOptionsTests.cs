using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Tokenization;
using BertSharp.Training;
using BertSharp.Training.Pretraining;

namespace BertSharp.Tests.Training;

/// <summary>
/// The settings every fine-tuning shares (<see cref="TrainingOptions"/>): validated once with field-named errors for
/// classification and the heads alike, written to training_args.json by one writer whose keys are those earlier versions
/// wrote (so their checkpoints still resume), bound once by the CLI with the library's defaults.
/// </summary>
public class TrainingOptionsTests
{
    private static TrainingOptions Shared(string output) => new() { DataPath = "train.tsv", OutputDir = output, ConfigPreset = "tiny", VocabPath = "vocab.txt" };

    /// <summary>The keys main's FineTuneArgs wrote before the shared writer (hand-copied from that version).</summary>
    private static readonly string[] ClassificationKeys =
    [
        "task", "text_column", "text_pair_column", "label_column", "regression", "data", "eval_data", "model", "config", "vocab", "lowercase",
        "epochs", "batch_size", "learning_rate", "adam_epsilon", "weight_decay", "warmup_steps", "total_steps", "max_length", "truncation_side",
        "head_tokens", "pooling", "gradient_accumulation_steps", "max_grad_norm", "seed", "val_size", "split", "bucket_by_length", "save_best",
        "freeze_encoder", "freeze_layers",
    ];

    /// <summary>The shared keys the heads' TrainingArgs wrote before (the recipe's own follow).</summary>
    private static readonly string[] HeadKeys =
    [
        "task", "data", "eval_data", "model", "config", "vocab", "lowercase", "epochs", "batch_size", "learning_rate", "adam_epsilon", "weight_decay",
        "warmup_steps", "total_steps", "max_length", "gradient_accumulation_steps", "max_grad_norm", "seed", "freeze_encoder", "freeze_layers",
    ];

    [Fact]
    public void Classification_and_heads_are_validated_by_the_same_rules_with_field_names()
    {
        var head = new HeadFineTuneOptions { Task = HeadTask.QuestionAnswering, Training = Shared("o") with { BatchSize = 0 } };
        var cls = new FineTuneOptions { Task = TaskSpec.Sst2, Training = Shared("o") with { BatchSize = 0 } };
        var a = Assert.Throws<BertSharpException>(head.Validate);
        var b = Assert.Throws<BertSharpException>(cls.Validate);
        Assert.Equal("batch_size 0: expected a positive number.", a.Message);
        Assert.Equal(a.Message, b.Message);
        Assert.Equal("--batch-size 0: expected a positive number.", Cli.CliErrors.Describe(a));

        // Checkpoint settings the heads gained are checked there too.
        var save = Assert.Throws<BertSharpException>((head with { Training = Shared("o") with { SaveSteps = -1 } }).Validate);
        Assert.Equal(["save_steps"], save.Fields);
        var freeze = Assert.Throws<BertSharpException>((cls with { Training = Shared("o") with { FreezeEncoder = true, FreezeLayers = 1 } }).Validate);
        Assert.Equal("--freeze-encoder and --freeze-layers: give one or the other.", Cli.CliErrors.Describe(freeze));
        // Without a validation file classification checks its held-out size; the heads hold nothing out.
        Assert.Throws<BertSharpException>((cls with { ValSize = -1 }).Validate);
        (head with { Training = Shared("o") }).Validate();

        // A token classification's tag list is refused here, before any data is read: it was refused only once the training
        // and validation files had been read.
        var ner = head with { Task = HeadTask.TokenClassification, Training = Shared("o"), Labels = ["O", "B-PER", "O"] };
        Assert.Equal("--labels: classes \"0\" and \"2\" are both named \"O\"; expected each tag once, in id order.",
            Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(ner.Validate)));
        Assert.Equal("labels: token classification needs at least 2 tags; the list has 1 (O).",
            Assert.Throws<BertSharpException>((ner with { Labels = ["O"] }).Validate).Message);
        (ner with { Labels = ["O", "B-PER"] }).Validate();
        // Question answering and multiple choice read no tag list, and ignored one as they would not ignore NerScheme.
        foreach (var (task, name) in new[] { (HeadTask.QuestionAnswering, "squad"), (HeadTask.MultipleChoice, "swag") })
        {
            var misplaced = Assert.Throws<BertSharpException>((ner with { Task = task }).Validate);
            Assert.Equal($"labels O,B-PER,O: only for token classification, not for {name}.", misplaced.Message);
            Assert.Equal($"--labels O,B-PER,O: only for token classification, not for {name}.", Cli.CliErrors.Describe(misplaced));
            Assert.Equal("ner_scheme IOB2: only for token classification, not for " + name + ".",
                Assert.Throws<BertSharpException>((head with { Task = task, Training = Shared("o"), NerScheme = SeqevalScheme.IOB2 }).Validate).Message);
        }
        // Every setting of one head is refused for the others by one table (each was ignored without a word), given at its
        // default value too, and before its range; not given (null), each head takes its default.
        var bare = head with { Training = Shared("o") };
        (HeadFineTuneOptions Options, string Message)[] misplacedSettings =
        [
            (bare with { LabelAllTokens = true }, "label_all_tokens true: only for token classification, not for squad."),
            (bare with { Task = HeadTask.MultipleChoice, LabelAllTokens = false }, "label_all_tokens false: only for token classification, not for swag."),
            (bare with { Task = HeadTask.TokenClassification, DocStride = 64 }, "doc_stride 64: only for question answering, not for ner."),
            (bare with { Task = HeadTask.TokenClassification, DocStride = -1 }, "doc_stride -1: only for question answering, not for ner."),
            (bare with { Task = HeadTask.MultipleChoice, MaxAnswerLength = HeadFineTuneOptions.DefaultMaxAnswerLength },
                "max_answer_length 30: only for question answering, not for swag."),
            (bare with { Task = HeadTask.TokenClassification, NullScoreDiffThreshold = -0.5 }, "null_score_diff_threshold -0.5: only for question answering, not for ner."),
        ];
        foreach (var (options, message) in misplacedSettings)
        {
            Assert.Equal(message, Assert.Throws<BertSharpException>(options.Validate).Message);
        }
        Assert.Equal("--doc-stride 64: only for question answering, not for ner.",
            Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(misplacedSettings[2].Options.Validate)));
        foreach (var task in Enum.GetValues<HeadTask>())
        {
            (bare with { Task = task }).Validate();
        }
        (bare with { LabelAllTokens = null, DocStride = 0, MaxAnswerLength = 1, NullScoreDiffThreshold = 2.5 }).Validate();
        (bare with { Task = HeadTask.TokenClassification, LabelAllTokens = true }).Validate();
        Assert.Throws<ArgumentException>(() => HeadFineTuneOptions.RequireTaskSetting(HeadTask.QuestionAnswering, "pooling", "mean"));
    }

    [Fact]
    public void Max_grad_norm_has_one_rule_for_fine_tuning_and_pre_training()
    {
        // Fine-tuning took a negative value as "no clipping" where pre-training, on the same Trainer, refused it.
        foreach (var (value, shown) in new[] { (-1.0, "-1"), (-0.5, "-0.5"), (double.NaN, "NaN") })
        {
            var fineTuning = Assert.Throws<BertSharpException>(() => (Shared("o") with { MaxGradNorm = value }).Validate());
            var pretraining = Assert.Throws<BertSharpException>(() => new PretrainingTrainerOptions { MaxGradNorm = value }.Validate());
            Assert.Equal($"max_grad_norm {shown}: expected a number ≥ 0 (0: no clipping).", fineTuning.Message);
            Assert.Equal(fineTuning.Message, pretraining.Message);
            Assert.Equal(["max_grad_norm"], fineTuning.Fields);
        }
        foreach (var value in new[] { 0.0, 2.5 })
        {
            (Shared("o") with { MaxGradNorm = value }).Validate();
            new PretrainingTrainerOptions { MaxGradNorm = value }.Validate();
        }

        using var tmp = TestPaths.TempDir();
        var data = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
        Assert.Equal("error: --max-grad-norm -1: expected a number ≥ 0 (0: no clipping).",
            CliRunner.Run("finetune", "--task", "sst2", "--data", data, "--config", "tiny", "--vocab", TokenizationFixtures.VocabPath("bert-base-uncased"),
                "--output", tmp.File("run"), "--max-grad-norm", "-1").AssertOneLineError());
        Assert.False(Directory.Exists(tmp.File("run")));
    }

    [Fact]
    public void An_output_dir_that_is_a_file_is_a_path_problem_and_a_link_that_ends_nowhere_is_not_called_a_file()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("afile"), "x");
        // A path's problem, as every other message about an output path is, so that the CLI names it as the user typed it.
        var file = Assert.Throws<PathException>(() => Shared(tmp.File("afile")).Validate());
        Assert.Equal((tmp.File("afile"), "is a file; expected a directory (it is created, or replaced when the run completes)."), (file.Path, file.Problem));

        Directory.CreateSymbolicLink(tmp.File("gone"), "nowhere");
        var data = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
        Assert.Equal($"error: --output {tmp.File("gone")}: a symbolic link to {tmp.File("nowhere")}, which does not exist; expected a link to a directory.",
            CliRunner.Run("finetune", "--task", "sst2", "--data", data, "--config", "tiny", "--vocab", TokenizationFixtures.VocabPath("bert-base-uncased"),
                "--output", tmp.File("gone")).AssertOneLineError());
        Assert.False(Directory.Exists(tmp.File("nowhere")));
    }

    [Fact]
    public void Task_defaults_apply_only_where_the_shared_setting_is_not_given()
    {
        var qa = new HeadFineTuneOptions { Task = HeadTask.QuestionAnswering, Training = Shared("o") };
        Assert.Equal((3, 12, 384), (qa.EffectiveEpochs, qa.EffectiveBatchSize, qa.DefaultMaxLength));
        Assert.Equal(16, (qa with { Task = HeadTask.MultipleChoice }).EffectiveBatchSize);
        Assert.Equal(128, (qa with { Task = HeadTask.TokenClassification }).DefaultMaxLength);
        Assert.Equal(5, (qa with { Training = Shared("o") with { BatchSize = 5 } }).EffectiveBatchSize);
        // QA windows: training and the inference pipeline read one default.
        Assert.Equal((null, QuestionAnsweringOptions.DefaultDocStride), (qa.DocStride, qa.EffectiveDocStride));
        Assert.Equal((HeadFineTuneOptions.DefaultMaxAnswerLength, 0.0), (qa.EffectiveMaxAnswerLength, qa.EffectiveNullScoreDiffThreshold));
        Assert.Equal(QuestionAnsweringOptions.DefaultWindow, qa.DefaultMaxLength);
        var imdb = new FineTuneOptions { Task = TaskSpec.Imdb, Training = Shared("o") };
        Assert.Equal((2, 16), (imdb.EffectiveEpochs, imdb.EffectiveBatchSize));
        // No length here: a run bounds the task's 512 by the checkpoint's trained length, which only loading it tells;
        // ModelLengthTests checks the length a run records in training_args.json.
    }

    [Fact]
    public void Training_args_keep_the_keys_earlier_versions_wrote_and_old_checkpoints_resume()
    {
        var o = new FineTuneOptions { Task = TaskSpec.Sst2, Training = Shared("o") with { LearningRate = 3e-5, Seed = 9 }, SaveBest = "f1" };
        var args = TrainingArgs.Of(o, warmup: 2, totalSteps: 20, maxLength: 64);
        // And the schedule and save_steps, under HF's TrainingArguments names.
        Assert.Equal(ClassificationKeys.Concat(["lr_scheduler_kwargs", "lr_scheduler_type", "per_device_eval_batch_size", "save_steps"]).Order(), args.Select(kv => kv.Key).Order());
        Assert.Equal(("linear", "{}"), ((string)args["lr_scheduler_type"]!, args["lr_scheduler_kwargs"]!.ToJsonString()));
        Assert.Equal(3e-5, (double)args["learning_rate"]!);
        // A number, as HF's training_args.json and pre-training have it (earlier versions wrote the string "9").
        Assert.Equal("9", args["seed"]!.ToJsonString());
        Assert.Equal(4, (int)args["epochs"]!); // sst2's default, as run
        Assert.Equal(0.1, (double)args["val_size"]!);
        Assert.True((bool)TrainingArgs.Of(o, 2, 20, 64, exampleDropout: true)["example_dropout"]!);

        // A checkpoint written by the previous writer (its key order, its seed a string, no save_steps) resumes with today's
        // settings; one of another seed does not.
        var old = new JsonObject();
        foreach (var k in ClassificationKeys)
        {
            old[k] = args[k]?.DeepClone();
        }
        old["seed"] = "9";
        ResumeSettings.Check(new TrainerState { Settings = ResumeSettings.Of(old, o.Training, 10, 2, []) }, ResumeSettings.Of(args, o.Training, 10, 2, []), "checkpoint-4", o.Training);
        // Such a checkpoint ran the linear schedule: another one is refused, naming both.
        var cosine = o.Training with { LrSchedulerType = "cosine", LrSchedulerKwargs = new JsonObject { ["num_cycles"] = 2 } };
        Assert.Equal("checkpoint-4: cannot resume: the run was trained with --lr-scheduler linear, but this one has --lr-scheduler cosine and "
            + "--lr-scheduler-kwargs {\"num_cycles\":2}; resume with the same scheduler.", Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() =>
            ResumeSettings.Check(new TrainerState { Settings = ResumeSettings.Of(old, o.Training, 10, 2, []) },
                ResumeSettings.Of(TrainingArgs.Of(o with { Training = cosine }, 2, 20, 64), cosine, 10, 2, []), "checkpoint-4", cosine))));
        // The same schedule spelled otherwise (its arguments in another order, whole numbers written as decimals) resumes;
        // another value of one argument does not.
        var polynomial = o.Training with { LrSchedulerType = "polynomial", LrSchedulerKwargs = new JsonObject { ["power"] = 2, ["lr_end"] = 0 } };
        var respelled = polynomial with { LrSchedulerKwargs = JsonNode.Parse("""{"lr_end": 0.0, "power": 2.0}""")!.AsObject() };
        JsonObject Saved(TrainingOptions t) => ResumeSettings.Of(TrainingArgs.Of(o with { Training = t }, 2, 20, 64), t, 10, 2, []);
        ResumeSettings.Check(new TrainerState { Settings = Saved(polynomial) }, Saved(respelled), "checkpoint-4", respelled);
        // So does the schedule with its defaults written out: polynomial's lr_end is 1e-7 unless given (optimization.py).
        var defaults = o.Training with { LrSchedulerType = "polynomial" };
        var spelledOut = defaults with { LrSchedulerKwargs = new JsonObject { ["lr_end"] = 1e-7, ["power"] = 1 } };
        ResumeSettings.Check(new TrainerState { Settings = Saved(defaults) }, Saved(spelledOut), "checkpoint-4", spelledOut);
        // cosine_with_min_lr's min_lr 1e-4 at --lr 1e-3 is HF's min_lr_rate 1e-4 / 1e-3 = 0.1: the same schedule either way
        // (HF converts min_lr into the rate); another rate is refused.
        var minLr = o.Training with { LearningRate = 1e-3, LrSchedulerType = "cosine_with_min_lr", LrSchedulerKwargs = new JsonObject { ["min_lr"] = 1e-4 } };
        var minLrRate = minLr with { LrSchedulerKwargs = new JsonObject { ["min_lr_rate"] = 0.1 } };
        ResumeSettings.Check(new TrainerState { Settings = Saved(minLr) }, Saved(minLrRate), "checkpoint-4", minLrRate);
        ResumeSettings.Check(new TrainerState { Settings = Saved(minLrRate) }, Saved(minLr), "checkpoint-4", minLr);
        var otherRate = minLr with { LrSchedulerKwargs = new JsonObject { ["min_lr_rate"] = 0.2 } };
        Assert.Equal("checkpoint-4: cannot resume: the run was trained with --lr-scheduler cosine_with_min_lr and --lr-scheduler-kwargs {\"min_lr\":0.0001}, "
            + "but this one has --lr-scheduler cosine_with_min_lr and --lr-scheduler-kwargs {\"min_lr_rate\":0.2}; resume with the same scheduler.",
            Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() =>
                ResumeSettings.Check(new TrainerState { Settings = Saved(minLr) }, Saved(otherRate), "checkpoint-4", otherRate))));
        var steeper = polynomial with { LrSchedulerKwargs = new JsonObject { ["power"] = 2.5, ["lr_end"] = 0 } };
        Assert.Equal("checkpoint-4: cannot resume: the run was trained with --lr-scheduler polynomial and --lr-scheduler-kwargs {\"power\":2,\"lr_end\":0}, "
            + "but this one has --lr-scheduler polynomial and --lr-scheduler-kwargs {\"power\":2.5,\"lr_end\":0}; resume with the same scheduler.",
            Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() =>
                ResumeSettings.Check(new TrainerState { Settings = Saved(polynomial) }, Saved(steeper), "checkpoint-4", steeper))));
        old["seed"] = "8";
        Assert.Equal("checkpoint-4: cannot resume: --seed was \"8\" in the checkpoint but is 9 now; resume with the same settings.", Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() =>
            ResumeSettings.Check(new TrainerState { Settings = ResumeSettings.Of(old, o.Training, 10, 2, []) }, ResumeSettings.Of(args, o.Training, 10, 2, []), "checkpoint-4", o.Training))));
        // A run started without keyed dropout, resumed with it (as every data-parallel run is): the message says what to do.
        var keyed = TrainingArgs.Of(o, 2, 20, 64, exampleDropout: true);
        var refused = Assert.Throws<BertSharpException>(() =>
            new TrainerState { Settings = ResumeSettings.Of(args, o.Training, 10, 2, []) }.CheckResumable(ResumeSettings.Of(keyed, o.Training, 10, 2, []), "checkpoint-4"));
        Assert.Equal("checkpoint-4: cannot resume: the run was started without example_dropout, and this one uses it (a data-parallel run always does); "
            + "resume it as one process without it, and start a run that is to continue on several ranks with it.", refused.Message);

        var head = new HeadFineTuneOptions { Task = HeadTask.TokenClassification, Training = Shared("o") };
        var headArgs = TrainingArgs.Of(head.TaskName, head.Training, head.EffectiveEpochs, head.EffectiveBatchSize, 128, 0, 9,
            new JsonObject { ["label_all_tokens"] = false });
        Assert.Equal([.. HeadKeys, "save_steps", "per_device_eval_batch_size", "lr_scheduler_type", "lr_scheduler_kwargs", "label_all_tokens"], headArgs.Select(kv => kv.Key));
        Assert.Equal("ner", (string)headArgs["task"]!);
        Assert.Equal(32, (int)headArgs["batch_size"]!);
    }

    [Fact]
    public void The_eval_batch_size_is_the_batch_size_unless_given_recorded_as_hfs_refused_below_1_and_free_on_resume()
    {
        var o = new FineTuneOptions { Task = TaskSpec.Sst2, Training = Shared("o") with { BatchSize = 16 } };
        // HF's TrainingArguments name; by default the training batch size, the validation batches of earlier versions.
        Assert.Equal(16, (int)TrainingArgs.Of(o, 0, 20, 64)["per_device_eval_batch_size"]!);
        var eight = o with { Training = o.Training with { EvalBatchSize = 8 } };
        var args = TrainingArgs.Of(eight, 0, 20, 64);
        Assert.Equal((16, 8), ((int)args["batch_size"]!, (int)args["per_device_eval_batch_size"]!));

        foreach (var bad in new[] { 0, -3 })
        {
            var e = Assert.Throws<BertSharpException>((o with { Training = o.Training with { EvalBatchSize = bad } }).Validate);
            Assert.Equal($"--eval-batch-size {bad}: expected a positive number.", Cli.CliErrors.Describe(e));
            var p = Assert.Throws<BertSharpException>(new PretrainingTrainerOptions { EvalBatchSize = bad }.Validate);
            Assert.Equal($"--eval-batch-size {bad}: expected at least 1.", Cli.CliErrors.Describe(p));
        }

        // It changes no training: a resume takes another size, and a checkpoint from before it was recorded resumes with one.
        JsonObject Settings(FineTuneOptions f) => ResumeSettings.Of(TrainingArgs.Of(f, 0, 20, 64), f.Training, 80, 2, []);
        ResumeSettings.Check(new TrainerState { Settings = Settings(o) }, Settings(eight), "checkpoint-4", eight.Training);
        var old = Settings(o);
        old.Remove("per_device_eval_batch_size");
        ResumeSettings.Check(new TrainerState { Settings = old }, Settings(eight), "checkpoint-4", eight.Training);
    }

    [Fact]
    public void A_refused_resume_names_the_option_that_was_changed_and_old_checkpoints_still_resume()
    {
        var o = new FineTuneOptions { Task = TaskSpec.Sst2, Training = Shared("o") };
        JsonObject Settings(TrainingOptions t, int trainExamples, int warmup, long totalSteps, JsonObject? fingerprints = null) =>
            ResumeSettings.Of(TrainingArgs.Of(o with { Training = t }, warmup, totalSteps, 64), t, trainExamples, 2, fingerprints ?? []);
        var run = Settings(o.Training, 80, 0, 20);
        string? Refused(JsonObject now, JsonObject? was = null) => Assert.Throws<BertSharpException>(() =>
            ResumeSettings.Check(new TrainerState { Settings = was ?? run }, now, "checkpoint-4", o.Training)).Fields.Single();

        // Each changed the step count first in the checkpoint's order, and the refusal named total_steps or warmup_steps.
        Assert.Equal("gradient_accumulation_steps", Refused(Settings(o.Training with { GradAccum = 2 }, 80, 0, 10)));
        Assert.Equal("max_train_examples", Refused(Settings(o.Training with { MaxTrainExamples = 40 }, 40, 0, 10)));
        // An option left unset is "not given" on either side (it said "was null in the checkpoint").
        var capped = Settings(o.Training with { MaxTrainExamples = 40 }, 40, 0, 10);
        Assert.Contains("max_train_examples was not given in the checkpoint but is 40 now", Assert.Throws<BertSharpException>(() =>
            ResumeSettings.Check(new TrainerState { Settings = run }, capped, "checkpoint-4", o.Training)).Message, StringComparison.Ordinal);
        Assert.Contains("max_train_examples was 40 in the checkpoint but is not given now", Assert.Throws<BertSharpException>(() =>
            ResumeSettings.Check(new TrainerState { Settings = capped }, run, "checkpoint-4", o.Training)).Message, StringComparison.Ordinal);
        var ratioNow = o.Training with { WarmupRatio = 0.1 };
        Assert.Equal(["warmup_ratio"], Assert.Throws<BertSharpException>(() =>
            ResumeSettings.Check(new TrainerState { Settings = run }, Settings(ratioNow, 80, 2, 20), "checkpoint-4", ratioNow)).Fields);
        // The same warmup steps by another option resume, as from a checkpoint that does not record the ratio: the schedule
        // is the same (a checkpoint recording it refused the switch); other steps are refused naming this run's option.
        var byRatio = Settings(o.Training with { WarmupRatio = 0.1 }, 80, 2, 20);
        Exception? Switched(int steps) => Record.Exception(() => ResumeSettings.Check(new TrainerState { Settings = byRatio },
            Settings(o.Training with { WarmupSteps = steps }, 80, steps, 20), "checkpoint-4", o.Training with { WarmupSteps = steps }));
        Assert.Null(Switched(2));
        Assert.Equal("checkpoint-4: cannot resume: the run warms up for 2 step(s) in the checkpoint, but --warmup-steps is 3 now; resume with the same warmup.",
            Cli.CliErrors.Describe(Assert.IsType<BertSharpException>(Switched(3))));
        // So is one that may grow (pre-training's steps): comparing its NaN, it said "steps 2000 is below the run's null".
        string GrowRefused(JsonNode? was, JsonNode? now) => Assert.Throws<BertSharpException>(() => new TrainerState { Settings = new JsonObject { ["steps"] = was } }
            .CheckResumable(new JsonObject { ["steps"] = now }, "checkpoint-4", mayGrow: ["steps"])).Message;
        Assert.Equal("checkpoint-4: cannot resume: steps was not given in the checkpoint but is 2000 now; resume with the same settings.", GrowRefused(null, 2000));
        Assert.Equal("checkpoint-4: cannot resume: steps was 1000 in the checkpoint but is not given now; resume with the same settings.", GrowRefused(1000, null));

        // A data file edited in place keeps its path (and here its example count): the refusal says it changed.
        var edited = Assert.Throws<BertSharpException>(() => ResumeSettings.Check(
            new TrainerState { Settings = Settings(o.Training, 80, 0, 20, new JsonObject { ["data_sha256"] = new string('a', 64) }) },
            Settings(o.Training, 80, 0, 20, new JsonObject { ["data_sha256"] = new string('b', 64) }), "checkpoint-4", o.Training));
        Assert.Equal(["data"], edited.Fields);
        Assert.Equal("checkpoint-4: cannot resume: data train.tsv has changed since the run started (sha256 aaaaaaaaaaaa… then, bbbbbbbbbbbb… now); "
            + "resume with the data the run started with, or start a new run.", edited.Message);

        // The model directory spelled another way resumes; the same spelling from another working directory is another model.
        using var tmp = TestPaths.TempDir();
        var (modelA, modelB) = (Directory.CreateDirectory(tmp.File("a/m")).FullName, Directory.CreateDirectory(tmp.File("b/m")).FullName);
        var fromA = o.Training with { ConfigPreset = null, VocabPath = null, ModelDir = modelA };
        var startedOnA = Settings(fromA, 80, 0, 20);
        ResumeSettings.Check(new TrainerState { Settings = startedOnA }, Settings(fromA with { ModelDir = modelA + "/./" }, 80, 0, 20), "checkpoint-4", fromA);
        var elsewhere = Settings(fromA, 80, 0, 20);
        elsewhere["model_path"] = modelB;
        var other = Assert.Throws<BertSharpException>(() => ResumeSettings.Check(new TrainerState { Settings = startedOnA }, elsewhere, "checkpoint-4", fromA));
        Assert.Equal($"checkpoint-4: cannot resume: --model {modelA} is {modelB}, but the run started from {modelA}; resume with the same model.", Cli.CliErrors.Describe(other));

        // A checkpoint written before the limits, the ratio and the data's contents were recorded resumes with them.
        var limited = o.Training with { MaxTrainExamples = 40, WarmupRatio = 0.1 };
        var old = new JsonObject();
        foreach (var (k, v) in Settings(limited, 40, 1, 10).Where(kv => kv.Key is not ("max_train_examples" or "max_eval_examples" or "warmup_ratio" or "model_path")))
        {
            old[k] = v?.DeepClone();
        }
        ResumeSettings.Check(new TrainerState { Settings = old },
            Settings(limited, 40, 1, 10, new JsonObject { ["data_sha256"] = new string('b', 64), ["eval_data_sha256"] = null }), "checkpoint-4", limited);
        // Such a checkpoint does not say which option set its warmup steps: a refusal names the one this run sets them with
        // (a changed ratio was refused as --warmup-steps).
        BertSharpException WarmupRefused(TrainingOptions now, int warmup) => Assert.Throws<BertSharpException>(() =>
            ResumeSettings.Check(new TrainerState { Settings = old }, Settings(now, 40, warmup, 10), "checkpoint-4", now));
        var ratio = WarmupRefused(limited with { WarmupRatio = 0.2 }, 2);
        Assert.Equal(["warmup_ratio"], ratio.Fields);
        Assert.Equal("checkpoint-4: cannot resume: the run warms up for 1 step(s) in the checkpoint, but --warmup-ratio 0.2 gives 2 now; resume with the same warmup.",
            Cli.CliErrors.Describe(ratio));
        Assert.Equal(["warmup_steps"], WarmupRefused(limited with { WarmupRatio = null, WarmupSteps = 3 }, 3).Fields);
        Assert.Equal("checkpoint-4: cannot resume: the run warms up for 1 step(s) in the checkpoint, but with neither --warmup-steps nor --warmup-ratio given it is 0 now; "
            + "resume with the same warmup.", Cli.CliErrors.Describe(WarmupRefused(limited with { WarmupRatio = null }, 0)));
        // The same steps by another option resume: they train the same run.
        var sameSteps = limited with { WarmupRatio = null, WarmupSteps = 1 };
        ResumeSettings.Check(new TrainerState { Settings = old }, Settings(sameSteps, 40, 1, 10), "checkpoint-4", sameSteps);
    }

    [Fact]
    public void A_resume_refuses_a_tokenizer_changed_in_place_and_a_checkpoint_without_its_hashes_resumes()
    {
        using var tmp = TestPaths.TempDir();
        var model = Directory.CreateDirectory(tmp.File("model")).FullName;
        foreach (var f in new[] { "config.json", "vocab.txt", "tokenizer_config.json", "special_tokens_map.json" })
        {
            File.Copy(Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification", f), Path.Combine(model, f));
        }
        var t = Shared("o") with { DataPath = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), ConfigPreset = null, VocabPath = null, ModelDir = model };
        var o = new FineTuneOptions { Task = TaskSpec.Sst2, Training = t };
        JsonObject Settings() => ResumeSettings.Of(TrainingArgs.Of(o, 0, 20, 64), t, 80, 2,
            ResumeSettings.Fingerprints(t, ClassifierCheckpoint.Describe(model, null, null, null)));
        var started = Settings();
        // Two tokens trade places: the same size (vocab_size, the config check), another tokenizer; it resumed with it.
        var vocab = Path.Combine(model, "vocab.txt");
        var lines = File.ReadAllLines(vocab);
        (lines[^1], lines[^2]) = (lines[^2], lines[^1]);
        File.WriteAllLines(vocab, lines);
        var swapped = Assert.Throws<BertSharpException>(() => ResumeSettings.Check(new TrainerState { Settings = started }, Settings(), "checkpoint-4", t));
        Assert.Equal(["model"], swapped.Fields);
        Assert.Matches($"^checkpoint-4: cannot resume: vocab.txt in --model {System.Text.RegularExpressions.Regex.Escape(model)} has changed since the run started "
            + "\\(sha256 [0-9a-f]{12}… then, sha256 [0-9a-f]{12}… now\\); resume with the tokenizer the run started with, or start a new run.$", Cli.CliErrors.Describe(swapped));
        File.WriteAllLines(vocab, [.. lines[..^2], lines[^1], lines[^2]]);
        // A file the tokenizer does not read changes nothing: an edit of it resumes, and so does a checkpoint that hashed it.
        File.AppendAllText(Path.Combine(model, "special_tokens_map.json"), "\n");
        started["tokenizer_sha256"]!["special_tokens_map.json"] = new string('0', 64);
        ResumeSettings.Check(new TrainerState { Settings = started }, Settings(), "checkpoint-4", t);
        // A checkpoint written before the hashes were recorded resumes as before.
        started.Remove("tokenizer_sha256");
        ResumeSettings.Check(new TrainerState { Settings = started }, Settings(), "checkpoint-4", t);

        // A model from scratch takes its lower-casing from the tokenizer_config.json beside its vocabulary, which is not
        // hashed: its do_lower_case edited in place resumed with the other lower-casing.
        var scratch = Directory.CreateDirectory(tmp.File("scratch")).FullName;
        File.Copy(vocab, Path.Combine(scratch, "vocab.txt"));
        var tokenizerConfig = Path.Combine(scratch, "tokenizer_config.json");
        File.WriteAllText(tokenizerConfig, "{\"do_lower_case\": true}");
        var fresh = t with { ModelDir = null, ConfigPreset = "tiny", VocabPath = Path.Combine(scratch, "vocab.txt") };
        JsonObject FreshSettings() => ResumeSettings.Of(TrainingArgs.Of(o with { Training = fresh }, 0, 20, 64), fresh, 80, 2,
            ResumeSettings.Fingerprints(fresh, ClassifierCheckpoint.Describe(null, fresh.ConfigPreset, fresh.VocabPath, null)));
        var lowered = FreshSettings();
        File.WriteAllText(tokenizerConfig, "{\"do_lower_case\": false}");
        var cased = Assert.Throws<BertSharpException>(() => ResumeSettings.Check(new TrainerState { Settings = lowered }, FreshSettings(), "checkpoint-4", fresh));
        Assert.Equal($"checkpoint-4: cannot resume: the run started with lower-casing on (do_lower_case in {tokenizerConfig}), and this one has lower-casing off "
            + $"(do_lower_case in {tokenizerConfig}); resume with the tokenizer the run started with, or start a new run.", Cli.CliErrors.Describe(cased));
        // A checkpoint written before the lower-casing was recorded resumes as before.
        lowered.Remove("lowercasing");
        ResumeSettings.Check(new TrainerState { Settings = lowered }, FreshSettings(), "checkpoint-4", fresh);
    }

    [Fact]
    public void Resume_in_a_finished_run_says_that_it_finished_and_the_cli_names_the_directory_as_typed()
    {
        using var tmp = TestPaths.TempDir();
        // What a finished fine-tuning leaves: the model and training_args.json, its checkpoints removed.
        TrainingArgsFile.Write(tmp.Path, new JsonObject { ["task"] = "sst2" });
        var done = Assert.Throws<PathException>(() => RunDirectory.Check(tmp.Path, resume: true, overwrite: true, FineTuner.Kind));
        Assert.Equal($"{AtomicFile.Normalize(tmp.Path)}: nothing to --resume: the run there has finished (training_args.json is written at its end); run without --resume to train it again.",
            Cli.CliErrors.Describe(done));
        // The CLI names the directory as typed after its flag (it named the full path alone), as it does a file in its place.
        var parse = Cli.Program.BuildRoot().Parse(OutputSafetyCliTests.Finetune(tmp.Path + "/./", "--resume"));
        Assert.Equal($"--output {tmp.Path}/./: nothing to --resume: the run there has finished (training_args.json is written at its end); run without --resume to train it again.",
            Cli.CliErrors.Describe(Assert.IsType<BertSharpException>(Cli.CliInput.NamePath(parse, done))));
        File.WriteAllText(tmp.File("afile"), "x");
        parse = Cli.Program.BuildRoot().Parse(OutputSafetyCliTests.Finetune(tmp.Path + "/./afile", "--resume"));
        Assert.Equal($"--output {tmp.Path}/./afile: is a file; expected a directory.", Cli.CliInput.NamePath(parse,
            Assert.Throws<PathException>(() => RunDirectory.Check(tmp.File("afile"), resume: true, overwrite: true, FineTuner.Kind)))?.Message);
    }

    [Fact]
    public void Opening_a_run_directory_restored_from_an_interrupted_replacement_refuses_another_kinds_output()
    {
        // RunDirectory.Check saw nothing there; Open restores a pre-training run, whose final/ the fine-tuned model directory
        // would replace at the run's end.
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("out");
        AtomicFile.WriteDirectory(tmp.File("earlier"), d => Directory.CreateDirectory(Path.Combine(d, "final")));
        Directory.Move(tmp.File("earlier"), output + ".0000eeee.old");
        Assert.Null(RunDirectory.Check(output, resume: false, overwrite: false, FineTuner.Kind));
        var refused = Assert.Throws<OtherOutputException>(() => RunDirectory.Open(output, overwrite: false, FineTuner.Kind));
        Assert.Equal(["final"], refused.OtherEntries);
        Assert.True(Directory.Exists(Path.Combine(output, "final")));
    }

    [Fact]
    public void A_run_directory_linked_elsewhere_is_opened_where_it_points_and_a_failed_run_leaves_it_as_found()
    {
        // A run that failed in a directory holding only a marker left its empty log there, and the marker naming it.
        using var tmp = TestPaths.TempDir();
        var real = tmp.File("disk/run");
        OutputDirectory.Claim(real, [], overwrite: false);
        var marker = File.ReadAllText(Path.Combine(real, OutputDirectory.MarkerName));
        Directory.CreateSymbolicLink(tmp.File("out"), "disk/run");
        Assert.Null(RunDirectory.Check(tmp.File("out"), resume: false, overwrite: false, FineTuner.Kind));
        var run = RunDirectory.Open(tmp.File("out"), overwrite: false, FineTuner.Kind);
        // Named as the user named it (its paths reach messages and hints), written where it points.
        Assert.Equal(tmp.File("out"), run.Path);
        run.OpenLog(resumeStep: null).Dispose();
        Assert.True(File.Exists(Path.Combine(real, TrainLog.FileName)));

        run.RemoveUnfinished();
        Assert.Equal([OutputDirectory.MarkerName], Directory.GetFileSystemEntries(real).Select(Path.GetFileName));
        Assert.Equal(marker, File.ReadAllText(Path.Combine(real, OutputDirectory.MarkerName)));
        Assert.Equal("disk/run", new DirectoryInfo(tmp.File("out")).LinkTarget);
    }

    [Fact]
    public void Training_args_file_round_trips_and_refuses_a_corrupt_file()
    {
        using var tmp = TestPaths.TempDir();
        TrainingArgsFile.Write(tmp.Path, new JsonObject { ["task"] = "ner", ["label_all_tokens"] = false, ["head_tokens"] = 64 });
        Assert.EndsWith("}\n", File.ReadAllText(tmp.File(TrainingArgsFile.FileName)), StringComparison.Ordinal);
        var read = TrainingArgsFile.Read(tmp.Path);
        Assert.Equal("ner", TrainingArgsFile.String(read, "task"));
        Assert.False(TrainingArgsFile.Bool(read, "label_all_tokens"));
        Assert.Equal(64, TrainingArgsFile.Int(read, "head_tokens"));
        // Wrong types and missing keys say nothing; so does a missing file.
        Assert.Null(TrainingArgsFile.String(read, "head_tokens"));
        Assert.Null(TrainingArgsFile.Int(read, "task"));
        Assert.Null(TrainingArgsFile.Bool(read, "absent"));
        Assert.Null(TrainingArgsFile.Read(tmp.File("none")));
        // A present file that is cut short or not an object is an error naming it, not "no settings".
        var path = tmp.File(TrainingArgsFile.FileName);
        File.WriteAllText(path, "{ cut");
        var cut = Assert.Throws<BertSharpException>(() => TrainingArgsFile.Read(tmp.Path));
        Assert.StartsWith(path + " line 1: not valid JSON (", cut.Message, StringComparison.Ordinal);
        File.WriteAllText(path, "[1, 2]");
        var array = Assert.Throws<BertSharpException>(() => TrainingArgsFile.Read(tmp.Path));
        Assert.StartsWith(path + ": expected a JSON object", array.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', cut.Message + array.Message);
        // What reads it (the trained truncation side) no longer falls back to head truncation.
        Assert.Throws<BertSharpException>(() => TextClassifier.TrainedTruncation(tmp.Path));
    }

    [Fact]
    public void The_cli_binds_the_shared_options_once_with_the_library_defaults()
    {
        var set = new Cli.Commands.TrainingOptionSet();
        var cmd = new System.CommandLine.Command("t");
        foreach (var o in set.All)
        {
            cmd.Options.Add(o);
        }
        var bound = set.Bind(cmd.Parse(["--data", "d.tsv", "--output", "out", "--config", "tiny", "--vocab", "v.txt"]));
        Assert.Equal(Shared("out") with { DataPath = "d.tsv", VocabPath = "v.txt" }, bound);
        var given = set.Bind(cmd.Parse(["--data", "d", "--output", "o", "--model", "m", "--lr", "0.001", "--grad-accum", "4", "--seed", "3",
            "--resume", "--stop-after", "2", "--save-steps", "5", "--batch-size", "7", "--freeze-layers", "1", "--device", "cpu",
            "--early-stopping-patience", "3", "--early-stopping-threshold", "0.25", "--eval-steps", "5"]));
        Assert.Equal((0.001, 4, 3UL, true, 2, 5, 7, 1, "cpu", "m"), (given.LearningRate, given.GradAccum, given.Seed, given.Resume, given.StopAfter,
            given.SaveSteps, given.BatchSize, given.FreezeLayers, given.Device, given.ModelDir));
        Assert.Equal((3, 0.25, 5), (given.EarlyStoppingPatience, given.EarlyStoppingThreshold, given.EvalSteps));

        // Each of these flags is declared once in the CLI's sources: finetune (every task) and pretrain share the declaration.
        var sources = Directory.GetFiles(Path.Combine(TestPaths.RepoRoot, "src", "BertSharp.Cli"), "*.cs", SearchOption.AllDirectories)
            .Select(File.ReadAllText).ToList();
        foreach (var flag in new[] { "--lr", "--eps", "--weight-decay", "--max-grad-norm", "--grad-accum", "--epochs", "--batch-size", "--seed", "--stop-after",
                     "--example-dropout", "--model", "--top-k", "--save-steps", "--freeze-layers", "--resume", "--early-stopping-patience", "--early-stopping-threshold", "--eval-steps" })
        {
            Assert.True(sources.Sum(s => CountOf(s, $"(\"{flag}\")")) == 1, flag);
        }
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    [Fact]
    public void The_plan_says_how_many_validation_examples_max_eval_examples_keeps()
    {
        // The SST-2 fixture has 8 rows; as its own validation file, 3 of them are kept.
        var sst2 = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
        var o = new FineTuneOptions { Task = TaskSpec.Sst2, Training = Shared("o") with { DataPath = sst2, EvalDataPath = sst2, MaxEvalExamples = 3 } };
        var data = FineTuneData.Read(o);
        Assert.Equal(3, data.Validation!.Count);
        Assert.Equal([$"validation: {sst2} (8 examples)", "max_eval_examples 3: validation on the first 3 of those 8 examples"], data.Notes);

        // A limit above the count keeps every example and adds nothing to say.
        var all = FineTuneData.Read(o with { Training = o.Training with { MaxEvalExamples = 8 } });
        Assert.Equal(8, all.Validation!.Count);
        Assert.Equal([$"validation: {sst2} (8 examples)"], all.Notes);
    }

    // A score (STS-B's similarity) given without regression became one class per distinct value, hundreds of them, unsaid.
    [Theory]
    [InlineData("0.02|3.48|4.93|0.02", false, "column 'label' holds 3 different numbers as labels, some not whole (such as '0.02', '3.48', '4.93'): each becomes a class of its own; a score to predict is a regression (regression=true).")]
    [InlineData("1|0.5|2|3|4.25", false, "column 'label' holds 5 different numbers as labels, some not whole (such as '0.5', '4.25'): each becomes a class of its own; a score to predict is a regression (regression=true).")]
    [InlineData("0.0|1.0|1.0|0.0", false, null)]
    [InlineData("0|1|2|1", false, null)]
    [InlineData("0.5|pos|1.5|neg", false, null)]
    [InlineData("0.02|3.48|4.93|0.02", true, null)]
    public void Numbers_with_a_fraction_as_class_labels_are_a_warning_naming_regression(string labels, bool regression, string? expected)
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("train.tsv");
        File.WriteAllLines(path, ["text\tlabel", .. labels.Split('|').Select((l, i) => $"text {i}\t{l}")]);
        var o = new FineTuneOptions { Task = TaskSpec.Get("tsv", regression: regression), Training = Shared("o") with { DataPath = path, EvalDataPath = path } };
        var warnings = FineTuneData.Read(o).Warnings;
        Assert.Equal(expected is null ? [] : [$"{path}: {expected}"], warnings);
    }

    private const string State = """{"global_step": 3, "total_steps": 10, "settings": {"lr": 0.001}, "data": {"data_position": 24}, "task": {}, "rng": "x"}""";

    [Theory]
    [InlineData("\"total_steps\": 10", "\"total_steps\": 10, \"global_step\": 5", "duplicate key 'global_step'.")]
    [InlineData("\"lr\": 0.001", "\"lr\": 0.001, \"lr\": 1", "duplicate key 'settings.lr'.")]
    [InlineData("\"global_step\": 3, ", "", "missing field 'global_step'.")]
    [InlineData(", \"task\": {}", "", "missing field 'task'.")]
    [InlineData("\"global_step\": 3", "\"global_step\": \"3\"", "field 'global_step': expected an integer, got \"3\".")]
    [InlineData("\"global_step\": 3", "\"global_step\": 3.5", "field 'global_step': expected an integer, got 3.5.")]
    [InlineData("\"global_step\": 3", "\"global_step\": -1", "field 'global_step': expected an integer >= 0, got -1.")]
    [InlineData("{\"data_position\": 24}", "[24]", "field 'data': expected an object, got [24].")]
    [InlineData("{\"lr\": 0.001}", "null", "field 'settings': expected an object, got null.")]
    [InlineData("\"rng\": \"x\"", "\"rng\": \"x\", \"torch_rng_state\": 7", "field 'torch_rng_state': expected a string, got 7.")]
    public void A_trainer_state_with_a_duplicate_missing_or_mistyped_field_is_refused_naming_it(string find, string replace, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File(TrainerState.FileName);
        File.WriteAllText(path, State);
        var state = TrainerState.Load(path);
        Assert.Equal((3L, 10L, 24.0), (state.GlobalStep, state.TotalSteps, TrainLog.Number(state.Data, "data_position")));
        Assert.Contains(find, State, StringComparison.Ordinal);
        File.WriteAllText(path, State.Replace(find, replace, StringComparison.Ordinal));
        // In a host culture whose minus sign is U+2212, -1 read "got −1".
        Assert.Equal($"{path}: {expected}", HostCulture.Run(() => Assert.Throws<BertSharpException>(() => TrainerState.Load(path)).Message));
    }

    [Fact]
    public void A_trainer_state_with_trailing_text_or_invalid_utf8_is_refused()
    {
        using var tmp = TestPaths.TempDir();
        var path = tmp.File(TrainerState.FileName);
        File.WriteAllText(path, State + "\n}");
        var e = Assert.Throws<BertSharpException>(() => TrainerState.Load(path));
        Assert.StartsWith($"{path} line 2: not valid JSON ('}}' is invalid after a single JSON value", e.Message, StringComparison.Ordinal);
        Assert.EndsWith("; expected the trainer state of a checkpoint.", e.Message, StringComparison.Ordinal);
        var bytes = System.Text.Encoding.UTF8.GetBytes(State.Replace("\"x\"", "\"x\"\n", StringComparison.Ordinal).Replace("\"rng\"", "\n\"rng\"", StringComparison.Ordinal));
        bytes[Array.IndexOf(bytes, (byte)'x')] = 0xFF;
        File.WriteAllBytes(path, bytes);
        Assert.Equal($"{path} line 2: invalid UTF-8 byte sequence (the file must be UTF-8 text).", Assert.Throws<BertSharpException>(() => TrainerState.Load(path)).Message);
    }
}
