using System.CommandLine;
using BertSharp.Data;

namespace BertSharp.Cli.Commands;

/// <summary>The options that choose a task and, for csv/tsv/jsonl, its columns (shared by finetune, evaluate and predict).</summary>
internal sealed class DataOptions
{
    public Option<string> Task { get; } = new("--task")
    {
        Description = "Task: imdb, cola, sst2, mrpc (their file formats), or csv, tsv, jsonl with --text-column/--label-column.",
    };

    public Option<string?> TextColumn { get; } = new("--text-column") { Description = "csv/tsv/jsonl: column (field) with the text (default: text)." };

    public Option<string?> TextPairColumn { get; } = new("--text-pair-column") { Description = "csv/tsv/jsonl: column with the second text of a pair." };

    public Option<string?> LabelColumn { get; } = new("--label-column") { Description = "csv/tsv/jsonl: column with the label (default: label)." };

    public Option<bool> Regression { get; } = new("--regression") { Description = "csv/tsv/jsonl: the label is a number to regress (MSE loss, Pearson/Spearman)." };

    public IEnumerable<Option> All => [Task, TextColumn, TextPairColumn, LabelColumn, Regression];

    public TaskSpec Resolve(ParseResult p, string? fallbackTask = null)
    {
        var name = p.GetValue(Task) ?? fallbackTask
            ?? throw new BertSharpException($"--task: required; one of {string.Join(", ", TaskSpec.Names)}.");
        return TaskSpec.Get(name, p.GetValue(TextColumn), p.GetValue(TextPairColumn), p.GetValue(LabelColumn), p.GetValue(Regression));
    }
}
