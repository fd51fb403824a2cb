using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Modeling;
using static System.FormattableString;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert rerank</c>: texts ordered by a cross-encoder's relevance score for a query (sentence-transformers' <c>CrossEncoder.rank</c>).</summary>
internal static class RerankCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOption("A cross-encoder: a one-label BertForSequenceClassification directory or Hub id (e.g. cross-encoder/ms-marco-MiniLM-L6-v2).");
        var query = new Option<string>("--query") { Description = "The query each text is scored against (read with it as a pair).", Required = true };
        var text = new Option<string[]>("--text") { Description = "A text to rank (repeat for several)." };
        var input = new Option<string?>("--input") { Description = "The texts to rank: .txt (one per line), .jsonl, .csv or .tsv with a header." };
        var textColumn = DataOptions.TextColumnOption("Text field of a .jsonl/.csv/.tsv --input.", () => "text");
        var topK = CommonOptions.TopK("Keep the best N texts (default: all).");
        var rawScores = new Option<bool>("--raw-scores")
        {
            Description = "Print the model's logit. Default: the activation sentence-transformers applies, named by config.json (sentence_transformers.activation_fn or " +
                          "sbert_ce_default_activation_function; the ms-marco cross-encoders name Identity, the logit), else the sigmoid.",
        };
        var maxLength = CommonOptions.MaxLength("A longer pair is cut longest-first.");
        var output = new Option<string?>("--output") { Description = "Write the ranking here (.tsv: rank, index, score, text; .jsonl: index, score, text; atomically); default: a table on stdout." };
        var batch = CommonOptions.ForwardBatchSize("Pairs");
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command("rerank", "Rerank texts for a query with a cross-encoder: each (query, text) pair scored together, most relevant first.")
        {
            model, query, text, input, textColumn, topK, rawScores, maxLength, output, batch, device, threads,
        };
        var backend = new BackendOptions();
        foreach (var o in backend.All)
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            var given = p.GetValue(text) ?? [];
            ScoredTexts.Check("rerank", given, p.GetValue(input), p.GetValue(batch), p.GetValue(output));
            if (p.GetValue(topK) is { } k && k < 1)
            {
                throw new BertSharpException(Invariant($"--top-k {k}: expected at least 1."));
            }
            var (texts, lines) = ScoredTexts.Read(given, p.GetValue(input), p.GetValue(textColumn)!);
            CommonOptions.ApplyThreads(p, threads);
            using var reranker = backend.Load(p, p.GetValue(model)!, device, engine => CrossEncoder.Load(p.GetValue(model)!, engine, p.GetValue(maxLength)),
                on => CrossEncoder.Load(p.GetValue(model)!, on, p.GetValue(maxLength)));
            if (lines is not null)
            {
                // A text of the file is named by its line, as the other --input commands name theirs (Rank would say --text[i],
                // an index of the non-blank lines that no editor shows).
                WordPieces.Require(reranker.Classifier.Tokenizer, p.GetValue(query)!, "--query");
                for (var i = 0; i < texts.Count; i++)
                {
                    WordPieces.Require(reranker.Classifier.Tokenizer, texts[i], LineRef.At(p.GetValue(input)!, lines[i]));
                }
            }
            if (reranker.Classifier.Length.Warning is { } lw)
            {
                CliErrors.Warn(lw);
            }
            var pairs = texts.Select(t => (p.GetValue(query)!, (string?)t)).ToList();
            var (truncated, longest) = reranker.Classifier.CountTruncated(pairs);
            if (ModelLength.TruncationWarning(truncated, pairs.Count, reranker.MaxLength, longest, pair: true, sideIsOption: false) is { } tw)
            {
                CliErrors.Warn(tw);
            }
            var ranked = reranker.Rank(p.GetValue(query)!, texts, p.GetValue(topK), p.GetValue(rawScores), p.GetValue(batch));
            if (p.GetValue(output) is { } path)
            {
                AtomicFile.WriteAllText(path, Format(path, ranked));
                Console.Out.WriteLine(Invariant($"wrote {ranked.Count:N0} of {texts.Count:N0} texts, ranked, to {CliErrors.Shown(path)}"));
                return 0;
            }
            Console.Out.WriteLine($"query: {CliErrors.Shown(p.GetValue(query)!)}");
            foreach (var (r, rank) in ranked.Select((r, i) => (r, i + 1)))
            {
                Console.Out.WriteLine(Invariant($"  {rank}. {r.Score.ToString("0.0000", CultureInfo.InvariantCulture)}  [{r.Index}] {CliErrors.Shown(r.Text)}"));
            }
            return 0;
        });
        return cmd;
    }

    private static string Format(string path, IReadOnlyList<RankedText> ranked)
    {
        var sb = new StringBuilder();
        if (ScoredTexts.IsJsonLines(path))
        {
            foreach (var r in ranked)
            {
                sb.Append(new JsonObject { ["index"] = r.Index, ["score"] = Math.Round(r.Score, 6), ["text"] = r.Text }.ToJsonString(CliJson.Options)).Append('\n');
            }
            return sb.ToString();
        }
        sb.Append("rank\tindex\tscore\ttext\n");
        foreach (var (r, rank) in ranked.Select((r, i) => (r, i + 1)))
        {
            sb.Append(Invariant($"{rank}\t{r.Index}\t{r.Score.ToString("0.######", CultureInfo.InvariantCulture)}\t"))
              .Append(r.Text.Replace('\t', ' ').Replace('\n', ' ').Replace('\r', ' ')).Append('\n');
        }
        return sb.ToString();
    }
}
