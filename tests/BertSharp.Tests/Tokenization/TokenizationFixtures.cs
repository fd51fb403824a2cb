using System.IO.Compression;
using BertSharp.Tokenization;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Tokenization;

/// <summary>Loads the committed tokenizer fixtures (gzipped HF vocabularies and golden files) once per process.</summary>
internal static class TokenizationFixtures
{
    private static readonly Dictionary<string, string> Extracted = [];
    private static readonly Lock Gate = new();
    private static readonly Lazy<string> ExtractDir = new(() => BertSharp.Fuzz.ProcessScratch.Create("bertsharp-tok-fixtures"));

    public static string Dir => Path.Combine(TestPaths.Fixtures, "tokenization");

    /// <summary>Path of an uncompressed copy of a gzipped fixture (extracted once into the temp folder).</summary>
    public static string Extract(string gzName)
    {
        lock (Gate)
        {
            if (Extracted.TryGetValue(gzName, out var p))
            {
                return p;
            }
            p = Path.Combine(ExtractDir.Value, gzName[..^3]);
            using (var input = new GZipStream(File.OpenRead(Path.Combine(Dir, gzName)), CompressionMode.Decompress))
            using (var output = File.Create(p))
            {
                input.CopyTo(output);
            }
            Extracted[gzName] = p;
            return p;
        }
    }

    public static string VocabPath(string model) => Extract(model + "-vocab.txt.gz");

    private static readonly Dictionary<string, BertTokenizer> Tokenizers = [];

    public static BertTokenizer Tokenizer(string model)
    {
        lock (Gate)
        {
            if (!Tokenizers.TryGetValue(model, out var t))
            {
                t = BertTokenizer.FromVocabFile(VocabPath(model), lowercase: model.Contains("uncased", StringComparison.Ordinal));
                Tokenizers[model] = t;
            }
            return t;
        }
    }

    public static BertTokenizer Uncased => Tokenizer("bert-base-uncased");

    public static BertTokenizer Cased => Tokenizer("bert-base-cased");

    public static IEnumerable<string> GoldenLines(string model)
    {
        using var reader = new StreamReader(new GZipStream(File.OpenRead(Path.Combine(Dir, model + ".golden.jsonl.gz")), CompressionMode.Decompress));
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                yield return line;
            }
        }
    }
}
