using BertSharp.Checkpoints;
using BertSharp.Data.Pretraining;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Tests.Data.Pretraining;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tokenization;
using BertSharp.Training;
using BertSharp.Training.Pretraining;

namespace BertSharp.Tests.Training;

[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class PretrainingTrainerTests
{
    /// <summary>A small corpus, its toy vocabulary as vocab.txt and the data built from it (max length 32).</summary>
    internal static (string Data, string Vocab) SmallData(TempDir tmp, int dupe = 4, PretrainingObjective objective = PretrainingObjective.MaskedLmNextSentence,
        bool windowsLineEndings = false, Func<PretrainingOptions, PretrainingOptions>? adjust = null, string name = "data", Func<string, string>? vocabToken = null, double validationSplit = 0)
    {
        var docs = Enumerable.Range(0, 24).Select(d =>
            string.Join(" ", Enumerable.Range(0, 5).Select(s => $"Document {d} sentence {s} tells about the movie number {(d * 7) + s} and its actors."))).ToList();
        File.WriteAllText(tmp.File("corpus.txt"), string.Join("\n\n", docs));
        var tok = new ToyTokenizer(docs);
        if (windowsLineEndings)
        {
            File.WriteAllText(tmp.File("vocab.txt"), string.Join("\r\n", tok.Tokens)); // CRLF, no final newline
        }
        else
        {
            File.WriteAllLines(tmp.File("vocab.txt"), vocabToken is null ? tok.Tokens : tok.Tokens.Select(vocabToken));
        }
        var builder = new PretrainingDataBuilder(tok.Encode, tok.Tokens, PretrainingDataset.VocabSha256(tmp.File("vocab.txt")))
        {
            Options = (adjust ?? (o => o))(new PretrainingOptions { MaxSeqLength = 32, MaxPredictionsPerSeq = 5, DupeFactor = dupe, Seed = 3, Objective = objective }),
            ShardSize = 64,
            ValidationSplitPercentage = validationSplit,
        };
        builder.Build([tmp.File("corpus.txt")], tmp.File(name));
        return (tmp.File(name), tmp.File("vocab.txt"));
    }

    internal static PretrainingTrainerOptions Options() => new()
    {
        Steps = 6,
        BatchSize = 4,
        GradAccum = 2,
        LearningRate = 1e-3,
        WarmupSteps = 2,
        SaveEvery = 3,
        EvalEvery = 3,
        EvalInstances = 16,
        DynamicMasking = true,
        Seed = 5,
        Device = "cpu",
    };

    [Fact]
    public void A_step_larger_than_the_training_data_is_refused_before_anything_is_written()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp, dupe: 1);
        var count = PretrainingDataset.Open(data).Count;
        // Without evaluation every instance trains: a step of exactly all of them is allowed, one more is not.
        var options = Options() with { EvalEvery = 0, Steps = 1, WarmupSteps = 0, SaveEvery = 0, BatchSize = (int)count, GradAccum = 1 };
        new PretrainingTrainer(options).Run(data, tmp.File("all"), new PretrainingModelSource("tiny", vocab), resume: false);
        var e = Assert.Throws<BertSharpException>(() =>
            new PretrainingTrainer(options with { GradAccum = 2 }).Run(data, tmp.File("twice"), new PretrainingModelSource("tiny", vocab), resume: false));
        Assert.Equal(["batch_size", "gradient_accumulation_steps"], e.Fields);
        Assert.Equal($"error: --batch-size {count} × --grad-accum 2: more instances per step than the {count:N0} training instances of {data}; expected at most {count}.",
            "error: " + Cli.CliErrors.Describe(e));
        Assert.False(Directory.Exists(tmp.File("twice")));
        // The CLI's int.MaxValue used to end in an OutOfMemoryException (exit 70).
        CliRunner.Run("pretrain", "--data", data, "--vocab", vocab, "--config", "tiny", "--output", tmp.File("huge"), "--steps", "1", "--batch-size", "2147483647")
            .AssertOneLineError("--batch-size 2147483647 × --grad-accum 1: more instances per step than the ");
    }

    [Theory]
    [InlineData(PretrainingObjective.MaskedLmNextSentence)]
    [InlineData(PretrainingObjective.MaskedLm)]
    public void Resumed_run_reproduces_the_uninterrupted_run_bitwise(PretrainingObjective objective)
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp, objective: objective);
        var source = new PretrainingModelSource("tiny", vocab);

        // A seed past 2^53, which a double cannot hold: the resume's settings (SavedRun, what bert pretrain --resume takes)
        // must give it back exactly.
        // An evaluation batch other than the training batch, which the resume takes from the run as it takes the others.
        var options = Options() with { Seed = 9_007_199_254_740_993, EvalBatchSize = 3 };
        new PretrainingTrainer(options).Run(data, tmp.File("straight"), source, resume: false);
        new PretrainingTrainer(options) { StopAfter = 3 }.Run(data, tmp.File("split"), source, resume: false);
        Assert.True(Directory.Exists(tmp.File("split/checkpoint-3")));
        Assert.False(Directory.Exists(tmp.File("split/checkpoint-6")));
        var saved = PretrainingTrainer.SavedRun(tmp.File("split"))!.Value.Options;
        // The device is not a setting of the run. The held-out count is, though no flag sets it: without it the resume below
        // held out the default 512 and was refused for its train_instances.
        Assert.Equal(options with { Objective = objective, Device = saved.Device }, saved);
        var resumed = CliRunner.Run("pretrain", "--output", tmp.File("split"), "--resume", "--device", "cpu");
        Assert.True(resumed.ExitCode == 0, resumed.StdErr);
        // The held-out metrics are shown as they come, not only in the closing summary.
        var nsp = objective == PretrainingObjective.MaskedLm ? "" : @" nsp \d+\.\d{3} \(\d+\.\d %\)";
        Assert.Matches($@"(^|\n)eval: 6/6 mlm \d+\.\d{{3}} \(\d+\.\d %\){nsp}\n", resumed.StdErr);

        var a = PretrainingLogEntry.Read(tmp.File("straight/train_log.jsonl"));
        var b = PretrainingLogEntry.Read(tmp.File("split/train_log.jsonl"));
        Assert.Equal(6, a.Count(e => e.Type == "train"));
        Assert.Equal(2, a.Count(e => e.Type == "eval"));
        Assert.Equal(a.Select(e => (e.Type, e.Step)), b.Select(e => (e.Type, e.Step)));
        foreach (var (x, y) in a.Zip(b))
        {
            Assert.Equal(x.Loss, y.Loss);
            Assert.Equal(x.MaskedLmLoss, y.MaskedLmLoss);
            Assert.Equal(x.NextSentenceLoss, y.NextSentenceLoss);
            Assert.Equal(objective == PretrainingObjective.MaskedLm, double.IsNaN(x.NextSentenceLoss));
            Assert.Equal(x.MaskedLmAccuracy, y.MaskedLmAccuracy);
            Assert.Equal(x.GradNorm, y.GradNorm);
            Assert.Equal(x.LearningRate, y.LearningRate);
            Assert.Equal(x.DataPosition, y.DataPosition);
            Assert.Equal(x.Epoch, y.Epoch);
        }
        // HF's fractional epoch of each step: 8 instances a step (4 × 2 accumulated) over the instances not held out (the
        // last min(16, 10 %)).
        var count = PretrainingDataset.Open(data).Count;
        var trainInstances = count - Math.Min(options.EvalInstances, count / 10);
        Assert.Equal([.. Enumerable.Range(1, 6).Select(k => 8.0 * k / trainInstances)], a.Where(e => e.Type == "train").Select(e => e.Epoch));
        Assert.All(a.Where(e => e.Type == "eval"), e => Assert.True(double.IsNaN(e.Epoch)));
        // The loss moved (the run trained) and the weights and optimizer moments after step 6 are byte-identical.
        Assert.NotEqual(a[0].MaskedLmLoss, a.Last(e => e.Type == "train").MaskedLmLoss);
        foreach (var f in new[] { "model.safetensors", "optimizer.safetensors", "trainer_state.json", "config.json", "vocab.txt" })
        {
            Assert.Equal(File.ReadAllBytes(tmp.File("straight/checkpoint-6/" + f)), File.ReadAllBytes(tmp.File("split/checkpoint-6/" + f)));
        }
        Assert.True(File.Exists(tmp.File("straight/final/model.safetensors")));
        Assert.True(new FileInfo(tmp.File("straight/loss.png")).Length > 1000);
        Assert.Equal(8 * 6, TrainLog.Number(TrainerState.Load(tmp.File("straight/checkpoint-6/trainer_state.json")).Data, "data_position"));
        // The objective decides the saved architecture (and is kept in the state, so --resume continues the same one).
        var architecture = objective == PretrainingObjective.MaskedLm ? "BertForMaskedLM" : "BertForPreTraining";
        Assert.Contains($"\"{architecture}\"", File.ReadAllText(tmp.File("straight/final/config.json")), StringComparison.Ordinal);
        Assert.Equal(objective, PretrainingTrainer.SavedRun(tmp.File("split"))!.Value.Options.Objective);

        // final/ has run_mlm's model card, from the log and the settings above; the resumed run's, from its kept and new
        // entries, says the same but for the run's name.
        ModelCardChecks.AssertPretrainingCardMatchesRun(tmp.File("straight"),
            "- learning_rate: 0.001\n- train_batch_size: 4\n- eval_batch_size: 3\n- seed: 9007199254740993\n- gradient_accumulation_steps: 2\n"
            + "- total_train_batch_size: 8\n- optimizer: Use adamw_torch with betas=(0.9,0.999) and epsilon=1e-06 and optimizer_args=No additional optimizer arguments\n"
            + "- lr_scheduler_type: linear\n- lr_scheduler_warmup_steps: 2\n- training_steps: 6\n",
            withNsp: objective == PretrainingObjective.MaskedLmNextSentence);
        Assert.Equal(File.ReadAllText(tmp.File("straight/final/README.md")).Replace("straight", "split", StringComparison.Ordinal),
            File.ReadAllText(tmp.File("split/final/README.md")));
    }

    [Fact]
    public void A_resume_may_evaluate_in_batches_of_another_size_which_changes_the_evaluation_alone()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp);
        var source = new PretrainingModelSource("tiny", vocab);
        var o = Options() with { Steps = 2, GradAccum = 1, WarmupSteps = 0, SaveEvery = 0, EvalEvery = 1 };
        new PretrainingTrainer(o with { EvalBatchSize = 1 }).Run(data, tmp.File("ones"), source, resume: false);
        // Evaluated in batches of 4 (the training batch) up to step 1, then resumed in batches of 1.
        new PretrainingTrainer(o) { StopAfter = 1 }.Run(data, tmp.File("split"), source, resume: false);
        Assert.Equal(4, PretrainingTrainer.SavedRun(tmp.File("split"))!.Value.Options.EvalBatchSize);
        new PretrainingTrainer(o with { EvalBatchSize = 1 }).Run(data, tmp.File("split"), source, resume: true);

        var ones = PretrainingLogEntry.Read(tmp.File("ones/train_log.jsonl")).Where(e => e.Type == "eval").ToList();
        var split = PretrainingLogEntry.Read(tmp.File("split/train_log.jsonl")).Where(e => e.Type == "eval").ToList();
        Assert.Equal([1L, 2L], split.Select(e => e.Step));
        // The same weights at step 1, the batches' means weighted otherwise (the masked tokens differ from batch to batch);
        // after the resume the same evaluation as the run evaluated in batches of 1 throughout, and the same weights.
        Assert.NotEqual(ones[0].MaskedLmLoss, split[0].MaskedLmLoss);
        Assert.Equal(ones[0].MaskedLmAccuracy, split[0].MaskedLmAccuracy);
        Assert.Equal((ones[1].Loss, ones[1].MaskedLmLoss), (split[1].Loss, split[1].MaskedLmLoss));
        Assert.Equal(File.ReadAllBytes(tmp.File("ones/final/model.safetensors")), File.ReadAllBytes(tmp.File("split/final/model.safetensors")));
        Assert.Equal(1, PretrainingTrainer.SavedRun(tmp.File("split"))!.Value.Options.EvalBatchSize);
    }

    [Fact]
    public void Resuming_with_evaluation_turned_off_trains_on_the_runs_own_split_and_turning_it_on_is_refused()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp, dupe: 1);
        var source = new PretrainingModelSource("tiny", vocab);
        var o = Options() with { Steps = 4, SaveEvery = 0, EvalEvery = 2, GradAccum = 1 };
        new PretrainingTrainer(o).Run(data, tmp.File("straight"), source, resume: false);
        new PretrainingTrainer(o) { StopAfter = 2 }.Run(data, tmp.File("split"), source, resume: false);
        // Off on resume: the held-out instances stay out of training (before, train_instances differed and the resume was refused).
        new PretrainingTrainer(o with { EvalEvery = 0 }).Run(data, tmp.File("split"), new PretrainingModelSource(), resume: true);
        var a = PretrainingLogEntry.Read(tmp.File("straight/train_log.jsonl")).Where(e => e.Type == "train").ToList();
        var b = PretrainingLogEntry.Read(tmp.File("split/train_log.jsonl")).Where(e => e.Type == "train").ToList();
        Assert.Equal(4, b.Count);
        Assert.Equal(a.Select(e => (e.Step, e.Loss, e.DataPosition)), b.Select(e => (e.Step, e.Loss, e.DataPosition)));
        Assert.Equal(File.ReadAllBytes(tmp.File("straight/final/model.safetensors")), File.ReadAllBytes(tmp.File("split/final/model.safetensors")));

        // On for a run that holds nothing out: evaluating would need instances it has trained on.
        var noEval = o with { EvalEvery = 0 };
        new PretrainingTrainer(noEval) { StopAfter = 1 }.Run(data, tmp.File("plain"), source, resume: false);
        var e = Assert.Throws<BertSharpException>(() => new PretrainingTrainer(o).Run(data, tmp.File("plain"), new PretrainingModelSource(), resume: true));
        Assert.Equal(["eval_every"], e.Fields);
        Assert.Contains($"eval_every 2: the run in {tmp.File("plain/checkpoint-1")} was started without evaluation and trains on all ", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Evaluation_on_data_too_small_to_hold_any_instance_out_is_refused_before_anything_is_written()
    {
        using var tmp = TestPaths.TempDir();
        string[] docs = ["Doc one. Doc one again.", "Doc two. Doc two again."];
        File.WriteAllText(tmp.File("c.txt"), string.Join("\n\n", docs));
        var tok = new ToyTokenizer(docs);
        File.WriteAllLines(tmp.File("vocab.txt"), tok.Tokens);
        new PretrainingDataBuilder(tok.Encode, tok.Tokens, PretrainingDataset.VocabSha256(tmp.File("vocab.txt")))
        {
            Options = new PretrainingOptions { MaxSeqLength = 16, DupeFactor = 1 },
        }.Build([tmp.File("c.txt")], tmp.File("data"));
        var count = PretrainingDataset.Open(tmp.File("data")).Count;
        Assert.InRange(count, 1, 9);
        var o = Options() with { Steps = 1, BatchSize = 1, GradAccum = 1, WarmupSteps = 0, EvalEvery = 1 };
        // Before, such a run trained on every instance and logged no evaluation at all, as if none had been asked for.
        var e = Assert.Throws<BertSharpException>(() =>
            new PretrainingTrainer(o).Run(tmp.File("data"), tmp.File("run"), new PretrainingModelSource("tiny", tmp.File("vocab.txt")), resume: false));
        Assert.Equal(["eval_every"], e.Fields);
        Assert.Contains($"eval_every 1: {tmp.File("data")} has {count} instances, and the last 10 % of them, held out for evaluation, are none", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("run")));
    }

    [Fact]
    public void A_bad_held_out_shard_on_rank_0_ends_every_rank_of_a_data_parallel_run_before_anything_is_written()
    {
        // Only rank 0 evaluates, so only it reads the held-out instances (the data's last ones). It read them outside any
        // section once the output existed: the others went on into the first step's all-reduce and stopped only at the
        // collective timeout, and the output stayed.
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp, dupe: 1);
        var shard = Path.Combine(data, PretrainingDataset.Open(data).Manifest.Shards[^1].File);
        File.WriteAllBytes(shard, File.ReadAllBytes(shard)[..^1]);
        var o = Options() with { Steps = 1, GradAccum = 1, WarmupSteps = 0, SaveEvery = 0, EvalEvery = 1 };
        string Run(Distributed.AgreeingRank rank) =>
            new PretrainingTrainer(o) { Communicator = rank }.Run(data, tmp.File("run"), new PretrainingModelSource("tiny", vocab), resume: false);
        var rank0 = new Distributed.AgreeingRank(0, 2);
        Assert.StartsWith($"{shard}: ", Assert.Throws<BertSharpException>(() => Run(rank0)).Message, StringComparison.Ordinal);
        Assert.Equal([false], rank0.Arrivals);
        var rank1 = new Distributed.AgreeingRank(1, 2, failedRank: 0);
        Assert.Equal("rank 0 of 2 failed during reading the held-out evaluation instances; this rank stops with it (rank 0's own error says why).",
            Assert.Throws<BertSharp.Distributed.RankFailedException>(() => Run(rank1)).Message);
        Assert.Equal([true], rank1.Arrivals);
        Assert.False(Directory.Exists(tmp.File("run")));
    }

    [Theory]
    // Rank 0 alone opens the run directory, writes the checkpoint of a run stopped early and the final model, while the
    // others wait for it (meetings before: the start of training, the opening, the checkpoint of the last step). A file in
    // the way of each: the others went on to the first step's all-reduce until the collective timeout (the opening), or
    // returned a path never written.
    [InlineData("run", 1L, null, "opening the run directory and its log", 1)]
    [InlineData("run/checkpoint-1", 2L, 1L, "the checkpoint at step 1", 2)]
    [InlineData("run/final", 1L, null, "writing the final model", 3)]
    public void Output_that_fails_on_rank_0_ends_every_rank_of_a_data_parallel_run(string inTheWay, long steps, long? stopAfter, string work, int meetingsBefore)
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp, dupe: 1);
        var path = tmp.File(inTheWay);
        void PutInTheWay() => File.WriteAllText(path, "in the way");
        var o = Options() with { Steps = steps, GradAccum = 1, WarmupSteps = 0, SaveEvery = 0, EvalEvery = 0 };
        // The run directory is made between the check of the output and its opening (where the ranks meet), the others
        // once training has begun.
        var atOpening = inTheWay == "run";
        string Run(Distributed.AgreeingRank rank, string output, Action<PretrainingLogEntry>? onLog = null) =>
            new PretrainingTrainer(o) { Communicator = rank, StopAfter = stopAfter, OnLog = onLog }
                .Run(data, tmp.File(output), new PretrainingModelSource("tiny", vocab), resume: false);
        var rank0 = new Distributed.AgreeingRank(0, 2) { WhileInBarrier = atOpening ? PutInTheWay : null };
        var own = Assert.Throws<PathException>(() => Run(rank0, "run", atOpening ? null : _ => PutInTheWay()));
        Assert.Equal($"{path}: is a file; expected a directory.", own.Message);
        Assert.Equal([.. Enumerable.Repeat(true, meetingsBefore), false], rank0.Arrivals);
        // A run that failed before its first checkpoint (the one of a run stopped early included: it stayed behind, with
        // its marker and log) leaves no run directory; one with a checkpoint (step 1's, before the final model) keeps it.
        Assert.Equal(inTheWay == "run/final", Directory.Exists(tmp.File("run")));
        // Its own output: rank 0's (a checkpoint) would refuse a new run there.
        var rank1 = new Distributed.AgreeingRank(1, 2, failedRank: 0, failingMeeting: meetingsBefore);
        Assert.Equal($"rank 0 of 2 failed during {work}; this rank stops with it (rank 0's own error says why).",
            Assert.Throws<BertSharp.Distributed.RankFailedException>(() => Run(rank1, "rank1")).Message);
        Assert.Equal(Enumerable.Repeat(true, meetingsBefore + 1), rank1.Arrivals);
    }

    [SkippableFact]
    public void A_log_that_cannot_be_opened_leaves_no_run_directory_nor_the_folders_made_for_it()
    {
        // The run directory is made before its log: a log that failed to open failed outside the clean-up of a run stopped
        // before its first checkpoint, and the directory stayed behind, holding only its marker. The folders above it that
        // the run made stayed too (the folder above them is the user's).
        Skip.IfNot(OperatingSystem.IsLinux(), "the log's path is made too long for Linux's PATH_MAX");
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp, dupe: 1);
        var run = tmp.WhereTheLogCannotGo();
        var parent = Path.GetDirectoryName(run)!;
        var grandparent = Path.GetDirectoryName(parent)!;
        Directory.Delete(parent);
        Directory.Delete(grandparent);
        var e = Assert.Throws<OutputWriteException>(() => new PretrainingTrainer(Options()).Run(data, run, new PretrainingModelSource("tiny", vocab), resume: false));
        Assert.StartsWith($"{Path.Combine(run, TrainLog.FileName)}: cannot be written (", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(grandparent));
        Assert.True(Directory.Exists(Path.GetDirectoryName(grandparent)));

        // A log that opened but whose first line meets a full disk: undone by the start entry's own clean-up, not the
        // opening's. A directory the run made goes, one it found empty is emptied.
        var appendTo = TrainLog.AppendTo;
        TrainLog.AppendTo = _ => "/dev/full";
        try
        {
            Directory.CreateDirectory(tmp.File("empty"));
            foreach (var output in new[] { tmp.File("new/run"), tmp.File("empty") })
            {
                var full = Assert.Throws<IOException>(() => new PretrainingTrainer(Options()).Run(data, output, new PretrainingModelSource("tiny", vocab), resume: false));
                Assert.Equal("No space left on device : '/dev/full'", full.Message);
            }
            Assert.False(Directory.Exists(tmp.File("new")));
            Assert.Empty(Directory.GetFileSystemEntries(tmp.File("empty")));
        }
        finally
        {
            TrainLog.AppendTo = appendTo;
        }
    }

    [Fact]
    public void Vocabulary_mismatch_existing_run_and_changed_settings_are_clear_errors()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp, dupe: 1);
        var other = tmp.File("other.txt");
        File.WriteAllLines(other, File.ReadAllLines(vocab).Reverse());
        var o = Options() with { Steps = 2, SaveEvery = 1, EvalEvery = 0, GradAccum = 1, WarmupSteps = 0 };

        var mismatch = Assert.Throws<PathException>(() => new PretrainingTrainer(o).Run(data, tmp.File("run"), new PretrainingModelSource("tiny", other), false));
        Assert.Equal(other, mismatch.Path);
        Assert.Contains("does not match", mismatch.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("run/checkpoint-1")));

        var none = Assert.Throws<PathException>(() => new PretrainingTrainer(o).Run(data, tmp.File("run"), new PretrainingModelSource(), true));
        Assert.Contains("nothing to resume: no complete checkpoint-N", none.Message, StringComparison.Ordinal);

        new PretrainingTrainer(o) { StopAfter = 1 }.Run(data, tmp.File("run"), new PretrainingModelSource("tiny", vocab), false);
        var again = Assert.Throws<UnfinishedRunException>(() => new PretrainingTrainer(o).Run(data, tmp.File("run"), new PretrainingModelSource("tiny", vocab), false));
        Assert.Contains("holds checkpoint-1 of an earlier run; resume it", again.Message, StringComparison.Ordinal);
        var changed = Assert.Throws<BertSharpException>(() => new PretrainingTrainer(o with { LearningRate = 2e-3 }).Run(data, tmp.File("run"), new PretrainingModelSource(), true));
        Assert.Contains("cannot resume: learning_rate was 0.001 in the checkpoint but is 0.002 now", changed.Message, StringComparison.Ordinal);
        Assert.Equal(["learning_rate"], changed.Fields);
        // The run's schedule is recorded (linear here) and kept: another one is refused in one line.
        var scheduled = Assert.Throws<BertSharpException>(() =>
            new PretrainingTrainer(o with { LrSchedulerType = "cosine" }).Run(data, tmp.File("run"), new PretrainingModelSource(), true));
        Assert.EndsWith("checkpoint-1: cannot resume: the run was trained with lr_scheduler_type linear, but this one has lr_scheduler_type cosine; resume with the same scheduler.",
            scheduled.Message, StringComparison.Ordinal);
        // A scheduled run: --resume takes its schedule and kwargs back from trainer_state.json, and refuses others given again.
        new PretrainingTrainer(o with { LrSchedulerType = "polynomial", LrSchedulerKwargs = new() { ["power"] = 2.5 } }) { StopAfter = 1 }
            .Run(data, tmp.File("poly"), new PretrainingModelSource("tiny", vocab), false);
        var saved = PretrainingTrainer.SavedRun(tmp.File("poly"))!.Value.Options;
        Assert.Equal(("polynomial", "{\"power\":2.5}"), (saved.LrSchedulerType, saved.LrSchedulerKwargs!.ToJsonString()));
        CliRunner.Run("pretrain", "--output", tmp.File("poly"), "--resume", "--device", "cpu", "--lr-scheduler-kwargs", "{\"power\": 3}")
            .AssertOneLineError("checkpoint-1: cannot resume: the run was trained with --lr-scheduler polynomial and --lr-scheduler-kwargs {\"power\":2.5}, "
                + "but this one has --lr-scheduler polynomial and --lr-scheduler-kwargs {\"power\":3}; resume with the same scheduler.");
    }

    [Fact]
    public void A_non_finite_loss_stops_the_run_before_a_NaN_checkpoint_or_final_model()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp, dupe: 1);
        // A learning rate this large blows the weights up after the first step, so a later step's loss is NaN or infinite.
        var o = Options() with { Steps = 4, LearningRate = 1e30, WarmupSteps = 0, SaveEvery = 1, EvalEvery = 0, GradAccum = 1 };

        var e = Assert.Throws<BertSharpException>(() => new PretrainingTrainer(o).Run(data, tmp.File("run"), new PretrainingModelSource("tiny", vocab), false));
        Assert.Contains("the training loss became", e.Message, StringComparison.Ordinal);
        Assert.Equal(["learning_rate"], e.Fields);
        Assert.False(Directory.Exists(tmp.File("run/final")));
        // Step 1 (the initial weights) had a finite loss and kept its checkpoint; the ones written hold finite weights only.
        Assert.True(Directory.Exists(tmp.File("run/checkpoint-1")));
        foreach (var checkpoint in Directory.GetDirectories(tmp.File("run"), "checkpoint-*"))
        {
            var weights = SafeTensors.Load(Path.Combine(checkpoint, "model.safetensors"));
            try
            {
                Assert.All(weights, kv => Assert.True(kv.Value.isfinite().all().item<bool>(), $"{checkpoint}: {kv.Key} is not finite"));
            }
            finally
            {
                SafeTensors.DisposeAll(weights);
            }
        }

        // Stopped before its first checkpoint in an empty directory made beforehand: left empty (it kept the marker and the
        // log). The first checkpoint's write fails (step 1's loss is finite): it counted as written before it was.
        Directory.CreateDirectory(tmp.File("empty"));
        var inTheWay = tmp.File("empty/checkpoint-1");
        Assert.Equal($"{inTheWay}: is a file; expected a directory.", Assert.Throws<PathException>(() =>
            new PretrainingTrainer(o) { OnLog = _ => File.WriteAllText(inTheWay, "in the way") }
                .Run(data, tmp.File("empty"), new PretrainingModelSource("tiny", vocab), false)).Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.File("empty")));
    }

    [Fact]
    public void Cli_pretrain_writes_a_run_and_its_model_serves_fill_mask()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp, dupe: 1, windowsLineEndings: true);
        // A read-only --vocab (a shared store's) gives the run's copies of it the mode of a new file, which its owner may edit.
        const UnixFileMode readOnly = UnixFileMode.UserRead | UnixFileMode.GroupRead | UnixFileMode.OtherRead;
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(vocab, readOnly);
        }
        var r = CliRunner.Run("pretrain", "--data", data, "--output", tmp.File("run"), "--config", "tiny", "--vocab", vocab,
            "--steps", "2", "--batch-size", "4", "--device", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Matches(@"step 2: loss \d+\.\d{4}, masked_lm_loss \d+\.\d{4}, masked_lm_accuracy \d\.\d{4}, next_sentence_loss", r.StdOut);
        Assert.Equal(2, PretrainingLogEntry.Read(tmp.File("run/train_log.jsonl")).Count);
        Assert.True(File.Exists(tmp.File("run/checkpoint-2/optimizer.safetensors")));
        Assert.True(File.Exists(tmp.File("run/loss.png")));

        var fill = CliRunner.Run("fill-mask", "--model", tmp.File("run/final"), "--text", "document 3 sentence [MASK] tells", "--top-k", "2", "--device", "cpu");
        Assert.True(fill.ExitCode == 0, fill.StdErr);
        Assert.Equal(2, fill.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        // final/ carries the tokenizer files fine-tuning writes (HF's save_pretrained set): the data's vocabulary and
        // lower-casing, and the trained length as model_max_length; loaded back, it tokenizes as that vocabulary does.
        foreach (var f in BertPretrained.TokenizerFiles)
        {
            Assert.True(File.Exists(Path.Combine(tmp.File("run/final"), f)), f);
        }
        var lowercase = PretrainingDataset.Open(data).Manifest.Lowercase;
        var saved = BertTokenizer.FromDirectory(tmp.File("run/final"));
        Assert.Equal(lowercase, saved.Lowercase);
        Assert.Equal(32, saved.ModelMaxLength);
        const string text = "Document 3 sentence 2 tells about the movie number 23 and its actors.";
        Assert.Equal(BertTokenizer.FromVocabFile(vocab, lowercase).Encode(text).Ids, saved.Encode(text).Ids);
        // vocab.txt is the data's byte for byte (here CRLF without a final newline), so resuming and continuing pass the
        // manifest's SHA-256 check.
        Assert.Equal(File.ReadAllBytes(vocab), File.ReadAllBytes(tmp.File("run/checkpoint-2/vocab.txt")));
        Assert.Equal(File.ReadAllBytes(vocab), File.ReadAllBytes(tmp.File("run/final/vocab.txt")));
        if (!OperatingSystem.IsWindows())
        {
            var fresh = File.GetUnixFileMode(tmp.File("run/final/config.json"));
            Assert.True(fresh.HasFlag(UnixFileMode.UserWrite), $"config.json: {fresh}");
            Assert.Equal(fresh, File.GetUnixFileMode(tmp.File("run/checkpoint-2/vocab.txt")));
            Assert.Equal(fresh, File.GetUnixFileMode(tmp.File("run/final/vocab.txt")));
        }
        var resumed = CliRunner.Run("pretrain", "--data", data, "--output", tmp.File("run"), "--resume", "--steps", "3", "--device", "cpu");
        Assert.True(resumed.ExitCode == 0, resumed.StdErr);

        File.WriteAllLines(tmp.File("other.txt"), File.ReadAllLines(vocab).Reverse());
        var bad = CliRunner.Run("pretrain", "--data", data, "--output", tmp.File("run2"), "--config", "tiny", "--vocab", tmp.File("other.txt"),
            "--steps", "2", "--device", "cpu");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("vocabulary does not match the data", bad.StdErr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("run2/checkpoint-2")));
    }

    [Fact]
    public void A_model_with_fewer_token_ids_than_the_data_is_refused_before_anything_is_written()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp, dupe: 1);
        var ids = PretrainingDataset.Open(data).Manifest.VocabSize;
        // The data's own vocabulary beside a model one embedding short: the vocabulary check passes, the ids do not fit.
        var config = BertConfig.FromPresetOrFile("tiny");
        config.VocabSize = ids - 1;
        using (var model = BertPretrained.Create(nameof(BertForPreTraining), config))
        {
            BertPretrained.Save(model, tmp.File("short"));
        }
        File.Copy(vocab, tmp.File("short/vocab.txt"));
        var line = CliRunner.Run("pretrain", "--data", data, "--model", tmp.File("short"), "--output", tmp.File("run"), "--steps", "1",
            "--device", "cpu").AssertOneLineError();
        Assert.Equal(FormattableString.Invariant($"error: --data {data}: data uses {ids} token ids but the model's vocab_size is {ids - 1}."), line);
        Assert.False(Directory.Exists(tmp.File("run")));
    }

    [Fact]
    public void Cli_stop_after_leaves_a_checkpoint_that_resume_finishes()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = SmallData(tmp, dupe: 1);
        // The run's folder is shown as data in the closing "model:" line: its escape drove the terminal, U+202E reversed the line.
        var run = tmp.File("run\u001b[31m\u202e");
        string[] common = ["pretrain", "--data", data, "--output", run, "--steps", "4", "--batch-size", "4", "--device", "cpu"];
        var first = CliRunner.Run([.. common, "--config", "tiny", "--vocab", vocab, "--stop-after", "3"]);
        Assert.True(first.ExitCode == 0, first.StdErr);
        // --save-every is 0 (only at the end), yet stopping early must not lose the three steps.
        Assert.True(File.Exists(Path.Combine(run, "checkpoint-3", "trainer_state.json")));
        Assert.False(Directory.Exists(Path.Combine(run, "final")));
        Assert.EndsWith($"model: {tmp.File("run\\x1b[31m\\u202e")}/checkpoint-3", first.StdOut.TrimEnd(), StringComparison.Ordinal);

        var rest = CliRunner.Run([.. common, "--resume"]);
        Assert.True(rest.ExitCode == 0, rest.StdErr);
        Assert.True(File.Exists(Path.Combine(run, "final", "model.safetensors")));
        Assert.Equal([1L, 2, 3, 4], PretrainingLogEntry.Read(Path.Combine(run, "train_log.jsonl")).Select(e => e.Step));

        // The closing speed is the mean of the steps each process ran (their tokens over their time), not the last step's,
        // which a user read as the run's; a process's first step (its warm-up) counts only when it is the only one: the
        // resumed run's is of step 4 alone.
        var steps = TrainLog.Read(Path.Combine(run, "train_log.jsonl")).Where(e => TrainLog.TypeOf(e) == "train").ToList();
        string Mean(int from, int to)
        {
            var ran = steps[from..to];
            var tokens = ran.Sum(e => TrainLog.Number(e, "tokens"));
            var seconds = ran.Sum(e => TrainLog.Number(e, "tokens") / TrainLog.Number(e, "tokens_per_second"));
            Assert.Equal(tokens / seconds, PretrainingLogEntry.From(ran[^1]).MeanTokensPerSecond, 6);
            return (tokens / seconds).ToString("F0", System.Globalization.CultureInfo.InvariantCulture);
        }
        Assert.Contains($", {Mean(1, 3)} tokens/s (mean of steps 2-3)\n", first.StdOut, StringComparison.Ordinal);
        Assert.Contains($", {Mean(3, 4)} tokens/s (mean of step 4)\n", rest.StdOut, StringComparison.Ordinal);

        var bad = CliRunner.Run([.. common, "--resume", "--stop-after", "0"]);
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains("--stop-after 0: expected at least 1", bad.StdErr, StringComparison.Ordinal);
    }
}
