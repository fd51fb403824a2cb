using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.IO;
using static System.FormattableString;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert zero-shot</c>: texts scored against labels an NLI model was never trained on (HF's zero-shot-classification pipeline).</summary>
internal static class ZeroShotCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOption("An NLI model: a BertForSequenceClassification directory or Hub id fine-tuned on MNLI, whose config.json id2label names an entailment label.");
        var text = new Option<string[]>("--text") { Description = "A text to classify (repeat for several)." };
        var input = new Option<string?>("--input") { Description = "The texts to classify: .txt (one per line), .jsonl, .csv or .tsv with a header." };
        var textColumn = DataOptions.TextColumnOption("Text field of a .jsonl/.csv/.tsv --input.", () => "text");
        var labels = new Option<string?>("--labels") { Description = "The candidate labels, separated by commas (\"sports,politics,science\"); entries are trimmed and empty ones dropped, as HF splits them." };
        var label = new Option<string[]>("--label") { Description = "A candidate label (repeat for several; for a label that holds a comma)." };
        var template = new Option<string>("--hypothesis-template")
        {
            Description = "The hypothesis each label becomes, with {} where the label goes.",
            DefaultValueFactory = _ => ZeroShotClassifier.DefaultHypothesisTemplate,
        };
        var multiLabel = new Option<bool>("--multi-label")
        {
            Description = "Score each label on its own (softmax of its contradiction and entailment logits), so several can be true. " +
                          "Default: a softmax over the labels' entailment logits, the scores of a text summing to 1.",
        };
        var maxLength = CommonOptions.MaxLength("Only the text is cut, never the hypothesis (HF's only_first).");
        var output = new Option<string?>("--output") { Description = "Write the results here (.jsonl: sequence, labels, scores per text; .tsv: index, rank, label, score, text; atomically); default: a list on stdout." };
        var batch = CommonOptions.ForwardBatchSize("Pairs");
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command("zero-shot", "Classify texts into labels given at run time with an NLI model: each label becomes a hypothesis read with the text, scored by entailment.")
        {
            model, text, input, textColumn, labels, label, template, multiLabel, maxLength, output, batch, device, threads,
        };
        var backend = new BackendOptions();
        foreach (var o in backend.All)
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            var given = p.GetValue(text) ?? [];
            ScoredTexts.Check("zero-shot", given, p.GetValue(input), p.GetValue(batch), p.GetValue(output));
            var (candidates, flag) = Labels(p.GetValue(labels), p.GetValue(label) ?? []);
            ZeroShotClassifier.RequireLabels(candidates, flag);
            var hypothesisTemplate = p.GetValue(template)!;
            _ = ZeroShotClassifier.Hypothesis(hypothesisTemplate, candidates[0]);
            var (texts, lines) = ScoredTexts.Read(given, p.GetValue(input), p.GetValue(textColumn)!);
            CommonOptions.ApplyThreads(p, threads);
            using var classifier = backend.Load(p, p.GetValue(model)!, device, engine => ZeroShotClassifier.Load(p.GetValue(model)!, engine, p.GetValue(maxLength)),
                on => ZeroShotClassifier.Load(p.GetValue(model)!, on, p.GetValue(maxLength)));
            var tokenizer = classifier.Classifier.Tokenizer;
            for (var i = 0; i < texts.Count; i++)
            {
                // A text is named by its file and line, or by its flag and index, as rerank names its texts.
                WordPieces.Require(tokenizer, texts[i], lines is null ? Invariant($"--text[{i}]") : LineRef.At(p.GetValue(input)!, lines[i]));
            }
            if (classifier.Classifier.Length.Warning is { } lw)
            {
                CliErrors.Warn(lw);
            }
            var results = classifier.Classify(texts, candidates, hypothesisTemplate, p.GetValue(multiLabel), p.GetValue(batch));
            WarnTruncated(classifier, texts, candidates, hypothesisTemplate);
            if (p.GetValue(output) is { } path)
            {
                AtomicFile.WriteAllText(path, Format(path, results));
                Console.Out.WriteLine(Invariant($"wrote {results.Count:N0} texts, {candidates.Count:N0} labels each, to {CliErrors.Shown(path)}"));
                return 0;
            }
            foreach (var r in results)
            {
                Console.Out.WriteLine($"text: {CliErrors.Shown(r.Sequence)}");
                for (var i = 0; i < r.Labels.Count; i++)
                {
                    Console.Out.WriteLine(Invariant($"  {i + 1}. {r.Scores[i].ToString("0.0000", CultureInfo.InvariantCulture)}  {CliErrors.Shown(r.Labels[i])}"));
                }
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>The candidate labels and the flag that gave them (named by the refusals).</summary>
    private static (IReadOnlyList<string> Labels, string Flag) Labels(string? commaSeparated, string[] repeated)
    {
        if (commaSeparated is null && repeated.Length == 0)
        {
            throw new BertSharpException("zero-shot: no candidate labels; give them with --labels \"a,b,c\" or --label (repeatable).");
        }
        if (commaSeparated is not null && repeated.Length > 0)
        {
            throw new BertSharpException("zero-shot: give the candidate labels with --labels \"a,b,c\" or --label (repeatable), not both.");
        }
        return commaSeparated is not null ? (ZeroShotClassifier.ParseLabels(commaSeparated), "--labels") : (repeated, "--label");
    }

    // The pairs are cut only_first, so the generic warning's "longest-first" would misstate the cut.
    private static void WarnTruncated(ZeroShotClassifier classifier, IReadOnlyList<string> texts, IReadOnlyList<string> labels, string template)
    {
        var pairs = texts.SelectMany(t => labels.Select(l => (t, (string?)ZeroShotClassifier.Hypothesis(template, l)))).ToList();
        var (truncated, longest) = classifier.Classifier.CountTruncated(pairs);
        if (truncated > 0)
        {
            CliErrors.Warn(Invariant($"{truncated:N0} of {pairs.Count:N0} (text, hypothesis) pairs are longer than {classifier.Classifier.MaxLength} tokens (longest {longest:N0}); their texts were cut to fit and the hypotheses read whole, as HF's zero-shot pipeline cuts only_first (--max-length sets the limit)."));
        }
    }

    private static string Format(string path, IReadOnlyList<ZeroShotResult> results)
    {
        var sb = new StringBuilder();
        if (ScoredTexts.IsJsonLines(path))
        {
            foreach (var r in results)
            {
                var o = new JsonObject
                {
                    ["sequence"] = r.Sequence,
                    ["labels"] = new JsonArray([.. r.Labels.Select(l => (JsonNode?)l)]),
                    ["scores"] = new JsonArray([.. r.Scores.Select(s => (JsonNode?)Math.Round(s, 6))]),
                };
                sb.Append(o.ToJsonString(CliJson.Options)).Append('\n');
            }
            return sb.ToString();
        }
        sb.Append("index\trank\tlabel\tscore\ttext\n");
        foreach (var (r, index) in results.Select((r, i) => (r, i)))
        {
            for (var i = 0; i < r.Labels.Count; i++)
            {
                sb.Append(Invariant($"{index}\t{i + 1}\t")).Append(Cell(r.Labels[i]))
                  .Append(Invariant($"\t{r.Scores[i].ToString("0.######", CultureInfo.InvariantCulture)}\t")).Append(Cell(r.Sequence)).Append('\n');
            }
        }
        return sb.ToString();
    }

    private static string Cell(string text) => text.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ');
}
