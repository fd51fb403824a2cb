using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.IO;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// Fine-tuning checkpoints and resume on the tiny preset (dropout on, so torch's generator matters): a run stopped part-way
/// (stop-after, cancellation) and resumed ends with weights bitwise equal to an uninterrupted run's, the last complete
/// checkpoint survives a stop, and a log line cut short by a kill or a full disk is dropped on resume.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class FineTuneResumeTests
{
    private static string Data => TinySst2Run.Data;

    /// <summary>8 examples, 2 held out by a shuffled split: 3 batches of 2 per epoch, 2 per step → 2 steps per epoch (the second has one batch), 6 steps.</summary>
    private static FineTuneOptions Options(string output, Func<TrainingOptions, TrainingOptions>? change = null) => TinySst2Run.Options(output, change);

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void Stopped_and_resumed_runs_end_with_the_uninterrupted_weights_bitwise()
    {
        using var tmp = TestPaths.TempDir();
        var straight = FineTuner.Run(Options(tmp.File("straight")));
        Assert.True(straight.Completed);
        Assert.Equal(6, straight.StepLosses.Count);

        // Stop in the middle of epoch 2 (step 3: not an epoch end), with a step-checkpoint before it.
        var first = FineTuner.Run(Options(tmp.File("split"), t => t with { StopAfter = 3, SaveSteps = 1 }));
        Assert.False(first.Completed);
        Assert.Equal(tmp.File("split/checkpoint-3"), first.Checkpoint);
        Assert.Equal(straight.StepLosses.Take(3), first.StepLosses);
        // Only the newest checkpoint and the best epoch's are kept.
        var kept = Directory.GetDirectories(tmp.File("split"), "checkpoint-*").Select(Path.GetFileName).Order().ToList();
        Assert.Contains("checkpoint-3", kept);
        Assert.True(kept.Count <= 2, string.Join(", ", kept));
        // The card is written with the model, in the same replacement: a stopped run and its checkpoints have none.
        Assert.Empty(Directory.GetFiles(tmp.File("split"), "README.md", SearchOption.AllDirectories));
        // A kill (or a full disk) while appending leaves a cut last line: resume drops it.
        File.AppendAllText(tmp.File("split/train_log.jsonl"), "{\"type\":\"train\",\"step\":4,\"lo");

        Assert.Contains("resume", Assert.Throws<UnfinishedRunException>(() => FineTuner.Run(Options(tmp.File("split")))).Message, StringComparison.Ordinal);
        var rest = FineTuner.Run(Options(tmp.File("split"), t => t with { Resume = true }));
        Assert.True(rest.Completed);

        Assert.Equal(File.ReadAllBytes(tmp.File("straight/model.safetensors")), File.ReadAllBytes(tmp.File("split/model.safetensors")));
        Assert.Equal(straight.StepLosses, rest.StepLosses);
        Assert.Equal(straight.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.IsBest, e.Step)), rest.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.IsBest, e.Step)));
        Assert.Equal(File.ReadAllText(tmp.File("straight/metrics.json")), File.ReadAllText(tmp.File("split/metrics.json")));
        // The resumed run's card is the uninterrupted one's but for the model's name (its directory's).
        Assert.Equal(File.ReadAllText(tmp.File("straight/README.md")).Replace("straight", "split", StringComparison.Ordinal), File.ReadAllText(tmp.File("split/README.md")));
        // The finished directory is the model alone: no checkpoints, every log line whole, steps 1..6 once each.
        Assert.Empty(Directory.GetDirectories(tmp.File("split")));
        var log = TrainLog.Read(tmp.File("split/train_log.jsonl"));
        Assert.Equal([1L, 2, 3, 4, 5, 6], log.Where(e => TrainLog.TypeOf(e) == "train").Select(TrainLog.StepOf));
        // Each step's epoch is HF's state.epoch: the batches seen over the epoch's 3, so a step of 2 batches ends at 2/3 and
        // the epoch's one-batch second step at 1, the resumed steps as the uninterrupted run's.
        double[] epochs = [2 / 3.0, 1, 5 / 3.0, 2, 8 / 3.0, 3];
        foreach (var run in new[] { "straight", "split" })
        {
            var train = TrainLog.Read(tmp.File(run + "/train_log.jsonl")).Where(e => TrainLog.TypeOf(e) == "train");
            Assert.Equal(epochs, train.Select(e => TrainLog.Number(e, "epoch")), (a, b) => Math.Abs(a - b) < 1e-12);
        }
        Assert.EndsWith("\n", File.ReadAllText(tmp.File("split/train_log.jsonl")), StringComparison.Ordinal);
        Assert.Equal(["start", "resume", "end"], log.Where(e => TrainLog.TypeOf(e) is "start" or "resume" or "end").Select(TrainLog.TypeOf));
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void An_early_stopping_run_stopped_and_resumed_stops_at_the_same_epoch_with_the_same_weights()
    {
        using var tmp = TestPaths.TempDir();
        FineTuneOptions Early(string dir, Func<TrainingOptions, TrainingOptions>? change = null) =>
            EarlyStoppingTests.Options(tmp.File(dir), "loss", t => (change ?? (x => x))(t with { EarlyStoppingPatience = 2 }));
        var straight = FineTuner.Run(Early("straight"));
        var losses = EarlyStoppingTests.ValidationLosses(tmp.File("straight"));
        // By HF's rule its own metrics stop it at its last epoch, before the 8th.
        var (stopAt, _) = EarlyStoppingTests.HfStop(losses, patience: 2, threshold: 0);
        var stop = Assert.NotNull(stopAt);
        Assert.Equal(stop, straight.Epochs.Count);
        Assert.True(stop < 8, "the run is to stop early");

        // Stopped at the end of the epoch before the stop (2 steps an epoch): by HF's rule its counter is 1 there, which the
        // checkpoint must carry; a resumed run counting from 0 again went on past the stop.
        var first = FineTuner.Run(Early("split", t => t with { StopAfter = 2 * (stop - 1) }));
        Assert.False(first.Completed);
        var checkpoint = tmp.File(FormattableString.Invariant($"split/checkpoint-{2 * (stop - 1)}"));
        Assert.Equal(1, (int)TrainLog.Number(TrainerState.Load(Path.Combine(checkpoint, TrainerState.FileName)).Task, "early_stopping_patience_counter"));
        // Other early-stopping settings are another run: refused by name, the checkpoint untouched.
        string Refused(Func<TrainingOptions, TrainingOptions> change) => Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() =>
            FineTuner.Run(Early("split", t => change(t with { Resume = true })))));
        Assert.Equal($"{checkpoint}: cannot resume: --early-stopping-patience was 2 in the checkpoint but is 3 now; resume with the same settings.",
            Refused(t => t with { EarlyStoppingPatience = 3 }));
        Assert.Equal($"{checkpoint}: cannot resume: --early-stopping-threshold was 0 in the checkpoint but is 0.5 now; resume with the same settings.",
            Refused(t => t with { EarlyStoppingThreshold = 0.5 }));
        Assert.Equal($"{checkpoint}: cannot resume: --early-stopping-patience was 2 in the checkpoint but is not given now; resume with the same settings.",
            Refused(t => t with { EarlyStoppingPatience = null }));

        var rest = FineTuner.Run(Early("split", t => t with { Resume = true }));
        Assert.True(rest.Completed);
        Assert.Equal(File.ReadAllBytes(tmp.File("straight/model.safetensors")), File.ReadAllBytes(tmp.File("split/model.safetensors")));
        Assert.Equal(straight.StepLosses, rest.StepLosses);
        Assert.Equal(straight.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.IsBest, e.Step)), rest.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.IsBest, e.Step)));
        Assert.Equal(File.ReadAllText(tmp.File("straight/metrics.json")), File.ReadAllText(tmp.File("split/metrics.json")));
        static string End(string model) => TrainLog.Read(Path.Combine(model, TrainLog.FileName)).Single(e => TrainLog.TypeOf(e) == "end").ToJsonString();
        Assert.Equal(End(tmp.File("straight")), End(tmp.File("split")));
    }

    [Fact]
    public void A_run_killed_after_its_early_stopping_checkpoint_publishes_on_resume_without_training_as_the_uninterrupted_run()
    {
        using var tmp = TestPaths.TempDir();
        // Patience 1 stops the run at its first epoch that does not beat the best before it.
        FineTuneOptions Early(string dir, Func<TrainingOptions, TrainingOptions>? change = null) =>
            EarlyStoppingTests.Options(tmp.File(dir), "loss", t => (change ?? (x => x))(t with { EarlyStoppingPatience = 1 }));
        var straight = FineTuner.Run(Early("straight"));
        var stop = Assert.NotNull(EarlyStoppingTests.HfStop(EarlyStoppingTests.ValidationLosses(tmp.File("straight")), patience: 1, threshold: 0).Stop);
        // An epoch that stops a run of patience 1 did not improve: the model published is an earlier checkpoint's.
        Assert.Equal(stop, straight.Epochs.Count);

        // What a kill leaves between the stopping epoch's checkpoint and the published model: the checkpoint records the
        // counter at the patience, and no model is written.
        Assert.Throws<KilledAfterEpoch>(() => FineTuner.Run(Early("killed"), new KillAfterEpoch(stop)));
        var checkpoint = tmp.File(FormattableString.Invariant($"killed/checkpoint-{2 * stop}"));
        Assert.Equal(1, (int)TrainLog.Number(TrainerState.Load(Path.Combine(checkpoint, TrainerState.FileName)).Task, "early_stopping_patience_counter"));
        Assert.False(File.Exists(tmp.File("killed/model.safetensors")));

        // The resume trains nothing (no epoch starts) and ends as the uninterrupted run did.
        var watch = new KillAfterEpoch(0);
        var rest = FineTuner.Run(Early("killed", t => t with { Resume = true }), watch);
        Assert.Equal(0, watch.EpochsStarted);
        Assert.True(rest.Completed);
        Assert.Equal(File.ReadAllBytes(tmp.File("straight/model.safetensors")), File.ReadAllBytes(tmp.File("killed/model.safetensors")));
        Assert.Equal(File.ReadAllText(tmp.File("straight/metrics.json")), File.ReadAllText(tmp.File("killed/metrics.json")));
        Assert.Equal(straight.StepLosses, rest.StepLosses);
        Assert.Equal(straight.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.IsBest, e.Step)), rest.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.IsBest, e.Step)));
        // The log is the uninterrupted run's line for line (its end line saying where it stopped) but for the resume line and
        // the epochs' timings.
        static List<string> Log(string model) =>
        [
            .. TrainLog.Read(Path.Combine(model, TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) != "resume").Select(e =>
            {
                e.Remove("elapsed_s");
                e.Remove("examples_per_s");
                return e.ToJsonString();
            }),
        ];
        Assert.Equal(Log(tmp.File("straight")), Log(tmp.File("killed")));
        Assert.Contains(Log(tmp.File("killed")), l => l.Contains(FormattableString.Invariant($"\"early_stopping\":{{\"stopped_at_epoch\":{stop},"), StringComparison.Ordinal));
        Assert.Empty(Directory.GetDirectories(tmp.File("killed")));
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void A_reduce_lr_on_plateau_run_steps_at_validations_and_resumes_bitwise_from_its_checkpointed_state()
    {
        using var tmp = TestPaths.TempDir();
        // mode max with a threshold of 1e9 (abs): the first validation improves on -inf, none after it can, so with patience 0
        // each later validation halves the rate whatever the losses: steps 1-4 at 1e-3 (validations after steps 2 and 4, the
        // first an improvement), steps 5-6 at 5e-4. It watches the validation loss (--save-best loss, HF's metric_for_best_model).
        var kwargs = JsonNode.Parse("""{"mode": "max", "threshold_mode": "abs", "threshold": 1e9, "patience": 0, "factor": 0.5}""")!.AsObject();
        FineTuneOptions Plateau(string dir, Func<TrainingOptions, TrainingOptions>? change = null) =>
            Options(tmp.File(dir), t => (change ?? (x => x))(t with { LrSchedulerType = "reduce_lr_on_plateau", LrSchedulerKwargs = kwargs, WarmupSteps = 2 }));
        var straight = FineTuner.Run(Plateau("straight"));
        static double[] Rates(string model) => [.. TrainLog.Read(Path.Combine(model, TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "train").Select(e => TrainLog.Number(e, "learning_rate"))];
        // No warm-up (HF's plateau schedule has none), though --warmup-steps 2 is given.
        Assert.Equal([1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4], Rates(tmp.File("straight")));

        // Stopped at step 3, after the first validation: the checkpoint holds its best; one at step 5 holds the halved rate.
        foreach (var stop in new[] { 3, 5 })
        {
            var dir = FormattableString.Invariant($"split{stop}");
            Assert.False(FineTuner.Run(Plateau(dir, t => t with { StopAfter = stop, SaveSteps = 1 })).Completed);
            var state = TrainerState.Load(tmp.File(FormattableString.Invariant($"{dir}/checkpoint-{stop}/{TrainerState.FileName}"))).Task["lr_scheduler_state"]!;
            Assert.Equal(stop == 3 ? 1e-3 : 5e-4, (double)state["learning_rate"]!);
            Assert.Equal(0, (long)state["num_bad_epochs"]!);
            var rest = FineTuner.Run(Plateau(dir, t => t with { Resume = true }));
            Assert.True(rest.Completed);
            Assert.Equal(File.ReadAllBytes(tmp.File("straight/model.safetensors")), File.ReadAllBytes(tmp.File($"{dir}/model.safetensors")));
            Assert.Equal(straight.StepLosses, rest.StepLosses);
            Assert.Equal(Rates(tmp.File("straight")), Rates(tmp.File(dir)));
        }
        // Other plateau arguments are another schedule: refused, naming both.
        Assert.False(FineTuner.Run(Plateau("other", t => t with { StopAfter = 1, SaveSteps = 1 })).Completed);
        var patient = JsonNode.Parse("""{"mode": "max", "threshold_mode": "abs", "threshold": 1e9, "patience": 1, "factor": 0.5}""")!.AsObject();
        Assert.EndsWith("checkpoint-1: cannot resume: the run was trained with --lr-scheduler reduce_lr_on_plateau and --lr-scheduler-kwargs "
            + "{\"mode\":\"max\",\"threshold_mode\":\"abs\",\"threshold\":1e9,\"patience\":0,\"factor\":0.5}, but this one has --lr-scheduler reduce_lr_on_plateau and "
            + "--lr-scheduler-kwargs {\"mode\":\"max\",\"threshold_mode\":\"abs\",\"threshold\":1e9,\"patience\":1,\"factor\":0.5}; resume with the same scheduler.",
            Cli.CliErrors.Describe(Assert.Throws<BertSharpException>(() => FineTuner.Run(Plateau("other", t => t with { Resume = true, LrSchedulerKwargs = patient })))),
            StringComparison.Ordinal);
        // The card and training_args.json name the schedule as HF's TrainingArguments do.
        Assert.Equal("reduce_lr_on_plateau", (string)JsonNode.Parse(File.ReadAllText(tmp.File("straight/training_args.json")))!["lr_scheduler_type"]!);
        Assert.Contains("\n- lr_scheduler_type: reduce_lr_on_plateau\n", File.ReadAllText(tmp.File("straight/README.md")), StringComparison.Ordinal);
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void Plateau_early_stopping_and_a_ratio_of_eval_steps_in_one_run_resume_bitwise_from_a_step_checkpoint()
    {
        using var tmp = TestPaths.TempDir();
        // 4 epochs of 2 steps, validated every ceil(8 × 0.25) = 2 steps. The plateau as above halves the rate at each
        // validation after the first; no loss beats the best by 10, so early stopping's patience of 2 ends the run at step 6.
        var kwargs = JsonNode.Parse("""{"mode": "max", "threshold_mode": "abs", "threshold": 1e9, "patience": 0, "factor": 0.5}""")!.AsObject();
        FineTuneOptions Run(string dir, Func<TrainingOptions, TrainingOptions>? change = null) =>
            Options(tmp.File(dir), t => (change ?? (x => x))(t with
            {
                Epochs = 4, EvalSteps = 0.25, LrSchedulerType = "reduce_lr_on_plateau", LrSchedulerKwargs = kwargs,
                EarlyStoppingPatience = 2, EarlyStoppingThreshold = 10,
            }));
        var straight = FineTuner.Run(Run("straight"));
        static List<JsonObject> Log(string model) => TrainLog.Read(Path.Combine(model, TrainLog.FileName));
        static double[] Rates(string model) => [.. Log(model).Where(e => TrainLog.TypeOf(e) == "train").Select(e => TrainLog.Number(e, "learning_rate"))];
        Assert.Equal([1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4], Rates(tmp.File("straight")));
        Assert.Equal([2L, 4L, 6L], Log(tmp.File("straight")).Where(e => TrainLog.TypeOf(e) == "eval").Select(TrainLog.StepOf));
        var args = JsonNode.Parse(File.ReadAllText(tmp.File("straight/training_args.json")))!;
        Assert.Equal((2L, 0L), ((long)args["eval_steps"]!, (long)args["save_steps"]!));

        // Stopped at step 5: the resume starts from step 4's validation checkpoint, which holds the halved rate and one
        // validation without improvement; the ratio given again resolves to the same 2 steps, and the run ends as the
        // uninterrupted one did.
        Assert.False(FineTuner.Run(Run("split", t => t with { StopAfter = 5 })).Completed);
        var state = TrainerState.Load(tmp.File($"split/checkpoint-4/{TrainerState.FileName}")).Task;
        Assert.Equal(5e-4, (double)state["lr_scheduler_state"]!["learning_rate"]!);
        var rest = FineTuner.Run(Run("split", t => t with { Resume = true }));
        Assert.True(rest.Completed);
        Assert.Equal(File.ReadAllBytes(tmp.File("straight/model.safetensors")), File.ReadAllBytes(tmp.File("split/model.safetensors")));
        Assert.Equal(straight.StepLosses, rest.StepLosses);
        Assert.Equal(Rates(tmp.File("straight")), Rates(tmp.File("split")));
        static string End(string model) => Log(model).Single(e => TrainLog.TypeOf(e) == "end").ToJsonString();
        Assert.Equal(End(tmp.File("straight")), End(tmp.File("split")));
        Assert.Contains("\"early_stopping\"", End(tmp.File("split")), StringComparison.Ordinal);
    }

    [Fact]
    public void Reduce_lr_on_plateau_watches_the_save_best_metric_as_hf_passes_metric_for_best_model()
    {
        using var tmp = TestPaths.TempDir();
        // torch's default mode min, which HF keeps whatever the metric, patience 0, threshold 0 (abs): each validation whose
        // accuracy is not below the best before it halves the rate (the losses, falling here, would have halved it never).
        var run = FineTuner.Run(Options(tmp.File("acc"), t => t with
        {
            LrSchedulerType = "reduce_lr_on_plateau",
            LrSchedulerKwargs = JsonNode.Parse("""{"threshold_mode": "abs", "threshold": 0, "patience": 0, "factor": 0.5}""")!.AsObject(),
        }) with { SaveBest = "accuracy" });
        Assert.True(run.Completed);
        var log = TrainLog.Read(tmp.File("acc/train_log.jsonl"));
        var accuracies = log.Where(e => TrainLog.TypeOf(e) == "epoch").Select(e => TrainLog.Number(e["validation"]!.AsObject(), "accuracy")).ToList();
        var expected = new List<double>();
        var (rate, best) = (1e-3, double.PositiveInfinity);
        foreach (var accuracy in accuracies)
        {
            expected.AddRange([rate, rate]);
            (rate, best) = accuracy < best ? (rate, accuracy) : (rate * 0.5, best);
        }
        Assert.Equal(expected, log.Where(e => TrainLog.TypeOf(e) == "train").Select(e => TrainLog.Number(e, "learning_rate")));
    }

    [Fact]
    public void Cancelling_keeps_the_last_epoch_checkpoint_and_resume_finishes_bitwise()
    {
        using var tmp = TestPaths.TempDir();
        var straight = FineTuner.Run(Options(tmp.File("straight")) with { SaveBest = null });

        // Ctrl-C during epoch 2: the run stops before its next step; epoch 1's checkpoint (step 2) is complete and stays.
        using var cancel = new CancellationTokenSource();
        var stop = Assert.Throws<TrainingCancelledException>(() =>
            FineTuner.Run(Options(tmp.File("run")) with { SaveBest = null }, new CancelInEpoch(2, cancel), cancel.Token));
        Assert.Equal(3, stop.Step);
        Assert.Equal(6, stop.TotalSteps);
        Assert.Equal(tmp.File("run/checkpoint-2"), stop.Checkpoint);
        foreach (var f in new[] { "config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json", "metrics.json", "vocab.txt" })
        {
            Assert.True(File.Exists(tmp.File("run/checkpoint-2/" + f)), f);
        }
        var state = TrainerState.Load(tmp.File("run/checkpoint-2/trainer_state.json"));
        Assert.Equal(2, state.GlobalStep);
        Assert.NotNull(state.TorchRngState);
        Assert.Equal(2, (int)TrainLog.Number(state.Data, "epoch"));
        Assert.False(File.Exists(tmp.File("run/config.json")));

        var rest = FineTuner.Run(Options(tmp.File("run"), t => t with { Resume = true }) with { SaveBest = null });
        Assert.Equal(File.ReadAllBytes(tmp.File("straight/model.safetensors")), File.ReadAllBytes(tmp.File("run/model.safetensors")));
        Assert.Equal(straight.StepLosses, rest.StepLosses);
    }

    [Fact]
    public void A_non_finite_loss_stops_fine_tuning_with_an_error_and_no_model()
    {
        using var tmp = TestPaths.TempDir();
        // An empty output directory made beforehand is left as it was found: empty (it kept the marker and the log).
        Directory.CreateDirectory(tmp.File("run"));
        // A learning rate this large blows the weights up after the first update, so a later step's loss is NaN or infinite.
        var e = Assert.Throws<BertSharpException>(() => FineTuner.Run(Options(tmp.File("run"), t => t with { LearningRate = 1e30 }) with { SaveBest = null }));
        Assert.Contains("the training loss became", e.Message, StringComparison.Ordinal);
        Assert.Equal(["learning_rate"], e.Fields);
        Assert.True(Directory.Exists(tmp.File("run")));
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.File("run")));
    }

    [Fact]
    public void Resume_refuses_changed_settings_and_a_directory_without_checkpoints()
    {
        using var tmp = TestPaths.TempDir();
        var none = Assert.Throws<PathException>(() => FineTuner.Run(Options(tmp.File("empty"), t => t with { Resume = true })));
        Assert.Contains("nothing to resume", none.Message, StringComparison.Ordinal);
        Assert.Equal("error: " + none.Message.Replace("nothing to resume", "nothing to --resume", StringComparison.Ordinal), "error: " + Cli.CliErrors.Describe(none));
        Assert.False(Directory.Exists(tmp.File("empty")));

        var data = tmp.File("train.tsv");
        File.Copy(Data, data);
        FineTuner.Run(Options(tmp.File("run"), t => t with { DataPath = data, StopAfter = 1 }));
        // A cut optimizer state is refused before the plan is printed and the run's log opened (it was found after both,
        // and the log gained a 'resume' line).
        var optimizer = tmp.File("run/checkpoint-1/optimizer.safetensors");
        var whole = File.ReadAllBytes(optimizer);
        File.WriteAllBytes(optimizer, whole[..^8]);
        string RefusedBeforeThePlan()
        {
            // Taken here: each refusal below follows an edit of the checkpoint, which the snapshot holds.
            var before = TestPaths.Snapshot(tmp.File("run"));
            using var never = new CancellationTokenSource();
            var watch = new CancelInEpoch(0, never);
            var refused = Assert.Throws<BertSharpException>(() => FineTuner.Run(Options(tmp.File("run"), t => t with { DataPath = data, Resume = true }), watch));
            Assert.Equal(0, watch.Plans);
            TestPaths.AssertUnchanged(before, tmp.File("run"));
            Assert.Equal(["checkpoint-1"], Directory.GetDirectories(tmp.File("run")).Select(Path.GetFileName));
            return refused.Message;
        }
        var cut = RefusedBeforeThePlan();
        Assert.StartsWith(optimizer + ": ", cut, StringComparison.Ordinal);
        Assert.Contains("truncated", cut, StringComparison.Ordinal);
        File.WriteAllBytes(optimizer, whole);
        // So is a trainer state without the random state the run needs.
        var statePath = tmp.File("run/checkpoint-1/trainer_state.json");
        var stateText = File.ReadAllText(statePath);
        var noRng = JsonNode.Parse(stateText)!.AsObject();
        noRng.Remove("torch_rng_state");
        File.WriteAllText(statePath, noRng.ToJsonString());
        Assert.Contains("has no torch_rng_state", RefusedBeforeThePlan(), StringComparison.Ordinal);
        File.WriteAllText(statePath, stateText);
        // So is a checkpoint whose config.json is not the model this run builds (here its classes in another order, as a
        // model directory changed in place gives): it resumed with the checkpoint's config and mapped the classes wrongly.
        var configPath = tmp.File("run/checkpoint-1/config.json");
        var configText = File.ReadAllText(configPath);
        var config = JsonNode.Parse(configText)!.AsObject();
        var (first, second) = ((string)config["id2label"]!["0"]!, (string)config["id2label"]!["1"]!);
        config["id2label"] = new JsonObject { ["0"] = second, ["1"] = first };
        config["label2id"] = new JsonObject { [second] = 0, [first] = 1 };
        File.WriteAllText(configPath, config.ToJsonString());
        Assert.StartsWith($"{configPath}: cannot resume: id2label is {{\"0\":\"{second}\",\"1\":\"{first}\"}} there but {{\"0\":\"{first}\",\"1\":\"{second}\"}} "
            + "in the model this run builds from preset tiny and its data;", RefusedBeforeThePlan(), StringComparison.Ordinal);
        File.WriteAllText(configPath, configText);
        // So is a checkpoint whose weights lack a tensor: the run went on with that weight newly initialised.
        var weights = tmp.File("run/checkpoint-1/model.safetensors");
        var weightBytes = File.ReadAllBytes(weights);
        CheckpointTensors.Drop(weights, "bert.encoder.layer.0.output.dense.bias");
        Assert.Equal($"{weights}: the checkpoint lacks bert.encoder.layer.0.output.dense.bias; it does not hold every weight of the model it continues.",
            RefusedBeforeThePlan());
        File.WriteAllBytes(weights, weightBytes);
        var changed = Assert.Throws<BertSharpException>(() => FineTuner.Run(Options(tmp.File("run"), t => t with { DataPath = data, Resume = true, LearningRate = 2e-3 })));
        Assert.Equal(["learning_rate"], changed.Fields);
        Assert.Contains("cannot resume: --lr was 0.001 in the checkpoint but is 0.002 now", Cli.CliErrors.Describe(changed), StringComparison.Ordinal);

        // The same file with one label flipped: same path and example count, another run (it resumed and mixed the two).
        var lines = File.ReadAllLines(data);
        lines[1] = lines[1][..^1] + (lines[1][^1] == '0' ? '1' : '0');
        File.WriteAllLines(data, lines);
        var edited = Assert.Throws<BertSharpException>(() => FineTuner.Run(Options(tmp.File("run"), t => t with { DataPath = data, Resume = true })));
        Assert.Equal(["data"], edited.Fields);
        Assert.Contains($"cannot resume: --data {data} has changed since the run started", Cli.CliErrors.Describe(edited), StringComparison.Ordinal);
    }

    [Fact]
    public void A_resumed_run_says_where_its_weights_come_from_and_its_labels_and_its_running_loss_is_the_mean_of_the_batches_it_ran()
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("run");
        // 6 training examples in batches of 2: 3 steps per epoch; stopped after step 4, in epoch 2. Read as a plain TSV, their
        // labels 0 and 1 are matched to the model's classes LABEL_0..2 (HF's default names) as class ids, which the plan says.
        string[] run = ["finetune", "--task", "tsv", "--text-column", "sentence", "--data", Data, "--model", Path.Combine(TestPaths.Fixtures, "hf_bert", "sequence-classification"),
            "--output", output, "--epochs", "2", "--batch-size", "2", "--val-size", "2", "--max-length", "16", "--lr", "1e-3", "--device", "cpu"];
        var first = CliRunner.Run([.. run, "--stop-after", "4"]);
        Assert.True(first.ExitCode == 0, first.StdErr);
        var config = Path.Combine(output, "checkpoint-4", "config.json");
        var labels = JsonNode.Parse(File.ReadAllText(config))!["id2label"]!.ToJsonString();
        var rest = CliRunner.Run([.. run, "--resume"]);
        Assert.True(rest.ExitCode == 0, rest.StdErr);
        // The resumed run says the same of the labels, and ends with the classes the run started with (the checkpoint's, as
        // an uninterrupted run ends).
        static string LabelNote(string stderr) => stderr.Split('\n').Single(l => l.Contains("field 'id2label' holds HF's default names", StringComparison.Ordinal));
        Assert.EndsWith("the labels of " + Data + " are read as class ids: 0 → LABEL_0, 1 → LABEL_1, 2 → LABEL_2.", LabelNote(first.StdErr), StringComparison.Ordinal);
        Assert.Equal(LabelNote(first.StdErr), LabelNote(rest.StdErr));
        Assert.Equal("{\"0\":\"0\",\"1\":\"1\",\"2\":\"2\"}", labels);
        Assert.Equal(labels, JsonNode.Parse(File.ReadAllText(Path.Combine(output, "config.json")))!["id2label"]!.ToJsonString());
        // It used to say "every weight newly initialised (training from scratch)".
        Assert.Contains($"  model: resumed from {Path.Combine(output, "checkpoint-4")} (weights, optimizer state and data order)", rest.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("newly initialised", rest.StdErr, StringComparison.Ordinal);
        // Steps 5 and 6 ran in this invocation; the progress line at the end of epoch 2 shows their mean (it divided their
        // sum by 3, the batch's index in the epoch).
        var losses = TrainLog.Read(Path.Combine(output, "train_log.jsonl")).Where(e => TrainLog.TypeOf(e) == "train" && TrainLog.StepOf(e) >= 5)
            .Select(e => (double)e["loss"]!).ToList();
        Assert.Equal(2, losses.Count);
        var line = rest.StdErr.Split('\n').Single(l => l.StartsWith("epoch 2/2: 3/3 batches, loss ", StringComparison.Ordinal));
        var shown = double.Parse(line.Split("loss ")[1].Split(',')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(losses.Average(), shown, 0.00006);
    }

    [Fact]
    public void Save_best_ranks_an_undefined_metric_below_every_number()
    {
        // Epoch 1 of an STS-B run often predicts one constant: Pearson is NaN. Epoch 2's 0.5 must replace it (NaN > 0.5 and
        // 0.5 > NaN are both false, so a plain comparison kept the NaN epoch for the rest of the run).
        Assert.True(FineTuneHooks.Improves(double.NaN, 0.5, lowerIsBetter: false));
        Assert.True(FineTuneHooks.Improves(double.NaN, 0.5, lowerIsBetter: true));
        Assert.False(FineTuneHooks.Improves(0.5, double.NaN, lowerIsBetter: false));
        Assert.False(FineTuneHooks.Improves(0.5, double.NaN, lowerIsBetter: true));
        Assert.False(FineTuneHooks.Improves(double.NaN, double.NaN, lowerIsBetter: false));
        // The first epoch is the best so far whatever it scores; numbers compare as before.
        Assert.True(FineTuneHooks.Improves(null, double.NaN, lowerIsBetter: false));
        Assert.True(FineTuneHooks.Improves(0.5, 0.6, lowerIsBetter: false));
        Assert.False(FineTuneHooks.Improves(0.5, 0.6, lowerIsBetter: true));
        Assert.False(FineTuneHooks.Improves(0.5, 0.5, lowerIsBetter: false));
    }

    /// <summary>What <see cref="KillAfterEpoch"/> throws: the run ends as a kill ends it, with no more of its own code run.</summary>
    private sealed class KilledAfterEpoch : Exception;

    /// <summary>
    /// Ends the run right after <paramref name="epoch"/>'s validation and checkpoint (0: never), where a kill would leave that
    /// checkpoint complete and the model unpublished; counts the epochs started.
    /// </summary>
    private sealed class KillAfterEpoch(int epoch) : IFineTuneProgress
    {
        public int EpochsStarted { get; private set; }

        public void Started(FineTunePlan plan)
        {
        }

        public void EpochStarted(int e, int batches) => EpochsStarted++;

        public void BatchDone(int e, int batch, double loss, double examplesPerSecond)
        {
        }

        public void Validating(int e)
        {
        }

        public void EpochEnded(EpochSummary summary)
        {
            if (summary.Epoch == epoch)
            {
                throw new KilledAfterEpoch();
            }
        }
    }

    /// <summary>
    /// Cancels the run once <paramref name="epoch"/> has done one batch, and counts the plans the run printed (a refusal
    /// before the plan prints none).
    /// </summary>
    internal sealed class CancelInEpoch(int epoch, CancellationTokenSource cancel) : IFineTuneProgress
    {
        public int Plans { get; private set; }

        public void Started(FineTunePlan plan) => Plans++;

        public void EpochStarted(int e, int batches)
        {
        }

        public void BatchDone(int e, int batch, double loss, double examplesPerSecond)
        {
            if (e == epoch)
            {
                cancel.Cancel();
            }
        }

        public void Validating(int e)
        {
        }

        public void EpochEnded(EpochSummary summary)
        {
        }
    }
}
