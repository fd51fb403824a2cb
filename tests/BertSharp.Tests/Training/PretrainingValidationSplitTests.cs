using BertSharp.Data.Pretraining;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;
using BertSharp.Training.Pretraining;
using static TorchSharp.torch;

namespace BertSharp.Tests.Training;

/// <summary><c>bert pretrain --eval-every</c> on data built with <c>--validation-split-percentage</c>: evaluated on the held-out documents.</summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class PretrainingValidationSplitTests
{
    [Fact]
    public void Cli_pretrain_evaluates_on_all_of_the_held_out_split_and_trains_on_all_of_the_rest()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp, dupe: 2, validationSplit: 25);
        var training = PretrainingDataset.Open(data);
        var validation = training.OpenValidation()!;
        var r = CliRunner.Run("pretrain", "--data", data, "--vocab", vocab, "--config", "tiny", "--output", tmp.File("run"), "--steps", "4",
            "--batch-size", "4", "--eval-every", "2", "--eval-batch-size", "3", "--device", "cpu", "--seed", "2");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Matches(@"(^|\n)eval: 2/4 mlm \d+\.\d{3} \(\d+\.\d %\) nsp \d+\.\d{3} \(\d+\.\d %\)\n", r.StdErr);
        Assert.Matches(@"(^|\n)eval: 4/4 mlm ", r.StdErr);

        var log = TrainLog.Read(tmp.File("run/train_log.jsonl"));
        var start = log.First(e => TrainLog.TypeOf(e) == "start");
        // Every training instance trains (none of the last ones held out), every held-out one is evaluated.
        Assert.Equal(training.Count, TrainLog.Number(start, "train_instances"));
        Assert.Equal(validation.Count, TrainLog.Number(start, "eval_instances"));
        Assert.Equal("validation", (string?)start["eval_data"]);
        var state = TrainerState.Load(tmp.File("run/checkpoint-4/trainer_state.json"));
        Assert.Equal("validation", (string?)state.Settings["eval_data"]);
        Assert.Contains($"Evaluation: the {validation.Count:N0} instances of its held-out split `validation`, made of whole documents not trained on.",
            File.ReadAllText(tmp.File("run/final/README.md")), StringComparison.Ordinal);

        // The last evaluation is the final model's on the split's instances, in their order, in batches of 3.
        var last = log.Last(e => TrainLog.TypeOf(e) == "eval");
        using var model = BertPretrained.Load<BertForPreTraining>(tmp.File("run/final"));
        var expected = PretrainingTask.Evaluate(model, [.. validation.Read()], 3, training.Manifest.PadId, CPU);
        Assert.Equal(expected["masked_lm_loss"], TrainLog.Number(last, "masked_lm_loss"), 1e-6);
        Assert.Equal(expected["next_sentence_accuracy"], TrainLog.Number(last, "next_sentence_accuracy"), 1e-12);
    }

    [Fact]
    public void Resumes_are_bitwise_and_may_turn_evaluation_on_or_off_since_the_training_instances_stay_the_same()
    {
        using var tmp = TestPaths.TempDir();
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp, dupe: 2, validationSplit: 25);
        var source = new PretrainingModelSource("tiny", vocab);
        var o = PretrainingTrainerTests.Options() with { Steps = 4, SaveEvery = 0, EvalEvery = 2, GradAccum = 1 };
        new PretrainingTrainer(o).Run(data, tmp.File("straight"), source, resume: false);
        new PretrainingTrainer(o) { StopAfter = 2 }.Run(data, tmp.File("split"), source, resume: false);
        new PretrainingTrainer(o).Run(data, tmp.File("split"), new PretrainingModelSource(), resume: true);
        // Started without evaluation, resumed with it: the held-out documents were never trained on, so it may.
        new PretrainingTrainer(o with { EvalEvery = 0 }) { StopAfter = 2 }.Run(data, tmp.File("late"), source, resume: false);
        new PretrainingTrainer(o).Run(data, tmp.File("late"), new PretrainingModelSource(), resume: true);

        var a = PretrainingLogEntry.Read(tmp.File("straight/train_log.jsonl"));
        var b = PretrainingLogEntry.Read(tmp.File("split/train_log.jsonl"));
        var c = PretrainingLogEntry.Read(tmp.File("late/train_log.jsonl"));
        Assert.Equal([("eval", 2L), ("eval", 4L)], a.Where(e => e.Type == "eval").Select(e => (e.Type, e.Step)));
        Assert.Equal(a.Select(e => (e.Type, e.Step, e.Loss, e.MaskedLmLoss, e.DataPosition)), b.Select(e => (e.Type, e.Step, e.Loss, e.MaskedLmLoss, e.DataPosition)));
        Assert.Equal(a.Where(e => e.Type == "train" || e.Step == 4).Select(e => (e.Type, e.Step, e.Loss)), c.Select(e => (e.Type, e.Step, e.Loss)));
        // The card of the run that evaluated only after its resume says what it evaluated on.
        Assert.Contains($"Evaluation: the {PretrainingDataset.Open(data).OpenValidation()!.Count:N0} instances of its held-out split `validation`",
            File.ReadAllText(tmp.File("late/final/README.md")), StringComparison.Ordinal);
        foreach (var run in new[] { "split", "late" })
        {
            Assert.Equal(File.ReadAllBytes(tmp.File("straight/final/model.safetensors")), File.ReadAllBytes(tmp.File($"{run}/final/model.safetensors")));
        }
        // Data built without the split is another data set: a run on it is not resumed on the split data.
        var (plain, _) = PretrainingTrainerTests.SmallData(tmp, dupe: 2, name: "plain");
        var e = Assert.Throws<BertSharpException>(() => new PretrainingTrainer(o).Run(plain, tmp.File("split"), new PretrainingModelSource(), resume: true));
        Assert.Contains("not the data the run in", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_resume_refuses_a_held_out_split_swapped_for_another_with_the_same_counts()
    {
        using var tmp = TestPaths.TempDir();
        // Seeds 10 and 12 hold out other documents of the corpus, which make as many instances (44): a split swapped for
        // the other build's has the same counts and vocabulary.
        var (data, vocab) = PretrainingTrainerTests.SmallData(tmp, dupe: 2, validationSplit: 25, adjust: x => x with { Seed = 10 });
        var (other, _) = PretrainingTrainerTests.SmallData(tmp, dupe: 2, validationSplit: 25, name: "other", adjust: x => x with { Seed = 12 });
        var source = new PretrainingModelSource("tiny", vocab);
        var o = PretrainingTrainerTests.Options() with { Steps = 4, SaveEvery = 0, EvalEvery = 2, GradAccum = 1 };
        new PretrainingTrainer(o) { StopAfter = 2 }.Run(data, tmp.File("run"), source, resume: false);
        var state = TrainerState.Load(tmp.File("run/checkpoint-2/trainer_state.json"));
        var (trainingSha, validationSha) = (PretrainingDataset.Open(data).Manifest.ShardsSha256(), PretrainingDataset.Open(data).OpenValidation()!.Manifest.ShardsSha256());

        var split = Path.Combine(data, "validation");
        var (mine, theirs) = (PretrainingManifest.Load(split), PretrainingManifest.Load(Path.Combine(other, "validation")));
        Assert.Equal((mine.Documents, mine.Instances), (theirs.Documents, theirs.Instances));
        Assert.NotEqual(mine.ShardsSha256(), theirs.ShardsSha256());
        Directory.Delete(split, recursive: true);
        Directory.Move(Path.Combine(other, "validation"), split);
        Assert.NotNull(PretrainingDataset.Open(data).OpenValidation());

        var e = Assert.Throws<BertSharpException>(() => new PretrainingTrainer(o).Run(data, tmp.File("run"), new PretrainingModelSource(), resume: true));
        Assert.Equal(["data_directory"], e.Fields);
        Assert.Contains($"its held-out split {split} differs from the run's", e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', e.Message);
        Assert.False(Directory.Exists(tmp.File("run/checkpoint-4")));
        // The training shards' identity is what it was without a split (runs on data without one resume as before); the
        // split's is recorded beside it.
        Assert.Equal(trainingSha, (string?)state.Settings["data_sha256"]);
        Assert.Equal(validationSha, (string?)state.Settings["validation_sha256"]);

        // Data without a split records no split, as before it existed.
        var (plain, _) = PretrainingTrainerTests.SmallData(tmp, dupe: 2, name: "plain");
        new PretrainingTrainer(o) { StopAfter = 2 }.Run(plain, tmp.File("plain-run"), source, resume: false);
        var plainState = TrainerState.Load(tmp.File("plain-run/checkpoint-2/trainer_state.json"));
        Assert.False(plainState.Settings.ContainsKey("validation_sha256"));
        Assert.Equal(PretrainingDataset.Open(plain).Manifest.ShardsSha256(), (string?)plainState.Settings["data_sha256"]);
    }
}
