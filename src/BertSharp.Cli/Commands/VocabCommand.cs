using System.CommandLine;
using System.Diagnostics;
using System.Text;
using BertSharp.IO;
using BertSharp.Tokenization;
using BertSharp.Tokenization.Training;
using static System.FormattableString;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert vocab train</c>: learns a WordPiece vocabulary from text files with HF's WordPiece trainer algorithm.</summary>
internal static class VocabCommand
{
    public static Command Create()
    {
        var cmd = new Command("vocab", "WordPiece vocabularies.");
        cmd.Subcommands.Add(CreateTrain());
        return cmd;
    }

    private static Command CreateTrain()
    {
        var input = new Option<string[]>("--input")
        {
            Description = "Corpus files or directories (.txt or .txt.gz, UTF-8, one text per line; a directory: every such file under it).", Required = true, AllowMultipleArgumentsPerToken = true,
        };
        var vocabSize = new Option<int>("--vocab-size") { Description = "Target vocabulary size, special tokens included.", Required = true };
        // The library's defaults (HF's BertWordPieceTokenizer.train), said once there.
        var defaults = new WordPieceTrainerOptions();
        var minFrequency = new Option<long>("--min-frequency")
        {
            Description = "Stop merging at the first pair seen fewer times than this.", DefaultValueFactory = _ => defaults.MinFrequency,
        };
        var lowercase = new Option<bool>("--lowercase") { Description = "Lowercase the text: true (the default, as HF's BertWordPieceTokenizer.train; for uncased models) or false.", DefaultValueFactory = _ => true };
        var stripAccents = new Option<bool?>("--strip-accents") { Description = "Strip accents (default: same as --lowercase, as in HF)." };
        var limitAlphabet = new Option<int>("--limit-alphabet")
        {
            Description = "Keep at most this many distinct characters (the most frequent); 0 keeps all.", DefaultValueFactory = _ => defaults.LimitAlphabet ?? 0,
        };
        var output = new Option<string>("--output") { Description = "Where to write vocab.txt (written atomically).", DefaultValueFactory = _ => "vocab.txt" };
        var threads = new Option<int>("--threads") { Description = "Threads for word counting (0: one per core).", DefaultValueFactory = _ => 0 };

        var cmd = new Command("train", "Train a WordPiece vocabulary (HF tokenizers' WordPiece trainer: BPE merges with ## continuations; deterministic).")
        {
            input, vocabSize, minFrequency, lowercase, stripAccents, limitAlphabet, output, threads,
        };
        cmd.SetAction(parse =>
        {
            var options = new WordPieceTrainerOptions
            {
                VocabSize = parse.GetValue(vocabSize),
                MinFrequency = parse.GetValue(minFrequency),
                // 0 keeps every character (the library's null); a negative count is the library's to refuse.
                LimitAlphabet = parse.GetValue(limitAlphabet) is var l and not 0 ? l : null,
            };
            // Checked before the corpus is read: the trainer refuses its settings as it is made.
            var trainer = new WordPieceTrainer(options);
            CommonOptions.CheckThreads(parse.GetValue(threads), zeroIsDefault: true);
            var normalizer = new NormalizerOptions(Lowercase: parse.GetValue(lowercase), StripAccents: parse.GetValue(stripAccents));
            // After the trainer's checks, as before: its settings are refused whatever the inputs.
            var files = CorpusFiles.Expand(parse.GetValue(input)!);
            var path = parse.GetValue(output)!;
            // CliInput.RefuseUnwritableOutputs sees --input as typed; a folder's files are known only here. --input corpus
            // --output corpus/a.txt replaced the corpus file a.txt with the vocabulary.
            if (files.Exists(f => string.Equals(Path.GetFullPath(f), Path.GetFullPath(path), StringComparison.Ordinal)))
            {
                throw new BertSharpException($"--output {CliErrors.Shown(path)}: is one of the --input files; choose another path for the vocabulary.");
            }
            var clock = Stopwatch.StartNew();
            var withText = new bool[files.Count];
            var counts = WordCounter.CountBertWords(files.SelectMany((file, f) => NotingText(file, () => withText[f] = true)), normalizer, parse.GetValue(threads));
            if (counts.Count == 0)
            {
                // Three named at most, as pretrain-data names them: a folder of 200 empty files made a 5,700-character line.
                throw new BertSharpException(files.Count == 1
                    ? $"{files[0]}: no words found; the corpus is empty."
                    : Invariant($"no words found in any of the {files.Count} input files ({string.Join(", ", files.Take(3))}{(files.Count > 3 ? ", …" : "")}); the corpus is empty."));
            }
            var countSeconds = clock.Elapsed.TotalSeconds;
            var result = trainer.Train(counts);
            var sb = new StringBuilder();
            foreach (var token in result.Tokens)
            {
                sb.Append(token).Append('\n');
            }
            AtomicFile.WriteAllText(path, sb.ToString());
            Console.WriteLine(
                $"wrote {CliErrors.Shown(path)}: {result.Tokens.Count} tokens ({options.SpecialTokens.Count} special, {result.AlphabetSize} characters, " +
                $"{result.ContinuationTokens} ##characters, {result.Merges} merges) from {result.DistinctWords} distinct words; " +
                $"counting {countSeconds:F1} s, merging {clock.Elapsed.TotalSeconds - countSeconds:F1} s");
            if (result.Tokens.Count < options.VocabSize)
            {
                // Merging stops at a count below 1 whatever --min-frequency says: "frequency >= 0" was said of a corpus merged out.
                Console.WriteLine($"note: no pair with frequency >= {Math.Max(1, options.MinFrequency)} was left before reaching --vocab-size {options.VocabSize}.");
            }
            else if (result.Tokens.Count > options.VocabSize)
            {
                // The ##characters count too: "the special tokens and the alphabet alone" was said where those two fit.
                var initial = options.SpecialTokens.Count + result.AlphabetSize + result.ContinuationTokens;
                Console.WriteLine(
                    $"note: the {options.SpecialTokens.Count} special tokens, {result.AlphabetSize} characters and {result.ContinuationTokens} ##characters " +
                    $"alone make {initial} tokens, more than --vocab-size {options.VocabSize}; lower --limit-alphabet or raise --vocab-size.");
            }
            for (var f = 0; f < files.Count; f++)
            {
                if (!withText[f])
                {
                    CorpusInputs.WarnNoText(files[f]);
                }
            }
            return 0;
        });
        return cmd;
    }

    // The lines are read by one thread at a time (the word counter takes them in chunks under a lock), so the flag needs none.
    private static IEnumerable<string> NotingText(string file, Action hasText)
    {
        var seen = false;
        foreach (var line in TextLines.Read(file))
        {
            if (!seen && !string.IsNullOrWhiteSpace(line))
            {
                seen = true;
                hasText();
            }
            yield return line;
        }
    }
}
