using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Data;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Training;
using Spectre.Console;

namespace BertSharp.Cli.Commands;

/// <summary>
/// The command bodies of the task heads (ner / squad / swag) in <c>finetune</c>, <c>evaluate</c> and <c>predict</c>: the
/// sequence-classification commands hand over to these when the task (or the model) is one of them.
/// </summary>
internal static class HeadTaskCli
{
    /// <summary>The head task of a model directory: its training_args.json task, else its architecture; null for a sequence classifier.</summary>
    public static HeadTask? OfModel(string model)
    {
        if (!Directory.Exists(model))
        {
            return null;
        }
        if (TrainingArgsFile.String(TrainingArgsFile.Read(model), "task") is { } name)
        {
            return HeadFineTuneOptions.Parse(name);
        }
        var config = Path.Combine(model, "config.json");
        if (!File.Exists(config))
        {
            return null;
        }
        return BertConfig.Load(config).Architectures?.FirstOrDefault() switch
        {
            nameof(BertForTokenClassification) => HeadTask.TokenClassification,
            nameof(BertForQuestionAnswering) => HeadTask.QuestionAnswering,
            nameof(BertForMultipleChoice) => HeadTask.MultipleChoice,
            _ => null,
        };
    }

    /// <summary>Prints the final line, the warning about the final model's validation if any, and the next commands of a head fine-tuning.</summary>
    public static void Report(HeadFineTuneOptions o, HeadFineTuneResult result, string? warning)
    {
        var v = result.FinalValidation;
        string[] headline = o.Task switch
        {
            HeadTask.TokenClassification => ["f1", "precision", "recall", "accuracy"],
            HeadTask.QuestionAnswering => ["exact", "f1", "best_f1", "best_f1_thresh"],
            _ => ["accuracy", "loss"],
        };
        var summary = FinetuneSummary.Of(v, headline, o.SaveBest, result.Epochs, o.EffectiveEpochs, o.Training.EarlyStoppingPatience);
        // As typed, as the next: commands name it: the result's is the full path it resolved to.
        Console.Out.WriteLine($"saved {CliErrors.Shown(o.Training.OutputDir)}{summary}");
        if (warning is not null)
        {
            // Not through CliErrors.Warn: the entity types are the data's, not fields to rename as flags.
            Console.Error.WriteLine("warning: " + warning);
        }
        var m = CliErrors.ShownArgument(o.Training.OutputDir);
        var bert = CliErrors.NextProgram;
        var use = o.Task switch
        {
            HeadTask.TokenClassification => $"{bert} ner --model {m} --text \"...\"",
            HeadTask.QuestionAnswering => $"{bert} qa --model {m} --question \"...\" --context \"...\"",
            _ => $"{bert} predict --model {m} --text \"...\" --choice \"...\" --choice \"...\"",
        };
        // FILE, not --eval-data's path, as finetune's classification hint says why.
        Console.Out.WriteLine($"next: {bert} evaluate --model {m} --data FILE  |  {use}");
    }

    /// <summary><c>bert evaluate</c> for a head model: the task's metrics printed and written to metrics.json.</summary>
    public static int Evaluate(ParseResult p, HeadTask task, string model, string dataPath, int batchSize, bool groupByLength, int? maxLength, int? maxExamples,
        string? output, string device, HeadTaskOptions head)
    {
        var values = new List<KeyValuePair<string, double>>();
        int count;
        int length;
        var extra = new Dictionary<string, object?>();
        string? predictionsPath = null;
        var nullOdds = false;
        string? zeroDivision = null;
        // ner: seqeval's mode and where it came from, when anything chose it (as the classifier's truncation side).
        var modeNote = "";
        // NER's carries the predicted entity counts into metrics.json, as fine-tuning's final report does.
        MetricsReport? tagging = null;
        // Before the model loads: the other heads' flags were ignored with exit 0 (a ner model's --doc-stride, say).
        HeadTaskOptions.RefuseOtherHeads(p, task, head.ForEvaluate);
        switch (task)
        {
            case HeadTask.TokenClassification:
                {
                    using var pipe = TokenClassification.Load(model, device);
                    var tags = pipe.Labels;
                    // Load refused a tag given twice; this refuses the unnamed one it lets pass (HF allows it, seqeval cannot score it).
                    TaggedCorpus.RequireNamedTags(tags, $"{Path.Combine(model, "config.json")}: field 'id2label'");
                    var (strict, from) = head.EvaluationScheme(p, model);
                    if (strict is { } scheme)
                    {
                        // The model predicts only its own tags, and the data's must be among them: checked before any is read.
                        SeqevalStrict.Check(tags, scheme, $"the model's tags ({model})");
                    }
                    length = Length(pipe.Model.Config, pipe.Tokenizer, maxLength, model);
                    var left = new List<string>();
                    var sentences = Limit(TaggedCorpus.Read(dataPath, head.LabelList(p) ?? tags, left), maxExamples);
                    left.ForEach(CliErrors.Warn);
                    var features = sentences.Select(s => TokenLabelAlignment.Encode(pipe.Tokenizer, s, tags, length, false, dataPath)).ToList();
                    var e = HeadEvaluation.Tagging(pipe.Model, sentences, features, tags, batchSize, pipe.Tokenizer.PadId, pipe.Device, strict,
                        groupByLength: groupByLength);
                    if (e.CutWords > 0)
                    {
                        Console.Error.WriteLine($"warning: {e.CutWords:N0} word(s) past {length} tokens are left out of the scores (as HF run_ner does); raise --max-length to score them.");
                    }
                    values.AddRange(e.Values());
                    zeroDivision = UndefinedPrecisionRecall(dataPath, e.Scores);
                    count = sentences.Count;
                    tagging = MetricsReport.ForTagging(e, count);
                    if (from is not null)
                    {
                        modeNote = $", seqeval's {(strict is { } chosen ? $"strict mode, {chosen} scheme" : "default mode")} ({from})";
                    }
                    break;
                }
            case HeadTask.QuestionAnswering:
                {
                    using var pipe = QuestionAnswering.Load(model, device);
                    length = Length(pipe.Model.Config, pipe.Tokenizer, maxLength, model, QuestionAnsweringOptions.DefaultWindow);
                    var data = SquadData.Read(dataPath);
                    data = data with { Examples = Limit(data.Examples, maxExamples) };
                    var e = HeadEvaluation.QuestionAnswering(pipe.Model, pipe.Tokenizer, data, length, p.GetValue(head.DocStride), p.GetValue(head.MaxAnswerLength),
                        p.GetValue(head.NullScoreDiffThreshold), batchSize, pipe.Device, groupByLength);
                    values.AddRange(e.Values());
                    count = data.Examples.Count;
                    extra["squad_version"] = data.Version2 ? "2.0" : "1.1";
                    // The official scripts' input: question id → answer ("" for no answer), and for v2.0 the null odds.
                    var answers = new JsonObject();
                    var odds = new JsonObject();
                    for (var i = 0; i < data.Examples.Count; i++)
                    {
                        var pr = e.Predictions[i];
                        answers[data.Examples[i].Id] = data.Version2 && pr.NullScoreDiff > e.Threshold ? "" : pr.BestAnswer;
                        odds[data.Examples[i].Id] = NullOdds(pr.NullScoreDiff);
                    }
                    predictionsPath = Path.ChangeExtension(output ?? EvaluateCommand.DefaultOutput(model, dataPath), null);
                    predictionsPath = predictionsPath.EndsWith(".metrics", StringComparison.Ordinal) ? predictionsPath[..^8] : predictionsPath;
                    AtomicFile.WriteAllText(predictionsPath + ".predictions.json", answers.ToJsonString(CliJson.Options) + "\n");
                    if (data.Version2)
                    {
                        AtomicFile.WriteAllText(predictionsPath + ".null_odds.json", odds.ToJsonString(CliJson.Options) + "\n");
                        nullOdds = true;
                    }
                    break;
                }
            default:
                {
                    using var pipe = MultipleChoice.Load(model, device);
                    length = Length(pipe.Model.Config, pipe.Tokenizer, maxLength, model);
                    var examples = Limit(SwagData.Read(dataPath), maxExamples);
                    // SwagData.Encode cuts as MultipleChoice.Predict does, but checked nothing: a length below a pair's was
                    // scored as [CLS] [SEP] [SEP] per choice, and choices were cut without a word.
                    CheckChoices(pipe, Questions(examples), length);
                    var features = examples.Select(x => SwagData.Encode(pipe.Tokenizer, x, length)).ToList();
                    var e = HeadEvaluation.MultipleChoice(pipe.Model, features, batchSize, pipe.Tokenizer.PadId, pipe.Device,
                        groupByLength: groupByLength);
                    values.AddRange(e.Values());
                    count = examples.Count;
                    break;
                }
        }
        var report = tagging ?? MetricsReport.FromValues([], count, values);
        var name = HeadFineTuneOptions.Names(task)[0];
        Console.Out.WriteLine($"{CliErrors.Shown(dataPath)}: {count:N0} examples, task {name}, max length {length}{modeNote}");
        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Out) });
        var table = new Table().Border(TableBorder.Rounded).AddColumn("metric").AddColumn(new TableColumn("value").RightAligned());
        foreach (var (k, v) in values)
        {
            // Counts as scores printed as 412.0000, read as a percentage.
            table.AddRow(Markup.Escape(k), MetricsReport.IsCount(k) ? v.ToString(CultureInfo.InvariantCulture) : MetricsReport.Format(v));
        }
        console.Write(table);
        if (zeroDivision is not null)
        {
            // Not through CliErrors.Warn: the entity types are the data's, not fields to rename as flags.
            Console.Error.WriteLine("warning: " + zeroDivision);
        }
        var outPath = output ?? EvaluateCommand.DefaultOutput(model, dataPath);
        extra["model"] = ModelLocator.Recorded(model);
        extra["data"] = Path.GetFullPath(dataPath);
        extra["task"] = name;
        extra["max_length"] = length;
        report.Save(outPath, extra);
        Console.Out.WriteLine($"wrote {CliErrors.Shown(outPath)}");
        if (predictionsPath is not null)
        {
            Console.Out.WriteLine($"wrote {CliErrors.Shown(predictionsPath)}.predictions.json");
            if (nullOdds)
            {
                Console.Out.WriteLine($"wrote {CliErrors.Shown(predictionsPath)}.null_odds.json");
            }
        }
        return 0;
    }

    /// <summary>
    /// Which entity precisions and recalls have a zero denominator (no entity predicted, or none in the data), overall or
    /// per type, or null when none has. seqeval scores them 0 with an UndefinedMetricWarning; without a word, a model that
    /// predicts no entity at all reads as one that got every entity wrong. Shown as the CLI shows data
    /// (<see cref="CliErrors.Shown"/>): the entity types come from the user's tags, and one with an escape or a line break
    /// drove the terminal or split the warning.
    /// </summary>
    /// <param name="data">The sentences as the message names them: a tagged file's path, or the validation data of a fine-tuning.</param>
    /// <param name="scores">The seqeval report of the model on that file.</param>
    internal static string? UndefinedPrecisionRecall(string data, SeqevalReport scores)
    {
        string Names(Func<EntityScores, bool> undefined) => string.Join(", ", scores.PerType.Where(t => undefined(t.Value)).Select(t => $"'{t.Key}'"));
        var every = scores.PerType.Count > 0 ? " overall and of every type" : "";
        var parts = new List<string>();
        if (scores.Micro.Predicted == 0)
        {
            parts.Add($"the precision{every} (the model predicted no entity)");
        }
        else if (Names(s => s.Predicted == 0) is { Length: > 0 } neverPredicted)
        {
            parts.Add($"the precision of {neverPredicted} (the model predicted no entity of that type)");
        }
        if (scores.Micro.Support == 0)
        {
            parts.Add($"the recall{every} ({data} has no entity)");
        }
        else if (Names(s => s.Support == 0) is { Length: > 0 } neverLabelled)
        {
            parts.Add($"the recall of {neverLabelled} ({data} has no entity of that type)");
        }
        return parts.Count == 0 ? null
            : CliErrors.Shown($"undefined (a zero denominator), counted as 0 as seqeval's zero_division default: {string.Join(", ", parts)}; their f1 is 0 as well.");
    }

    /// <summary><c>bert predict</c> on a multiple-choice model: one context and its candidates, or a SWAG file.</summary>
    public static int PredictChoices(string model, string? text, string[]? candidates, string? input, string? output, int batchSize, int? maxLength, string device)
    {
        if ((text is null) == (input is null))
        {
            throw new BertSharpException("predict: a multiple-choice model takes --text \"CONTEXT\" with --choice \"...\" (two or more), or --input FILE (SWAG CSV / JSON lines).");
        }
        List<(string Context, IReadOnlyList<string> Candidates)> questions;
        if (text is not null)
        {
            // As the classifier's --text and a SWAG file's sent1 and sent2: a blank context was scored with exit 0.
            if (string.IsNullOrWhiteSpace(text))
            {
                throw new BertSharpException("--text: empty; give the context the candidates continue.");
            }
            if (candidates is not { Length: >= 2 } || candidates.Any(string.IsNullOrWhiteSpace))
            {
                throw new BertSharpException("--choice: give two or more non-empty candidates (--choice \"...\" --choice \"...\").");
            }
            questions = [(text, candidates)];
        }
        else
        {
            if (candidates is { Length: > 0 })
            {
                throw new BertSharpException("--choice: only together with --text (a file brings its own endings).");
            }
            questions = Questions(SwagData.Read(input!, requireLabels: false));
        }
        using var pipe = MultipleChoice.Load(model, device);
        var length = Length(pipe.Model.Config, pipe.Tokenizer, maxLength, model);
        CheckChoices(pipe, questions, length);
        var predictions = pipe.Predict(questions, length, batchSize);
        if (text is not null)
        {
            var best = predictions[0];
            Console.Out.WriteLine($"choice {best.Choice}: {CliErrors.Shown(candidates![best.Choice])} ({best.Score:0.00})");
            Console.Out.WriteLine(string.Join("  ", best.Probabilities.Select((pr, i) => $"{i} {pr:0.0000}")));
            return 0;
        }
        var lines = predictions.Select(pr => JsonSerializer.Serialize(new { choice = pr.Choice, score = Math.Round(pr.Score, 6), probabilities = pr.Probabilities.Select(x => Math.Round(x, 6)) }));
        if (output is null)
        {
            foreach (var l in lines)
            {
                Console.Out.WriteLine(l);
            }
        }
        else
        {
            AtomicFile.WriteAllText(output, string.Join("\n", lines) + "\n");
            Console.Out.WriteLine($"wrote {predictions.Count:N0} predictions to {CliErrors.Shown(output)}");
        }
        return 0;
    }

    /// <summary>The (context, candidates) of SWAG questions as <see cref="MultipleChoice"/> takes them: SwagData's pairs.</summary>
    private static List<(string Context, IReadOnlyList<string> Candidates)> Questions(IEnumerable<ChoiceExample> examples) =>
        [.. examples.Select(e => (e.Sent1, (IReadOnlyList<string>)[.. e.Pairs.Select(pair => pair.Second)]))];

    /// <summary>
    /// Refuses a length that leaves a text of a (context, choice) pair no token, and warns when it cuts choices, as every
    /// other command warns when it cuts: choices cut longest-first went unsaid.
    /// </summary>
    private static void CheckChoices(MultipleChoice pipe, IReadOnlyList<(string Context, IReadOnlyList<string> Candidates)> questions, int length)
    {
        PairLength.Check(length);
        var (truncated, longest) = pipe.CountTruncated(questions, length);
        if (ModelLength.TruncationWarning(truncated, questions.Count, length, longest, pair: true, sideIsOption: false) is { } w)
        {
            CliErrors.Warn(w);
        }
    }

    private static int Length(BertConfig config, Tokenization.BertTokenizer tokenizer, int? requested, string model, int? preferred = null)
    {
        var length = preferred is { } pref
            ? ModelLength.Resolve(config, tokenizer, requested, model, preferred: pref)
            : ModelLength.Resolve(config, tokenizer, requested, model);
        if (length.Warning is { } w)
        {
            CliErrors.Warn(w);
        }
        return length.Length;
    }

    private static List<T> Limit<T>(IReadOnlyList<T> items, int? max)
    {
        if (max is < 1)
        {
            throw new BertSharpException($"--max-examples {max}: expected a positive number.");
        }
        return [.. max is { } n ? items.Take(n) : items];
    }

    /// <summary>
    /// A question's entry in null_odds.json. A question without any span (every window's spans cut by the answer length, say)
    /// has an infinite difference, which JSON cannot hold: it was written as null, and the official script, which sorts the
    /// odds, stopped on comparing None with a number. The largest double sorts where infinity would: no threshold answers it.
    /// </summary>
    internal static double NullOdds(double nullScoreDiff) =>
        double.IsPositiveInfinity(nullScoreDiff) ? double.MaxValue
        : double.IsNegativeInfinity(nullScoreDiff) ? double.MinValue
        : double.IsNaN(nullScoreDiff) ? throw new BertSharpException("null score difference: NaN; the model's logits are not finite.")
        : nullScoreDiff;
}
