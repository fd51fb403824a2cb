using System.CommandLine;
using BertSharp.Data.Pretraining;
using BertSharp.IO;
using BertSharp.Tokenization;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert pretrain-data</c>: builds MLM + NSP pre-training shards from text, or prints statistics of built data.</summary>
internal static class PretrainDataCommand
{
    public static Command Create()
    {
        // The defaults are the library's (google's create_pretraining_data), not restated here.
        var defaults = new PretrainingOptions();
        var input = new Option<string[]>("--input") { Description = "Corpus files or directories (.txt, .txt.gz); documents separated by blank lines, or one per line, or Gutenberg books (see --format).", AllowMultipleArgumentsPerToken = true };
        var vocab = CommonOptions.Vocab();
        var output = new Option<string>("--output") { Description = "Output directory (replaced atomically; a non-empty directory bert did not write is refused, see --overwrite)." };
        var stats = new Option<string>("--stats") { Description = "Print statistics of an existing data directory instead of building one." };
        var show = new Option<int>("--show")
        {
            Description = "Also print the first N instances decoded, masked positions as <input|original> (of the data built, or of --stats DIR; needs --vocab).",
        };
        var maxSeq = new Option<int>("--max-length") { Description = "Maximum tokens per instance including [CLS] and two [SEP] (google's max_seq_length); the model pre-trained on it is trained to this length.", DefaultValueFactory = _ => defaults.MaxSeqLength };
        var maxSeqOld = CommonOptions.HiddenAlias(maxSeq, "--max-seq-length");
        var maxPred = new Option<int>("--max-predictions-per-seq") { Description = "Maximum masked positions per instance.", DefaultValueFactory = _ => defaults.MaxPredictionsPerSeq };
        var prob = new Option<double>("--masked-lm-prob") { Description = "Share of tokens to mask.", DefaultValueFactory = _ => defaults.MaskedLmProb };
        var dupe = new Option<int>("--dupe-factor") { Description = "Passes over the corpus, each with different segments and masks.", DefaultValueFactory = _ => defaults.DupeFactor };
        var shortSeq = new Option<double>("--short-seq-prob") { Description = "Probability of a shorter target length.", DefaultValueFactory = _ => defaults.ShortSeqProb };
        var wwm = new Option<bool>("--whole-word-mask") { Description = "Mask all word pieces of a word together." };
        var seed = CommonOptions.Seed(defaults.Seed, "Random seed; the same seed and inputs give identical output.");
        var lower = CommonOptions.Lowercase();
        var format = new Option<string>("--format") { Description = "Corpus layout: auto, lines, document-per-line or book.", DefaultValueFactory = _ => "auto" };
        var googleNsp = new Option<bool>("--google-nsp")
        {
            Description = "Always use a random next segment for one-sentence chunks, exactly as google's script (NSP labels then lean to 'random').",
            DefaultValueFactory = _ => !defaults.BalancedNsp,
        };
        var objective = CommonOptions.Objective("mlm+nsp (default): google's [CLS] A [SEP] B [SEP] sentence pairs with next-sentence labels; mlm: one segment per instance, documents packed up to --max-length with [SEP] between them (HF run_mlm's group_texts), for masked-LM-only training.");
        var overwrite = CommonOptions.Overwrite();
        var validationSplit = new Option<double>("--validation-split-percentage")
        {
            Description = "Percentage of the documents (0..50, HF run_mlm's name) held out whole as a validation split in OUTPUT/validation, which `bert pretrain --eval-every` evaluates on; chosen with --seed. 0 (default): none.",
        };
        var threads = new Option<int>("--threads") { Description = "Worker threads (does not change the output).", DefaultValueFactory = _ => Environment.ProcessorCount };

        var cmd = new Command("pretrain-data", "Build masked-LM + next-sentence pre-training data (google-research/bert's create_pretraining_data) as binary shards.");
        foreach (var o in new Option[] { input, vocab, output, stats, show, maxSeq, maxSeqOld, maxPred, prob, dupe, shortSeq, wwm, seed, lower, format, googleNsp, objective, validationSplit, threads, overwrite })
        {
            cmd.Options.Add(o);
        }
        cmd.SetAction(p =>
        {
            var showCount = p.GetValue(show);
            if (showCount < 0)
            {
                throw new BertSharpException($"--show {showCount}: expected a number ≥ 0.");
            }
            if (showCount > 0 && p.GetValue(vocab) is null)
            {
                throw new BertSharpException("--show: needs --vocab (the vocab.txt the data was built with) to decode the instances.");
            }
            if (p.GetValue(stats) is { } statsDir)
            {
                var data = PretrainingDataset.Open(statsDir);
                var validation = data.OpenValidation();
                if (validation is null)
                {
                    Console.Out.Write(CliProgress.Run(progress => PretrainingDataStats.Compute(data, new Relay(progress))).Format());
                }
                else
                {
                    // Both splits, each measured and reported alike: the training totals alone read as the whole data's.
                    var (training, heldOut) = CliProgress.Run(progress => (
                        PretrainingDataStats.Compute(data, new Relay(progress, "stats (training)")),
                        PretrainingDataStats.Compute(validation, new Relay(progress, $"stats ({ManifestValidation.DirectoryName})"))));
                    Console.Out.WriteLine(SplitLine("training split", data.Manifest, statsDir));
                    Console.Out.Write(training.Format());
                    var split = data.Manifest.Validation!;
                    Console.Out.WriteLine(SplitLine($"validation split ({split.Percentage.ToString(System.Globalization.CultureInfo.InvariantCulture)} % of the documents held out)",
                        validation.Manifest, validation.Directory));
                    Console.Out.Write(heldOut.Format());
                }
                Show(statsDir, p.GetValue(vocab), showCount);
                return 0;
            }
            var inputs = p.GetValue(input) ?? [];
            if (inputs.Length == 0 || p.GetValue(vocab) is not { } vocabPath || p.GetValue(output) is not { } outDir)
            {
                throw new BertSharpException("pretrain-data needs --input, --vocab and --output (or --stats DIR).");
            }
            CommonOptions.CheckThreads(p.GetValue(threads));
            var options = new PretrainingOptions
            {
                MaxSeqLength = CommonOptions.Get(p, maxSeq, maxSeqOld),
                MaxPredictionsPerSeq = p.GetValue(maxPred),
                MaskedLmProb = p.GetValue(prob),
                DupeFactor = p.GetValue(dupe),
                ShortSeqProb = p.GetValue(shortSeq),
                WholeWordMask = p.GetValue(wwm),
                BalancedNsp = !p.GetValue(googleNsp),
                Objective = CommonOptions.Objective(p, objective) ?? defaults.Objective,
                Seed = p.GetValue(seed),
            };
            options.Validate();
            var lowercasing = CommonOptions.ResolveLowercase(vocabPath, p, lower);
            var lowercase = lowercasing.Lowercase;
            var tokenizer = BertTokenizer.FromVocabFile(vocabPath, lowercase);
            var noSpecials = new EncodeOptions { AddSpecialTokens = false, Truncation = TruncationStrategy.None };
            var corpusFormat = ParseFormat(p.GetValue(format));
            PretrainingDataStats? written = null;
            PretrainingManifest manifest;
            try
            {
                // Ctrl-C / SIGTERM stop the build between documents or shards, so that its staging directory (as large as the
                // data) is removed: the signals' default ended the process and left it beside the output until the next build.
                manifest = StopSignals.Run(cancel => CliProgress.Run(progress =>
                {
                    PretrainingDataBuilder builder;
                    try
                    {
                        builder = new PretrainingDataBuilder(t => tokenizer.EncodeIds(t, null, noSpecials), tokenizer.Vocab.Tokens, PretrainingDataset.VocabSha256(vocabPath))
                        {
                            Options = options,
                            ValidationSplitPercentage = p.GetValue(validationSplit),
                            Format = corpusFormat,
                            Lowercase = lowercase,
                            MaxDegreeOfParallelism = p.GetValue(threads),
                            Progress = new Relay(progress),
                            Overwrite = p.GetValue(overwrite),
                            Cancellation = cancel,
                        };
                    }
                    catch (BertSharpException e)
                    {
                        // The builder refuses a vocabulary without the special tokens masking needs; as a path's problem it
                        // is said under the flag and the path the user typed.
                        throw new PathException(vocabPath, e.Message, e);
                    }
                    var built = builder.Build(inputs, outDir);
                    written = builder.Stats;
                    return built;
                }));
            }
            catch (Exception e) when (CliErrors.Root(e) is OperationCanceledException stopped)
            {
                throw new OperationCanceledException($"cancelled; nothing was written to --output {outDir} and the partly built data was removed.", stopped);
            }
            // Shown as data: it quotes the vocabulary's tokens, whose escapes drove the terminal.
            Console.Out.WriteLine("tokenized with " + CliErrors.Shown(CliInput.SaidAsTyped(p, lowercasing.ToString())));
            foreach (var i in manifest.Inputs)
            {
                Console.Out.WriteLine($"{CliErrors.Shown(i.Path)}: {i.Format}, {i.Documents:N0} document{(i.Documents == 1 ? "" : "s")}, " +
                    $"{i.Sentences:N0} sentence{(i.Sentences == 1 ? "" : "s")}, {i.Tokens:N0} token{(i.Tokens == 1 ? "" : "s")}");
            }
            foreach (var i in manifest.Inputs.Where(i => i.Documents == 0))
            {
                CorpusInputs.WarnNoText(i.Path);
            }
            var packed = options.Objective == PretrainingObjective.MaskedLm;
            Console.Out.WriteLine($"wrote {manifest.Instances:N0} instances in {manifest.Shards.Count} shard(s) to {CliErrors.Shown(outDir)} " +
                $"({written!.MaskedFraction * 100:F2} % masked, " +
                (packed ? $"one packed segment per instance, mean length {(double)manifest.Tokens / manifest.Instances:F1})" : $"{manifest.RandomNext * 100.0 / manifest.Instances:F2} % random next)"));
            if (manifest.Validation is { } v)
            {
                Console.Out.WriteLine($"held out {v.Documents:N0} document{(v.Documents == 1 ? "" : "s")} ({v.Percentage.ToString(System.Globalization.CultureInfo.InvariantCulture)} %), " +
                    $"{v.Instances:N0} instances in {CliErrors.Shown(Path.Combine(outDir, v.Directory))}; the counts above are the training split's");
            }
            Show(outDir, vocabPath, showCount);
            return 0;
        });
        return cmd;
    }

    private static void Show(string dataDir, string? vocabPath, int count)
    {
        if (count <= 0 || vocabPath is null)
        {
            return;
        }
        var data = PretrainingDataset.Open(dataDir);
        data.CheckVocabulary(vocabPath);
        // The vocabulary's tokens shown as data: an escape in one drove the terminal.
        var tokens = Vocabulary.Load(vocabPath).Tokens.Select(CliErrors.Shown).ToList();
        Console.Out.WriteLine(InstanceText.Legend);
        long index = 0;
        foreach (var instance in data.Read().Take(count))
        {
            Console.Out.Write(InstanceText.Format(instance, tokens, index++));
        }
    }

    private static string SplitLine(string split, PretrainingManifest m, string directory) =>
        $"{split}: {m.Documents:N0} document{(m.Documents == 1 ? "" : "s")}, {m.Instances:N0} instance{(m.Instances == 1 ? "" : "s")}, " +
        $"{m.Tokens:N0} token{(m.Tokens == 1 ? "" : "s")} in {CliErrors.Shown(directory)}";

    private static CorpusFormat ParseFormat(string? s) => s?.Trim().ToLowerInvariant() switch
    {
        null or "" or "auto" => CorpusFormat.Auto,
        "lines" => CorpusFormat.Lines,
        "document-per-line" => CorpusFormat.DocumentPerLine,
        "book" => CorpusFormat.Book,
        _ => throw new BertSharpException($"--format {s}: expected auto, lines, document-per-line or book."),
    };

    private sealed class Relay(IProgress<(string Phase, long Done, long Total, string? Note)> inner, string? phase = null) : IProgress<PretrainingProgress>
    {
        public void Report(PretrainingProgress value) => inner.Report((phase ?? value.Phase, value.Done, value.Total, null));
    }
}
