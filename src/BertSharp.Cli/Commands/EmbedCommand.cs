using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Inference;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Cli.Visualization;
using BertSharp.Visualization;
using TorchSharp;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert embed</c>: sentence embeddings of a file, written as JSON lines or safetensors, optionally plotted in 2-D.</summary>
internal static class EmbedCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOption("A model directory or Hub id (any BERT architecture; its encoder is used).");
        var input = new Option<string>("--input") { Description = ".txt (one text per line), .jsonl, .csv or .tsv with a header.", Required = true };
        var output = new Option<string>("--output") { Description = "Embeddings file: .jsonl or .safetensors (tensor 'embeddings' [n, hidden]).", Required = true };
        var textColumn = DataOptions.TextColumnOption("Text field of .jsonl/.csv/.tsv input.", () => "text");
        var labelColumn = new Option<string?>("--label-column") { Description = "Label field: kept in the output and used to colour the plot." };
        var task = DataOptions.TaskOption(
            "Read --input in a task's format (imdb, cola, sst2, mrpc): its text column, and its label names (0 → negative ...) in the output and the plot legend. " +
            "A pair task's two sentences (mrpc) are embedded as one text, joined by a space (not a [SEP] pair), which is the output's text.");
        var pooling = new Option<string?>("--pooling")
        {
            Description = "cls or mean (over real tokens). Default: a sentence-transformers model's own (modules.json, its Pooling module's config.json), else cls.",
        };
        pooling.AcceptOnlyFromAmong("cls", "mean");
        var normalize = new Option<bool>("--normalize")
        {
            Description = "Scale every embedding to unit L2 norm (--normalize false: do not). Default: on when a sentence-transformers model's modules.json has a Normalize module, else off.",
        };
        var maxLength = CommonOptions.MaxLength(CommonOptions.SentenceTransformersLength);
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var batch = CommonOptions.ForwardBatchSize("Texts");
        var plot = new Option<string?>("--plot") { Description = "Also draw a 2-D scatter of the embeddings to this PNG." };
        var method = new Option<string>("--method") { Description = "Projection for --plot: pca or tsne.", DefaultValueFactory = _ => "pca" };
        method.AcceptOnlyFromAmong("pca", "tsne");
        var seed = CommonOptions.Seed(42, "t-SNE seed.");
        var perplexity = new Option<double>("--perplexity") { Description = "t-SNE perplexity (at least 1; lowered to max(1, (n - 1) / 3) for n texts when larger: 1 for up to 4 texts).", DefaultValueFactory = _ => 30 };
        var cmd = new Command("embed", "Compute sentence embeddings (CLS or mean pooling) for a file; optionally plot them with PCA or t-SNE.")
        {
            model, input, output, textColumn, labelColumn, task, pooling, normalize, maxLength, batch, plot, method, seed, perplexity, device, threads,
        };
        var backend = new BackendOptions();
        foreach (var o in backend.All)
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            var outPath = p.GetValue(output)!;
            var ext = Path.GetExtension(outPath).ToLowerInvariant();
            if (ext is not (".jsonl" or ".safetensors"))
            {
                throw new BertSharpException($"--output {outPath}: expected a .jsonl or .safetensors file.");
            }
            if (p.GetValue(plot) is { } png && !png.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            {
                throw new BertSharpException($"--plot {png}: expected a .png file.");
            }
            var tsneOptions = new TsneOptions(Perplexity: p.GetValue(perplexity), Seed: p.GetValue(seed));
            if (p.GetValue(plot) is not null && p.GetValue(method) == "tsne")
            {
                // Before the embeddings file is written: a refusal after it would leave the command's output half done.
                tsneOptions.Validate();
            }
            var (texts, labels) = p.GetValue(task) is { } taskName
                ? EmbedInput.ReadTask(p.GetValue(input)!, taskName, "embed")
                : EmbedInput.Read(p.GetValue(input)!, p.GetValue(textColumn)!, p.GetValue(labelColumn));
            if (p.GetValue(plot) is not null && p.GetValue(method) == "tsne" && texts.Count > Tsne.MaxPoints)
            {
                throw new BertSharpException($"--method tsne: {texts.Count:N0} texts; exact t-SNE takes at most {Tsne.MaxPoints:N0} (use --method pca).");
            }
            if (p.GetValue(plot) is not null && texts.Count < 2)
            {
                throw new BertSharpException("--plot: needs at least 2 texts.");
            }
            var modules = SentenceTransformerModules.Read(BertPretrained.ResolveDirectory(p.GetValue(model)!));
            var choice = EmbeddingChoice.Resolve(modules, PoolingOption.Value(p, pooling), "--pooling",
                CommonOptions.Given(p, normalize) ? p.GetValue(normalize) : null, "--normalize", Pooling.Cls, fallbackNormalize: false);
            var options = new FeatureExtractionOptions(choice.Pooling, choice.Normalize, p.GetValue(maxLength), p.GetValue(batch)) { LowerCase = modules?.DoLowerCase == true };
            var usedLength = 0;
            CommonOptions.ApplyThreads(p, threads);
            float[][] vectors;
            using (var pipe = backend.Load(p, p.GetValue(model)!, device, engine => FeatureExtraction.Load(p.GetValue(model)!, engine),
                on => FeatureExtraction.Load(p.GetValue(model)!, on)))
            {
                // sentence-transformers' encode cuts at max_seq_length unless the user sets a length; so does --max-length here.
                var length = SentenceTransformerModules.ResolveLength(modules, pipe.Model.Config, pipe.Tokenizer, p.GetValue(maxLength), p.GetValue(model)!);
                if (length.Warning is { } lw)
                {
                    CliErrors.Warn(lw);
                }
                var counts = texts.Select(t => pipe.Tokenizer.CountTokens(options.Input(t)) + 2).ToList();
                if (ModelLength.TruncationWarning(counts.Count(c => c > length.Length), texts.Count, length.Length, counts.Max()) is { } tw)
                {
                    CliErrors.Warn(tw);
                }
                // A fine-tuned classifier names its labels: 0/1 in the file become negative/positive in the output and the legend.
                labels = EmbedInput.NameLabels(labels, pipe.Model.Config.Id2Label);
                vectors = pipe.Embed(texts, options with { MaxLength = length.Length });
                usedLength = length.Length;
            }
            // The plot is drawn before either file is written, and both are renamed into place together: a plot that
            // cannot be written must not leave the embeddings file of a failed command behind.
            byte[]? image = null;
            if (p.GetValue(plot) is not null)
            {
                var tsne = p.GetValue(method) == "tsne";
                var title = $"{(tsne ? "t-SNE" : "PCA")} of {vectors.Length:N0} {options.Pooling.ToString().ToLowerInvariant()}-pooled embeddings";
                if (tsne)
                {
                    image = EmbeddingPlot.Png(Tsne.Fit(vectors, tsneOptions), labels, title, "t-SNE 1", "t-SNE 2");
                }
                else
                {
                    var pca = Pca.Fit(vectors);
                    string Axis(int c) => $"PC{c + 1} ({pca.ExplainedVarianceRatio[c] * 100:0.0} % of variance)";
                    image = EmbeddingPlot.Png(pca.Projection, labels, title, Axis(0), Axis(1));
                }
            }
            using var tensor = ext == ".safetensors" ? EmbeddingsTensor(vectors) : null;
            var files = new List<(string, Action<Stream>)>
            {
                (outPath, tensor is null ? s => WriteJsonl(s, texts, labels, vectors) : s => WriteSafeTensors(s, tensor, labels, options)),
            };
            if (image is not null)
            {
                files.Add((p.GetValue(plot)!, s => s.Write(image)));
            }
            AtomicFile.WriteFiles(files);
            if (modules is not null)
            {
                // After the work: a refusal on the way stays the one line of stderr.
                Console.Error.WriteLine($"{choice.PoolingLine}, {choice.NormalizeLine}{MaxLengthLine(modules, p.GetValue(maxLength), usedLength)}");
            }
            Console.Out.WriteLine($"wrote {vectors.Length:N0} embeddings of dimension {vectors[0].Length} to {CliErrors.Shown(outPath)}");
            if (image is not null)
            {
                Console.Out.WriteLine($"wrote {CliErrors.Shown(p.GetValue(plot)!)}");
            }
            return 0;
        });
        return cmd;
    }

    /// <summary>The plan's length when the model's sentence_bert_config.json chose it: <c>, max_length: 256 (sentence_bert_config.json max_seq_length)</c>.</summary>
    internal static string MaxLengthLine(SentenceTransformerModules? modules, int? given, int used) =>
        given is null && modules?.MaxSeqLength is not null ? FormattableString.Invariant($", max_length: {used} ({SentenceTransformerModules.MaxSeqLengthShown})") : "";

    private static void WriteJsonl(Stream output, List<string> texts, List<string>? labels, float[][] vectors)
    {
        using var w = new StreamWriter(output, new UTF8Encoding(false), leaveOpen: true);
        for (var i = 0; i < texts.Count; i++)
        {
            var row = new JsonObject { ["text"] = texts[i] };
            if (labels is not null)
            {
                row["label"] = labels[i];
            }
            row["embedding"] = new JsonArray([.. vectors[i].Select(v => JsonValue.Create(v))]);
            w.Write(row.ToJsonString(CliJson.Options));
            w.Write('\n');
        }
    }

    private static torch.Tensor EmbeddingsTensor(float[][] vectors)
    {
        TorchRuntime.EnsureLoaded();
        return torch.tensor(vectors.SelectMany(v => v).ToArray(), [vectors.Length, vectors[0].Length]);
    }

    private static void WriteSafeTensors(Stream output, torch.Tensor embeddings, List<string>? labels, FeatureExtractionOptions o)
    {
        var metadata = new Dictionary<string, string>
        {
            ["pooling"] = o.Pooling.ToString().ToLowerInvariant(),
            ["normalize"] = o.Normalize ? "true" : "false",
        };
        if (labels is not null)
        {
            metadata["labels"] = JsonSerializer.Serialize(labels);
        }
        SafeTensorsWriter.Write(output, new Dictionary<string, torch.Tensor> { ["embeddings"] = embeddings }, metadata);
    }
}
