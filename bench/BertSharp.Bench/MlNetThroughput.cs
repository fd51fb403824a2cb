using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using BertSharp.IO;
using MlBertTokenizer = Microsoft.ML.Tokenizers.BertTokenizer;

namespace BertSharp.Bench;

/// <summary>
/// The Microsoft.ML.Tokenizers peer of <c>bert bench tokenize</c>: same input, same warm-up, best of N rounds, the same
/// JSON line (tokens include [CLS]/[SEP]).
/// </summary>
internal static class MlNetThroughput
{
    public static int Run(string[] args)
    {
        string? vocab = null, input = null;
        var lowercase = true;
        var threads = new[] { 1 };
        var rounds = 3;
        for (var i = 1; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--vocab": vocab = value; break;
                case "--input": input = value; break;
                case "--lowercase": lowercase = bool.Parse(value); break;
                case "--threads": threads = value.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray(); break;
                case "--rounds": rounds = int.Parse(value, CultureInfo.InvariantCulture); break;
                default: throw new ArgumentException($"unknown option {args[i]}");
            }
            i++;
        }
        var tokenizer = MlBertTokenizer.Create(vocab ?? BenchData.Vocab,
            new Microsoft.ML.Tokenizers.BertOptions { LowerCaseBeforeTokenization = lowercase, RemoveNonSpacingMarks = lowercase });
        var texts = TextCorpus.ReadTexts(input ?? BenchData.Input).ToArray();
        Count(tokenizer, texts.AsSpan(0, Math.Min(2000, texts.Length)).ToArray(), threads.Max());
        foreach (var n in threads)
        {
            long tokens = 0;
            var best = double.MaxValue;
            for (var r = 0; r < rounds; r++)
            {
                var clock = Stopwatch.StartNew();
                tokens = Count(tokenizer, texts, n);
                best = Math.Min(best, clock.Elapsed.TotalSeconds);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{{\"texts\": {texts.Length}, \"tokens\": {tokens}, \"seconds\": {best:F6}, \"tokens_per_second\": {tokens / best:F0}, \"threads\": {n}}}"));
        }
        return 0;
    }

    private static long Count(MlBertTokenizer tokenizer, string[] texts, int threads)
    {
        long sum = 0;
        Parallel.ForEach(Partitioner.Create(0, texts.Length, 64), new ParallelOptions { MaxDegreeOfParallelism = threads }, range =>
        {
            long local = 0;
            for (var i = range.Item1; i < range.Item2; i++)
            {
                local += tokenizer.EncodeToIds(texts[i], addSpecialTokens: true, considerPreTokenization: true, considerNormalization: true).Count;
            }
            Interlocked.Add(ref sum, local);
        });
        return sum;
    }
}
