using System.CommandLine;
using System.Globalization;
using BertSharp.Data;
using BertSharp.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert data stats</c>: what a task file holds before a run is spent on it.</summary>
internal static class DataCommand
{
    public static Command Create()
    {
        var cmd = new Command("data", "Look at task data files.");
        cmd.Subcommands.Add(CreateStats());
        return cmd;
    }

    private static Command CreateStats()
    {
        var data = new DataOptions("data stats");
        // The statistics are those of a text (pair) with a label; the head tasks' files (ner, squad, swag) have other shapes.
        data.Task.Description = "Task: imdb, cola, sst2, mrpc (their file formats), or csv, tsv, jsonl with --text-column/--label-column.";
        var file = new Argument<string>("file") { Description = "A data file in the task's format (.gz is decompressed)." };
        var vocab = new Option<string?>("--vocab") { Description = "Count word pieces with this vocab.txt, tokenizer.json or tokenizer directory." };
        var model = CommonOptions.ModelOption("Count word pieces with the tokenizer of this model directory or Hub id (and report its trained length).", required: false);
        var lowercase = CommonOptions.Lowercase("--vocab");
        var lengths = new Option<string>("--lengths") { Description = "Comma-separated lengths at which to report the share of truncated examples.", DefaultValueFactory = _ => "128,256,512" };
        var cmd = new Command("stats", "Counts, label distribution, label order and word-piece length percentiles of a task file.")
        {
            file, vocab, model, lowercase, lengths,
        };
        foreach (var o in data.All)
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            var task = data.Resolve(p);
            if (p.GetValue(vocab) is not null && p.GetValue(model) is not null)
            {
                throw new BertSharpException("--vocab and --model: give one (the model brings its own tokenizer).");
            }
            var at = ParseLengths(p.GetValue(lengths)!);
            var dataset = DatasetReader.Read(p.GetValue(file)!, task, requireLabels: false);
            // Read without labels, an unlabelled file (GLUE's test.tsv) is counted; a label column named here and found in no
            // example is a typo, which was reported as "label column 'labl'" over a file with no labels, exit 0.
            if (CommonOptions.Given(p, data.LabelColumn) && dataset.Examples.All(e => e.Label is null))
            {
                throw new BertSharpException($"{dataset.Path}: no example has the label column '{task.LabelColumn}' of --label-column; " +
                                             "give the column (field) that holds the labels, or leave --label-column out for a file without labels.");
            }
            BertTokenizer? tokenizer = null;
            string? note = null;
            if (p.GetValue(vocab) is { } v)
            {
                var lower = CommonOptions.ResolveLowercase(v, p, lowercase);
                tokenizer = BertTokenizer.FromPath(v, lower.Lowercase);
                note = $"{v}, {lower}";
            }
            else if (p.GetValue(model) is { } m)
            {
                var dir = BertPretrained.ResolveDirectory(m);
                tokenizer = BertTokenizer.FromDirectory(dir);
                var trained = ModelLength.Trained(BertPretrained.LoadConfig(dir), tokenizer);
                at = [.. at.Append(trained).Distinct().Order()];
                note = $"{m}, trained to {trained} tokens, lower-casing {(tokenizer.Lowercase ? "on" : "off")}";
            }
            var stats = DatasetStats.Compute(dataset, task, tokenizer);
            // The data's names shown as data, one line per item: an escape in a label drove the terminal, a line break split its line.
            Console.Out.Write(stats.Format(at, note, CliErrors.Shown));
            return 0;
        });
        return cmd;
    }

    private static int[] ParseLengths(string text)
    {
        var parts = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var result = new List<int>();
        foreach (var s in parts)
        {
            if (!int.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1)
            {
                throw new BertSharpException($"--lengths {text}: expected positive numbers separated by commas.");
            }
            result.Add(n);
        }
        if (result.Count == 0)
        {
            // "" or ",," printed an empty "longer than:" line.
            throw new BertSharpException($"--lengths '{text}': expected positive numbers separated by commas.");
        }
        return [.. result.Distinct().Order()];
    }
}
