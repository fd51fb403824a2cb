using System.CommandLine;
using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Training;

namespace BertSharp.Cli.Commands;

/// <summary>The options that choose a task and, for csv/tsv/jsonl, its columns (shared by finetune, evaluate and predict).</summary>
internal sealed class DataOptions(string command)
{
    public Option<string?> Task { get; } = TaskOption(
        "Task: imdb, cola, sst2, mrpc (their file formats), or csv, tsv, jsonl with --text-column/--label-column; ner (CoNLL columns or JSON lines with tokens/ner_tags), squad (SQuAD v1.1/v2.0 JSON, or HF datasets' flat rows: id, context, question, answers), swag (CSV or JSON lines with sent1, sent2, ending0…, label). evaluate/predict: default the task the model was fine-tuned on.");

    public Option<string?> TextColumn { get; } = TextColumnOption<string?>("csv/tsv/jsonl: column (field) with the text (default: text).");

    /// <summary><c>--task</c>: the task whose format and labels a command reads its data in (<paramref name="description"/>: which tasks, and the default).</summary>
    public static Option<string?> TaskOption(string description) => new("--task") { Description = description };

    /// <summary><c>--text-column</c>: the column (field) of csv/tsv/jsonl data that holds the text; <paramref name="fallback"/> when the command has its own default.</summary>
    public static Option<T> TextColumnOption<T>(string description, Func<T>? fallback = null)
    {
        var option = new Option<T>("--text-column") { Description = description };
        if (fallback is not null)
        {
            option.DefaultValueFactory = _ => fallback();
        }
        return option;
    }

    public Option<string?> TextPairColumn { get; } = new("--text-pair-column") { Description = "csv/tsv/jsonl: column with the second text of a pair." };

    public Option<string?> LabelColumn { get; } = new("--label-column") { Description = "csv/tsv/jsonl: column with the label (default: label)." };

    public Option<bool> Regression { get; } = new("--regression") { Description = "csv/tsv/jsonl: the label is a number to regress (MSE loss, Pearson/Spearman)." };

    public IEnumerable<Option> All => [Task, TextColumn, TextPairColumn, LabelColumn, Regression];

    public TaskSpec Resolve(ParseResult p)
    {
        var name = p.GetValue(Task) ?? throw new BertSharpException($"--task: required; one of {string.Join(", ", TaskSpec.Names)}.");
        RefuseHeadTask(name, command);
        return TaskSpec.Get(name, p.GetValue(TextColumn), p.GetValue(TextPairColumn), p.GetValue(LabelColumn), p.GetValue(Regression));
    }

    /// <summary>
    /// Refuses a head task's name (ner, squad, swag) given as --task to <paramref name="command"/>, which reads text-classification
    /// data only: TaskSpec.Get called it "--task ner: unknown task", a task finetune and evaluate take. Says what reads its files.
    /// </summary>
    public static void RefuseHeadTask(string name, string command)
    {
        if (HeadFineTuneOptions.Parse(name) is not { } head)
        {
            return;
        }
        var task = HeadFineTuneOptions.Names(head)[0];
        var instead = command switch
        {
            "data stats" => $"no command gives statistics of {task} files yet ('bert finetune --task {task}' reads and checks one)",
            "embed" or "search" => $"without --task the file is read by its extension (.txt, or .csv/.tsv/.jsonl with --text-column)",
            _ => head switch
            {
                HeadTask.TokenClassification => "a token classifier tags text with 'bert ner', and ner files are scored with 'bert evaluate --task ner'",
                HeadTask.QuestionAnswering => "a QA model answers with 'bert qa', and squad files are scored with 'bert evaluate --task squad'",
                _ => "swag data is read by 'bert predict' and 'bert evaluate' on a multiple-choice model",
            },
        };
        throw new BertSharpException($"--task {name}: {command} covers the text-classification tasks ({string.Join(", ", TaskSpec.Names)}), not {task}; {instead}.");
    }

    /// <summary>
    /// --task when given, else the task the model directory was fine-tuned on (training_args.json). The task it was
    /// fine-tuned on, named again (as finetune's 'next:' hint does), keeps its columns unless a column option says otherwise.
    /// </summary>
    public TaskSpec ResolveForModel(ParseResult p, string modelDir)
    {
        var trained = TextClassifier.TrainedTask(modelDir, p.GetValue(TextColumn), p.GetValue(TextPairColumn), p.GetValue(LabelColumn));
        var sameUserFormat = trained is not null && !TaskSpec.BuiltInNames.Contains(trained.Name)
                             && string.Equals(p.GetValue(Task), trained.Name, StringComparison.OrdinalIgnoreCase)
                             && (trained.Regression || !p.GetValue(Regression));
        if (p.GetValue(Task) is not null && !sameUserFormat)
        {
            return Resolve(p);
        }
        if (trained is null && Directory.Exists(modelDir))
        {
            // An unfinished run has no training_args.json either: its own reason, not "--task: required", says what to do.
            BertPretrained.LoadConfig(modelDir);
        }
        // A checkpoint's settings are in its trainer state (TrainingArgsFile.Read); one that names no task (a pre-training
        // checkpoint's) is named as looked in too.
        var looked = File.Exists(Path.Combine(modelDir, TrainingArgsFile.CheckpointStateFileName))
            ? $"{TrainingArgsFile.FileName} or a {TrainingArgsFile.CheckpointStateFileName} whose settings name"
            : $"{TrainingArgsFile.FileName} naming";
        return trained
               ?? throw new BertSharpException($"--task: required ({modelDir} has no {looked} its task); one of {string.Join(", ", TaskSpec.Names)}.");
    }
}
