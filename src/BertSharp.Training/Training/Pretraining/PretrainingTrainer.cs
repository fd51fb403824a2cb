using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Data.Pretraining;
using BertSharp.Distributed;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Training.Pretraining;

/// <summary>Where the model of a pre-training run comes from.</summary>
/// <param name="Preset">A size preset (tiny, mini, …) for a freshly initialised model; needs <paramref name="VocabPath"/>.</param>
/// <param name="VocabPath">vocab.txt of the fresh model (must be the vocabulary the data was built with).</param>
/// <param name="ModelDirectory">An HF checkpoint directory or Hub id to continue pre-training from (its vocab.txt is checked).</param>
public sealed record PretrainingModelSource(string? Preset = null, string? VocabPath = null, string? ModelDirectory = null);

/// <summary>
/// BERT pre-training with MLM + NSP (HF <c>BertForPreTraining</c>) or MLM only (HF <c>BertForMaskedLM</c>, <see cref="PretrainingTrainerOptions.Objective"/>) on the one training loop (<see cref="Trainer.Run{TBatch}"/>): AdamW with HF's decay
/// groups, linear warm-up and decay, global-norm clipping, gradient accumulation, held-out evaluation, HF checkpoints with the
/// full trainer state, and exact resume: a run of N steps and a run stopped after k steps then resumed give bitwise-equal
/// losses and weights on the CPU (dropout re-seeds torch's generator from (seed, step) before every step, dynamic masks come
/// from (seed, data position)).
/// </summary>
public sealed class PretrainingTrainer
{
    // The setting recording what the model came from (SourceSettings).
    private const string SourceKey = "source";

    // The setting recording which instances the run trains on (PretrainingManifest.ShardsSha256).
    private const string DataKey = "data_sha256";

    // The same for the held-out split the run evaluates on, set only where the data has one: data_sha256 stays what it was
    // for data without a split, so that runs started before the split existed still resume on their data.
    private const string ValidationDataKey = "validation_sha256";

    // The setting recording how many instances the run holds out (a library-only option, so a resume cannot be told it again).
    private const string EvalInstancesKey = "eval_instances";

    // Set where the data has a held-out split of whole documents, which the evaluations ran on.
    internal const string EvalDataKey = "eval_data";

    // A run writes into its directory (checkpoints, final/, the log and the plot over earlier ones): other output there would be lost.
    private static readonly OutputKind RunKind = RunDirectory.Kind("a pre-training run", ["final"]);

    private readonly PretrainingTrainerOptions _options;

    /// <summary>A trainer with these settings; nothing is read or written before <see cref="Run"/>.</summary>
    /// <param name="options">The run's settings, checked here.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is null.</exception>
    /// <exception cref="BertSharpException">A setting is out of range (<see cref="PretrainingTrainerOptions.Validate"/>), named by its field.</exception>
    public PretrainingTrainer(PretrainingTrainerOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
    }

    /// <summary>
    /// Called with what the user should know before training starts: how the checkpoint the run starts from was loaded (the weights
    /// newly initialised because it had none, e.g. the MLM head of a plain <c>BertModel</c>, and the decoder tied to the word embeddings),
    /// and, resuming, the step, data and settings it continues with (once they are checked).
    /// </summary>
    public Action<string>? OnNotice { get; init; }

    /// <summary>Called after every optimizer step (and evaluation) with the logged metrics.</summary>
    public Action<PretrainingLogEntry>? OnLog { get; init; }

    /// <summary>
    /// Stop after this many steps of this invocation, leaving a checkpoint there that <c>resume</c> continues (a time-boxed
    /// job, or an interrupted run in tests); null runs to the end.
    /// </summary>
    public long? StopAfter { get; init; }

    /// <summary>
    /// The data-parallel group (null: one process). Every rank runs the same call: each trains on its slice of every global
    /// batch of <see cref="PretrainingTrainerOptions.BatchSize"/> instances, gradients are summed across the ranks before
    /// clipping, and only rank 0 writes the log, checkpoints, plot and final model.
    /// </summary>
    public ICommunicator? Communicator { get; init; }

    /// <summary>
    /// Trains; returns the final model directory (<c>OUTPUT/final</c>), or the checkpoint written where <see cref="StopAfter"/>
    /// stopped the run. Cancellation stops between steps with <see cref="TrainingCancelledException"/>; the checkpoints written
    /// so far stay.
    /// </summary>
    /// <param name="dataDirectory">Output of <c>bert pretrain-data</c>.</param>
    /// <param name="outputDirectory">Receives checkpoint-N/, final/, train_log.jsonl and loss.png.</param>
    /// <param name="source">Fresh preset + vocab, or an existing model; ignored when resuming.</param>
    /// <param name="resume">Continue from the latest checkpoint-N in <paramref name="outputDirectory"/>.</param>
    /// <param name="cancel">Stops the run between steps.</param>
    public string Run(string dataDirectory, string outputDirectory, PretrainingModelSource source, bool resume, CancellationToken cancel = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        var comm = Communicator ?? new LocalCommunicator();
        var writer = comm.IsWriter();
        DataParallelRun.CheckBatchSize(comm, _options.BatchSize);
        var exampleDropout = _options.ExampleDropout || comm.WorldSize > 1;
        TorchRuntime.EnsureLoaded();
        var device = TorchRuntime.ResolveDevice(_options.Device);
        var checkpoint = RunDirectory.Check(outputDirectory, resume, _options.Overwrite, RunKind);
        var data = PretrainingDataset.Open(dataDirectory);
        var state = checkpoint is null ? null : TrainerState.Load(Path.Combine(checkpoint, TrainerState.FileName));
        var dataSha = data.Manifest.ShardsSha256();
        // Data built with a held-out split of whole documents is evaluated on all of that split and trained on all of the rest,
        // whether or not the run evaluates; only data without one holds out its own last instances.
        var validation = data.OpenValidation();
        var validationSha = validation?.Manifest.ShardsSha256();
        if (state is not null)
        {
            CheckSource(state, source, checkpoint!);
            CheckData(state, data, dataSha, validationSha, outputDirectory);
        }
        // The held-out instances are the run's, set aside when it started by its own eval_every: a resume that turns evaluation
        // on or off trains on the same instances (with them the result, the data position and the train_instances check).
        var splitEvalEvery = state is not null && TrainLog.Number(state.Settings, "eval_every") is var runEvalEvery && double.IsFinite(runEvalEvery)
            ? (long)runEvalEvery
            : _options.EvalEvery;
        var heldOut = splitEvalEvery > 0 && validation is null ? (int)Math.Min(_options.EvalInstances, data.Count / 10) : 0;
        var trainCount = data.Count - heldOut;
        if (_options.EvalEvery > 0 && heldOut == 0 && validation is null)
        {
            throw new BertSharpException(splitEvalEvery > 0
                ? Invariant($"{BertSharpException.Field("eval_every")} {_options.EvalEvery}: {dataDirectory} has {data.Count:N0} instances, and the last 10 % of them, held out for evaluation, are none; evaluation needs at least 10 instances.")
                : Invariant($"{BertSharpException.Field("eval_every")} {_options.EvalEvery}: the run in {checkpoint} was started without evaluation and trains on all {data.Count:N0} instances, so none are held out to evaluate on; resume it with evaluation off."));
        }
        var evalCount = _options.EvalEvery > 0 ? (validation is null ? heldOut : (int)Math.Min(validation.Count, int.MaxValue)) : 0;
        // A step takes distinct instances: one larger than the data would repeat instances within it, and a batch near
        // int.MaxValue could not even be allocated (it ended in an OutOfMemoryException).
        if ((long)_options.BatchSize * _options.GradAccum > trainCount)
        {
            throw new BertSharpException(
                string.Create(CultureInfo.InvariantCulture, $"{BertSharpException.Field("batch_size")} {_options.BatchSize} × {BertSharpException.Field("gradient_accumulation_steps")} {_options.GradAccum}: " +
                $"more instances per step than the {trainCount:N0} training instances of {dataDirectory}; expected at most {trainCount}."));
        }
        var dataObjective = PretrainingObjectives.Parse(data.Manifest.Objective);
        var objective = _options.Objective ?? dataObjective;
        if (objective == PretrainingObjective.MaskedLmNextSentence && dataObjective == PretrainingObjective.MaskedLm)
        {
            throw new BertSharpException($"{BertSharpException.Field("objective")} mlm+nsp: {dataDirectory} was built with {BertSharpException.Field("objective")} mlm (one packed segment per instance, no next-sentence labels); train it with {BertSharpException.Field("objective")} mlm or build sentence-pair data.");
        }
        var settings = Settings(trainCount, data.Manifest.VocabSha256, dataDirectory, dataSha, exampleDropout, objective);
        if (validation is not null)
        {
            // Which set the evaluations ran on: absent, the data's last instances (eval_instances of them).
            settings[EvalDataKey] = ManifestValidation.DirectoryName;
            settings[ValidationDataKey] = validationSha;
        }
        // What the model came from stays the run's (checked above); checkpoints written before it was recorded have none.
        if ((state is null ? SourceSettings(source) : state.Settings[SourceKey]?.DeepClone()) is { } runSource)
        {
            settings[SourceKey] = runSource;
        }
        // A resume that keeps the steps a ratio gave (neither warm-up option typed again) keeps the ratio its card names.
        if (!settings.ContainsKey("warmup_ratio") && state?.Settings["warmup_ratio"] is { } runRatio
            && state.Settings["warmup_steps"]?.ToJsonString() == settings["warmup_steps"]?.ToJsonString())
        {
            settings["warmup_ratio"] = runRatio.DeepClone();
        }
        // Only the length of the run may change (raised: the linear decay is re-planned to end at the new total); how often it
        // saves and evaluates, in batches of what size, and where its data lives, are not part of the result.
        // A checkpoint written before the held-out count was recorded is not checked on it (train_instances, which it sets, still is).
        string[] recordedLater = state?.Settings.ContainsKey(EvalInstancesKey) == false ? [EvalInstancesKey] : [];
        // reduce_lr_on_plateau steps at each evaluation: evaluating at other steps would change the rates, so eval_every stays the run's.
        string[] evalFree = LearningRateSchedule.FollowsValidation(_options.LrSchedulerType) ? [] : ["eval_every"];
        state?.CheckResumable(settings, checkpoint!, mayGrow: ["steps"], free: ["save_every", "warmup_ratio", TrainingArgs.EvalBatchSizeKey, .. evalFree, "data_directory", SourceKey, DataKey, ValidationDataKey, .. recordedLater, .. LrSchedulerRecord.Keys]);
        if (state is not null)
        {
            LrSchedulerRecord.Check(state.Settings, settings, checkpoint!);
        }

        // Evaluation (rank 0 only) decides nothing the other ranks need but reduce_lr_on_plateau's rate, which rank 0
        // broadcasts after each evaluation, so only rank 0 reads the held-out instances. A bad shard among them ends every
        // rank here, before any output exists: read outside a section, it left the output directory behind and the other
        // ranks waiting in the first step's all-reduce until the collective timeout, which then named no cause.
        var evalSet = new List<PretrainingInstance>();
        if (evalCount > 0)
        {
            Rank0Work.Run(comm, "reading the held-out evaluation instances", () =>
            {
                if (writer)
                {
                    evalSet.AddRange(validation is null ? data.Read(trainCount).Take(evalCount) : validation.Read());
                }
            });
        }

        // A Hub id continues from its snapshot in the HF cache (downloaded when absent); the settings keep the id as typed.
        var modelDir = checkpoint is null && source.ModelDirectory is { } m && ModelLocator.IsHubId(m) ? BertPretrained.ResolveDirectory(m) : source.ModelDirectory;
        var architecture = objective == PretrainingObjective.MaskedLm ? nameof(BertForMaskedLM) : nameof(BertForPreTraining);
        (BertPreTrainedModel, MaskingVocabulary, SaveOptions, string?) SetUp() => SetUpModel(architecture, checkpoint, source with { ModelDirectory = modelDir }, data, dataDirectory);
        // A refusal of the model's files (its vocab.txt missing, or not the data's) and the load report name a Hub id as typed,
        // as the loaders do, rather than the snapshot in the HF cache that it resolved to.
        var typed = checkpoint is null ? source.ModelDirectory : null;
        var (model, maskingVocabulary, modelFiles, loadNotice) = typed is not null && modelDir is { } snapshot
            ? TypedModelNames.Load(typed, snapshot, SetUp)
            : SetUp();
        if (typed is not null && modelDir is { } resolved && loadNotice is not null)
        {
            loadNotice = TypedModelNames.Named(typed, resolved, loadNotice);
        }
        try
        {
            model.to(device);
            using var trainer = Trainer.ForRanks(model, new OptimizerSettings(_options.LearningRate, _options.Eps, _options.WeightDecay, _options.MaxGradNorm,
                _options.EffectiveWarmupSteps, _options.Steps)
                {
                    LrSchedulerType = _options.LrSchedulerType, LrSchedulerKwargs = _options.LrSchedulerKwargs, Bf16 = _options.Bf16,
                }, comm);
            var masker = new MaskedLmMasker(maskingVocabulary, data.Manifest.Options());
            var stream = new InstanceStream(data, trainCount, _options.BatchSize, _options.GradAccum, masker, _options.DynamicMasking, _options.Seed, device,
                comm.Rank, comm.WorldSize);
            if (state is not null)
            {
                OptimizerState.Load(Path.Combine(checkpoint!, OptimizerState.FileName), trainer.Optimizer, trainer.OptimizerParameterNames);
                trainer.StepsDone = state.GlobalStep;
                stream.Restore(state.Data);
                trainer.Schedule.Plateau?.Restore(state.Task, Path.Combine(checkpoint!, TrainerState.FileName));
            }
            // Said once everything is checked: a refused run or resume prints its error alone.
            if (loadNotice is not null && writer)
            {
                OnNotice?.Invoke(loadNotice);
            }
            if (state is not null && writer)
            {
                OnNotice?.Invoke(string.Create(CultureInfo.InvariantCulture,
                    $"resuming {outputDirectory} at step {state.GlobalStep} of {_options.Steps}{(_options.Steps > state.TotalSteps ? Invariant($" (extended from {state.TotalSteps})") : "")}: data {dataDirectory}, batch {_options.BatchSize} × {_options.GradAccum}, lr {_options.LearningRate}, seed {_options.Seed}"));
            }
            // Every rank has checked the output directory (above) before rank 0 creates or changes anything in it.
            comm.Barrier();
            // Rank 0 alone creates the run directory: when it cannot (a file in the way, an output it may not write), the
            // others learn it here instead of waiting in the first step's all-reduce until the collective timeout.
            using var opening = Rank0Work.Begin(comm, RunDirectory.OpeningWork);
            var run = writer ? RunDirectory.Open(outputDirectory, _options.Overwrite, RunKind) : null;
            using var log = run is not null ? run.OpenLog(state?.GlobalStep) : TrainLog.InMemory(outputDirectory);
            try
            {
                var opened = new JsonObject
                {
                    ["train_instances"] = trainCount,
                    ["eval_instances"] = evalCount,
                    ["total_steps"] = _options.Steps,
                };
                if (validation is not null)
                {
                    opened[EvalDataKey] = ManifestValidation.DirectoryName;
                }
                log.Append(state is null ? "start" : "resume", state?.GlobalStep ?? 0, opened);
            }
            catch
            {
                // Undone as a log that cannot be opened is: the run never starts.
                log.Dispose();
                run?.RemoveUnfinished();
                throw;
            }
            opening.End();
            var task = new PretrainingTask(model, comm, exampleDropout ? _options.Seed : null);
            var withNsp = objective == PretrainingObjective.MaskedLmNextSentence;
            // The plot's points grow with the log (a resumed run starts from the entries it kept) instead of being re-read
            // from it at every checkpoint.
            LossCurves? curves = null;
            if (run is not null)
            {
                curves = new LossCurves(PlotSeries(withNsp));
                foreach (var e in log.Entries)
                {
                    curves.Add(e);
                }
            }
            string? lastCheckpoint = checkpoint;

            void SaveCheckpoint(long step)
            {
                if (run is null)
                {
                    return;
                }
                log.Sync();
                var s = new TrainerState
                {
                    GlobalStep = step,
                    TotalSteps = _options.Steps,
                    Settings = settings,
                    Data = stream.State(),
                    Task = ScheduleState(trainer.Schedule),
                    Rng = exampleDropout
                        ? "dropout masks keyed by (seed, step, data position of the instance); dynamic masks from derive(seed, data position)"
                        : "torch.manual_seed(derive(seed, step)) before every step; dynamic masks from derive(seed, data position)",
                };
                var dir = run.CheckpointPath(step);
                TrainingCheckpoint.Write(dir, tmp => BertPretrained.WriteFiles(model, tmp, modelFiles), trainer, s);
                // Only once it is complete: a run whose first checkpoint failed has nothing to resume, and its directory goes.
                lastCheckpoint = dir;
                curves!.Save(run.PlotPath, PlotTitle(withNsp));
            }

            var clock = Stopwatch.StartNew();
            var stepStart = 0.0;
            // This process's steps only: a resumed run's earlier steps ran at another time, perhaps on another machine.
            var mean = new MeanThroughput();
            ITrainingHook[] hooks =
            [
                new TrainingHook(before: step =>
                {
                    stepStart = clock.Elapsed.TotalSeconds;
                    // Dropout draws from torch's global generator; seeding it per step makes step k the same in any run.
                    torch.random.manual_seed(StepSeed(step)).Dispose();
                }, after: o =>
                {
                    var elapsed = clock.Elapsed.TotalSeconds;
                    var fields = new JsonObject { ["loss"] = o.Task.Loss };
                    foreach (var (k, v) in o.Task.Metrics)
                    {
                        fields[k] = v;
                    }
                    fields["learning_rate"] = o.LearningRate;
                    fields["grad_norm"] = o.GradNorm;
                    fields["tokens"] = task.LastTokens;
                    fields["tokens_per_second"] = task.LastTokens / Math.Max(1e-9, elapsed - stepStart);
                    fields["mean_tokens_per_second"] = mean.Add(task.LastTokens, elapsed - stepStart);
                    fields["elapsed_seconds"] = elapsed;
                    fields["epoch"] = stream.Epoch;
                    fields["data_position"] = stream.Position;
                    var entry = log.Append("train", o.Step, fields);
                    curves?.Add(entry);
                    if (writer)
                    {
                        OnLog?.Invoke(PretrainingLogEntry.From(entry));
                    }
                    return true;
                }),
                // Rank 0 evaluates and saves alone; the others wait for it without the collective timeout, and fail with it.
                TrainingHook.Every(_options.EvalEvery > 0 ? _options.EvalEvery : 0, _options.EvalEvery > 0 ? _options.Steps : 0, o =>
                {
                    Rank0Work.Run(comm, Invariant($"the evaluation at step {o.Step}"), () =>
                    {
                        if (evalSet.Count > 0)
                        {
                            var metrics = PretrainingTask.Evaluate(model, evalSet, _options.EffectiveEvalBatchSize, data.Manifest.PadId, device);
                            var entry = log.Append("eval", o.Step, new JsonObject([.. metrics.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))]));
                            curves?.Add(entry);
                            OnLog?.Invoke(PretrainingLogEntry.From(entry));
                            // HF's _evaluate steps reduce_lr_on_plateau with metric_for_best_model, eval_loss by default:
                            // BertForPreTraining's loss is the masked-LM plus the next-sentence loss, the "loss" logged here.
                            // Before this step's checkpoint, which therefore holds the rate the next steps use.
                            trainer.Schedule.Step(metrics["loss"]);
                        }
                    });
                    // Only rank 0 evaluates: every rank must step at its rate or the replicas drift apart.
                    trainer.Schedule.Plateau?.Synchronize(comm);
                }),
                TrainingHook.Every(_options.SaveEvery, _options.Steps, o => Rank0Work.Run(comm, Invariant($"the checkpoint at step {o.Step}"), () => SaveCheckpoint(o.Step))),
                TrainingHook.StopAfter(StopAfter),
            ];
            try
            {
                var taken = trainer.Run(task, stream, _options.Steps, hooks, cancel);
                // Stopped early (StopAfter): keep the work with a checkpoint unless the last step just wrote one. When this is
                // the run's first and it fails, the run is undone below as when a step's first checkpoint fails.
                // Every rank meets rank 0 after it (as after every checkpoint), so that none returns a checkpoint never written.
                if (trainer.StepsDone < _options.Steps && taken > 0 && (_options.SaveEvery <= 0 || trainer.StepsDone % _options.SaveEvery != 0))
                {
                    Rank0Work.Run(comm, Invariant($"the checkpoint at step {trainer.StepsDone}"), () => SaveCheckpoint(trainer.StepsDone));
                }
            }
            catch (Exception e)
            {
                log.Dispose();
                if (lastCheckpoint is null)
                {
                    run?.RemoveUnfinished();
                }
                if (e is OperationCanceledException && cancel.IsCancellationRequested)
                {
                    throw new TrainingCancelledException(AtomicFile.Normalize(outputDirectory), lastCheckpoint, trainer.StepsDone, _options.Steps);
                }
                throw;
            }
            if (trainer.StepsDone < _options.Steps)
            {
                return run?.LatestCheckpoint() ?? Path.Combine(AtomicFile.Normalize(outputDirectory), RunDirectory.CheckpointPrefix + trainer.StepsDone.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }
            var final = Path.Combine(AtomicFile.Normalize(outputDirectory), "final");
            // Rank 0 saves the model alone; the others wait for it, so that none returns a model directory never written.
            Rank0Work.Run(comm, "writing the final model", () =>
            {
                log.Append("end", trainer.StepsDone, new JsonObject { ["steps"] = trainer.StepsDone });
                if (run is not null)
                {
                    // The card goes into final/ with the model, in its one crash-safe write, as HF's run_mlm.py ends with one.
                    var card = PretrainingModelCard.Content(Path.GetFileName(run.Path), settings, log.Entries, architecture, model.Config,
                        model.NamedParameters().Sum(p => p.Param.numel()), data.Manifest.MaxSeqLength, comm.WorldSize);
                    BertPretrained.Save(model, final, modelFiles with
                    {
                        WriteExtraFiles = dir =>
                        {
                            modelFiles.WriteExtraFiles?.Invoke(dir);
                            ModelCard.Write(dir, card);
                        },
                    });
                }
            });
            return final;
        }
        finally
        {
            model.Dispose();
        }
    }

    /// <summary>
    /// The latest checkpoint of the run in <paramref name="outputDirectory"/> with the settings it was trained with (what a
    /// resume takes when the caller gives no other) and its data directory, or null when the run has no checkpoint.
    /// </summary>
    public static (TrainerState State, PretrainingTrainerOptions Options, string? DataDirectory)? SavedRun(string outputDirectory)
    {
        var checkpoint = RunDirectory.LatestCheckpoint(AtomicFile.Normalize(outputDirectory));
        if (checkpoint is null)
        {
            return null;
        }
        var state = TrainerState.Load(Path.Combine(checkpoint, TrainerState.FileName));
        var s = state.Settings;
        var file = Path.Combine(checkpoint, TrainerState.FileName);
        double N(string name) => TrainLog.Number(s, name) is var v && double.IsFinite(v)
            ? v
            : throw new BertSharpException($"{checkpoint}: trainer_state.json has no setting '{name}'; not a pre-training checkpoint.");
        // Counts and the seed exactly: through a double, a seed above 2^53 came back as a neighbour, and the resumed run
        // drew other masks and dropout than the run it continued; a batch size of 2.5 or 1e10 was cast to another.
        T Exact<T>(string name) where T : struct => s[name] is JsonValue v && v.TryGetValue<T>(out var x)
            ? x
            : throw new BertSharpException($"{checkpoint}: trainer_state.json has no integer setting '{name}'; not a pre-training checkpoint.");
        long L(string name) => Exact<long>(name);
        // The switches, the objective and the data directory as strictly: GetValue threw an InvalidOperationException that
        // named neither the file nor the setting.
        BertSharpException Wrong(string name, string expected, string found) =>
            new($"{checkpoint}: trainer_state.json setting '{name}': expected {expected}, not {found}; not a pre-training checkpoint.");
        T? Optional<T>(string name, string expected) => s[name] switch
        {
            null => default,
            JsonValue v when v.TryGetValue<T>(out var x) => x,
            var other => throw Wrong(name, expected, other.GetValueKind().ToString().ToLowerInvariant()),
        };
        // Only the names Settings writes: Parse's refusal names the objective as an option, which the CLI shows as a flag
        // the user never gave.
        var objectives = Enum.GetValues<PretrainingObjective>().ToDictionary(PretrainingObjectives.Name);
        var objectivesExpected = string.Join(" or ", objectives.Keys);
        var objective = Optional<string>("objective", objectivesExpected) switch
        {
            null => PretrainingObjective.MaskedLmNextSentence,
            var o when objectives.TryGetValue(o, out var known) => known,
            _ => throw Wrong("objective", objectivesExpected, s["objective"]!.ToJsonString()),
        };
        var options = new PretrainingTrainerOptions
        {
            Steps = L("steps"),
            BatchSize = Exact<int>("batch_size"),
            GradAccum = Exact<int>("gradient_accumulation_steps"),
            // A checkpoint written before it was recorded evaluated at the training batch size.
            EvalBatchSize = s.ContainsKey(TrainingArgs.EvalBatchSizeKey) ? Exact<int>(TrainingArgs.EvalBatchSizeKey) : null,
            LearningRate = N("learning_rate"),
            WarmupSteps = L("warmup_steps"),
            LrSchedulerType = LrSchedulerRecord.Type(s, file),
            LrSchedulerKwargs = LrSchedulerRecord.Kwargs(s, file),
            WeightDecay = N("weight_decay"),
            Eps = N("adam_epsilon"),
            MaxGradNorm = N("max_grad_norm"),
            SaveEvery = L("save_every"),
            EvalEvery = L("eval_every"),
            // A checkpoint written before the held-out count was recorded held out the default.
            EvalInstances = s.ContainsKey(EvalInstancesKey) ? Exact<int>(EvalInstancesKey) : PretrainingTrainerOptions.DefaultEvalInstances,
            DynamicMasking = Optional<bool>("dynamic_masking", "true or false"),
            ExampleDropout = Optional<bool>("example_dropout", "true or false"),
            Bf16 = Optional<bool>("bf16", "true or false"),
            Seed = L("seed"),
            Objective = objective,
        };
        // Refused here as the file's, quoted as it holds them: the options' own check names them as options, which bert
        // pretrain --resume showed as flags (--batch-size 0) the user never typed.
        if (options.FirstInvalid() is { } bad)
        {
            throw Wrong(bad.Name, bad.Expected, s[bad.Name]?.ToJsonString() ?? bad.Value);
        }
        return (state, options, Optional<string>("data_directory", "a path"));
    }

    /// <summary>What the run's model came from: <c>config</c> (a preset, or a config file's full path) and <c>vocab</c>, or <c>model</c>.</summary>
    private static JsonObject SourceSettings(PretrainingModelSource source)
    {
        var s = new JsonObject();
        if (source.Preset is { } preset)
        {
            s["config"] = File.Exists(preset) ? Path.GetFullPath(preset) : preset;
        }
        if (source.VocabPath is { } vocab)
        {
            s["vocab"] = Path.GetFullPath(vocab);
        }
        if (source.ModelDirectory is { } model)
        {
            s["model"] = ModelLocator.Recorded(model);
        }
        return s;
    }

    /// <summary>
    /// A resume continues the run's own model: a config, vocab or model given again must be the one the run started from (the
    /// interrupt message says to resume with the same command). Any other was ignored, training the run's model on as if it
    /// were the one given.
    /// </summary>
    private static void CheckSource(TrainerState state, PretrainingModelSource source, string checkpoint)
    {
        if (state.Settings[SourceKey] is not JsonObject run)
        {
            return;
        }
        foreach (var (field, node) in SourceSettings(source))
        {
            var (was, given) = (run[field]?.ToJsonString() ?? "null", node!.ToJsonString());
            if (was == given)
            {
                continue;
            }
            // Worded as fine-tuning refuses a changed setting; a pre-training resume may also leave the source out, and takes
            // the run's then. A field the run did not start from says what it did start from.
            var started = was == "null"
                ? $" (the run started from {string.Join(" ", run.Select(kv => $"{BertSharpException.Field(kv.Key)} {kv.Value?.ToJsonString()}"))})"
                : "";
            throw new BertSharpException(TrainerState.Changed(checkpoint, field, was, given,
                $"resume with the same settings{started} or without {BertSharpException.Field(field)}"));
        }
    }

    /// <summary>
    /// A resume continues on the run's own instances: data built again with another seed or corpus can have the same
    /// vocabulary and count (all that was checked before), and the run went on at its data position in other instances.
    /// Checkpoints written before the data was recorded are not checked. The held-out split is checked as well: another one
    /// with the same counts changes every evaluation (and reduce_lr_on_plateau's rates) without a word.
    /// </summary>
    private static void CheckData(TrainerState state, PretrainingDataset data, string dataSha, string? validationSha, string outputDirectory)
    {
        var runData = state.Settings["data_directory"]?.GetValue<string>();
        var notTheRuns = $"{BertSharpException.Field("data_directory")} {data.Directory}: not the data the run in {outputDirectory} was trained on{(runData is null ? "" : $" ({runData})")}: ";
        if (state.Settings[DataKey]?.GetValue<string>() is { } was && was != dataSha)
        {
            throw new BertSharpException(notTheRuns +
                "its shards differ from the run's (data built from another corpus, or with other options, seed or shard size); resume the run with its own data, or start a new run.");
        }
        // Runs started before the split's shards were recorded (or on data without a split) have no split to compare.
        if (state.Settings[ValidationDataKey]?.GetValue<string>() is { } wasValidation && wasValidation != validationSha)
        {
            var split = Path.Combine(data.Directory, ManifestValidation.DirectoryName);
            throw new BertSharpException(notTheRuns + (validationSha is null
                ? "it has no held-out split, and the run evaluated on one; resume the run with its own data, or start a new run."
                : $"its held-out split {split} differs from the run's (its shards are another build's); resume the run with its own data, or start a new run."));
        }
    }

    /// <summary>What a resumed run must share with its checkpoint.</summary>
    private JsonObject Settings(long trainInstances, string vocabSha, string dataDirectory, string dataSha, bool exampleDropout, PretrainingObjective objective)
    {
        var s = new JsonObject
        {
            ["steps"] = _options.Steps,
            ["batch_size"] = _options.BatchSize,
            [TrainingArgs.EvalBatchSizeKey] = _options.EffectiveEvalBatchSize,
            ["gradient_accumulation_steps"] = _options.GradAccum,
            ["learning_rate"] = _options.LearningRate,
            ["warmup_steps"] = _options.EffectiveWarmupSteps,
            ["weight_decay"] = _options.WeightDecay,
            ["adam_epsilon"] = _options.Eps,
            ["max_grad_norm"] = _options.MaxGradNorm,
            ["dynamic_masking"] = _options.DynamicMasking,
            ["seed"] = _options.Seed,
            [EvalInstancesKey] = _options.EvalInstances,
            ["train_instances"] = trainInstances,
            ["data_vocab_sha256"] = vocabSha,
            ["save_every"] = _options.SaveEvery,
            ["eval_every"] = _options.EvalEvery,
            ["data_directory"] = Path.GetFullPath(dataDirectory),
            [DataKey] = dataSha,
        };
        LrSchedulerRecord.Write(s, _options.LrSchedulerType, _options.LrSchedulerKwargs);
        // Only when given, as HF's warmup_ratio (the card names it); warmup_steps holds the steps it came to.
        if (_options.WarmupRatio is { } ratio)
        {
            s["warmup_ratio"] = ratio;
        }
        // Only when on, so that checkpoints written before the setting existed still resume.
        if (exampleDropout)
        {
            s["example_dropout"] = true;
        }
        // Only when on, likewise (HF's TrainingArguments name).
        if (_options.Bf16)
        {
            s["bf16"] = true;
        }
        // Only for masked-LM-only runs, likewise: a checkpoint without it trained MLM + NSP.
        if (objective == PretrainingObjective.MaskedLm)
        {
            s["objective"] = PretrainingObjectives.Name(objective);
        }
        return s;
    }

    private static string PlotTitle(bool withNsp) => withNsp ? "BERT pre-training" : "BERT masked-LM pre-training";

    private static LossPlot.Series[] PlotSeries(bool withNsp) => withNsp
        ?
        [
            new("masked LM loss (train)", "train", "masked_lm_loss"),
            new("next sentence loss (train)", "train", "next_sentence_loss"),
            new("masked LM loss (eval)", "eval", "masked_lm_loss", Emphasize: true),
            new("next sentence loss (eval)", "eval", "next_sentence_loss", Emphasize: true),
        ]
        :
        [
            new("masked LM loss (train)", "train", "masked_lm_loss"),
            new("masked LM loss (eval)", "eval", "masked_lm_loss", Emphasize: true),
        ];

    /// <summary>
    /// The model of the checkpoint a resume continues, every weight of it (<see cref="RequiredWeights.CheckWhole"/>): the load
    /// report was ignored, and a weight the checkpoint lacked trained on newly initialised. The tied decoder, which HF and
    /// BertSharp leave out, loads from the word embeddings and is not missing.
    /// </summary>
    private static BertPreTrainedModel LoadCheckpoint(string architecture, string checkpoint)
    {
        var model = BertPretrained.Load(architecture, checkpoint, out var report);
        try
        {
            RequiredWeights.CheckWhole(report, model, FineTuneLoop.WeightsFile(checkpoint));
        }
        catch
        {
            model.Dispose();
            throw;
        }
        return model;
    }

    /// <summary>
    /// The run's model (from <paramref name="checkpoint"/> when resuming, else from <paramref name="source"/>) checked against
    /// the data, the vocabulary its masking draws from, what every checkpoint and final/ write beside the weights, and the
    /// load report of a loaded model; the model is disposed when a check refuses it.
    /// </summary>
    private (BertPreTrainedModel Model, MaskingVocabulary Masking, SaveOptions Files, string? LoadNotice) SetUpModel(
        string architecture, string? checkpoint, PretrainingModelSource source, PretrainingDataset data, string dataDirectory)
    {
        var sourceDir = checkpoint ?? source.ModelDirectory;
        // model_max_length of the model this run continues (a checkpoint or --model), kept when longer than the data's.
        int? sourceTrainedLength = sourceDir is not null && File.Exists(Path.Combine(sourceDir, "tokenizer_config.json"))
            ? BertTokenizer.FromDirectory(sourceDir).ModelMaxLength
            : null;
        var (model, vocabPath, loadNotice) = checkpoint is not null
            ? (LoadCheckpoint(architecture, checkpoint), Path.Combine(checkpoint, "vocab.txt"), null)
            : CreateModel(architecture, source, data);
        try
        {
            if (!File.Exists(vocabPath))
            {
                throw new PathException(vocabPath, "not found; the model directory needs the vocab.txt its data was built with.");
            }
            data.CheckVocabulary(vocabPath, model.Config.VocabSize);
            // Read before the model moves and its trainer is built: a vocabulary masking cannot use is refused first.
            var maskingVocabulary = new MaskingVocabulary(File.ReadAllLines(vocabPath), vocabPath);
            // The tokenizer files every checkpoint and final/ carry, written as fine-tuning writes them: the data's vocabulary
            // and lower-casing, and model_max_length the trained length (ModelLength: a model continued on shorter data
            // keeps its longer positions).
            var savedTokenizer = BertTokenizer.FromVocabFile(vocabPath, data.Manifest.Lowercase)
                .WithModelMaxLength(Math.Max(data.Manifest.MaxSeqLength, sourceTrainedLength ?? 0));
            // vocab.txt itself stays byte for byte the data's: --resume and continued pre-training check it against the
            // data's manifest by SHA-256 (a vocabulary written again could differ in line endings or the last newline).
            var modelFiles = new SaveOptions(Tokenizer: savedTokenizer, WriteExtraFiles: dir => FreshCopy.Copy(vocabPath, Path.Combine(dir, "vocab.txt")));
            if (data.Manifest.MaxSeqLength > model.Config.MaxPositionEmbeddings)
            {
                throw new BertSharpException(Invariant($"{dataDirectory}: max_seq_length {data.Manifest.MaxSeqLength} exceeds the model's max_position_embeddings {model.Config.MaxPositionEmbeddings}."));
            }
            return (model, maskingVocabulary, modelFiles, loadNotice);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>The model a new run starts from, its vocabulary file, and for a loaded model its load report (said once the run is checked).</summary>
    private (BertPreTrainedModel Model, string VocabPath, string? LoadNotice) CreateModel(string architecture, PretrainingModelSource source, PretrainingDataset data)
    {
        if (source.ModelDirectory is { } dir)
        {
            if (!Directory.Exists(dir))
            {
                throw new PathException(dir, "model directory not found.");
            }
            var loaded = BertPretrained.Load(architecture, dir, out var report);
            return (loaded, Path.Combine(dir, "vocab.txt"), DescribeLoad(report, loaded));
        }
        if (source.Preset is null || source.VocabPath is null)
        {
            throw new BertSharpException($"pre-training needs a {BertSharpException.Field("config")} preset with a {BertSharpException.Field("vocab")}, or a {BertSharpException.Field("model")} directory.");
        }
        if (!File.Exists(source.VocabPath))
        {
            throw new PathException(source.VocabPath, "vocabulary file not found.");
        }
        data.CheckVocabulary(source.VocabPath);
        var config = BertConfig.FromPresetOrFile(source.Preset);
        config.VocabSize = data.Manifest.VocabSize;
        config.PadTokenId = data.Manifest.PadId;
        config.MaxPositionEmbeddings = Math.Max(config.MaxPositionEmbeddings, data.Manifest.MaxSeqLength);
        // The returned handle only wraps the global generator, which keeps its new seed.
        torch.random.manual_seed(_options.Seed).Dispose();
        return (BertPretrained.Create(architecture, config), source.VocabPath, null);
    }

    /// <summary>
    /// The load report of a model pre-training continues, for the user: what came from the checkpoint, the weights newly
    /// initialised because it had none (a plain <c>BertModel</c> has no MLM head: its transform layer, LayerNorm and output
    /// bias, and for MLM + NSP the pooler's seq_relationship), and that the decoder is the word-embedding matrix.
    /// </summary>
    internal static string DescribeLoad(LoadReport report, BertPreTrainedModel model)
    {
        var ties = model.TiedKeys;
        var fresh = report.MissingWeights(model);
        var parts = new List<string>
        {
            fresh.Count == 0 ? "every weight loaded" : Invariant($"{fresh.Count} weight(s) newly initialised, not in the checkpoint ({string.Join(", ", fresh)})"),
        };
        if (ties.TryGetValue("cls.predictions.decoder.weight", out var embeddings))
        {
            parts.Add($"the MLM decoder is tied to the word embeddings ({embeddings}{(report.MissingKeys.Contains(embeddings) ? "" : ", loaded")}), its bias is cls.predictions.bias");
        }
        if (report.UnexpectedKeys.Count > 0)
        {
            parts.Add(Invariant($"{report.UnexpectedKeys.Count} checkpoint tensor(s) not used ({string.Join(", ", report.UnexpectedKeys)})"));
        }
        return $"model: {report.Source} as {model.GetType().Name} — {string.Join("; ", parts)}";
    }

    /// <summary>The schedule's running state a checkpoint holds (reduce_lr_on_plateau's; empty for the others).</summary>
    private static JsonObject ScheduleState(LearningRateSchedule schedule)
    {
        var state = new JsonObject();
        schedule.Plateau?.Save(state);
        return state;
    }

    private long StepSeed(long step) => (long)(PretrainingRng.Derive(_options.Seed, 0x64726F70, step).NextUInt64() >> 1);
}
