using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Training;
using static TorchSharp.torch;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// <c>bert pretrain</c> and <c>bert finetune</c> as 2 and 3 Open MPI ranks on this machine against one process training on
/// the whole global batch (the reference: in the test process for pre-training, a child process for fine-tuning): same
/// losses and final weights within 1e-5, with dropout off and on (keyed per-example masks), with and without gradient
/// accumulation, across resumes on a different number of ranks (bitwise on the same number). A killed rank is
/// <see cref="RankFailureTests"/>.
/// </summary>
[Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
public sealed class DataParallelTrainingTests(DataParallelTrainingTests.Corpus corpus) : IClassFixture<DataParallelTrainingTests.Corpus>
{
    private const double Tolerance = 1e-5;

    /// <summary>
    /// Pre-training data from a piece of Alice in Wonderland with the fixture's vocabulary (max length 32), built once per
    /// objective for the tests of this class (they only read it; it used to be built again by each test).
    /// </summary>
    public sealed class Corpus : IDisposable
    {
        private readonly TempDir _tmp = TestPaths.TempDir();
        private readonly Dictionary<string, string> _data = [];

        /// <summary>The data for <paramref name="objective"/> (<c>mlm+nsp</c> or <c>mlm</c>).</summary>
        public string Data(string objective = "mlm+nsp")
        {
            lock (_data)
            {
                if (!_data.TryGetValue(objective, out var dir))
                {
                    var alice = _tmp.File("alice.txt");
                    if (!File.Exists(alice))
                    {
                        File.WriteAllText(alice, File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "samples", "corpus", "pg11_alice.txt"))[..20000]);
                    }
                    dir = _tmp.File("data-" + objective.Replace('+', '-'));
                    var r = CliRunner.Run("pretrain-data", "--input", alice, "--vocab", Path.Combine(HfFixture.Dir("pretraining"), "vocab.txt"),
                        "--output", dir, "--max-length", "32", "--max-predictions-per-seq", "5", "--dupe-factor", "1", "--objective", objective);
                    Assert.True(r.ExitCode == 0, r.StdErr);
                    _data[objective] = dir;
                }
                return dir;
            }
        }

        public void Dispose() => _tmp.Dispose();
    }

    /// <summary>A copy of a fixture model, with dropout 0.1 when asked (the fixtures have none).</summary>
    internal static string Model(TempDir tmp, string fixture, bool dropout)
    {
        var dir = tmp.File(fixture + (dropout ? "-dropout" : ""));
        Directory.CreateDirectory(dir);
        foreach (var f in Directory.GetFiles(HfFixture.Dir(fixture)).Where(f => !f.EndsWith(".bin", StringComparison.Ordinal) && !Path.GetFileName(f).Contains("reference") && !Path.GetFileName(f).Contains("train_step")))
        {
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        }
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        config["hidden_dropout_prob"] = dropout ? 0.1 : 0.0;
        config["attention_probs_dropout_prob"] = dropout ? 0.1 : 0.0;
        File.WriteAllText(Path.Combine(dir, "config.json"), config.ToJsonString());
        return dir;
    }

    internal static string[] Pretrain(string data, string model, string output, params string[] more) =>
        ["pretrain", "--data", data, "--model", model, "--output", output, "--steps", "10", "--batch-size", "4", "--lr", "1e-3", "--warmup-steps", "2",
            "--seed", "3", "--device", "cpu", .. more];

    /// <summary>
    /// The pre-training reference: one process on the whole batch, run in the test process. Nothing in it draws from torch's
    /// generator, which other tests running meanwhile draw from: dropout is keyed by example (<c>--example-dropout</c>), the
    /// data order and dynamic masks come from the run's seed, and the model is the fixture's with every weight loaded (no
    /// initialisation), which the run's output is checked to say. So the class need not be serial, and the reference costs no
    /// process start (each takes about 2 CPU-seconds, mostly loading libtorch and compiling code).
    /// </summary>
    private static void OneProcess(params string[] args)
    {
        Assert.Equal("pretrain", args[0]);
        var r = CliRunner.Run(args);
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
        if (!args.Contains("--resume"))
        {
            Assert.Contains("every weight loaded", r.StdOut + r.StdErr, StringComparison.Ordinal);
        }
    }

    /// <summary>
    /// The fine-tuning reference, as a child process: fine-tuning initialises the new classifier from torch's generator
    /// (seeded by <c>--seed</c>), which an in-process run would share with the tests beside it.
    /// </summary>
    private static void OneChildProcess(params string[] args)
    {
        var r = MpiJob.RunAlone(args);
        Assert.True(r.ExitCode == 0, r.StdOut + r.StdErr);
    }

    private static MpiJob.Result Ranks(int n, params string[] args)
    {
        var job = MpiJob.Run(n, MpiJob.Bert(args));
        Assert.True(job.ExitCode == 0, $"exit {job.ExitCode}\n{job.StdOut}\n{job.StdErr}");
        return job;
    }

    private static List<(long Step, double Loss)> Losses(string logFile) =>
        [.. TrainLog.Read(logFile).Where(e => TrainLog.TypeOf(e) == "train").Select(e => (TrainLog.StepOf(e), TrainLog.Number(e, "loss")))];

    private static void AssertSameRun(string expectedDir, string actualDir, string weightsFile, string label)
    {
        var expected = Losses(Path.Combine(expectedDir, TrainLog.FileName));
        var actual = Losses(Path.Combine(actualDir, TrainLog.FileName));
        // One line per step: the other ranks wrote nothing.
        Assert.Equal(expected.Select(e => e.Step), actual.Select(e => e.Step));
        foreach (var (e, a) in expected.Zip(actual))
        {
            Assert.True(Math.Abs(e.Loss - a.Loss) <= Tolerance, $"{label}: step {e.Step} loss {a.Loss} vs one process {e.Loss}");
        }
        // The run trained: the loss moved.
        Assert.NotEqual(expected[0].Loss, expected[^1].Loss);
        var w1 = SafeTensors.Load(Path.Combine(expectedDir, weightsFile));
        var w2 = SafeTensors.Load(Path.Combine(actualDir, weightsFile));
        try
        {
            Assert.Equal(w1.Keys.Order(), w2.Keys.Order());
            foreach (var (name, t) in w1)
            {
                var diff = (t - w2[name]).abs().max().item<float>();
                Assert.True(diff <= Tolerance, $"{label}: {name} differs by {diff}");
            }
        }
        finally
        {
            HfFixture.DisposeAll(w1);
            HfFixture.DisposeAll(w2);
        }
    }

    [SkippableTheory]
    [InlineData(false)]
    [InlineData(true)]
    public void Pretrain_on_2_ranks_equals_one_process_with_the_whole_batch(bool dropout)
    {
        MpiJob.RequireMpirun();
        using var tmp = TestPaths.TempDir();
        var data = corpus.Data();
        var model = Model(tmp, "pretraining", dropout);
        OneProcess(Pretrain(data, model, tmp.File("one"), "--example-dropout"));
        // With dropout, a checkpoint at step 5 as well: the resume below starts from it.
        var job = Ranks(2, Pretrain(data, model, tmp.File("two"), dropout ? ["--save-every", "5"] : []));
        // Rank 0 alone prints (one result line) and every step reached it.
        Assert.Single(job.StdOut.Split('\n'), l => l.StartsWith("model: ", StringComparison.Ordinal));
        Assert.Contains("step 10: loss", job.StdOut);
        AssertSameRun(tmp.File("one"), tmp.File("two"), "final/model.safetensors", $"2 ranks, dropout {dropout}");
        var state = TrainerState.Load(tmp.File("two/checkpoint-10/trainer_state.json"));
        Assert.Equal(10, state.GlobalStep);
        Assert.Equal(40, TrainLog.Number(state.Data, "data_position")); // global instances, not per rank
        if (dropout)
        {
            // A job that died after step 5's checkpoint (the run's folder as the 2 ranks left it, less what came after step
            // 5), resumed on as many ranks: bitwise the uninterrupted run, and its log keeps steps 1-5 and redoes 6-10.
            // (Stopping with --stop-after on ranks is the 3-rank test's.)
            TestPaths.CopyTree(tmp.File("two"), tmp.File("split"));
            Directory.Delete(tmp.File("split/checkpoint-10"), recursive: true);
            Directory.Delete(tmp.File("split/final"), recursive: true);
            Ranks(2, "pretrain", "--output", tmp.File("split"), "--resume");
            foreach (var f in new[] { "model.safetensors", "optimizer.safetensors" })
            {
                Assert.Equal(File.ReadAllBytes(tmp.File("two/checkpoint-10/" + f)), File.ReadAllBytes(tmp.File("split/checkpoint-10/" + f)));
            }
            Assert.Equal(Losses(tmp.File("two/" + TrainLog.FileName)), Losses(tmp.File("split/" + TrainLog.FileName)));
        }
    }

    [SkippableFact]
    public void Masked_lm_pretraining_on_2_ranks_equals_one_process_with_the_whole_batch()
    {
        MpiJob.RequireMpirun();
        using var tmp = TestPaths.TempDir();
        var data = corpus.Data("mlm");
        var model = Model(tmp, "masked-lm", dropout: false);
        OneProcess(Pretrain(data, model, tmp.File("one"), "--example-dropout"));
        Ranks(2, Pretrain(data, model, tmp.File("two")));
        AssertSameRun(tmp.File("one"), tmp.File("two"), "final/model.safetensors", "masked LM, 2 ranks");
        Assert.Contains("\"BertForMaskedLM\"", File.ReadAllText(tmp.File("two/final/config.json")), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Pretraining_resumes_on_a_different_number_of_ranks_and_3_uneven_ranks_match_one_process()
    {
        MpiJob.RequireMpirun();
        using var tmp = TestPaths.TempDir();
        var data = corpus.Data();
        var model = Model(tmp, "pretraining", dropout: true);
        string[] accum = ["--grad-accum", "2", "--dynamic-masking", "--example-dropout"];
        OneProcess(Pretrain(data, model, tmp.File("ref"), accum));

        // 3 ranks take 2, 1 and 1 of each 4 instances (their masked tokens weight their losses); stopped at 5, one process ends it.
        Ranks(3, Pretrain(data, model, tmp.File("a"), [.. accum, "--stop-after", "5"]));
        Assert.Equal(5, TrainerState.Load(tmp.File("a/checkpoint-5/trainer_state.json")).GlobalStep);
        OneProcess("pretrain", "--output", tmp.File("a"), "--resume");
        AssertSameRun(tmp.File("ref"), tmp.File("a"), "final/model.safetensors", "3 ranks, then 1");

        // One process stops at 3, 2 ranks resume to the end.
        OneProcess(Pretrain(data, model, tmp.File("b"), [.. accum, "--stop-after", "3"]));
        Ranks(2, "pretrain", "--output", tmp.File("b"), "--resume");
        AssertSameRun(tmp.File("ref"), tmp.File("b"), "final/model.safetensors", "1 rank, then 2");
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void Finetune_on_2_ranks_equals_one_process_also_when_a_rank_gets_no_example_of_the_last_batch(int gradAccum)
    {
        MpiJob.RequireMpirun();
        using var tmp = TestPaths.TempDir();
        var model = Model(tmp, "sequence-classification", dropout: true);
        // 8 examples in batches of 7 and 1: the ranks take 4 and 3 of the first, 1 and none of the second (with --grad-accum 2,
        // both micro-batches of one step; without, the ranks stop half-way and resume).
        var train = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
        // AdamW's epsilon 1e-6 (google's BERT value): the attention key bias has a gradient of exactly 0 in exact arithmetic
        // (softmax ignores a constant added to every key score), so its gradient is round-off, and with HF's 1e-8 AdamW turns
        // round-off of different summation orders into steps of ±lr.
        string[] Args(string output) =>
        [
            "finetune", "--task", "sst2", "--data", train, "--eval-data", train, "--model", model, "--output", output, "--epochs", "5",
            "--batch-size", "7", "--max-length", "24", "--lr", "1e-3", "--eps", "1e-6", "--seed", "7", "--device", "cpu", "--no-bucketing", "--example-dropout",
            "--grad-accum", gradAccum.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
        OneChildProcess(Args(tmp.File("one")));
        if (gradAccum == 1)
        {
            // Stopped after 5 of the 10 steps (mid-epoch) and resumed on the ranks: the rest of the run, as if uninterrupted.
            Ranks(2, [.. Args(tmp.File("two")), "--stop-after", "5"]);
            Assert.False(File.Exists(tmp.File("two/model.safetensors")));
        }
        var job = Ranks(2, [.. Args(tmp.File("two")), .. gradAccum == 1 ? ["--resume"] : Array.Empty<string>()]);
        Assert.Single(job.StdOut.Split('\n'), l => l.StartsWith("saved ", StringComparison.Ordinal));
        AssertSameRun(tmp.File("one"), tmp.File("two"), "model.safetensors", $"finetune on 2 ranks, --grad-accum {gradAccum}");
        Assert.Equal(gradAccum, (int?)JsonNode.Parse(File.ReadAllText(tmp.File("two/training_args.json")))!["gradient_accumulation_steps"]);
        // Rank 0 validated every epoch as one process does.
        var epochs = TrainLog.Read(tmp.File("two/" + TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "epoch").ToList();
        Assert.Equal(5, epochs.Count);
        Assert.All(epochs, e => Assert.NotNull(e["validation"]));
    }

    [SkippableFact]
    public void The_other_ranks_wait_for_rank_0s_validation_however_long_it_takes()
    {
        MpiJob.RequireMpirun();
        using var tmp = TestPaths.TempDir();
        var model = Model(tmp, "sequence-classification", dropout: false);
        // Rank 0 validates 30,000 examples alone at the end of epoch 1 (about 3 s here) while rank 1 goes on to epoch 2's first
        // all-reduce; with a collective timeout of 2 s that wait used to abort the job (exit 3). Now every rank meets rank 0 in a
        // barrier without the timeout after its solo work, and the timeout still guards every collective.
        var lines = File.ReadAllLines(Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"));
        var eval = tmp.File("eval.tsv");
        File.WriteAllLines(eval, [lines[0], .. Enumerable.Range(0, 30_000).Select(i => lines[1 + (i % (lines.Length - 1))])]);
        var job = MpiJob.Run(2, MpiJob.Bert([
            "finetune", "--task", "sst2", "--data", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), "--eval-data", eval, "--model", model,
            "--output", tmp.File("out"), "--epochs", "2", "--batch-size", "4", "--max-length", "24", "--seed", "7", "--device", "cpu",
        ]), new Dictionary<string, string> { [BertSharp.Distributed.DistributedEnvironment.TimeoutVariable] = "2" });
        Assert.True(job.ExitCode == 0, $"exit {job.ExitCode}\n{job.StdOut}\n{job.StdErr}");
        var epochs = TrainLog.Read(tmp.File("out/" + TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "epoch").ToList();
        Assert.Equal(2, epochs.Count);
        Assert.All(epochs, e => Assert.NotNull(e["validation"]));
    }

    [SkippableTheory]
    [InlineData("ner", 1)]
    [InlineData("swag", 1)]
    [InlineData("squad", 2)]
    public void Head_finetune_on_2_ranks_equals_one_process_also_when_a_rank_gets_no_example_of_the_last_batch(string task, int gradAccum)
    {
        MpiJob.RequireMpirun();
        using var tmp = TestPaths.TempDir();
        // The fixtures' tiny config from scratch with dropout 0.1 (keyed per example), the same on every rank and in the reference.
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(HfFixture.Dir("token-classification"), "config.json")))!.AsObject();
        config["hidden_dropout_prob"] = 0.1;
        config["attention_probs_dropout_prob"] = 0.1;
        var configPath = tmp.File("config.json");
        File.WriteAllText(configPath, config.ToJsonString());
        // 8 examples in batches of 7 and 1: the ranks take 4 and 3 of the first, 1 and none of the second (for QA both are
        // micro-batches of one step, --grad-accum 2, each padded on both ranks to its own longest row). NER's loss
        // averages over tagged tokens, so the ranks' shares are weighted by their tokens; SWAG's rows are question × choice;
        // QA's windows are answerable questions over generated contexts.
        var train = tmp.File("train");
        switch (task)
        {
            case "ner":
                Training.HeadFineTuneEndToEndTests.WriteConll(train, Training.HeadFineTuneEndToEndTests.NerSentences(8, 3));
                break;
            case "swag":
                File.WriteAllText(train, Training.HeadFineTuneEndToEndTests.SwagCsv(8, 3));
                break;
            default:
                File.WriteAllText(train, BertSharp.Data.SquadData.ToJson(Training.HeadFineTuneEndToEndTests.QaExamples(8, 3, impossibleShare: 0)));
                break;
        }
        // AdamW's epsilon 1e-4: the multiple-choice and QA heads' output biases are added to every choice's or position's
        // score, which softmax ignores, so their gradient is exactly 0 in exact arithmetic and round-off in practice; with a
        // small epsilon AdamW turns the round-off of different summation orders into steps of about lr·1e-3 (2.6e-5 apart after
        // 6 steps with 1e-6, measured), as the classification test's attention key bias does.
        string[] Args(string output) =>
        [
            "finetune", "--task", task, "--data", train, "--eval-data", train, "--config", configPath,
            "--vocab", Path.Combine(HfFixture.Dir("token-classification"), "vocab.txt"), "--output", output, "--epochs", "3", "--batch-size", "7",
            "--max-length", "32", "--lr", "1e-3", "--eps", "1e-4", "--seed", "7", "--device", "cpu", "--example-dropout",
            "--grad-accum", gradAccum.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
        OneChildProcess(Args(tmp.File("one")));
        var job = Ranks(2, Args(tmp.File("two")));
        Assert.Single(job.StdOut.Split('\n'), l => l.StartsWith("saved ", StringComparison.Ordinal));
        AssertSameRun(tmp.File("one"), tmp.File("two"), "model.safetensors", $"{task} on 2 ranks");
        var epochs = TrainLog.Read(tmp.File("two/" + TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "epoch").ToList();
        Assert.Equal(3, epochs.Count);
        Assert.All(epochs, e => Assert.NotNull(e["validation"]));
        var trainingArgs = JsonNode.Parse(File.ReadAllText(tmp.File("two/training_args.json")))!;
        Assert.Equal(true, (bool?)trainingArgs["example_dropout"]);
        Assert.Equal(gradAccum, (int?)trainingArgs["gradient_accumulation_steps"]);
    }
}
