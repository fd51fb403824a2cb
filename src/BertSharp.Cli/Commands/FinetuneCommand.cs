using System.CommandLine;
using System.Runtime.InteropServices;
using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Tokenization;
using BertSharp.Training;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert finetune</c>: fine-tunes a sequence classifier (the BERT tutorials' pipeline) and saves an HF checkpoint directory.</summary>
internal static class FinetuneCommand
{
    public static Command Create()
    {
        var data = new DataOptions();
        var dataPath = new Option<string>("--data") { Description = "Training data file (.gz is decompressed).", Required = true };
        var evalData = new Option<string?>("--eval-data") { Description = "Validation data file; without it --val-size of the training data is held out." };
        var output = new Option<string>("--output")
        {
            Description = "Output directory: checkpoint-N/ during the run, an HF checkpoint directory at the end (replaced atomically). " +
                          "A non-empty directory bert did not write is refused (see --overwrite).",
            Required = true,
        };
        var model = new Option<string?>("--model") { Description = "HF checkpoint directory to fine-tune." };
        var config = new Option<string?>("--config") { Description = "Train from scratch: a size preset (tiny, mini, small, medium, base, large) or a config.json file (needs --vocab; vocab_size comes from it)." };
        var vocab = new Option<string?>("--vocab") { Description = "vocab.txt for --config." };
        var lowercase = CommonOptions.Lowercase("--config");
        var epochs = new Option<int?>("--epochs") { Description = "Epochs (default 4; 2 for imdb)." };
        var batch = new Option<int?>("--batch-size") { Description = "Examples per batch (default 32; 16 for imdb), over all ranks of a data-parallel run (each takes its share)." };
        var lr = new Option<double>("--lr") { Description = "Peak learning rate of AdamW.", DefaultValueFactory = _ => FineTuneOptions.DefaultLearningRate };
        var eps = new Option<double>("--eps") { Description = "AdamW epsilon.", DefaultValueFactory = _ => FineTuneOptions.DefaultEps };
        var wd = new Option<double>("--weight-decay")
        {
            Description = "AdamW weight decay (not on biases and LayerNorm weights).", DefaultValueFactory = _ => FineTuneOptions.DefaultWeightDecay,
        };
        var warmupRatio = new Option<double?>("--warmup-ratio") { Description = "Linear warmup over this fraction of the steps (default 0)." };
        var warmupSteps = new Option<int?>("--warmup-steps") { Description = "Linear warmup over this many optimizer steps." };
        var maxLength = CommonOptions.MaxLength("Fine-tuning defaults to the task's length (128; 512 for imdb) when the model's trained length is not shorter.");
        var truncationSide = CommonOptions.TruncationSide("Default head.");
        var headTokens = CommonOptions.HeadTokens();
        var pooling = new Option<string?>("--pooling")
        {
            Description = "What the classifier reads: cls (the [CLS] token, as HF's BERT) or mean (the mean over the tokens, as sentence-transformers models such as all-MiniLM-L6-v2 were trained; saved as classifier_pooling in config.json). Default: the model's classifier_pooling, else cls.",
        };
        pooling.AcceptOnlyFromAmong("cls", "mean");
        var gradAccum = new Option<int>("--grad-accum") { Description = "Batches accumulated per optimizer step.", DefaultValueFactory = _ => 1 };
        var clip = new Option<double>("--max-grad-norm")
        {
            Description = "Clip the global gradient norm to this (0 disables).", DefaultValueFactory = _ => FineTuneOptions.DefaultMaxGradNorm,
        };
        var seed = new Option<ulong>("--seed")
        {
            Description = "Seed for initialisation, dropout and shuffling; the same seed gives the same losses on the same CPU.",
            DefaultValueFactory = _ => FineTuneOptions.DefaultSeed,
        };
        var maxTrain = new Option<int?>("--max-train-examples") { Description = "Use only the first N training examples." };
        var maxEval = new Option<int?>("--max-eval-examples") { Description = "Use only the first N validation examples." };
        var saveBest = new Option<string?>("--save-best") { Description = "Keep the weights of the epoch with the best validation METRIC (accuracy, f1, mcc, macro_f1, pearson, spearman, loss, ...)." };
        var valSize = new Option<double>("--val-size")
        {
            Description = "Held-out fraction (or count) of the training data for validation when there is no --eval-data.",
            DefaultValueFactory = _ => FineTuneOptions.DefaultValSize,
        };
        var split = new Option<string?>("--split")
        {
            Description = "How --val-size is held out: stratified (default for classification: a seeded random sample, each label in its share), random (default for regression) or tail (the end of the file).",
        };
        split.AcceptOnlyFromAmong("stratified", "random", "tail");
        var shuffle = new Option<bool>("--shuffle") { Description = "Old spelling of --split random.", Hidden = true };
        var noBucket = new Option<bool>("--no-bucketing") { Description = "Do not group examples of similar length into batches." };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var saveSteps = new Option<int>("--save-steps") { Description = "Also write a checkpoint every N optimizer steps (one is always written at each epoch end)." };
        var resume = new Option<bool>("--resume") { Description = "Continue the unfinished run in --output from its latest checkpoint (same settings); the result is bitwise the uninterrupted run's." };
        var stopAfter = new Option<int?>("--stop-after") { Description = "Stop this invocation after N optimizer steps, writing a checkpoint there (--resume continues it)." };
        var exampleDropout = new Option<bool>("--example-dropout")
        {
            Description = "Key dropout masks by (seed, step, example) so that any number of ranks gives the same run (always on with several ranks; pass it to a single-process run that will be resumed on several).",
        };
        var overwrite = CommonOptions.Overwrite();
        var freezeEncoder = new Option<bool>("--freeze-encoder") { Description = "Train only the task head: BERT's embeddings, layers and pooler stay as loaded (every task)." };
        var freezeLayers = new Option<int?>("--freeze-layers") { Description = "Keep the embeddings and the first N encoder layers as loaded; the rest trains (every task)." };
        var head = new HeadTaskOptions();

        var cmd = new Command("finetune", "Fine-tune BERT for text (or text-pair) classification or regression, token classification (--task ner), extractive QA (--task squad) or multiple choice (--task swag) and save an HF checkpoint directory.");
        foreach (var o in data.All.Concat([dataPath, evalData, output, model, config, vocab, lowercase, epochs, batch, lr, eps, wd, warmupRatio, warmupSteps,
                     maxLength, truncationSide, headTokens, pooling, gradAccum, clip, seed, maxTrain, maxEval, saveBest, valSize, split, shuffle, noBucket,
                     device, threads, saveSteps, resume, stopAfter, overwrite, exampleDropout, freezeEncoder, freezeLayers, .. head.ForFinetune]))
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            if (HeadFineTuneOptions.Parse(p.GetValue(data.Task)) is { } headTask)
            {
                foreach (var o in new Option[] { data.TextColumn, data.TextPairColumn, data.LabelColumn, data.Regression, saveBest, valSize, split, shuffle, saveSteps, resume, stopAfter, truncationSide, headTokens, pooling })
                {
                    if (CommonOptions.Given(p, o))
                    {
                        throw new BertSharpException($"{o.Name}: not available for --task {p.GetValue(data.Task)} (sequence classification only).");
                    }
                }
                var headOptions = new HeadFineTuneOptions
                {
                    Task = headTask,
                    DataPath = p.GetValue(dataPath)!,
                    EvalDataPath = p.GetValue(evalData),
                    OutputDir = p.GetValue(output)!,
                    ModelDir = p.GetValue(model),
                    ConfigPreset = p.GetValue(config),
                    VocabPath = p.GetValue(vocab),
                    Lowercase = p.GetValue(lowercase),
                    Epochs = p.GetValue(epochs),
                    BatchSize = p.GetValue(batch),
                    LearningRate = p.GetValue(lr),
                    Eps = p.GetValue(eps),
                    WeightDecay = p.GetValue(wd),
                    WarmupRatio = p.GetValue(warmupRatio),
                    WarmupSteps = p.GetValue(warmupSteps),
                    MaxLength = p.GetValue(maxLength),
                    GradAccum = p.GetValue(gradAccum),
                    MaxGradNorm = p.GetValue(clip),
                    Seed = p.GetValue(seed),
                    MaxTrainExamples = p.GetValue(maxTrain),
                    MaxEvalExamples = p.GetValue(maxEval),
                    Device = p.GetValue(device)!,
                    Overwrite = p.GetValue(overwrite),
                    FreezeEncoder = p.GetValue(freezeEncoder),
                    FreezeLayers = p.GetValue(freezeLayers),
                    LabelAllTokens = p.GetValue(head.LabelAllTokens),
                    Labels = head.LabelList(p),
                    DocStride = p.GetValue(head.DocStride),
                    MaxAnswerLength = p.GetValue(head.MaxAnswerLength),
                    NullScoreDiffThreshold = p.GetValue(head.NullScoreDiffThreshold),
                };
                headOptions.Validate();
                CommonOptions.ApplyThreads(p, threads);
                using var headCancel = new CancellationTokenSource();
                using var headSigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; headCancel.Cancel(); });
                using var headSigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; headCancel.Cancel(); });
                var headView = new FinetuneProgressView(headTask == HeadTask.MultipleChoice ? "accuracy" : "f1", regression: false,
                    metricColumn: headTask switch { HeadTask.TokenClassification => "val f1", HeadTask.QuestionAnswering => "val f1", _ => "val accuracy" });
                var headResult = headView.Run(progress => HeadFineTuner.Run(headOptions, progress, headCancel.Token));
                HeadTaskCli.Report(headOptions, headResult);
                return 0;
            }
            var task = data.Resolve(p);
            head.RefuseFor(p, task.Name, head.ForFinetune);
            var truncation = CommonOptions.Truncation(p, truncationSide, headTokens);
            var options = new FineTuneOptions
            {
                Task = task,
                DataPath = p.GetValue(dataPath)!,
                EvalDataPath = p.GetValue(evalData),
                OutputDir = p.GetValue(output)!,
                ModelDir = p.GetValue(model),
                ConfigPreset = p.GetValue(config),
                VocabPath = p.GetValue(vocab),
                Lowercase = p.GetValue(lowercase),
                Epochs = p.GetValue(epochs),
                BatchSize = p.GetValue(batch),
                LearningRate = p.GetValue(lr),
                Eps = p.GetValue(eps),
                WeightDecay = p.GetValue(wd),
                WarmupRatio = p.GetValue(warmupRatio),
                WarmupSteps = p.GetValue(warmupSteps),
                MaxLength = p.GetValue(maxLength),
                TruncationSide = truncation?.Side ?? TruncationSide.Head,
                HeadTokens = truncation?.HeadTokens,
                Pooling = p.GetValue(pooling),
                GradAccum = p.GetValue(gradAccum),
                MaxGradNorm = p.GetValue(clip),
                Seed = p.GetValue(seed),
                MaxTrainExamples = p.GetValue(maxTrain),
                MaxEvalExamples = p.GetValue(maxEval),
                SaveBest = p.GetValue(saveBest),
                ValSize = p.GetValue(valSize),
                Split = p.GetValue(split) is { } how ? Enum.Parse<SplitMethod>(how, ignoreCase: true) : p.GetValue(shuffle) ? SplitMethod.Random : null,
                BucketByLength = !p.GetValue(noBucket),
                Device = p.GetValue(device)!,
                SaveSteps = p.GetValue(saveSteps),
                Resume = p.GetValue(resume),
                StopAfter = p.GetValue(stopAfter),
                Overwrite = p.GetValue(overwrite),
                FreezeEncoder = p.GetValue(freezeEncoder),
                FreezeLayers = p.GetValue(freezeLayers),
                ExampleDropout = p.GetValue(exampleDropout),
            };
            options.Validate();
            CommonOptions.ApplyThreads(p, threads);
            var comm = DataParallelRank.Join();
            // Ctrl-C / SIGTERM stop before the next step; the complete checkpoints stay and --resume continues from the last one.
            using var cancel = new CancellationTokenSource();
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, c => { c.Cancel = true; cancel.Cancel(); });
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, c => { c.Cancel = true; cancel.Cancel(); });
            var view = new FinetuneProgressView(task.PrimaryMetric, task.Regression);
            var result = view.Run(progress => FineTuner.Run(options, progress, cancel.Token, comm));
            var summary = result.FinalValidation is { } v
                ? " (validation: " + string.Join(", ", new[] { "accuracy", "f1", "mcc", "pearson", "spearman", "loss" }
                    .Where(v.Values.ContainsKey).Select(k => $"{k} {MetricsReport.Format(v.Values[k])}")) + ")"
                : "";
            if (!result.Completed)
            {
                Console.Out.WriteLine($"stopped after step {result.StepLosses.Count}; checkpoint {result.Checkpoint}");
                Console.Out.WriteLine("next: run the same command with --resume to continue");
                return 0;
            }
            Console.Out.WriteLine($"saved {result.OutputDir}{summary}");
            if (view.CollapseWarning(result.FinalValidation, result.StepLosses.Count, "final model") is { } collapse)
            {
                Console.Error.WriteLine("warning: " + collapse);
            }
            var predictArgs = task.TextPairColumn is null ? "--text \"...\"" : "--text \"...\" --text-pair \"...\"";
            Console.Out.WriteLine(
                $"next: bert evaluate --model {Quote(options.OutputDir)} --task {task.Name} --data FILE  |  bert predict --model {Quote(options.OutputDir)} {predictArgs}");
            return 0;
        });
        return cmd;
    }

    private static string Quote(string s) => s.Contains(' ', StringComparison.Ordinal) ? "\"" + s + "\"" : s;
}
