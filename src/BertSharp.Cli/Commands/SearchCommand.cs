using System.CommandLine;
using System.Globalization;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Modeling;
using static System.FormattableString;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert search</c>: the sentences of a corpus nearest to each query (cosine similarity of sentence embeddings).</summary>
internal static class SearchCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOption("A model directory or Hub id (any BERT architecture; its encoder is used).");
        var corpus = new Option<string>("--corpus") { Description = "The texts to search: .txt (one per line), .jsonl, .csv or .tsv with a header.", Required = true };
        var query = new Option<string[]>("--query") { Description = "A text to find neighbours of (repeat for several)." };
        var queries = new Option<string?>("--queries") { Description = "A .txt file of queries, one per line." };
        var textColumn = DataOptions.TextColumnOption("Text field of a .jsonl/.csv/.tsv corpus.", () => "text");
        var task = DataOptions.TaskOption(
            "Read --corpus in a task's format (imdb, cola, sst2, mrpc). A pair task's two sentences (mrpc) are one corpus text, joined by a space (not a [SEP] pair).");
        var topK = CommonOptions.TopK("Neighbours per query.", 5);
        var pooling = new Option<string?>("--pooling")
        {
            Description = "mean (over real tokens; how sentence-transformers models such as all-MiniLM-L6-v2 are trained) or cls. " +
                          "Default: a sentence-transformers model's own (modules.json, its Pooling module's config.json), else mean.",
        };
        pooling.AcceptOnlyFromAmong("cls", "mean");
        var maxLength = CommonOptions.MaxLength(CommonOptions.SentenceTransformersLength);
        var batch = CommonOptions.ForwardBatchSize("Texts");
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command("search", "Nearest-neighbour sentences: embeds a corpus and prints, for each query, the most similar texts (cosine similarity).")
        {
            model, corpus, query, queries, textColumn, task, topK, pooling, maxLength, batch, device, threads,
        };
        cmd.SetAction(p =>
        {
            // Each query with the name a refusal gives it: its flag and index, or its file and line.
            var asked = new List<(string Text, string Name)>((p.GetValue(query) ?? []).Select((q, i) => (q, Invariant($"--query[{i}]"))));
            if (p.GetValue(queries) is { } file)
            {
                // Strict UTF-8 with the line named, as every other text input.
                var lines = IO.TextLines.Read(CliInput.ExistingFile("--queries", file)).ToList();
                var fromFile = lines.Select((l, i) => (Text: l.Trim(), Name: LineRef.At(file, i + 1))).Where(l => l.Text.Length > 0).ToList();
                if (fromFile.Count == 0)
                {
                    throw CliInput.NoTexts($"--queries {file}", lines.Count);
                }
                asked.AddRange(fromFile);
            }
            if (asked.Count == 0)
            {
                throw new BertSharpException("search: give at least one --query \"...\" or --queries FILE.");
            }
            if (p.GetValue(topK) < 1)
            {
                throw new BertSharpException($"--top-k {p.GetValue(topK)}: expected at least 1.");
            }
            if (p.GetValue(batch) < 1)
            {
                throw new BertSharpException($"--batch-size {p.GetValue(batch)}: expected a positive number.");
            }
            var (texts, corpusLines) = p.GetValue(task) is { } taskName
                ? (EmbedInput.ReadTask(p.GetValue(corpus)!, taskName, "search").Texts, null)
                : Numbered(EmbedInput.ReadNumbered(p.GetValue(corpus)!, p.GetValue(textColumn)!, null, "--corpus"));
            CommonOptions.ApplyThreads(p, threads);
            var modelDir = BertPretrained.ResolveDirectory(p.GetValue(model)!);
            // Cosine similarity normalises every vector whatever the model declares: only the pooling is the model's to choose.
            var modules = SentenceTransformerModules.Read(modelDir);
            var choice = EmbeddingChoice.Resolve(modules, PoolingOption.Value(p, pooling), "--pooling", true, "cosine similarity", Pooling.Mean,
                fallbackNormalize: true);
            using var pipe = FeatureExtraction.Load(modelDir, p.GetValue(device)!);
            // Such a text was embedded as [CLS] [SEP]: a query got neighbours, and a corpus line a rank, as if they were text.
            foreach (var (q, name) in asked)
            {
                WordPieces.Require(pipe.Tokenizer, q, name);
            }
            for (var i = 0; i < texts.Count; i++)
            {
                WordPieces.Require(pipe.Tokenizer, texts[i], corpusLines is null ? Invariant($"--corpus {p.GetValue(corpus)} text {i + 1}") : LineRef.At(p.GetValue(corpus)!, corpusLines[i]));
            }
            // As sentence-transformers' encode: the model's max_seq_length unless --max-length is given.
            var length = SentenceTransformerModules.ResolveLength(modules, pipe.Model.Config, pipe.Tokenizer, p.GetValue(maxLength), modelDir);
            if (length.Warning is { } lw)
            {
                CliErrors.Warn(lw);
            }
            var options = new FeatureExtractionOptions(choice.Pooling, Normalize: true, length.Length, p.GetValue(batch)) { LowerCase = modules?.DoLowerCase == true };
            var counts = texts.Select(t => pipe.Tokenizer.CountTokens(options.Input(t)) + 2).ToList();
            if (ModelLength.TruncationWarning(counts.Count(c => c > length.Length), texts.Count, length.Length, counts.Max()) is { } tw)
            {
                CliErrors.Warn(tw);
            }
            var search = SemanticSearch.Build(pipe, texts, options);
            if (modules is not null)
            {
                // After the corpus is embedded: a refusal on the way stays the one line of stderr.
                Console.Error.WriteLine(choice.PoolingLine + EmbedCommand.MaxLengthLine(modules, p.GetValue(maxLength), length.Length));
            }
            Console.Out.WriteLine($"{texts.Count:N0} texts of {CliErrors.Shown(p.GetValue(corpus)!)} embedded ({choice.Pooling.ToString().ToLowerInvariant()} pooling, cosine similarity)");
            foreach (var (q, _) in asked)
            {
                Console.Out.WriteLine($"query: {CliErrors.Shown(q)}");
                foreach (var (hit, rank) in search.Search(q, p.GetValue(topK)).Select((h, i) => (h, i + 1)))
                {
                    Console.Out.WriteLine($"  {rank}. {hit.Score.ToString("0.000", CultureInfo.InvariantCulture)}  {CliErrors.Shown(hit.Text)}");
                }
            }
            return 0;
        });
        return cmd;
    }

    private static (List<string> Texts, List<int>? Lines) Numbered((List<string> Texts, List<string>? Labels, List<int> Lines) read) => (read.Texts, read.Lines);
}
