using System.CommandLine;
using System.Globalization;
using BertSharp.Training;
using BertSharp.Training.Pretraining;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert pretrain</c>: MLM + NSP or MLM-only pre-training on data built by <c>bert pretrain-data</c>.</summary>
internal static class PretrainCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data") { Description = "Data directory written by 'bert pretrain-data' (with --resume: default the run's own)." };
        var output = new Option<string>("--output")
        {
            Description = "Run directory: checkpoint-N/, final/ (the model, with its model card README.md), train_log.jsonl, loss.png. A non-empty directory bert did not write is refused (see --overwrite).",
            Required = true,
        };
        var config = new Option<string>("--config") { Description = "A fresh model: a size preset (tiny, mini, small, medium, base, large) or a config.json file (with --vocab)." };
        var vocab = CommonOptions.Vocab(description: "vocab.txt the data was built with (for --config).");
        var model = CommonOptions.ModelOption("Continue pre-training this HF model directory or Hub id instead of a fresh one.", required: false);
        var steps = new Option<long>("--steps") { Description = "Optimizer steps.", DefaultValueFactory = _ => PretrainingTrainerOptions.DefaultSteps };
        var batch = CommonOptions.BatchSize("Instances per micro-batch, over all ranks of a data-parallel run (each takes its share).", () => PretrainingTrainerOptions.DefaultBatchSize);
        var evalBatch = CommonOptions.EvalBatchSize("Held-out instances");
        var optimizer = new OptimizerOptions(PretrainingTrainerOptions.DefaultLearningRate, PretrainingTrainerOptions.DefaultEps,
            PretrainingTrainerOptions.DefaultWeightDecay, PretrainingTrainerOptions.DefaultMaxGradNorm);
        var warmup = CommonOptions.WarmupSteps<long?>("10 % of --steps, unless --warmup-ratio");
        var warmupRatio = CommonOptions.WarmupRatio("none: --warmup-steps' 10 % of --steps");
        const string ratio = "; N below 1 is a share of --steps, ceil(steps × N), as HF's save_steps=0.1 (recorded resolved: a resume keeps those steps unless given again)";
        var saveEvery = new Option<double>("--save-every") { Description = "Checkpoint every N steps (0 = at the end only)" + ratio + ".", DefaultValueFactory = _ => 0, HelpName = "N" };
        var evalEvery = new Option<double>("--eval-every") { Description = "Evaluate on held-out instances every N steps (0 = never)" + ratio + ".", DefaultValueFactory = _ => 0, HelpName = "N" };
        var resume = TrainingOptionSet.ResumeOption("Continue from the latest checkpoint-N in --output with the run's own settings (--data, --steps, --lr, ...); --steps may be raised to extend the run.");
        var dynamic = new Option<bool>("--dynamic-masking") { Description = "Mask instances afresh each time they are used." };
        var exampleDropout = TrainingOptionSet.ExampleDropout();
        var bf16 = TrainingOptionSet.Bf16Option();
        var seed = CommonOptions.Seed(PretrainingTrainerOptions.DefaultSeed, "Seed of initialisation, dropout and dynamic masks.");
        var objective = CommonOptions.Objective("mlm+nsp: masked LM + next-sentence prediction (BertForPreTraining); mlm: masked LM only (BertForMaskedLM: no pooler, no NSP head; HF run_mlm), e.g. to continue an imported BertModel on in-domain text. Default: what the data was built for (pretrain-data --objective; mlm+nsp unless given).");
        var device = CommonOptions.Device();
        var stopAfter = TrainingOptionSet.StopAfterOption();
        var overwrite = CommonOptions.Overwrite();
        var threads = CommonOptions.Threads();

        var cmd = new Command("pretrain", "Pre-train BERT with masked-LM + next-sentence prediction (BertForPreTraining) or masked LM only (--objective mlm, BertForMaskedLM).");
        foreach (var o in new Option[] { data, output, config, vocab, model, steps, batch, evalBatch }.Concat(optimizer.All)
                     .Concat([warmup, warmupRatio, saveEvery, evalEvery, resume, dynamic, exampleDropout, bf16, objective, seed, device, threads, stopAfter, overwrite]))
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            CommonOptions.ApplyThreads(p, threads);
            var comm = DataParallelRank.Join();
            var outDir = p.GetValue(output)!;
            // --resume: every setting not typed again comes from the run's latest checkpoint (trainer_state.json).
            (PretrainingTrainerOptions Options, string? Data)? saved = null;
            if (p.GetValue(resume))
            {
                var run = PretrainingTrainer.SavedRun(outDir)
                    ?? throw new BertSharpException($"{outDir}: nothing to --resume: no complete checkpoint-N directory.");
                saved = (run.Options, run.DataDirectory);
            }
            T Pick<T>(Option<T> option, Func<PretrainingTrainerOptions, T> fromRun) =>
                saved is { } s && !CommonOptions.Given(p, option) ? fromRun(s.Options) : p.GetValue(option)!;
            var totalSteps = Pick(steps, s => s.Steps);
            // A ratio resolves against this invocation's --steps, as HF's compute_steps against max_steps at each train():
            // the run records the steps, which a resume that does not give the option again keeps, --steps raised or not.
            long Every(Option<double> option, Func<PretrainingTrainerOptions, long> fromRun)
            {
                if (saved is { } s && !CommonOptions.Given(p, option))
                {
                    return fromRun(s.Options);
                }
                var every = p.GetValue(option);
                return StepRatio.IsValid(every, allowZero: true)
                    ? (long)StepRatio.Resolve(every, totalSteps)
                    : throw new BertSharpException(FormattableString.Invariant($"{option.Name} {every}: expected a whole number of steps ≥ 1, a ratio of --steps in (0, 1), or 0."));
            }
            var options = new PretrainingTrainerOptions
            {
                Steps = totalSteps,
                BatchSize = Pick(batch, s => s.BatchSize),
                EvalBatchSize = Pick(evalBatch, s => s.EvalBatchSize),
                LearningRate = Pick(optimizer.LearningRate, s => s.LearningRate),
                // A resume that types neither keeps the steps the run warmed up for (a ratio resolved against its --steps then).
                WarmupSteps = saved is { } w && !CommonOptions.Given(p, warmup) && !CommonOptions.Given(p, warmupRatio) ? w.Options.WarmupSteps : p.GetValue(warmup),
                WarmupRatio = p.GetValue(warmupRatio),
                WeightDecay = Pick(optimizer.WeightDecay, s => s.WeightDecay),
                Eps = Pick(optimizer.Eps, s => s.Eps),
                GradAccum = Pick(optimizer.GradAccum, s => s.GradAccum),
                MaxGradNorm = Pick(optimizer.MaxGradNorm, s => s.MaxGradNorm),
                LrSchedulerType = Pick(optimizer.LrScheduler, s => s.LrSchedulerType),
                LrSchedulerKwargs = saved is { } k && !CommonOptions.Given(p, optimizer.LrSchedulerKwargs) ? k.Options.LrSchedulerKwargs : optimizer.SchedulerKwargs(p),
                SaveEvery = Every(saveEvery, s => s.SaveEvery),
                EvalEvery = Every(evalEvery, s => s.EvalEvery),
                // No flag sets it: a run started through the library with another count resumes with its own.
                EvalInstances = saved?.Options.EvalInstances ?? PretrainingTrainerOptions.DefaultEvalInstances,
                DynamicMasking = Pick(dynamic, s => s.DynamicMasking),
                ExampleDropout = Pick(exampleDropout, s => s.ExampleDropout),
                Bf16 = Pick(bf16, s => s.Bf16),
                Seed = Pick(seed, s => s.Seed),
                Objective = saved is { } so && !CommonOptions.Given(p, objective) ? so.Options.Objective : CommonOptions.Objective(p, objective),
                Device = p.GetValue(device) ?? "auto",
                Overwrite = p.GetValue(overwrite),
            };
            var dataDir = p.GetValue(data) ?? saved?.Data
                ?? throw new BertSharpException(saved is null
                    ? "--data: required; the directory written by 'bert pretrain-data'."
                    : $"--data: required ({outDir}'s checkpoint predates recorded data directories).");
            var source = new PretrainingModelSource(p.GetValue(config), p.GetValue(vocab), p.GetValue(model));
            if (!p.GetValue(resume) && source.ModelDirectory is null && (source.Preset is null || source.VocabPath is null))
            {
                throw new BertSharpException("pretrain needs --config PRESET with --vocab PATH, or --model DIR (or --resume).");
            }
            if (source.ModelDirectory is not null && source.Preset is not null)
            {
                throw new BertSharpException("pass either --config/--vocab or --model, not both.");
            }
            var stop = p.GetValue(stopAfter);
            if (stop < 1)
            {
                throw new BertSharpException($"--stop-after {stop}: expected at least 1.");
            }
            // meanFrom: the first step the closing mean counts, this process's second (its first also paid for the warm-up).
            PretrainingLogEntry? firstTrain = null, meanFrom = null, lastTrain = null, lastEval = null;
            // Ctrl-C / SIGTERM stop before the next step; the complete checkpoints stay and --resume continues from the last one.
            var final = StopSignals.Run(cancel => CliProgress.Run(progress =>
            {
                var trainer = new PretrainingTrainer(options)
                {
                    StopAfter = stop,
                    Communicator = comm,
                    // Shown, not Word: the notices name no fields but quote paths and checkpoint tensor names, which are data (a tensor
                    // named max_length must not read as --max-length), and an escape in one drove the terminal.
                    OnNotice = n => Console.Error.WriteLine(CliErrors.Shown(CliInput.SaidAsTyped(p, n))),
                    OnLog = e =>
                    {
                        if (e.Type == "eval")
                        {
                            lastEval = e;
                            // As they come: a long run's held-out metrics were shown only once it had ended (or never, when stopped).
                            progress.Report(("eval", e.Step, totalSteps, Brief(e)));
                            return;
                        }
                        if (firstTrain is null)
                        {
                            firstTrain = e;
                        }
                        else
                        {
                            meanFrom ??= e;
                        }
                        lastTrain = e;
                        progress.Report(("pretrain", e.Step, totalSteps, string.Create(CultureInfo.InvariantCulture, $"{Brief(e)} {e.TokensPerSecond:F0} tok/s")));
                    },
                };
                return trainer.Run(dataDir, outDir, source, p.GetValue(resume), cancel);
            }));
            var inv = CultureInfo.InvariantCulture;
            if (lastTrain is { } t)
            {
                Console.Out.WriteLine(string.Create(inv, $"step {t.Step}: loss {t.Loss:F4}, masked_lm_loss {t.MaskedLmLoss:F4}, masked_lm_accuracy {t.MaskedLmAccuracy:F4}{Nsp(t)}, {t.MeanTokensPerSecond:F0} tokens/s (mean of {Steps((meanFrom ?? firstTrain)!.Step, t.Step)})"));
            }
            if (lastEval is { } ev)
            {
                Console.Out.WriteLine(string.Create(inv, $"eval at step {ev.Step}: loss {ev.Loss:F4}, masked_lm_loss {ev.MaskedLmLoss:F4}, masked_lm_accuracy {ev.MaskedLmAccuracy:F4}{Nsp(ev)}, perplexity {ev.Perplexity:F4}"));
            }
            // As typed (--output runs/pr): the trainer returns the full path it resolved.
            Console.Out.WriteLine($"model: {CliErrors.Shown(CliInput.SaidAsTyped(p, final))}");
            return 0;
        });
        return cmd;
    }

    private static string Brief(PretrainingLogEntry e) => string.Create(CultureInfo.InvariantCulture,
        $"mlm {e.MaskedLmLoss:F3} ({e.MaskedLmAccuracy:P1}){(double.IsNaN(e.NextSentenceLoss) ? "" : $" nsp {e.NextSentenceLoss:F3} ({e.NextSentenceAccuracy:P1})")}");

    // The steps named, not "the run": a resumed run's mean is of the steps this process ran, which a user reads as the run's.
    private static string Steps(long first, long last) => first == last
        ? string.Create(CultureInfo.InvariantCulture, $"step {last}")
        : string.Create(CultureInfo.InvariantCulture, $"steps {first}-{last}");

    // A masked-LM-only run logs no next-sentence metrics.
    private static string Nsp(PretrainingLogEntry e) => double.IsNaN(e.NextSentenceLoss)
        ? ""
        : string.Create(CultureInfo.InvariantCulture, $", next_sentence_loss {e.NextSentenceLoss:F4}, next_sentence_accuracy {e.NextSentenceAccuracy:F4}");
}
