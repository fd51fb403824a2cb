using System.CommandLine;
using BertSharp.Data;
using BertSharp.Distributed;
using BertSharp.Evaluation;
using BertSharp.Tokenization;
using BertSharp.Training;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert finetune</c>: fine-tunes a sequence classifier (the BERT tutorials' pipeline) and saves an HF checkpoint directory.</summary>
internal static class FinetuneCommand
{
    public static Command Create()
    {
        var data = new DataOptions("finetune");
        var run = new TrainingOptionSet();
        var truncationSide = CommonOptions.TruncationSide("Default head.");
        var headTokens = CommonOptions.HeadTokens();
        var pooling = new Option<string?>("--pooling")
        {
            Description = "What the classifier reads: cls (the [CLS] token, as HF's BERT) or mean (the mean over the tokens, as sentence-transformers models such as all-MiniLM-L6-v2 were trained; saved as classifier_pooling in config.json). Default: the model's classifier_pooling, else cls.",
        };
        pooling.AcceptOnlyFromAmong("cls", "mean");
        // The metrics from the lists the library checks --save-best against, so that the help names every one it takes.
        var saveBest = new Option<string?>("--save-best")
        {
            // The name the description and docs/finetune.md give the value; the default was the option's own name.
            HelpName = "METRIC",
            Description = $"Keep the weights of the epoch with the best validation METRIC: for classification one of {string.Join(", ", FineTuner.ClassificationMetricNames)}; "
                + $"for regression one of {string.Join(", ", FineTuner.RegressionMetricNames)}; "
                + $"for ner one of {string.Join(", ", HeadFineTuner.TokenClassificationMetricNames)}; "
                + $"for squad one of {string.Join(", ", HeadFineTuner.QuestionAnsweringMetricNames)}, with SQuAD v2.0 validation data also {string.Join(", ", HeadFineTuner.SquadV2MetricNames)} "
                + "(HasAns_ when some question is answerable, NoAns_ when some is not); "
                + $"for swag one of {string.Join(", ", HeadFineTuner.MultipleChoiceMetricNames)}. Lower is better for loss and mse, higher for the others.",
        };
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
        var noBucket = new Option<bool>("--no-bucketing")
        {
            Description = "Do not group examples of similar length into batches: train on plain shuffled batches and validate in file order, as HF's Trainer does without group_by_length, so that the validation loss is HF's eval_loss (ner's differs otherwise). Slower: more padding.",
        };
        var exampleDropout = TrainingOptionSet.ExampleDropout();
        var head = new HeadTaskOptions();
        Option[] classificationOnly = [data.TextColumn, data.TextPairColumn, data.LabelColumn, data.Regression, truncationSide, headTokens, pooling, valSize,
            split, shuffle];

        var cmd = new Command("finetune", "Fine-tune BERT for text (or text-pair) classification or regression, token classification (--task ner), extractive QA (--task squad) or multiple choice (--task swag) and save an HF checkpoint directory.");
        foreach (var o in data.All.Concat(run.All).Concat([truncationSide, headTokens, pooling, saveBest, valSize, split, shuffle, noBucket, exampleDropout, .. head.ForFinetune]))
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            var training = run.Bind(p);
            if (HeadFineTuneOptions.Parse(p.GetValue(data.Task)) is { } headTask)
            {
                HeadTaskOptions.RefuseClassificationOnly(p, $"--task {p.GetValue(data.Task)}", classificationOnly);
                HeadTaskOptions.RefuseOtherHeads(p, headTask, head.ForFinetune);
                var headOptions = new HeadFineTuneOptions
                {
                    Task = headTask,
                    Training = training,
                    LabelAllTokens = HeadTaskOptions.IfGiven(p, head.LabelAllTokens),
                    NerScheme = head.StrictScheme(p, headTask),
                    Labels = head.LabelList(p),
                    DocStride = HeadTaskOptions.IfGiven(p, head.DocStride),
                    MaxAnswerLength = HeadTaskOptions.IfGiven(p, head.MaxAnswerLength),
                    NullScoreDiffThreshold = HeadTaskOptions.IfGiven(p, head.NullScoreDiffThreshold),
                    SaveBest = p.GetValue(saveBest),
                    ExampleDropout = p.GetValue(exampleDropout),
                    BucketByLength = !p.GetValue(noBucket),
                };
                headOptions.Validate();
                CommonOptions.ApplyThreads(p, run.Threads);
                var headComm = DataParallelRank.Join();
                var headView = new FinetuneProgressView(headTask) { AsTyped = text => CliInput.SaidAsTyped(p, text) };
                var headResult = StopSignals.Run(cancel => headView.Run(progress => HeadFineTuner.Run(headOptions, progress, cancel, headComm)));
                if (!headResult.Completed)
                {
                    return Stopped(p, headResult.StepLosses.Count, headResult.Checkpoint);
                }
                HeadTaskCli.Report(headOptions, headResult, headView.FinalWarning(headResult.FinalValidation, headResult.StepLosses.Count));
                return 0;
            }
            var task = data.Resolve(p);
            HeadTaskOptions.RefuseFor(p, task.Name, head.ForFinetune);
            var truncation = CommonOptions.Truncation(p, truncationSide, headTokens);
            var options = new FineTuneOptions
            {
                Task = task,
                Training = training,
                TruncationSide = truncation?.Side ?? TruncationSide.Head,
                HeadTokens = truncation?.HeadTokens,
                Pooling = p.GetValue(pooling),
                SaveBest = p.GetValue(saveBest),
                ValSize = p.GetValue(valSize),
                Split = p.GetValue(split) is { } how ? Enum.Parse<SplitMethod>(how, ignoreCase: true) : p.GetValue(shuffle) ? SplitMethod.Random : null,
                BucketByLength = !p.GetValue(noBucket),
                ExampleDropout = p.GetValue(exampleDropout),
            };
            options.Validate();
            CommonOptions.ApplyThreads(p, run.Threads);
            var comm = DataParallelRank.Join();
            var view = new FinetuneProgressView(task.PrimaryMetric, task.Regression) { AsTyped = text => CliInput.SaidAsTyped(p, text) };
            var result = StopSignals.Run(cancel => view.Run(progress => FineTuner.Run(options, progress, cancel, comm)));
            var summary = FinetuneSummary.Of(result.FinalValidation, ["accuracy", "f1", "mcc", "pearson", "spearman", "loss"], options.SaveBest, result.Epochs,
                options.EffectiveEpochs, training.EarlyStoppingPatience);
            if (!result.Completed)
            {
                return Stopped(p, result.StepLosses.Count, result.Checkpoint);
            }
            // As typed, as the next: commands name it: the result's is the full path it resolved to.
            Console.Out.WriteLine($"saved {CliErrors.Shown(training.OutputDir)}{summary}");
            if (view.FinalWarning(result.FinalValidation, result.StepLosses.Count) is { } warning)
            {
                // Not through CliErrors.Warn: the label names are the data's, not fields to rename as flags.
                view.Warn(warning);
            }
            var predictArgs = task.TextPairColumn is null ? "--text \"...\"" : "--text \"...\" --text-pair \"...\"";
            var outputDir = CliErrors.ShownArgument(training.OutputDir);
            var bert = CliErrors.NextProgram;
            // FILE, not --eval-data's path: the line above already gives the validation scores, and with --save-best the
            // model was chosen on that file, so its score there says less than one on data the run never saw.
            Console.Out.WriteLine($"next: {bert} evaluate --model {outputDir} --task {task.Name} --data FILE  |  {bert} predict --model {outputDir} {predictArgs}");
            return 0;
        });
        return cmd;
    }

    private static int Stopped(ParseResult parse, int steps, string? checkpoint)
    {
        // Inside --output as typed (runs/x/checkpoint-1): the result names the full path it resolved.
        Console.Out.WriteLine($"stopped after step {steps}; checkpoint {CliErrors.Shown(CliInput.SaidAsTyped(parse, checkpoint ?? ""))}");
        Console.Out.WriteLine("next: run the same command with --resume to continue");
        return 0;
    }
}
