using System.Text.Json.Nodes;
using BertSharp.Data.Pretraining;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;
using BertSharp.Training.Pretraining;

namespace BertSharp.Tests.Training;

/// <summary><c>pretrain --resume</c> takes every setting from the run itself, and may extend <c>--steps</c>.</summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class PretrainResumeTests
{
    [Fact]
    public void Resume_needs_only_the_output_and_reproduces_the_straight_run()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        string[] settings = ["--data", data, "--config", "tiny", "--vocab", vocab, "--steps", "4", "--batch-size", "4", "--grad-accum", "2",
            "--lr", "2e-3", "--warmup-steps", "1", "--seed", "9", "--dynamic-masking", "--save-every", "2", "--device", "cpu"];
        var straight = CliRunner.Run(["pretrain", "--output", tmp.File("straight"), .. settings]);
        Assert.True(straight.ExitCode == 0, straight.StdErr);
        // The notice quotes the output folder as data: an escape in its name drove the terminal, a line break split the line.
        var run = tmp.File("run\u001b[31m\n1");
        var first = CliRunner.Run(["pretrain", "--output", run, .. settings, "--stop-after", "2"]);
        Assert.True(first.ExitCode == 0, first.StdErr);

        // Nothing retyped: data, steps, batch, lr, warm-up, seed and masking come from the checkpoint.
        var rest = CliRunner.Run("pretrain", "--output", run, "--resume", "--device", "cpu");
        Assert.True(rest.ExitCode == 0, rest.StdErr);
        Assert.Contains($"\nresuming {tmp.Path}/run\\x1b[31m 1 at step 2 of 4: data {data}, batch 4 × 2, lr 0.002, seed 9\n", "\n" + rest.StdErr, StringComparison.Ordinal);
        var a = PretrainingLogEntry.Read(tmp.File("straight/train_log.jsonl"));
        var b = PretrainingLogEntry.Read(Path.Combine(run, "train_log.jsonl"));
        Assert.Equal(a.Select(e => (e.Step, e.Loss, e.LearningRate)), b.Select(e => (e.Step, e.Loss, e.LearningRate)));
        Assert.Equal(File.ReadAllBytes(tmp.File("straight/final/model.safetensors")), File.ReadAllBytes(Path.Combine(run, "final", "model.safetensors")));
    }

    [Fact]
    public void A_reduce_lr_on_plateau_run_steps_at_evaluations_with_the_combined_loss_and_resumes_bitwise()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        var source = new PretrainingModelSource("tiny", vocab);
        // mode max with a threshold of 1e9 (abs): the first evaluation improves on -inf, none after it can, so with patience 0
        // each later one halves the rate whatever the losses: evaluations after steps 2, 4 and 6, steps 1-4 at 1e-3, 5-6 at 5e-4.
        var o = new PretrainingTrainerOptions
        {
            Steps = 6, BatchSize = 4, LearningRate = 1e-3, WarmupSteps = 2, EvalEvery = 2, EvalInstances = 16, Seed = 5, Device = "cpu",
            LrSchedulerType = "reduce_lr_on_plateau",
            LrSchedulerKwargs = JsonNode.Parse("""{"mode": "max", "threshold_mode": "abs", "threshold": 1e9, "patience": 0, "factor": 0.5}""")!.AsObject(),
        };
        new PretrainingTrainer(o).Run(data, tmp.File("straight"), source, resume: false);
        var log = PretrainingLogEntry.Read(tmp.File("straight/train_log.jsonl"));
        // No warm-up (HF's plateau schedule has none), though --warmup-steps 2 is given.
        Assert.Equal([1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4], log.Where(e => e.Type == "train").Select(e => e.LearningRate));
        // It watched BertForPreTraining's loss, HF's eval_loss: the masked-LM plus the next-sentence loss of the first evaluation,
        // the one that improved; after the third evaluation the rate is 2.5e-4.
        var first = log.First(e => e.Type == "eval");
        Assert.Equal(2, first.Step);
        Assert.Equal(first.MaskedLmLoss + first.NextSentenceLoss, first.Loss, 12);
        var end = TrainerState.Load(tmp.File("straight/checkpoint-6/trainer_state.json")).Task["lr_scheduler_state"]!;
        Assert.Equal((first.Loss, 2.5e-4), ((double)end["best"]!, (double)end["learning_rate"]!));
        Assert.Contains("\n- lr_scheduler_type: reduce_lr_on_plateau\n", File.ReadAllText(tmp.File("straight/final/README.md")), StringComparison.Ordinal);

        // Stopped at step 3, after the first evaluation (its checkpoint holds the best), and at step 5 (the halved rate).
        foreach (var stop in new[] { 3, 5 })
        {
            var dir = tmp.File(FormattableString.Invariant($"split{stop}"));
            new PretrainingTrainer(o) { StopAfter = stop }.Run(data, dir, source, resume: false);
            var state = TrainerState.Load(Path.Combine(dir, FormattableString.Invariant($"checkpoint-{stop}"), TrainerState.FileName)).Task["lr_scheduler_state"]!;
            Assert.Equal(stop == 3 ? 1e-3 : 5e-4, (double)state["learning_rate"]!);
            var saved = PretrainingTrainer.SavedRun(dir)!.Value.Options;
            new PretrainingTrainer(saved).Run(data, dir, new PretrainingModelSource(), resume: true);
            var resumed = PretrainingLogEntry.Read(Path.Combine(dir, "train_log.jsonl"));
            Assert.Equal(log.Select(e => (e.Type, e.Step, e.Loss, e.LearningRate)), resumed.Select(e => (e.Type, e.Step, e.Loss, e.LearningRate)));
            Assert.Equal(File.ReadAllBytes(tmp.File("straight/final/model.safetensors")), File.ReadAllBytes(Path.Combine(dir, "final", "model.safetensors")));
        }

        // Evaluating at other steps would step the schedule elsewhere: a resume keeps the run's eval_every.
        new PretrainingTrainer(o) { StopAfter = 1 }.Run(data, tmp.File("other"), source, resume: false);
        var e = Assert.Throws<BertSharpException>(() => new PretrainingTrainer(o with { EvalEvery = 3 }).Run(data, tmp.File("other"), new PretrainingModelSource(), resume: true));
        Assert.Equal(["eval_every"], e.Fields);
        Assert.EndsWith("checkpoint-1: cannot resume: eval_every was 2 in the checkpoint but is 3 now; resume with the same settings.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Eval_and_save_every_below_1_are_shares_of_the_steps_that_a_resume_raising_them_keeps_as_recorded()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp);
        var run = tmp.File("run");
        // ceil(10 × 0.3) = 3 and ceil(10 × 0.5) = 5, as HF's compute_steps resolves eval_steps and save_steps of max_steps 10.
        var first = CliRunner.Run("pretrain", "--data", data, "--output", run, "--config", "tiny", "--vocab", vocab, "--steps", "10", "--batch-size", "4",
            "--eval-every", "0.3", "--save-every", "0.5", "--device", "cpu");
        Assert.True(first.ExitCode == 0, first.StdErr);
        static long[] Evals(string dir) => [.. TrainLog.Read(Path.Combine(dir, TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "eval").Select(TrainLog.StepOf)];
        Assert.Equal([3L, 6L, 9L, 10L], Evals(run));
        // The closing line gives the last evaluation with run_mlm.py's perplexity, exp of its masked-LM loss.
        var last = PretrainingLogEntry.Read(Path.Combine(run, TrainLog.FileName)).Last(e => e.Type == "eval");
        Assert.Contains(FormattableString.Invariant($"\neval at step 10: loss {last.Loss:F4}, masked_lm_loss {last.MaskedLmLoss:F4}, masked_lm_accuracy {last.MaskedLmAccuracy:F4}, next_sentence_loss {last.NextSentenceLoss:F4}, next_sentence_accuracy {last.NextSentenceAccuracy:F4}, perplexity {Math.Exp(last.MaskedLmLoss):F4}\n"),
            first.StdOut.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        var settings = TrainerState.Load(Path.Combine(run, "checkpoint-10", TrainerState.FileName)).Settings;
        Assert.Equal((3L, 5L), ((long)settings["eval_every"]!, (long)settings["save_every"]!));
        Assert.True(Directory.Exists(Path.Combine(run, "checkpoint-5")));

        // Extended to 20 steps without the options: the recorded 3 and 5 steps, not 0.3 and 0.5 of the new total.
        var rest = CliRunner.Run("pretrain", "--output", run, "--resume", "--steps", "20", "--device", "cpu");
        Assert.True(rest.ExitCode == 0, rest.StdErr);
        Assert.Equal([3L, 6L, 9L, 10L, 12L, 15L, 18L, 20L], Evals(run));
        Assert.True(Directory.Exists(Path.Combine(run, "checkpoint-15")));

        CliRunner.Run("pretrain", "--data", data, "--output", tmp.File("bad"), "--config", "tiny", "--vocab", vocab, "--eval-every", "1.5", "--device", "cpu")
            .AssertOneLineError("--eval-every 1.5: expected a whole number of steps ≥ 1, a ratio of --steps in (0, 1), or 0.");
    }

    [Fact]
    public void Resume_may_extend_the_steps_but_not_shorten_them()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        var run = tmp.File("run");
        var first = CliRunner.Run("pretrain", "--data", data, "--output", run, "--config", "tiny", "--vocab", vocab, "--steps", "3", "--batch-size", "4",
            "--device", "cpu");
        Assert.True(first.ExitCode == 0, first.StdErr);

        // The error alone: the 'resuming ...' line comes only once the resume is checked.
        CliRunner.Run("pretrain", "--output", run, "--resume", "--steps", "2", "--device", "cpu").AssertOneLineError("--steps 2 is below the run's 3");

        // The model the run started from stays its own: another one given again is refused, not silently ignored, in the
        // words of fine-tuning's refusal of a changed setting (TrainerState.CheckResumable).
        var fullVocab = Path.GetFullPath(vocab);
        var checkpoint = Path.Combine(run, "checkpoint-3");
        CliRunner.Run("pretrain", "--output", run, "--resume", "--config", "mini", "--vocab", vocab, "--device", "cpu")
            .AssertOneLineError($"error: {checkpoint}: cannot resume: --config was \"tiny\" in the checkpoint but is \"mini\" now; resume with the same settings or without --config.");
        var otherVocab = tmp.File("other-vocab.txt");
        File.Copy(vocab, otherVocab);
        CliRunner.Run("pretrain", "--output", run, "--resume", "--vocab", otherVocab, "--device", "cpu")
            .AssertOneLineError($"error: {checkpoint}: cannot resume: --vocab was \"{fullVocab}\" in the checkpoint but is \"{otherVocab}\" now; resume with the same settings or without --vocab.");
        CliRunner.Run("pretrain", "--output", run, "--resume", "--model", tmp.Path, "--device", "cpu")
            .AssertOneLineError($"error: {checkpoint}: cannot resume: --model was not given in the checkpoint but is \"{tmp.Path}\" now; resume with the same settings " +
                $"(the run started from --config \"tiny\" --vocab \"{fullVocab}\") or without --model.");
        Assert.Equal(3, TrainerState.Load(tmp.File("run/checkpoint-3/trainer_state.json")).GlobalStep);

        // The same command with --resume (and --steps raised) is accepted.
        var longer = CliRunner.Run("pretrain", "--output", run, "--resume", "--config", "tiny", "--vocab", vocab, "--steps", "5", "--device", "cpu");
        Assert.True(longer.ExitCode == 0, longer.StdErr);
        Assert.Contains("at step 3 of 5 (extended from 3)", longer.StdErr, StringComparison.Ordinal);
        Assert.Equal([1L, 2, 3, 4, 5], PretrainingLogEntry.Read(tmp.File("run/train_log.jsonl")).Select(e => e.Step));
        Assert.Equal(5, TrainerState.Load(tmp.File("run/checkpoint-5/trainer_state.json")).TotalSteps);
        Assert.True(File.Exists(tmp.File("run/final/model.safetensors")));
    }

    /// <summary>
    /// Pre-training data, the same built with another seed (packed without shorter targets, so the instance count does not
    /// depend on the seed), and a 2-step run on the first stopped after step 1.
    /// </summary>
    private static (string Data, string Other, string Run) RunStoppedAfterOneStepAndOtherData(TempDir tmp)
    {
        PretrainingOptions Packed(PretrainingOptions o) => o with { ShortSeqProb = 0 };
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp, dupe: 1, PretrainingObjective.MaskedLm, adjust: Packed);
        var (other, _) = PretrainingTrainerTests.SmallData(tmp, dupe: 1, PretrainingObjective.MaskedLm, adjust: o => Packed(o) with { Seed = 4 }, name: "other");
        var run = tmp.File("run");
        Assert.Equal(0, CliRunner.Run("pretrain", "--data", data, "--output", run, "--config", "tiny", "--vocab", vocab, "--steps", "2",
            "--batch-size", "4", "--stop-after", "1", "--device", "cpu").ExitCode);
        return (data, other, run);
    }

    // Data built again with another seed has the vocabulary and instance count the resume checked, and the run went on in
    // other instances at its data position.
    [Fact]
    public void Resume_refuses_other_data_of_the_same_vocabulary_and_count()
    {
        using var tmp = TestPaths.TempDir();
        var (data, other, run) = RunStoppedAfterOneStepAndOtherData(tmp);
        Assert.Equal(PretrainingDataset.Open(data).Count, PretrainingDataset.Open(other).Count);
        Assert.NotEqual(File.ReadAllBytes(Path.Combine(data, "shard-00000.bin")), File.ReadAllBytes(Path.Combine(other, "shard-00000.bin")));

        CliRunner.Run("pretrain", "--output", run, "--resume", "--data", other, "--device", "cpu")
            .AssertOneLineError($"error: --data {other}: not the data the run in {run} was trained on ({Path.GetFullPath(data)}): its shards differ from the run's (data built from another corpus, or with other options, seed or shard size); resume the run with its own data, or start a new run.");
        Assert.False(Directory.Exists(tmp.File("run/checkpoint-2")));

        // So is a checkpoint whose weights lack a tensor: the run went on with that weight newly initialised.
        var weights = tmp.File("run/checkpoint-1/model.safetensors");
        var weightBytes = File.ReadAllBytes(weights);
        CheckpointTensors.Drop(weights, "bert.encoder.layer.0.output.dense.bias");
        CliRunner.Run("pretrain", "--output", run, "--resume", "--device", "cpu")
            .AssertOneLineError($"error: {weights}: the checkpoint lacks bert.encoder.layer.0.output.dense.bias; it does not hold every weight of the model it continues.");
        Assert.False(Directory.Exists(tmp.File("run/checkpoint-2")));
        File.WriteAllBytes(weights, weightBytes);
        // The tied decoder is one weight with the word embeddings, saved once or (as some HF checkpoints do) twice: either resumes.
        CheckpointTensors.Alias(weights, "cls.predictions.decoder.weight", "bert.embeddings.word_embeddings.weight");

        // The same data moved elsewhere is still the run's.
        Directory.Move(data, tmp.File("moved"));
        var moved = CliRunner.Run("pretrain", "--output", run, "--resume", "--data", tmp.File("moved"), "--device", "cpu");
        Assert.True(moved.ExitCode == 0, moved.StdErr);
    }

    // A checkpoint written before the data was recorded resumes on any data of the run's vocabulary and count, as before;
    // one written before the held-out count was recorded resumes with the default count.
    [Fact]
    public void A_checkpoint_without_a_recorded_data_fingerprint_or_held_out_count_resumes_unchecked_on_them()
    {
        using var tmp = TestPaths.TempDir();
        var (_, other, run) = RunStoppedAfterOneStepAndOtherData(tmp);
        var statePath = tmp.File("run/checkpoint-1/trainer_state.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
        var settings = state["settings"]!.AsObject();
        Assert.True(settings.Remove("data_sha256"));
        // Every setting is read strictly: the batch counts went through a double and a cast (2.5 and 1e10 were taken), and
        // a switch, the objective or the data directory of another type failed with an InvalidOperationException that named
        // neither the file nor the setting.
        var checkpoint = tmp.File("run/checkpoint-1");
        (string Name, JsonNode Value, string Error)[] wrong =
        [
            ("eval_instances", "512", "has no integer setting 'eval_instances'"),
            ("batch_size", 2.5, "has no integer setting 'batch_size'"),
            ("gradient_accumulation_steps", 1e10, "has no integer setting 'gradient_accumulation_steps'"),
            ("dynamic_masking", "true", "setting 'dynamic_masking': expected true or false, not string"),
            ("example_dropout", 1, "setting 'example_dropout': expected true or false, not number"),
            ("objective", true, "setting 'objective': expected mlm+nsp or mlm, not true"),
            ("objective", "bert\n", "setting 'objective': expected mlm+nsp or mlm, not \"bert\\n\""),
            ("data_directory", new JsonArray(), "setting 'data_directory': expected a path, not array"),
            // Out of range, refused as the file's: the options' check named them as options, which bert pretrain --resume
            // showed as flags (--batch-size 0) the user never typed.
            ("batch_size", 0, "setting 'batch_size': expected at least 1, not 0"),
            ("learning_rate", -0.5, "setting 'learning_rate': expected a positive number, not -0.5"),
            ("warmup_steps", 3, "setting 'warmup_steps': expected 0..2 (the steps of the run), not 3"),
            ("eval_instances", 0, "setting 'eval_instances': expected at least 1, not 0"),
        ];
        Assert.All(wrong, w =>
        {
            var kept = settings[w.Name]?.DeepClone();
            settings[w.Name] = w.Value;
            File.WriteAllText(statePath, state.ToJsonString());
            var thrown = Record.Exception(() => PretrainingTrainer.SavedRun(run));
            // Put back as the run wrote it (absent where it was absent) before asserting, so that each case is seen alone.
            if (kept is null)
            {
                settings.Remove(w.Name);
            }
            else
            {
                settings[w.Name] = kept;
            }
            Assert.Equal($"{checkpoint}: trainer_state.json {w.Error}; not a pre-training checkpoint.", Assert.IsType<BertSharpException>(thrown).Message);
        });
        Assert.True(settings.Remove("eval_instances"));
        File.WriteAllText(statePath, state.ToJsonString());
        Assert.Equal(PretrainingTrainerOptions.DefaultEvalInstances, PretrainingTrainer.SavedRun(run)!.Value.Options.EvalInstances);
        var r = CliRunner.Run("pretrain", "--output", run, "--resume", "--data", other, "--device", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [Fact]
    public void A_checkpoint_without_a_recorded_data_directory_asks_for_data()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp, dupe: 1);
        var run = tmp.File("run");
        Assert.Equal(0, CliRunner.Run("pretrain", "--data", data, "--output", run, "--config", "tiny", "--vocab", vocab, "--steps", "2",
            "--batch-size", "4", "--stop-after", "1", "--device", "cpu").ExitCode);
        var statePath = tmp.File("run/checkpoint-1/trainer_state.json");
        var state = JsonNode.Parse(File.ReadAllText(statePath))!.AsObject();
        var settings = state["settings"]!.AsObject();
        Assert.Equal(Path.GetFullPath(data), (string)settings["data_directory"]!);
        settings.Remove("data_directory");
        File.WriteAllText(statePath, state.ToJsonString());
        var r = CliRunner.Run("pretrain", "--output", run, "--resume", "--device", "cpu");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains("--data: required", r.StdErr, StringComparison.Ordinal);
        Assert.Equal(0, CliRunner.Run("pretrain", "--output", run, "--resume", "--data", data, "--device", "cpu").ExitCode);
    }
}
