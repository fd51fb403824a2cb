using System.Collections.Concurrent;
using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using BertSharp.IO;
using BertSharp.Tokenization;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert bench ...</c>: throughput measurements (the cross-library comparison lives in <c>bench/</c>).</summary>
internal static class BenchCommand
{
    public static Command Create()
    {
        var cmd = new Command("bench", "Measure throughput.");
        cmd.Subcommands.Add(CreateTokenize());
        return cmd;
    }

    private static Command CreateTokenize()
    {
        var vocab = CommonOptions.Vocab(required: true);
        var input = new Option<string>("--input")
        {
            Description = "Texts: .txt/.txt.gz (one per line) or .csv/.csv.gz with a 'review' or 'text' column (the IMDb files).", Required = true,
        };
        var threads = new Option<string>("--threads") { Description = "Thread count, or a comma-separated list (one JSON line each).", DefaultValueFactory = _ => "1" };
        var lowercase = CommonOptions.Lowercase();
        var rounds = new Option<int>("--rounds") { Description = "Timed passes over the texts per thread count; the fastest is reported.", DefaultValueFactory = _ => 3 };
        var cmd = new Command("tokenize",
            "Time encoding (ids with [CLS]/[SEP], as HF encode does) of every text; prints {texts, tokens, seconds, tokens_per_second, threads, cpu_seconds, tokens_per_cpu_second} as one JSON line per thread count (rounds interleaved across thread counts; best round reported).")
        {
            vocab, input, threads, lowercase, rounds,
        };
        cmd.SetAction(parse =>
        {
            var threadCounts = ParseThreads(parse.GetValue(threads)!);
            var roundCount = parse.GetValue(rounds);
            if (roundCount < 1)
            {
                throw new BertSharpException($"--rounds must be at least 1 (got {roundCount}).");
            }
            var tokenizer = CommonOptions.WithClsSep(
                BertTokenizer.FromVocabFile(parse.GetValue(vocab)!, CommonOptions.ResolveLowercase(parse.GetValue(vocab)!, parse, lowercase).Lowercase),
                parse.GetValue(vocab)!, "bench tokenize");
            var path = parse.GetValue(input)!;
            var texts = TextCorpus.ReadTexts(path).ToArray();
            if (texts.Length == 0)
            {
                // The wording of the other commands' one-text-per-line inputs; a CSV file has a header, so it has lines.
                throw TextCorpus.IsCsv(path)
                    ? new BertSharpException($"--input {path}: no rows after the header; expected one text per row.")
                    : CliInput.NoTexts($"--input {path}", TextLines.Read(path).Count());
            }
            // Warm-up: JIT tiers and per-thread buffers settle before timing.
            Run(tokenizer, texts.AsSpan(0, Math.Min(texts.Length, 2000)).ToArray(), Math.Max(1, threadCounts.Max()));
            // Rounds are interleaved across thread counts so that every count sees the same spells of machine load.
            var best = threadCounts.Select(_ => double.MaxValue).ToArray();
            var bestCpu = threadCounts.Select(_ => double.MaxValue).ToArray();
            long tokens = 0;
            for (var r = 0; r < roundCount; r++)
            {
                for (var k = 0; k < threadCounts.Length; k++)
                {
                    var cpu = Environment.CpuUsage.TotalTime;
                    var clock = Stopwatch.StartNew();
                    tokens = Run(tokenizer, texts, threadCounts[k]);
                    best[k] = Math.Min(best[k], clock.Elapsed.TotalSeconds);
                    bestCpu[k] = Math.Min(bestCpu[k], (Environment.CpuUsage.TotalTime - cpu).TotalSeconds);
                }
            }
            for (var k = 0; k < threadCounts.Length; k++)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"{{\"texts\": {texts.Length}, \"tokens\": {tokens}, \"seconds\": {best[k]:F6}, \"tokens_per_second\": {tokens / best[k]:F0}, \"threads\": {threadCounts[k]}, \"cpu_seconds\": {bestCpu[k]:F6}, \"tokens_per_cpu_second\": {tokens / bestCpu[k]:F0}}}"));
            }
            return 0;
        });
        return cmd;
    }

    private static int[] ParseThreads(string spec)
    {
        var parts = spec.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var result = new int[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], NumberStyles.None, CultureInfo.InvariantCulture, out result[i]) || result[i] < 1)
            {
                throw new BertSharpException($"--threads: expected positive integers separated by commas, got '{spec}'.");
            }
            CommonOptions.CheckThreads(result[i]);
        }
        return result.Length > 0 ? result : throw new BertSharpException("--threads: no thread count given.");
    }

    /// <summary>Encodes every text on <paramref name="threads"/> threads; returns the total number of ids.</summary>
    private static long Run(BertTokenizer tokenizer, string[] texts, int threads)
    {
        if (threads == 1)
        {
            long total = 0;
            foreach (var t in texts)
            {
                total += tokenizer.EncodeIds(t).Length;
            }
            return total;
        }
        long sum = 0;
        Parallel.ForEach(
            Partitioner.Create(0, texts.Length, 64),
            new ParallelOptions { MaxDegreeOfParallelism = threads },
            range =>
            {
                long local = 0;
                for (var i = range.Item1; i < range.Item2; i++)
                {
                    local += tokenizer.EncodeIds(texts[i]).Length;
                }
                Interlocked.Add(ref sum, local);
            });
        return sum;
    }
}
