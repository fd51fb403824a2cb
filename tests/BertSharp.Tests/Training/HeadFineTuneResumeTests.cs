using System.Text.Json.Nodes;
using BertSharp.Evaluation;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// Checkpoints and resume of a task head (token classification, the fixtures' tiny config from scratch, dropout on) through
/// the same run as sequence classification: a run stopped part-way and resumed ends with weights, losses and validation
/// metrics bitwise equal to an uninterrupted run's (as <see cref="FineTuneResumeTests"/> for classification).
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class HeadFineTuneResumeTests
{
    private static readonly string Config = Path.Combine(TestPaths.Fixtures, "hf_bert", "token-classification", "config.json");
    private static readonly string Vocab = Path.Combine(TestPaths.Fixtures, "hf_bert", "token-classification", "vocab.txt");

    /// <summary>16 sentences in 4 batches of 4, 2 per step → 2 steps per epoch, 3 epochs: 6 steps.</summary>
    private static HeadFineTuneOptions Options(string dir, string output, Func<TrainingOptions, TrainingOptions>? change = null) => new()
    {
        Task = HeadTask.TokenClassification,
        Training = (change ?? (t => t))(new TrainingOptions
        {
            DataPath = Path.Combine(dir, "train.conll"),
            EvalDataPath = Path.Combine(dir, "dev.conll"),
            OutputDir = output,
            ConfigPreset = Config,
            VocabPath = Vocab,
            Epochs = 3,
            BatchSize = 4,
            GradAccum = 2,
            LearningRate = 1e-3,
            MaxLength = 24,
            Seed = 11,
            Device = "cpu",
        }),
    };

    [Fact]
    public void Stopped_and_resumed_ner_run_ends_with_the_uninterrupted_weights_bitwise()
    {
        using var tmp = TestPaths.TempDir();
        HeadFineTuneEndToEndTests.WriteConll(tmp.File("train.conll"), HeadFineTuneEndToEndTests.NerSentences(16, 1));
        HeadFineTuneEndToEndTests.WriteConll(tmp.File("dev.conll"), HeadFineTuneEndToEndTests.NerSentences(6, 2));
        var straight = HeadFineTuner.Run(Options(tmp.Path, tmp.File("straight")));
        Assert.True(straight.Completed);
        Assert.Equal(6, straight.StepLosses.Count);

        // Stopped inside epoch 2 (step 3), after a checkpoint at every step.
        var first = HeadFineTuner.Run(Options(tmp.Path, tmp.File("split"), t => t with { StopAfter = 3, SaveSteps = 1 }));
        Assert.False(first.Completed);
        Assert.Equal(tmp.File("split/checkpoint-3"), first.Checkpoint);
        Assert.Equal(straight.StepLosses.Take(3), first.StepLosses);
        Assert.False(File.Exists(tmp.File("split/config.json")));
        Assert.Throws<UnfinishedRunException>(() => HeadFineTuner.Run(Options(tmp.Path, tmp.File("split"))));
        // This run validates in seqeval's default mode: resumed in strict mode it is refused, the reverse of the strict run
        // resumed in the default mode below, and leaves the checkpoint for the resume that follows.
        var strict = Assert.Throws<BertSharpException>(() =>
            HeadFineTuner.Run(Options(tmp.Path, tmp.File("split"), t => t with { Resume = true }) with { NerScheme = SeqevalScheme.IOB2 }));
        Assert.Equal($"{tmp.File("split/checkpoint-3")}: cannot resume: ner_mode was \"default\" in the checkpoint but is \"strict\" now; resume with the same settings.",
            strict.Message);
        Assert.Equal(["ner_mode"], strict.Fields);

        var rest = HeadFineTuner.Run(Options(tmp.Path, tmp.File("split"), t => t with { Resume = true }));
        Assert.True(rest.Completed);
        Assert.Equal(File.ReadAllBytes(tmp.File("straight/model.safetensors")), File.ReadAllBytes(tmp.File("split/model.safetensors")));
        Assert.Equal(straight.StepLosses, rest.StepLosses);
        Assert.Equal(straight.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.Step)), rest.Epochs.Select(e => (e.Epoch, e.TrainLoss, e.Step)));
        Assert.Equal(File.ReadAllText(tmp.File("straight/metrics.json")), File.ReadAllText(tmp.File("split/metrics.json")));
        // The finished directory is the model alone: no checkpoints, steps 1..6 logged once each.
        Assert.Empty(Directory.GetDirectories(tmp.File("split")));
        var log = TrainLog.Read(tmp.File("split/train_log.jsonl"));
        Assert.Equal([1L, 2, 3, 4, 5, 6], log.Where(e => TrainLog.TypeOf(e) == "train").Select(TrainLog.StepOf));

        // A changed setting is refused by name, as for classification. This run's config and vocabulary are copies, to be
        // changed in place; it validates in seqeval's strict IOB2 mode.
        var (config, vocab) = (tmp.File("config.json"), tmp.File("vocab.txt"));
        File.Copy(Config, config);
        File.Copy(Vocab, vocab);
        HeadFineTuneOptions Changed(Func<TrainingOptions, TrainingOptions> change, SeqevalScheme? scheme = SeqevalScheme.IOB2) =>
            Options(tmp.Path, tmp.File("changed"), t => change(t with { ConfigPreset = config, VocabPath = vocab })) with { NerScheme = scheme };
        HeadFineTuner.Run(Changed(t => t with { StopAfter = 1 }));
        // So is a cut optimizer state, before the plan is printed and the run's log opened, as for classification.
        var optimizer = tmp.File("changed/checkpoint-1/optimizer.safetensors");
        var whole = File.ReadAllBytes(optimizer);
        File.WriteAllBytes(optimizer, whole[..^8]);
        string RefusedBeforeThePlan()
        {
            // Taken here: each refusal below follows an edit of the checkpoint, which the snapshot holds.
            var before = TestPaths.Snapshot(tmp.File("changed"));
            using var never = new CancellationTokenSource();
            var watch = new FineTuneResumeTests.CancelInEpoch(0, never);
            var refused = Assert.Throws<BertSharpException>(() => HeadFineTuner.Run(Changed(t => t with { Resume = true }), watch));
            Assert.Equal(0, watch.Plans);
            TestPaths.AssertUnchanged(before, tmp.File("changed"));
            return refused.Message;
        }
        var cut = RefusedBeforeThePlan();
        Assert.StartsWith(optimizer + ": ", cut, StringComparison.Ordinal);
        Assert.Contains("truncated", cut, StringComparison.Ordinal);
        File.WriteAllBytes(optimizer, whole);
        // So is a checkpoint whose weights lack a tensor, as for classification: the head's went on newly initialised.
        var weights = tmp.File("changed/checkpoint-1/model.safetensors");
        var weightBytes = File.ReadAllBytes(weights);
        CheckpointTensors.Drop(weights, "classifier.weight");
        Assert.Equal($"{weights}: the checkpoint lacks classifier.weight; it does not hold every weight of the model it continues.", RefusedBeforeThePlan());
        File.WriteAllBytes(weights, weightBytes);
        var changed = Assert.Throws<BertSharpException>(() => HeadFineTuner.Run(Changed(t => t with { Resume = true, LearningRate = 2e-3 })));
        Assert.Equal(["learning_rate"], changed.Fields);
        // So is another seqeval mode or scheme (the data's tags are IOBES tags too): its validation F1s are not the run's.
        // The default mode, recorded by its absence, is named as such.
        foreach (var (scheme, field, was, now) in new[] { ((SeqevalScheme?)null, "ner_mode", "strict", "default"), (SeqevalScheme.IOBES, "ner_scheme", "IOB2", "IOBES") })
        {
            var mode = Assert.Throws<BertSharpException>(() => HeadFineTuner.Run(Changed(t => t with { Resume = true }, scheme)));
            Assert.Equal($"{tmp.File("changed/checkpoint-1")}: cannot resume: {field} was \"{was}\" in the checkpoint but is \"{now}\" now; resume with the same settings.", mode.Message);
            Assert.Equal([field], mode.Fields);
        }
        // So is a vocabulary changed in place with its size kept (two tokens traded places): the run went on tokenizing with it.
        var vocabText = File.ReadAllText(vocab);
        var tokens = File.ReadAllLines(vocab);
        (tokens[^1], tokens[^2]) = (tokens[^2], tokens[^1]);
        File.WriteAllLines(vocab, tokens);
        Assert.Matches($"^{System.Text.RegularExpressions.Regex.Escape(tmp.File("changed/checkpoint-1"))}: cannot resume: vocab {System.Text.RegularExpressions.Regex.Escape(vocab)} "
            + "has changed since the run started \\(sha256 [0-9a-f]{12}… then, sha256 [0-9a-f]{12}… now\\); ", RefusedBeforeThePlan());
        File.WriteAllText(vocab, vocabText);
        // So is a config file changed in place, which the settings name by its path only: the checkpoint's weights went on
        // training with the new dropout, as classification went on with the checkpoint's config.
        var edited = JsonNode.Parse(File.ReadAllText(config))!.AsObject();
        edited["hidden_dropout_prob"] = 0.25;
        File.WriteAllText(config, edited.ToJsonString());
        var inPlace = RefusedBeforeThePlan();
        Assert.StartsWith($"{tmp.File("changed/checkpoint-1/config.json")}: cannot resume: hidden_dropout_prob is 0", inPlace, StringComparison.Ordinal);
        Assert.EndsWith($" there but 0.25 in the model this run builds from {config} and its data; resume with the model and data the run started with, or start a new run.",
            inPlace, StringComparison.Ordinal);
    }
}
