using BertSharp.IO;

namespace BertSharp.Bench;

/// <summary>Where the benchmarks find their vocabulary and texts: environment variables, else ../shared beside the repo.</summary>
internal static class BenchData
{
    public static string Shared
    {
        get
        {
            var env = Environment.GetEnvironmentVariable("BERTSHARP_SHARED");
            if (!string.IsNullOrEmpty(env))
            {
                return env;
            }
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BertSharp.slnx")))
            {
                dir = dir.Parent;
            }
            return Path.GetFullPath(Path.Combine(dir?.FullName ?? ".", "..", "shared"));
        }
    }

    public static string Vocab => Environment.GetEnvironmentVariable("BERTSHARP_BENCH_VOCAB")
        ?? Path.Combine(Shared, "data", "vocab", "bert-base-uncased-vocab.txt");

    public static string Input => Environment.GetEnvironmentVariable("BERTSHARP_BENCH_INPUT")
        ?? Path.Combine(Shared, "data", "imdb", "test.csv.gz");

    /// <summary>Every <paramref name="stride"/>-th text of the input: a spread of review lengths.</summary>
    public static string[] Sample(int stride) =>
        TextCorpus.ReadTexts(Input).Where((_, i) => i % stride == 0).ToArray();
}
