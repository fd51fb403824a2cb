using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Training;
using static System.FormattableString;
using static TorchSharp.torch;

namespace BertSharp.Tests.Distributed;

/// <summary>
/// <c>bert pretrain</c> and <c>bert finetune</c> as 2 and 3 Open MPI ranks on this machine against one process training on
/// the whole global batch: same losses and final weights within 1e-5, with dropout off and on (keyed per-example masks),
/// with and without gradient accumulation, across resumes on a different number of ranks (bitwise on the same number).
/// The runs are made once for the class (<see cref="Runs"/>); a killed rank is <see cref="RankFailureTests"/>.
/// </summary>
[Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
public sealed class DataParallelTrainingTests(DataParallelTrainingTests.Runs runs) : IClassFixture<DataParallelTrainingTests.Runs>
{
    private const double Tolerance = 1e-5;

    /// <summary>
    /// Pre-training data from a piece of Alice in Wonderland with the fixture's vocabulary (max length 32), built once per
    /// objective for the tests of a class (they only read it).
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

    /// <summary>
    /// Every run the tests of this class compare, made once, in as few processes as the comparisons allow: each process
    /// start costs about a CPU-second (libtorch, JIT) and the 30 command lines used to take 30 processes. The pre-training
    /// references run in the test process (nothing in them draws from torch's generator, which other tests running
    /// meanwhile draw from: dropout is keyed by example, the data order and dynamic masks come from the run's seed, and the
    /// model is the fixture's with every weight loaded, which each run's output is checked to say); the fine-tuning
    /// references in one child process (fine-tuning initialises the new head from torch's generator); the ranks' runs in one
    /// job per number of ranks and stage (<see cref="MpiJob.RunScript"/>: every rank runs the command lines one after
    /// another, as <c>bert</c> runs each).
    /// </summary>
    public sealed class Runs : IDisposable
    {
        private readonly TempDir _tmp = TestPaths.TempDir();
        private readonly Corpus _corpus = new();
        private readonly Lazy<Dictionary<string, object>> _facts;

        public Runs() => _facts = new(Execute, LazyThreadSafetyMode.ExecutionAndPublication);

        /// <summary>The output folder of a run.</summary>
        public string Dir(string run) => _tmp.File(run);

        /// <summary>Makes the runs (once; skips the test without Open MPI) and returns what was observed between them.</summary>
        public IReadOnlyDictionary<string, object> Made()
        {
            MpiJob.RequireMpirun();
            return _facts.Value;
        }

        /// <summary>Rank <paramref name="rank"/>'s exit code and output of the ranks' command line <paramref name="name"/>.</summary>
        internal MpiJob.ScriptRun Output(string name, int rank = 0)
        {
            Made();
            var run = MpiJob.ScriptOutput(_tmp.File("out"), name, rank) ?? throw new InvalidOperationException($"{name} did not run on rank {rank}");
            Assert.True(run.ExitCode == 0, $"{name}, rank {rank}: exit {run.ExitCode}\n{run.StdErr}");
            return run;
        }

        /// <summary>
        /// The fine-tuning command of a head task's comparison (<c>ner</c>, <c>swag</c> or <c>squad</c>). Its validation file,
        /// a copy of the training data, exists for rank 0 alone (<see cref="Finetune"/>).
        /// </summary>
        private string[] HeadFinetune(string task, string output)
        {
            var train = _tmp.File(task + "-train");
            var configPath = _tmp.File("head-config.json");
            return
            [
                "finetune", "--task", task, "--data", train, "--eval-data", _tmp.File(task + "-eval-{rank}"), "--config", configPath,
                "--vocab", Path.Combine(HfFixture.Dir("token-classification"), "vocab.txt"), "--output", output, "--epochs", "3", "--batch-size", "7",
                "--max-length", "32", "--lr", "1e-3", "--eps", "1e-4", "--seed", "7", "--device", "cpu", "--example-dropout",
                "--grad-accum", HeadGradAccum(task).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ];
        }

        private void WriteHeadData()
        {
            // The fixtures' tiny config from scratch with dropout 0.1 (keyed per example), the same on every rank and in the reference.
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(HfFixture.Dir("token-classification"), "config.json")))!.AsObject();
            config["hidden_dropout_prob"] = 0.1;
            config["attention_probs_dropout_prob"] = 0.1;
            File.WriteAllText(_tmp.File("head-config.json"), config.ToJsonString());
            // 8 examples each. NER's loss averages over tagged tokens, so the ranks' shares are weighted by their tokens;
            // SWAG's rows are question × choice; QA's windows are answerable questions over generated contexts.
            Training.HeadFineTuneEndToEndTests.WriteConll(_tmp.File("ner-train"), Training.HeadFineTuneEndToEndTests.NerSentences(8, 3));
            File.WriteAllText(_tmp.File("swag-train"), Training.HeadFineTuneEndToEndTests.SwagCsv(8, 3));
            File.WriteAllText(_tmp.File("squad-train"),
                BertSharp.Data.SquadData.ToJson(Training.HeadFineTuneEndToEndTests.QaExamples(8, 3, impossibleShare: 0)));
            foreach (var task in HeadTasks)
            {
                File.Copy(_tmp.File(task + "-train"), _tmp.File(task + "-eval-0"));
            }
        }

        /// <summary>
        /// The classification fine-tuning of the comparison with <paramref name="gradAccum"/> micro-batches per step. Its
        /// validation file is <c>eval-0.tsv</c> for rank 0 (and one process) and a missing file for the other ranks
        /// (<see cref="MpiJob.RunScript"/>'s <c>{rank}</c>): only rank 0 validates, and the others must not read it.
        /// </summary>
        private string[] Finetune(string model, int gradAccum, string output, params string[] more)
        {
            var train = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
            var eval = Dir("eval-{rank}.tsv");
            // AdamW's epsilon 1e-6 (google's BERT value): the attention key bias has a gradient of exactly 0 in exact arithmetic
            // (softmax ignores a constant added to every key score), so its gradient is round-off, and with HF's 1e-8 AdamW turns
            // round-off of different summation orders into steps of ±lr.
            return
            [
                "finetune", "--task", "sst2", "--data", train, "--eval-data", eval, "--model", model,
                "--output", output, "--epochs", "5", "--batch-size", "7", "--max-length", "24", "--lr", "1e-3", "--eps", "1e-6", "--seed", "7",
                "--device", "cpu", "--no-bucketing", "--example-dropout", "--grad-accum", gradAccum.ToString(System.Globalization.CultureInfo.InvariantCulture),
                .. more,
            ];
        }

        private Dictionary<string, object> Execute()
        {
            var facts = new Dictionary<string, object>();
            var outDir = _tmp.File("out");
            Directory.CreateDirectory(outDir);
            var data = _corpus.Data();
            var mlmData = _corpus.Data("mlm");
            var plain = Model(_tmp, "pretraining", dropout: false);
            var dropout = Model(_tmp, "pretraining", dropout: true);
            var maskedLm = Model(_tmp, "masked-lm", dropout: false);
            var classifier = Model(_tmp, "sequence-classification", dropout: true);
            WriteHeadData();
            File.Copy(Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), Dir("eval-0.tsv"));
            string[] accum = ["--grad-accum", "2", "--dynamic-masking", "--example-dropout"];

            // One process on the whole batch.
            OneProcess(Pretrain(data, plain, Dir("pretrain-plain-one"), "--example-dropout"));
            OneProcess(Pretrain(data, plain, Dir("bf16-one"), "--example-dropout", "--bf16"));
            OneProcess(Pretrain(data, dropout, Dir("pretrain-dropout-one"), "--example-dropout"));
            OneProcess(Pretrain(mlmData, maskedLm, Dir("mlm-one"), ["--example-dropout", .. Cosine]));
            OneProcess(Pretrain(data, dropout, Dir("uneven-one"), accum));
            OneProcess(Pretrain(data, dropout, Dir("pretrain-plateau-one"), ["--example-dropout", .. PretrainPlateau]));
            // Stopped at 3, for 2 ranks to finish.
            OneProcess(Pretrain(data, dropout, Dir("one-then-two"), [.. accum, "--stop-after", "3"]));

            // 2 ranks; with dropout, a checkpoint at step 5 as well (the resume below starts from it); the classification
            // fine-tuning without accumulation stops after 5 of its 10 steps (mid-epoch).
            Script(2, outDir,
            [
                ["pretrain-plain-two", .. Pretrain(data, plain, Dir("pretrain-plain-two"))],
                ["bf16-two", .. Pretrain(data, plain, Dir("bf16-two"), "--bf16")],
                ["pretrain-dropout-two", .. Pretrain(data, dropout, Dir("pretrain-dropout-two"), "--save-every", "5")],
                ["mlm-two", .. Pretrain(mlmData, maskedLm, Dir("mlm-two"), Cosine)],
                ["pretrain-plateau-two", .. Pretrain(data, dropout, Dir("pretrain-plateau-two"), PretrainPlateau)],
                ["finetune-1-stop", .. Finetune(classifier, 1, Dir("finetune-1-two")), "--stop-after", "5"],
                ["finetune-1-whole", .. Finetune(classifier, 1, Dir("finetune-1-whole"))],
                ["finetune-2-two", .. Finetune(classifier, 2, Dir("finetune-2-two"), Cosine)],
                ["finetune-early-two", .. Finetune(classifier, 1, Dir("finetune-early-two"), EarlyStopping)],
                ["finetune-eval-steps-two", .. Finetune(classifier, 1, Dir("finetune-eval-steps-two"), EvalStepsEarlyStopping)],
                ["finetune-plateau-two", .. Finetune(classifier, 1, Dir("finetune-plateau-two"), PlateauEveryValidation)],
                ["finetune-plateau-stop", .. Finetune(classifier, 1, Dir("finetune-plateau-split"), PlateauEveryValidation), "--stop-after", "5"],
                .. HeadTasks.Select(t => (string[])[t + "-two", .. HeadFinetune(t, Dir(t + "-two"))]),
            ]);
            facts["finetune-1 stopped with a model"] = File.Exists(Dir("finetune-1-two/model.safetensors"));
            facts["finetune-plateau-split checkpoint"] = TrainerState.Load(Dir("finetune-plateau-split/checkpoint-5/trainer_state.json"));
            TestPaths.CopyTree(Dir("finetune-1-two"), Dir("finetune-1-then-one"));

            // 3 ranks take 2, 1 and 1 of each 4 instances (their masked tokens weight their losses), stopped at 5; then the
            // gradient all-reduce benchmark on the same ranks (its own process start would cost a CPU-second per rank).
            Script(3, outDir,
            [
                ["three-then-one-stop", .. Pretrain(data, dropout, Dir("three-then-one"), [.. accum, "--stop-after", "5"])],
                ["bench-allreduce-three", "bench", "allreduce", "--config", "tiny", "--steps", "1", "--bucket-mb", BenchBucketMib.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            ]);
            facts["three-then-one checkpoint"] = TrainerState.Load(Dir("three-then-one/checkpoint-5/trainer_state.json")).GlobalStep;

            // A job that died after step 5's checkpoint (the dropout run's folder as the 2 ranks left it, less what came
            // after step 5), to be resumed on as many ranks.
            TestPaths.CopyTree(Dir("pretrain-dropout-two"), Dir("pretrain-dropout-split"));
            Directory.Delete(Dir("pretrain-dropout-split/checkpoint-10"), recursive: true);
            Directory.Delete(Dir("pretrain-dropout-split/final"), recursive: true);

            // The resumes: on 2 ranks, and one process ending the 3 ranks' run.
            Script(2, outDir,
            [
                ["pretrain-dropout-split", "pretrain", "--output", Dir("pretrain-dropout-split"), "--resume"],
                ["finetune-1-two", .. Finetune(classifier, 1, Dir("finetune-1-two")), "--resume"],
                ["one-then-two", "pretrain", "--output", Dir("one-then-two"), "--resume"],
                ["finetune-plateau-split", .. Finetune(classifier, 1, Dir("finetune-plateau-split"), PlateauEveryValidation), "--resume"],
            ]);
            OneProcess("pretrain", "--output", Dir("three-then-one"), "--resume");
            // The fine-tuning references, and the fine-tuning the 2 ranks stopped ended by one process, in one child process:
            // fine-tuning draws from torch's generator (the new head's initialisation), which the tests beside it share.
            Script(0, outDir,
            [
                ["finetune-1-one", .. Finetune(classifier, 1, Dir("finetune-1-one"))],
                ["finetune-2-one", .. Finetune(classifier, 2, Dir("finetune-2-one"), Cosine)],
                ["finetune-early-one", .. Finetune(classifier, 1, Dir("finetune-early-one"), EarlyStopping)],
                ["finetune-eval-steps-one", .. Finetune(classifier, 1, Dir("finetune-eval-steps-one"), EvalStepsEarlyStopping)],
                ["finetune-plateau-one", .. Finetune(classifier, 1, Dir("finetune-plateau-one"), PlateauEveryValidation)],
                .. HeadTasks.Select(t => (string[])[t + "-one", .. HeadFinetune(t, Dir(t + "-one"))]),
                ["finetune-1-then-one", .. Finetune(classifier, 1, Dir("finetune-1-then-one")), "--resume"],
            ]);
            return facts;
        }

        private static void Script(int ranks, string outDir, IReadOnlyList<string[]> lines)
        {
            var job = MpiJob.RunScript(ranks, outDir, lines);
            Assert.True(job.ExitCode == 0, $"{(ranks == 0 ? "one process" : $"{ranks} ranks")}: exit {job.ExitCode}\n{job.StdOut}\n{job.StdErr}");
        }

        public void Dispose()
        {
            _corpus.Dispose();
            _tmp.Dispose();
        }
    }

    private static readonly string[] HeadTasks = ["ner", "swag", "squad"];

    // A schedule that is not linear, on the grad-accum fine-tuning and the masked-LM pre-training comparisons.
    private static readonly string[] Cosine = ["--lr-scheduler", "cosine"];

    // No epoch beats the best before it by more than 10 in loss, so the counter reaches the patience at the end of epoch 2 of
    // 5: rank 0 alone validates (rank 1 has no validation file), so its decision must reach rank 1 for both to stop there.
    private static readonly string[] EarlyStopping = ["--save-best", "loss", "--early-stopping-patience", "1", "--early-stopping-threshold", "10"];

    // Validations at steps 3, 6 and 9 of the 10 (2 an epoch): no accuracy of 8 examples beats another by more than 10, so the
    // counter reaches the patience at step 9, inside epoch 5, and the run stops there keeping the best of the three steps.
    private static readonly string[] EvalStepsEarlyStopping =
        ["--eval-steps", "3", "--save-best", "accuracy", "--early-stopping-patience", "2", "--early-stopping-threshold", "10"];

    // reduce_lr_on_plateau at each epoch's validation (steps 2, 4, 6, 8, 10) in the default mode min: the first accuracy beats
    // the infinite start, and no later one is below the best by more than 10, so with patience 0 every later validation halves
    // the rate. Only rank 0 validates: rank 1 steps at these rates only if rank 0's state reaches it.
    private static readonly string[] PlateauEveryValidation =
    [
        "--lr-scheduler", "reduce_lr_on_plateau", "--lr-scheduler-kwargs", "{\"patience\": 0, \"factor\": 0.5, \"threshold\": 10, \"threshold_mode\": \"abs\"}",
        "--save-best", "accuracy",
    ];

    // reduce_lr_on_plateau at each evaluation (steps 2, 4, 6, 8, 10) in mode max with a threshold of 1e9: the first loss beats
    // the infinite start and no later one can, so with patience 0 every later evaluation halves the rate. Only rank 0
    // evaluates: rank 1 steps at these rates only if rank 0's state reaches it.
    private static readonly string[] PretrainPlateau =
    [
        "--lr-scheduler", "reduce_lr_on_plateau", "--eval-every", "2",
        "--lr-scheduler-kwargs", "{\"mode\": \"max\", \"patience\": 0, \"factor\": 0.5, \"threshold\": 1e9, \"threshold_mode\": \"abs\"}",
    ];

    // Small enough that the tiny model's gradients take several buckets.
    private const double BenchBucketMib = 0.25;

    // QA takes its 7 + 1 examples as two micro-batches of one step, each padded on both ranks to its own longest row.
    private static int HeadGradAccum(string task) => task == "squad" ? 2 : 1;

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

    /// <summary>A pre-training run as one process, in the test process (see <see cref="Runs"/>).</summary>
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

    /// <summary>Rank 0 alone printed: <paramref name="line"/> once in its output, nothing in the other ranks'.</summary>
    private void AssertOnlyRank0Printed(string run, string line, int ranks = 2)
    {
        var rank0 = runs.Output(run);
        Assert.Single(rank0.StdOut.Split('\n'), l => l.StartsWith(line, StringComparison.Ordinal));
        for (var r = 1; r < ranks; r++)
        {
            Assert.Equal("", runs.Output(run, r).StdOut);
        }
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
        var name = dropout ? "pretrain-dropout" : "pretrain-plain";
        runs.Made();
        // Rank 0 alone prints (one result line) and every step reached it.
        AssertOnlyRank0Printed(name + "-two", "model: ");
        Assert.Contains("step 10: loss", runs.Output(name + "-two").StdOut);
        AssertSameRun(runs.Dir(name + "-one"), runs.Dir(name + "-two"), "final/model.safetensors", $"2 ranks, dropout {dropout}");
        var state = TrainerState.Load(runs.Dir(name + "-two/checkpoint-10/trainer_state.json"));
        Assert.Equal(10, state.GlobalStep);
        Assert.Equal(40, TrainLog.Number(state.Data, "data_position")); // global instances, not per rank
        if (dropout)
        {
            // The job that died after step 5's checkpoint, resumed on as many ranks: bitwise the uninterrupted run, and its
            // log keeps steps 1-5 and redoes 6-10. (Stopping with --stop-after on ranks is the 3-rank test's.)
            foreach (var f in new[] { "model.safetensors", "optimizer.safetensors" })
            {
                Assert.Equal(File.ReadAllBytes(runs.Dir(name + "-two/checkpoint-10/" + f)), File.ReadAllBytes(runs.Dir(name + "-split/checkpoint-10/" + f)));
            }
            Assert.Equal(Losses(runs.Dir(name + "-two/" + TrainLog.FileName)), Losses(runs.Dir(name + "-split/" + TrainLog.FileName)));
        }
    }

    // Under --bf16 a rank's weight gradients are bf16 products over its slice, rounded to bf16 before they become float32
    // and are summed, where one process rounds the whole batch's product once (DDP under torch.autocast does the same): the
    // runs agree to bf16's rounding, not to float32's. The forward pass is per example in both, so step 1 (and step 2, after
    // step 1's warmup rate of 0) agree to float32's, where the float32 run's loss, from the same weights, differs by bf16's.
    [SkippableFact]
    public void A_bf16_pretraining_on_2_ranks_follows_one_process_to_bf16_rounding_and_is_not_the_float32_run()
    {
        runs.Made();
        var one = Losses(Path.Combine(runs.Dir("bf16-one"), TrainLog.FileName));
        var two = Losses(Path.Combine(runs.Dir("bf16-two"), TrainLog.FileName));
        var fp32 = Losses(Path.Combine(runs.Dir("pretrain-plain-two"), TrainLog.FileName));
        Assert.Equal(one.Select(e => e.Step), two.Select(e => e.Step));
        Assert.Equal(10, two.Count);
        Assert.True((bool)TrainerState.Load(runs.Dir("bf16-two/checkpoint-10/trainer_state.json")).Settings["bf16"]!);
        for (var i = 0; i < 2; i++)
        {
            Assert.True(Math.Abs(one[i].Loss - two[i].Loss) <= Tolerance, Invariant($"step {one[i].Step}: 2 ranks {two[i].Loss}, one process {one[i].Loss}"));
            Assert.True(Math.Abs(fp32[i].Loss - two[i].Loss) > 10 * Tolerance, Invariant($"step {one[i].Step}: bf16 {two[i].Loss}, float32 {fp32[i].Loss}"));
        }
        var gap = one.Zip(two, (a, b) => Math.Abs(a.Loss - b.Loss) / a.Loss).Max();
        Assert.True(gap < 1e-3, Invariant($"2 ranks' bf16 losses differ from one process's by up to {gap:P4}"));
    }

    // Every rank's gradient is rank + 1, so the 3 ranks' average is 2 everywhere (a sum would be 6, a rank's own value 1-3):
    // average_correct and exit 0 on every rank are the command's check of that; the model's figures are checked here.
    [SkippableFact]
    public void Bench_allreduce_on_3_ranks_reports_the_models_gradients_and_a_correct_average()
    {
        runs.Made();
        AssertOnlyRank0Printed("bench-allreduce-three", "{", ranks: 3);
        var json = System.Text.Json.JsonDocument.Parse(runs.Output("bench-allreduce-three").StdOut).RootElement;
        using var model = new BertForPreTraining(BertConfig.Preset("tiny"));
        var parameters = model.NamedParameters();
        var elements = parameters.Sum(p => p.Param.numel());
        var buckets = BertSharp.Distributed.GradientBuckets.Plan(parameters.Select(p => (Tensor)p.Param).ToList(), (long)(BenchBucketMib * 1048576)).Count;
        Assert.True(buckets > 1, $"{buckets} bucket");
        Assert.Equal("tiny", json.GetProperty("config").GetString());
        Assert.Equal(3, json.GetProperty("ranks").GetInt32());
        Assert.Equal(parameters.Count, json.GetProperty("tensors").GetInt32());
        Assert.Equal(elements, json.GetProperty("elements").GetInt64());
        Assert.Equal(Math.Round(elements * 4 / 1e6, 1), json.GetProperty("megabytes").GetDouble());
        Assert.Equal(BenchBucketMib, json.GetProperty("bucket_mib").GetDouble());
        Assert.Equal(buckets, json.GetProperty("buckets").GetInt32());
        Assert.Equal(1, json.GetProperty("steps").GetInt32());
        Assert.True(json.GetProperty("average_correct").GetBoolean());
        Assert.StartsWith("Open MPI", json.GetProperty("mpi").GetString(), StringComparison.Ordinal);
        // One timed step: its time is the median and the minimum; bandwidths follow from the bytes over it.
        var ms = json.GetProperty("bucketed_ms_median").GetDouble();
        Assert.Equal(ms, json.GetProperty("bucketed_ms_min").GetDouble());
        Assert.True(json.GetProperty("flat_ms_median").GetDouble() >= 0);
        var algbw = json.GetProperty("algbw_gb_per_s").GetDouble();
        Assert.True(algbw > 0, $"algbw {algbw}");
        // Both to three significant digits: the ratio 2(n-1)/n holds to their rounding (0.5 % of a value at most).
        var busbw = json.GetProperty("busbw_gb_per_s").GetDouble();
        Assert.True(Math.Abs(algbw * 4 / 3 - busbw) <= 0.011 * busbw, $"algbw {algbw}, busbw {busbw}");
    }

    [SkippableFact]
    public void Masked_lm_pretraining_on_2_ranks_equals_one_process_with_the_whole_batch()
    {
        runs.Made();
        AssertSameRun(runs.Dir("mlm-one"), runs.Dir("mlm-two"), "final/model.safetensors", "masked LM, 2 ranks");
        Assert.Contains("\"BertForMaskedLM\"", File.ReadAllText(runs.Dir("mlm-two/final/config.json")), StringComparison.Ordinal);
    }

    [SkippableFact]
    public void Pretraining_resumes_on_a_different_number_of_ranks_and_3_uneven_ranks_match_one_process()
    {
        var facts = runs.Made();
        // 3 ranks take 2, 1 and 1 of each 4 instances; stopped at 5, one process ends it.
        Assert.Equal(5L, facts["three-then-one checkpoint"]);
        AssertSameRun(runs.Dir("uneven-one"), runs.Dir("three-then-one"), "final/model.safetensors", "3 ranks, then 1");
        // One process stopped at 3, 2 ranks resumed to the end.
        AssertSameRun(runs.Dir("uneven-one"), runs.Dir("one-then-two"), "final/model.safetensors", "1 rank, then 2");
    }

    [SkippableTheory]
    [InlineData(1)]
    [InlineData(2)]
    public void Finetune_on_2_ranks_equals_one_process_also_when_a_rank_gets_no_example_of_the_last_batch(int gradAccum)
    {
        // 8 examples in batches of 7 and 1: the ranks take 4 and 3 of the first, 1 and none of the second (with --grad-accum 2,
        // both micro-batches of one step; without, the ranks stopped half-way and resumed, and one process ended a copy).
        var facts = runs.Made();
        var two = $"finetune-{gradAccum}-two";
        if (gradAccum == 1)
        {
            Assert.Equal(false, facts["finetune-1 stopped with a model"]);
            // Resumed on as many ranks: bitwise the uninterrupted 2-rank run; ended by one process: the same run within 1e-5.
            Assert.Equal(File.ReadAllBytes(runs.Dir("finetune-1-whole/model.safetensors")), File.ReadAllBytes(runs.Dir(two + "/model.safetensors")));
            AssertSameRun(runs.Dir("finetune-1-one"), runs.Dir("finetune-1-then-one"), "model.safetensors", "finetune stopped on 2 ranks, ended by 1");
        }
        AssertOnlyRank0Printed(two, "saved ");
        AssertSameRun(runs.Dir($"finetune-{gradAccum}-one"), runs.Dir(two), "model.safetensors", $"finetune on 2 ranks, --grad-accum {gradAccum}");
        Assert.Equal(gradAccum, (int?)JsonNode.Parse(File.ReadAllText(runs.Dir(two + "/training_args.json")))!["gradient_accumulation_steps"]);
        // Rank 0 validated every epoch as one process does, on the file that rank 1, for which it does not exist, never read
        // (each rank read and tokenized it; now the runs and the resume fail if rank 1 does): rank 1's eval-1.tsv is made by
        // nothing, so AssertOnlyRank0Printed's check that rank 1 ended this command with exit 0 is the check that it did not.
        var epochs = TrainLog.Read(runs.Dir(two + "/" + TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "epoch").ToList();
        Assert.Equal(5, epochs.Count);
        Assert.All(epochs, e => Assert.NotNull(e["validation"]));
        Assert.Equal(runs.Dir("eval-0.tsv"), (string?)JsonNode.Parse(File.ReadAllText(runs.Dir(two + "/training_args.json")))!["eval_data"]);
    }

    [SkippableFact]
    public void The_other_ranks_wait_for_rank_0s_validation_however_long_it_takes()
    {
        MpiJob.RequireMpirun();
        using var tmp = TestPaths.TempDir();
        var model = Model(tmp, "sequence-classification", dropout: false);
        // Rank 0 validates 30,000 examples alone at the end of epoch 1 (about 3 s here) while rank 1 goes on to epoch 2's first
        // all-reduce; with a collective timeout of 2 s that wait used to abort the job (exit 3). Now every rank meets rank 0 in a
        // barrier without the timeout after its solo work, and the timeout still guards every collective. The job stops after
        // step 3, epoch 2's first (8 examples in batches of 4): a stopped run does not validate, so epoch 2's validation, which
        // no rank waits for, is not paid.
        var lines = File.ReadAllLines(Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"));
        var eval = tmp.File("eval.tsv");
        File.WriteAllLines(eval, [lines[0], .. Enumerable.Range(0, 30_000).Select(i => lines[1 + (i % (lines.Length - 1))])]);
        const int timeoutSeconds = 2;
        var job = MpiJob.Run(2, MpiJob.Bert([
            "finetune", "--task", "sst2", "--data", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), "--eval-data", eval, "--model", model,
            "--output", tmp.File("out"), "--epochs", "2", "--batch-size", "4", "--max-length", "24", "--seed", "7", "--device", "cpu",
            "--stop-after", "3",
        ]), new Dictionary<string, string> { [BertSharp.Distributed.DistributedEnvironment.TimeoutVariable] = $"{timeoutSeconds}" });
        Assert.True(job.ExitCode == 0, $"exit {job.ExitCode}\n{job.StdOut}\n{job.StdErr}");
        var log = TrainLog.Read(tmp.File("out/" + TrainLog.FileName));
        Assert.Contains(log, e => TrainLog.TypeOf(e) == "train" && TrainLog.StepOf(e) == 3);
        var epoch = Assert.Single(log, e => TrainLog.TypeOf(e) == "epoch");
        Assert.NotNull(epoch["validation"]);
        // The epoch's time is its training (its examples at its rate) and then rank 0's validation: had the validation taken
        // less than the timeout, rank 1's wait would have passed without the barrier too, and the job proved nothing.
        var trainExamples = TrainLog.Number(log.Single(e => TrainLog.TypeOf(e) == "start"), "train_examples");
        var validationSeconds = TrainLog.Number(epoch, "elapsed_s") - trainExamples / TrainLog.Number(epoch, "examples_per_s");
        Assert.True(validationSeconds > timeoutSeconds, $"rank 0 validated for {validationSeconds:F2} s, within the {timeoutSeconds} s timeout");
    }

    [SkippableTheory]
    [InlineData("ner")]
    [InlineData("swag")]
    [InlineData("squad")]
    public void Head_finetune_on_2_ranks_equals_one_process_also_when_a_rank_gets_no_example_of_the_last_batch(string task)
    {
        // 8 examples in batches of 7 and 1: the ranks take 4 and 3 of the first, 1 and none of the second. AdamW's epsilon
        // 1e-4: the multiple-choice and QA heads' output biases are added to every choice's or position's score, which
        // softmax ignores, so their gradient is exactly 0 in exact arithmetic and round-off in practice; with a small epsilon
        // AdamW turns the round-off of different summation orders into steps of about lr·1e-3 (2.6e-5 apart after 6 steps
        // with 1e-6, measured), as the classification test's attention key bias does.
        runs.Made();
        var two = task + "-two";
        AssertOnlyRank0Printed(two, "saved ");
        AssertSameRun(runs.Dir(task + "-one"), runs.Dir(two), "model.safetensors", $"{task} on 2 ranks");
        var epochs = TrainLog.Read(runs.Dir(two + "/" + TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "epoch").ToList();
        Assert.Equal(3, epochs.Count);
        // Rank 0 validated every epoch on the file that rank 1, for which it does not exist, never read (each rank read,
        // tokenized and hashed it; now the run fails if rank 1 does): TASK-eval-1 is made by nothing, so
        // AssertOnlyRank0Printed's check that rank 1 ended this command with exit 0 is the check that it did not.
        Assert.All(epochs, e => Assert.NotNull(e["validation"]));
        var trainingArgs = JsonNode.Parse(File.ReadAllText(runs.Dir(two + "/training_args.json")))!;
        Assert.Equal(runs.Dir(task + "-eval-0"), (string?)trainingArgs["eval_data"]);
        Assert.Equal(true, (bool?)trainingArgs["example_dropout"]);
        Assert.Equal(HeadGradAccum(task), (int?)trainingArgs["gradient_accumulation_steps"]);
    }

    [SkippableFact]
    public void Early_stopping_on_2_ranks_stops_every_rank_at_rank_0s_epoch_with_the_one_process_weights()
    {
        runs.Made();
        // Both ranks ended the command with exit 0 and rank 0 alone printed: a rank 1 that missed rank 0's decision went on
        // alone into epoch 3's first all-reduce, which the job either refused (the ranks disagree) or hung in until MpiJob's limit.
        AssertOnlyRank0Printed("finetune-early-two", "saved ");
        foreach (var run in new[] { "finetune-early-one", "finetune-early-two" })
        {
            var log = TrainLog.Read(runs.Dir(run + "/" + TrainLog.FileName));
            Assert.Equal([1.0, 2.0], log.Where(e => TrainLog.TypeOf(e) == "epoch").Select(e => TrainLog.Number(e, "epoch")));
            var end = log.Single(e => TrainLog.TypeOf(e) == "end");
            Assert.Equal(2, (int?)end["early_stopping"]?["stopped_at_epoch"]);
            // 2 of the 10 steps: 8 examples make 2 batches (7 and 1) an epoch.
            Assert.Equal(4, TrainLog.StepOf(end));
        }
        AssertSameRun(runs.Dir("finetune-early-one"), runs.Dir("finetune-early-two"), "model.safetensors", "early stopping on 2 ranks");
    }

    [SkippableFact]
    public void Step_validations_with_early_stopping_on_2_ranks_validate_keep_and_stop_at_the_one_process_steps()
    {
        runs.Made();
        // Both ranks ended the command with exit 0 and rank 0 alone printed: a rank 1 that missed rank 0's decision at step 9
        // went on alone into step 10's all-reduce, which the job either refused or hung in until MpiJob's limit.
        AssertOnlyRank0Printed("finetune-eval-steps-two", "saved ");
        var validations = new List<List<(double Accuracy, double Loss)>>();
        foreach (var run in new[] { "finetune-eval-steps-one", "finetune-eval-steps-two" })
        {
            var log = TrainLog.Read(runs.Dir(run + "/" + TrainLog.FileName));
            Assert.DoesNotContain(log, e => TrainLog.TypeOf(e) == "epoch");
            // Each step's epoch counts the batches of the whole group, as one process does: 2 an epoch, so step k ends at k/2.
            Assert.Equal([.. Enumerable.Range(1, 9).Select(k => k / 2.0)], log.Where(e => TrainLog.TypeOf(e) == "train").Select(e => TrainLog.Number(e, "epoch")));
            var evals = log.Where(e => TrainLog.TypeOf(e) == "eval").ToList();
            // HF's fractional epoch: step 3 is epoch 2's first batch of 2, step 9 epoch 5's.
            Assert.Equal([3L, 6L, 9L], evals.Select(TrainLog.StepOf));
            Assert.Equal([1.5, 3.0, 4.5], evals.Select(e => TrainLog.Number(e, "epoch")));
            var metrics = evals.Select(e => (JsonObject)e["validation"]!).Select(v => (TrainLog.Number(v, "accuracy"), TrainLog.Number(v, "loss"))).ToList();
            validations.Add(metrics);
            // The kept step is the first of the best accuracies (a later equal one does not replace it).
            var accuracies = metrics.Select(m => m.Item1).ToList();
            var end = log.Single(e => TrainLog.TypeOf(e) == "end");
            Assert.Equal(9, TrainLog.StepOf(end));
            Assert.Equal(TrainLog.StepOf(evals[accuracies.IndexOf(accuracies.Max())]), (long)TrainLog.Number(end, "best_step"));
            Assert.Equal(9, (long?)end["early_stopping"]?["stopped_at_step"]);
            Assert.Equal(5, (int?)end["early_stopping"]?["stopped_at_epoch"]);
            // The card's results: a row per validation with HF's epoch and the step.
            var rows = File.ReadAllText(runs.Dir(run + "/README.md")).Split('\n').Where(r => r.StartsWith('|')).Skip(2).Select(r => r.Split('|')).ToList();
            Assert.Equal(["1.5", "3.0", "4.5"], rows.Select(r => r[2].Trim()));
            Assert.Equal(["3", "6", "9"], rows.Select(r => r[3].Trim()));
        }
        Assert.Equal(validations[0].Select(v => v.Accuracy), validations[1].Select(v => v.Accuracy));
        Assert.All(validations[0].Zip(validations[1]), p => Assert.True(Math.Abs(p.First.Loss - p.Second.Loss) <= Tolerance, $"{p.First.Loss} vs {p.Second.Loss}"));
        // The steps' losses and the kept step's weights.
        AssertSameRun(runs.Dir("finetune-eval-steps-one"), runs.Dir("finetune-eval-steps-two"), "model.safetensors", "--eval-steps with early stopping on 2 ranks");
    }

    [SkippableFact]
    public void Reduce_lr_on_plateau_on_2_ranks_steps_at_the_rates_rank_0s_validations_set_as_one_process_does()
    {
        runs.Made();
        // Steps 1-4 at --lr (the first validation sets the best), then halved after each validation from step 4 on.
        double[] rates = [1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 1.25e-4, 1.25e-4];
        foreach (var run in new[] { "finetune-plateau-one", "finetune-plateau-two" })
        {
            var log = TrainLog.Read(runs.Dir(run + "/" + TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "train").ToList();
            Assert.Equal(Enumerable.Range(1, 10).Select(s => (long)s), log.Select(TrainLog.StepOf));
            Assert.Equal(rates, log.Select(e => TrainLog.Number(e, "learning_rate")));
        }
        // The mode min with accuracy: rank 0 alone warns, once, as it starts (on stderr, with the plan).
        const string warning = "warning: --lr-scheduler reduce_lr_on_plateau watches --save-best accuracy in torch's default mode \"min\"";
        Assert.Single(runs.Output("finetune-plateau-two").StdErr.Split('\n'), l => l.StartsWith(warning, StringComparison.Ordinal));
        Assert.DoesNotContain(warning, runs.Output("finetune-plateau-two", 1).StdErr, StringComparison.Ordinal);
        // Rank 0 logs its own rates; rank 1's show in the weights: at another rate its half of every gradient would differ.
        AssertSameRun(runs.Dir("finetune-plateau-one"), runs.Dir("finetune-plateau-two"), "model.safetensors", "reduce_lr_on_plateau on 2 ranks");
    }

    [SkippableFact]
    public void Reduce_lr_on_plateau_on_2_ranks_stopped_between_validations_and_resumed_is_the_uninterrupted_run_bitwise()
    {
        var facts = runs.Made();
        // Stopped after step 5, between the validations of steps 4 and 6: the checkpoint holds the rate step 4's validation
        // halved, which every rank restores (no validation broadcasts it again before step 6).
        var state = (TrainerState)facts["finetune-plateau-split checkpoint"];
        Assert.Equal(5, state.GlobalStep);
        Assert.Equal(5e-4, TrainLog.Number((JsonObject)state.Task["lr_scheduler_state"]!, "learning_rate"));
        AssertOnlyRank0Printed("finetune-plateau-split", "saved ");
        static List<(long, double, double)> Steps(string run) =>
        [
            .. TrainLog.Read(Path.Combine(run, TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "train")
                .Select(e => (TrainLog.StepOf(e), TrainLog.Number(e, "loss"), TrainLog.Number(e, "learning_rate"))),
        ];
        Assert.Equal(Steps(runs.Dir("finetune-plateau-two")), Steps(runs.Dir("finetune-plateau-split")));
        // Rank 1 at another rate for steps 5 and 6 would move its half of the gradients' updates: the weights show it.
        Assert.Equal(File.ReadAllBytes(runs.Dir("finetune-plateau-two/model.safetensors")), File.ReadAllBytes(runs.Dir("finetune-plateau-split/model.safetensors")));
        Assert.Equal(File.ReadAllText(runs.Dir("finetune-plateau-two/metrics.json")), File.ReadAllText(runs.Dir("finetune-plateau-split/metrics.json")));
    }

    [SkippableFact]
    public void Pretraining_with_reduce_lr_on_plateau_on_2_ranks_steps_at_the_rates_rank_0s_evaluations_set_as_one_process_does()
    {
        runs.Made();
        double[] rates = [1e-3, 1e-3, 1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4, 2.5e-4, 1.25e-4, 1.25e-4];
        foreach (var run in new[] { "pretrain-plateau-one", "pretrain-plateau-two" })
        {
            var log = TrainLog.Read(runs.Dir(run + "/" + TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "train").ToList();
            Assert.Equal(rates, log.Select(e => TrainLog.Number(e, "learning_rate")));
        }
        // Rank 0 logs its own rates; rank 1's show in the losses and weights: at another rate its half of every batch would differ.
        AssertSameRun(runs.Dir("pretrain-plateau-one"), runs.Dir("pretrain-plateau-two"), "final/model.safetensors", "pre-training with reduce_lr_on_plateau on 2 ranks");
    }

    [SkippableFact]
    public void A_cosine_schedule_on_2_ranks_sets_every_steps_rate_as_hf_does_in_one_process()
    {
        runs.Made();
        // The runs' losses and weights are compared with one process by the grad-accum fine-tuning and masked-LM tests.
        foreach (var run in new[] { "finetune-2-one", "finetune-2-two" })
        {
            var args = JsonNode.Parse(File.ReadAllText(runs.Dir(run + "/training_args.json")))!;
            Assert.Equal("cosine", (string?)args["lr_scheduler_type"]);
            AssertCosineRates(runs.Dir(run), (long)args["warmup_steps"]!, (long)args["total_steps"]!);
        }
        AssertCosineRates(runs.Dir("mlm-one"), warmup: 2, total: 10);
        AssertCosineRates(runs.Dir("mlm-two"), warmup: 2, total: 10);
    }

    // HF's get_cosine_schedule_with_warmup (num_cycles 0.5) at each step's scheduler step (the steps before it), peak 1e-3.
    private static void AssertCosineRates(string dir, long warmup, long total)
    {
        var rates = TrainLog.Read(Path.Combine(dir, TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "train")
            .Select(e => (Step: TrainLog.StepOf(e), Rate: TrainLog.Number(e, "learning_rate"))).ToList();
        Assert.Equal(Enumerable.Range(1, (int)total).Select(s => (long)s), rates.Select(r => r.Step));
        foreach (var (step, rate) in rates)
        {
            var s = step - 1;
            var factor = s < warmup ? (double)s / warmup : Math.Max(0, 0.5 * (1 + Math.Cos(Math.PI * (s - warmup) / Math.Max(1, total - warmup))));
            Assert.True(Math.Abs(1e-3 * factor - rate) <= 1e-12, $"{dir}: step {step} rate {rate}, cosine {1e-3 * factor}");
        }
    }

    [SkippableFact]
    public void The_cards_of_2_rank_runs_give_the_per_device_batch_and_the_totals_as_hf_would()
    {
        runs.Made();
        // --batch-size is the global batch: 7 split 4 + 3 (a device held at most 4), 4 split 2 + 2. Rank 0 validates alone at
        // the global batch. Totals: train 7 × 2 micro-batches = 14 and 4; eval the one device's batch. One process: no
        // distributed lines, and a total only where accumulation makes one.
        const string Optimizer6 = "- optimizer: Use adamw_torch with betas=(0.9,0.999) and epsilon=1e-06 and optimizer_args=No additional optimizer arguments\n";
        Assert.StartsWith("- learning_rate: 0.001\n- train_batch_size: 4\n- eval_batch_size: 7\n- seed: 7\n- distributed_type: multi-CPU\n- num_devices: 2\n"
            + "- gradient_accumulation_steps: 2\n- total_train_batch_size: 14\n- total_eval_batch_size: 7\n" + Optimizer6 + "- lr_scheduler_type: cosine\n",
            CardHyperparameters(runs.Dir("finetune-2-two")));
        Assert.StartsWith("- learning_rate: 0.001\n- train_batch_size: 7\n- eval_batch_size: 7\n- seed: 7\n"
            + "- gradient_accumulation_steps: 2\n- total_train_batch_size: 14\n" + Optimizer6 + "- lr_scheduler_type: cosine\n",
            CardHyperparameters(runs.Dir("finetune-2-one")));
        Assert.StartsWith("- learning_rate: 0.001\n- train_batch_size: 2\n- eval_batch_size: 4\n- seed: 3\n- distributed_type: multi-CPU\n- num_devices: 2\n"
            + "- total_train_batch_size: 4\n- total_eval_batch_size: 4\n- optimizer: ",
            CardHyperparameters(runs.Dir("mlm-two/final")));
        Assert.StartsWith("- learning_rate: 0.001\n- train_batch_size: 4\n- eval_batch_size: 4\n- seed: 3\n- optimizer: ",
            CardHyperparameters(runs.Dir("mlm-one/final")));
        Assert.Contains("\n- lr_scheduler_type: cosine\n", CardHyperparameters(runs.Dir("mlm-two/final")), StringComparison.Ordinal);
    }

    // The card's hyperparameter lines, read as text (the card code is what is checked).
    private static string CardHyperparameters(string modelDir)
    {
        const string Heading = "The following hyperparameters were used during training:\n";
        var card = File.ReadAllText(Path.Combine(modelDir, "README.md"));
        var start = card.IndexOf(Heading, StringComparison.Ordinal);
        Assert.True(start >= 0, $"{modelDir}/README.md has no hyperparameters");
        start += Heading.Length;
        return card[start..(card.IndexOf("\n\n", start, StringComparison.Ordinal) + 1)];
    }
}
