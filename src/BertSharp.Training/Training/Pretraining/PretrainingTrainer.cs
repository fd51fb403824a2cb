using System.Diagnostics;
using System.Globalization;
using BertSharp.Data.Pretraining;
using BertSharp.Modeling;
using BertSharp.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Training.Pretraining;

/// <summary>Where the model of a pre-training run comes from.</summary>
/// <param name="Preset">A size preset (tiny, mini, …) for a freshly initialised model; needs <paramref name="VocabPath"/>.</param>
/// <param name="VocabPath">vocab.txt of the fresh model (must be the vocabulary the data was built with).</param>
/// <param name="ModelDirectory">An HF checkpoint directory to continue pre-training from (its vocab.txt is checked).</param>
public sealed record PretrainingModelSource(string? Preset = null, string? VocabPath = null, string? ModelDirectory = null);

/// <summary>
/// BERT pre-training with MLM + NSP (HF <c>BertForPreTraining</c>): AdamW with HF's decay groups, linear warm-up and decay,
/// global-norm clipping, gradient accumulation, held-out evaluation, HF checkpoints with the full trainer state, and exact
/// resume: a run of N steps and a run stopped after k steps then resumed give bitwise-equal losses on the CPU.
/// </summary>
public sealed class PretrainingTrainer
{
    private readonly PretrainingTrainerOptions _options;

    // model_max_length of the model this run continues (a checkpoint or --model), kept when longer than the data's.
    private int? _sourceTrainedLength;

    public PretrainingTrainer(PretrainingTrainerOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
    }

    /// <summary>Called after every optimizer step (and evaluation) with the logged metrics.</summary>
    public Action<PretrainingLogEntry>? OnLog { get; init; }

    /// <summary>
    /// Stop after this many steps of this invocation, leaving a checkpoint there that <c>resume</c> continues (a time-boxed
    /// job, or an interrupted run in tests); null runs to the end.
    /// </summary>
    public long? StopAfter { get; init; }

    /// <summary>
    /// Trains; returns the final model directory (<c>OUTPUT/final</c>), or the checkpoint written where <see cref="StopAfter"/>
    /// stopped the run.
    /// </summary>
    /// <param name="dataDirectory">Output of <c>bert pretrain-data</c>.</param>
    /// <param name="outputDirectory">Receives checkpoint-N/, final/, train_log.jsonl and loss.png.</param>
    /// <param name="source">Fresh preset + vocab, or an existing model; ignored when resuming.</param>
    /// <param name="resume">Continue from the latest checkpoint-N in <paramref name="outputDirectory"/>.</param>
    public string Run(string dataDirectory, string outputDirectory, PretrainingModelSource source, bool resume)
    {
        ArgumentNullException.ThrowIfNull(source);
        TorchRuntime.EnsureLoaded();
        var device = TorchRuntime.ResolveDevice(_options.Device);
        var data = PretrainingDataset.Open(dataDirectory);
        var evalCount = _options.EvalEvery > 0 ? (int)Math.Min(_options.EvalInstances, data.Count / 10) : 0;
        var trainCount = data.Count - evalCount;
        var current = PretrainingTrainerState.FromOptions(_options, trainCount, data.Manifest.VocabSha256);

        string? checkpoint = null;
        if (resume)
        {
            checkpoint = LatestCheckpoint(outputDirectory)
                ?? throw new BertSharpException($"{outputDirectory}: --resume given but there is no checkpoint-N directory to resume from.");
        }
        else if (LatestCheckpoint(outputDirectory) is { } existing)
        {
            throw new BertSharpException($"{outputDirectory}: already holds {Path.GetFileName(existing)}; pass --resume to continue it or choose another --output.");
        }

        var state = current;
        if (checkpoint is not null)
        {
            state = PretrainingTrainerState.Load(Path.Combine(checkpoint, PretrainingTrainerState.FileName));
            state.CheckResumable(current, checkpoint);
            state.TotalSteps = current.TotalSteps;
            state.SaveEvery = current.SaveEvery;
            state.EvalEvery = current.EvalEvery;
        }
        state.DataDirectory = Path.GetFullPath(dataDirectory);

        var sourceDir = checkpoint ?? source.ModelDirectory;
        _sourceTrainedLength = sourceDir is not null && File.Exists(Path.Combine(sourceDir, "tokenizer_config.json"))
            ? Tokenization.BertTokenizer.FromDirectory(sourceDir).ModelMaxLength
            : null;
        var (model, vocabPath) = checkpoint is not null
            ? (BertPretrained.Load<BertForPreTraining>(checkpoint), Path.Combine(checkpoint, "vocab.txt"))
            : CreateModel(source, data);
        try
        {
            if (!File.Exists(vocabPath))
            {
                throw new BertSharpException($"{vocabPath}: not found; the model directory needs the vocab.txt its data was built with.");
            }
            data.CheckVocabulary(vocabPath, model.Config.VocabSize);
            if (data.Manifest.MaxSeqLength > model.Config.MaxPositionEmbeddings)
            {
                throw new BertSharpException($"{dataDirectory}: max_seq_length {data.Manifest.MaxSeqLength} exceeds the model's max_position_embeddings {model.Config.MaxPositionEmbeddings}.");
            }
            model.to(device);
            model.train();
            var names = OptimizerParameterNames(model);
            using var optimizer = AdamWFactory.Create(model, new AdamWOptions(_options.LearningRate, 0.9, 0.999, _options.Eps, _options.WeightDecay));
            if (checkpoint is not null)
            {
                PretrainingTrainerState.LoadOptimizer(Path.Combine(checkpoint, PretrainingTrainerState.OptimizerFileName), optimizer, names);
            }
            Directory.CreateDirectory(outputDirectory);
            var logPath = Path.Combine(outputDirectory, PretrainingLog.FileName);
            var history = checkpoint is null ? [] : PretrainingLog.Read(logPath).Where(e => e.Step <= state.GlobalStep).ToList();
            PretrainingLog.Write(logPath, history);
            var evalSet = evalCount > 0 ? data.Read(trainCount).Take(evalCount).ToList() : [];
            var masker = new MaskedLmMasker(new MaskingVocabulary(File.ReadAllLines(vocabPath)), data.Manifest.Options());

            TrainLoop(model, optimizer, names, data, trainCount, evalSet, masker, state, device, vocabPath, outputDirectory, history, logPath);
            var final = Path.Combine(outputDirectory, "final");
            if (state.GlobalStep >= _options.Steps)
            {
                BertPretrained.Save(model, final, new SaveOptions(WriteExtraFiles: dir => WriteTokenizerFiles(dir, vocabPath, data)));
                return final;
            }
            return LatestCheckpoint(outputDirectory) ?? final;
        }
        finally
        {
            model.Dispose();
        }
    }

    private void TrainLoop(BertForPreTraining model, optim.Optimizer optimizer, IReadOnlyList<string> names, PretrainingDataset data,
        long trainCount, List<PretrainingInstance> evalSet, MaskedLmMasker masker, PretrainingTrainerState state, Device device,
        string vocabPath, string outputDirectory, List<PretrainingLogEntry> history, string logPath)
    {
        var schedule = new LinearWarmupSchedule(_options.LearningRate, _options.WarmupSteps, _options.Steps);
        var parameters = model.parameters().ToList();
        var cursor = new InstanceCursor(data, trainCount, state.DataPosition);
        var padId = data.Manifest.PadId;
        var perStep = _options.BatchSize * _options.GradAccum;
        var clock = Stopwatch.StartNew();
        long stepsThisRun = 0;
        using var log = new StreamWriter(logPath, append: true);
        while (state.GlobalStep < _options.Steps && (StopAfter is null || stepsThisRun < StopAfter))
        {
            var step = state.GlobalStep + 1;
            var t0 = clock.Elapsed.TotalSeconds;
            double loss = 0, mlmLoss = 0, nspLoss = 0, mlmCorrect = 0, mlmCount = 0, nspCorrect = 0, gradNorm;
            long tokens = 0;
            using (var scope = NewDisposeScope())
            {
                // Dropout draws from torch's global generator; seeding it per step makes step k the same in any run.
                using var generator = torch.random.manual_seed(StepSeed(step));
                schedule.Apply(optimizer, step - 1);
                optimizer.zero_grad();
                for (var micro = 0; micro < _options.GradAccum; micro++)
                {
                    var batchInstances = new List<PretrainingInstance>(_options.BatchSize);
                    for (var i = 0; i < _options.BatchSize; i++)
                    {
                        var (position, x) = cursor.Next();
                        batchInstances.Add(_options.DynamicMasking ? masker.Remask(x, PretrainingRng.Derive(_options.Seed, 0x6D61736B, position)) : x);
                    }
                    var batch = PretrainingBatch.Collate(batchInstances, padId, device);
                    tokens += batch.Tokens;
                    var o = model.Forward(new BertInput(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds), batch.Labels, batch.NextSentenceLabels,
                        logitsAtLabelledPositionsOnly: true);
                    (o.Loss! / _options.GradAccum).backward();
                    using var noGrad = torch.no_grad();
                    var m = Metrics(o, batch);
                    loss += m[0] / _options.GradAccum;
                    mlmLoss += m[1] / _options.GradAccum;
                    nspLoss += m[2] / _options.GradAccum;
                    mlmCorrect += m[3];
                    mlmCount += m[4];
                    nspCorrect += m[5];
                }
                gradNorm = _options.MaxGradNorm > 0 ? GradientClipping.ClipByGlobalNorm(parameters, _options.MaxGradNorm) : 0;
                optimizer.step();
            }
            state.GlobalStep = step;
            state.SchedulerStep = step;
            state.DataPosition += perStep;
            stepsThisRun++;
            var elapsed = clock.Elapsed.TotalSeconds;
            var entry = new PretrainingLogEntry
            {
                Step = step,
                Loss = loss,
                MaskedLmLoss = mlmLoss,
                MaskedLmAccuracy = mlmCount == 0 ? 0 : mlmCorrect / mlmCount,
                NextSentenceLoss = nspLoss,
                NextSentenceAccuracy = nspCorrect / perStep,
                LearningRate = schedule.LearningRate(step - 1),
                GradNorm = gradNorm,
                TokensPerSecond = tokens / Math.Max(1e-9, elapsed - t0),
                ElapsedSeconds = elapsed,
                DataPosition = state.DataPosition,
            };
            Append(log, history, entry);
            if (_options.EvalEvery > 0 && (step % _options.EvalEvery == 0 || step == _options.Steps) && evalSet.Count > 0)
            {
                Append(log, history, Evaluate(model, evalSet, padId, device, step));
            }
            if ((_options.SaveEvery > 0 && step % _options.SaveEvery == 0) || step == _options.Steps)
            {
                log.Flush();
                SaveCheckpoint(model, optimizer, names, state, data, vocabPath, outputDirectory);
                PretrainingLog.Plot(Path.Combine(outputDirectory, PretrainingLog.PlotName), history);
            }
        }
        log.Flush();
        if (stepsThisRun > 0 && state.GlobalStep < _options.Steps)
        {
            // Stopped early (StopAfter): keep the work with a checkpoint unless the last step just wrote one.
            if (_options.SaveEvery <= 0 || state.GlobalStep % _options.SaveEvery != 0)
            {
                SaveCheckpoint(model, optimizer, names, state, data, vocabPath, outputDirectory);
            }
            PretrainingLog.Plot(Path.Combine(outputDirectory, PretrainingLog.PlotName), history);
        }
    }

    private void Append(StreamWriter log, List<PretrainingLogEntry> history, PretrainingLogEntry entry)
    {
        history.Add(entry);
        log.WriteLine(PretrainingLog.ToLine(entry));
        log.Flush();
        OnLog?.Invoke(entry);
    }

    /// <summary>Loss, MLM loss, NSP loss, MLM correct, MLM count, NSP correct of one forward pass (one host sync).</summary>
    private static float[] Metrics(BertForPreTrainingOutput o, PretrainingBatch batch)
    {
        var maskedPositions = batch.Labels.ne(Losses.IgnoreIndex);
        // The logits cover only the labelled positions, in row-major order (masked_select's order too).
        var mlmCorrect = o.PredictionLogits.argmax(-1).eq(batch.Labels.masked_select(maskedPositions)).sum();
        var nspCorrect = o.SeqRelationshipLogits.argmax(-1).eq(batch.NextSentenceLabels).sum();
        using var all = stack([o.Loss!.detach(), o.MlmLoss!.detach(), o.NspLoss!.detach(),
            mlmCorrect.to_type(ScalarType.Float32), maskedPositions.sum().to_type(ScalarType.Float32), nspCorrect.to_type(ScalarType.Float32)]).cpu();
        return all.data<float>().ToArray();
    }

    private PretrainingLogEntry Evaluate(BertForPreTraining model, List<PretrainingInstance> evalSet, int padId, Device device, long step)
    {
        model.eval();
        double mlmLoss = 0, nspLoss = 0, mlmCorrect = 0, mlmCount = 0, nspCorrect = 0;
        try
        {
            using var noGrad = torch.no_grad();
            foreach (var chunk in evalSet.Chunk(_options.BatchSize))
            {
                using var scope = NewDisposeScope();
                var batch = PretrainingBatch.Collate(chunk, padId, device);
                var o = model.Forward(new BertInput(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds), batch.Labels, batch.NextSentenceLabels,
                        logitsAtLabelledPositionsOnly: true);
                var m = Metrics(o, batch);
                // Token-weighted MLM loss and instance-weighted NSP loss over the whole held-out set.
                mlmLoss += m[1] * m[4];
                nspLoss += m[2] * chunk.Length;
                mlmCorrect += m[3];
                mlmCount += m[4];
                nspCorrect += m[5];
            }
        }
        finally
        {
            model.train();
        }
        var mlm = mlmCount == 0 ? 0 : mlmLoss / mlmCount;
        var nsp = nspLoss / evalSet.Count;
        return new PretrainingLogEntry
        {
            Kind = "eval",
            Step = step,
            Loss = mlm + nsp,
            MaskedLmLoss = mlm,
            MaskedLmAccuracy = mlmCount == 0 ? 0 : mlmCorrect / mlmCount,
            NextSentenceLoss = nsp,
            NextSentenceAccuracy = nspCorrect / evalSet.Count,
        };
    }

    private void SaveCheckpoint(BertForPreTraining model, optim.Optimizer optimizer, IReadOnlyList<string> names,
        PretrainingTrainerState state, PretrainingDataset data, string vocabPath, string outputDirectory)
    {
        var dir = Path.Combine(outputDirectory, "checkpoint-" + state.GlobalStep.ToString(CultureInfo.InvariantCulture));
        BertPretrained.Save(model, dir, new SaveOptions(WriteExtraFiles: tmp =>
        {
            WriteTokenizerFiles(tmp, vocabPath, data);
            PretrainingTrainerState.SaveOptimizer(Path.Combine(tmp, PretrainingTrainerState.OptimizerFileName), optimizer, names);
            state.Save(Path.Combine(tmp, PretrainingTrainerState.FileName));
        }));
    }

    private void WriteTokenizerFiles(string dir, string vocabPath, PretrainingDataset data)
    {
        File.Copy(vocabPath, Path.Combine(dir, "vocab.txt"), overwrite: true);
        var lower = data.Manifest.Lowercase ? "true" : "false";
        // model_max_length is the trained length (ModelLength): a model continued on shorter data keeps its longer positions.
        var trained = Math.Max(data.Manifest.MaxSeqLength, _sourceTrainedLength ?? 0);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"),
            $"{{\n  \"tokenizer_class\": \"BertTokenizer\",\n  \"do_lower_case\": {lower},\n  \"model_max_length\": {trained}\n}}\n");
    }


    private (BertForPreTraining Model, string VocabPath) CreateModel(PretrainingModelSource source, PretrainingDataset data)
    {
        if (source.ModelDirectory is { } dir)
        {
            if (!Directory.Exists(dir))
            {
                throw new BertSharpException($"{dir}: model directory not found.");
            }
            return (BertPretrained.Load<BertForPreTraining>(dir), Path.Combine(dir, "vocab.txt"));
        }
        if (source.Preset is null || source.VocabPath is null)
        {
            throw new BertSharpException("pretrain needs --config PRESET with --vocab PATH, or --model DIR.");
        }
        if (!File.Exists(source.VocabPath))
        {
            throw new BertSharpException($"{source.VocabPath}: vocabulary file not found.");
        }
        data.CheckVocabulary(source.VocabPath);
        var config = BertConfig.FromPresetOrFile(source.Preset);
        config.VocabSize = data.Manifest.VocabSize;
        config.PadTokenId = data.Manifest.PadId;
        config.MaxPositionEmbeddings = Math.Max(config.MaxPositionEmbeddings, data.Manifest.MaxSeqLength);
        // The returned handle only wraps the global generator, which keeps its new seed.
        torch.random.manual_seed(_options.Seed).Dispose();
        return (BertPretrained.Create<BertForPreTraining>(config), source.VocabPath);
    }

    // Names in the optimizer's state order: AdamWFactory puts the decay group first, then the no-decay group.
    private static List<string> OptimizerParameterNames(BertForPreTraining model)
    {
        var (decay, noDecay) = AdamWFactory.Split(model.NamedParameters(), DecayRule.HuggingFace);
        return [.. decay.Select(p => p.Name), .. noDecay.Select(p => p.Name)];
    }

    private long StepSeed(long step) => (long)(PretrainingRng.Derive(_options.Seed, 0x64726F70, step).NextUInt64() >> 1);

    /// <summary>The checkpoint-N directory with the largest N that has a trainer state, or null.</summary>
    public static string? LatestCheckpoint(string outputDirectory)
    {
        if (!Directory.Exists(outputDirectory))
        {
            return null;
        }
        return Directory.GetDirectories(outputDirectory, "checkpoint-*")
            .Select(d => (Dir: d, Ok: long.TryParse(Path.GetFileName(d)["checkpoint-".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var n), N: n))
            .Where(c => c.Ok && File.Exists(Path.Combine(c.Dir, PretrainingTrainerState.FileName)))
            .OrderByDescending(c => c.N)
            .Select(c => c.Dir)
            .FirstOrDefault();
    }

    /// <summary>Sequential reader over the first <c>trainCount</c> instances that wraps around (epochs).</summary>
    private sealed class InstanceCursor(PretrainingDataset data, long trainCount, long position)
    {
        private IEnumerator<PretrainingInstance>? _it;
        private long _position = position;

        public (long Position, PretrainingInstance Instance) Next()
        {
            var index = _position % trainCount;
            if (_it is null || index == 0)
            {
                _it?.Dispose();
                _it = data.Read(index).GetEnumerator();
            }
            _it.MoveNext();
            return (_position++, _it.Current);
        }
    }
}
