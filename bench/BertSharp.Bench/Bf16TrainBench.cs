using System.Diagnostics;
using System.Globalization;
using BertSharp.Bench.Cpu;
using BertSharp.Modeling;
using BertSharp.Training;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Bench;

/// <summary>
/// <c>--bf16-train [--hidden 384 --layers 6 --heads 12 --intermediate 1536 --batch 8 --seq 128 --rounds 6 --threads 2]</c>:
/// float32 against bf16 (<see cref="MixedPrecision.Bf16"/>) training steps of the same model (two copies with the same
/// weights) and batch, interleaved step by step in one process, the order alternating per round after one untimed warm-up
/// step each; prints the median process CPU time and wall time per step of each and their ratios as a markdown table. A step
/// is the CPU bench's: BertForPreTraining with MLM at the labelled positions + NSP, backward, clip 1.0, AdamW.
/// </summary>
internal static class Bf16TrainBench
{
    public static int Run(string[] args)
    {
        int Arg(string name, int fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
        }
        var config = new BertConfig
        {
            HiddenSize = Arg("--hidden", 384), NumHiddenLayers = Arg("--layers", 6), NumAttentionHeads = Arg("--heads", 12),
            IntermediateSize = Arg("--intermediate", 1536), MaxPositionEmbeddings = 512,
        };
        var (batch, seq, rounds) = (Arg("--batch", 8), Arg("--seq", 128), Arg("--rounds", 6));
        torch.set_num_threads(Arg("--threads", 2));
        using var fp32 = Build(config);
        using var bf16 = Build(config);
        using var optFp32 = AdamWFactory.Create(fp32, new AdamWOptions(LearningRate: 1e-4, WeightDecay: 0.01));
        using var optBf16 = AdamWFactory.Create(bf16, new AdamWOptions(LearningRate: 1e-4, WeightDecay: 0.01));
        var ids = CpuInputs.Ids(batch, seq, config.VocabSize);
        (double Cpu, double Wall, float Loss) Step(BertForPreTraining model, optim.Optimizer opt, bool mixed)
        {
            var process = Process.GetCurrentProcess();
            var cpu0 = process.TotalProcessorTime;
            var wall = Stopwatch.StartNew();
            using var scope = NewDisposeScope();
            opt.zero_grad();
            BertForPreTrainingOutput output;
            using (mixed ? MixedPrecision.Bf16() : null)
            {
                output = model.Forward(
                    new BertInput(CpuInputs.Tensor2D(ids, batch, seq), ones(batch, seq, dtype: ScalarType.Int64), CpuInputs.Tensor2D(CpuInputs.Types(batch, seq), batch, seq)),
                    CpuInputs.Tensor2D(CpuInputs.Labels(ids), batch, seq), tensor(CpuInputs.NextSentence(batch)), logitsAtLabelledPositionsOnly: true);
            }
            output.Loss!.backward();
            GradientClipping.ClipByGlobalNorm(model.parameters(), 1.0);
            opt.step();
            var loss = output.Loss.item<float>();
            process.Refresh();
            return ((process.TotalProcessorTime - cpu0).TotalMilliseconds, wall.Elapsed.TotalMilliseconds, loss);
        }
        Step(fp32, optFp32, false);
        Step(bf16, optBf16, true);
        var (f, b) = (new List<(double Cpu, double Wall, float Loss)>(), new List<(double Cpu, double Wall, float Loss)>());
        for (var r = 0; r < rounds; r++)
        {
            if (r % 2 == 0)
            {
                f.Add(Step(fp32, optFp32, false));
                b.Add(Step(bf16, optBf16, true));
            }
            else
            {
                b.Add(Step(bf16, optBf16, true));
                f.Add(Step(fp32, optFp32, false));
            }
        }
        static double Median(IEnumerable<double> xs)
        {
            var s = xs.Order().ToArray();
            return s.Length % 2 == 1 ? s[s.Length / 2] : (s[s.Length / 2 - 1] + s[s.Length / 2]) / 2;
        }
        var (fc, fw, bc, bw) = (Median(f.Select(x => x.Cpu)), Median(f.Select(x => x.Wall)), Median(b.Select(x => x.Cpu)), Median(b.Select(x => x.Wall)));
        var inv = CultureInfo.InvariantCulture;
        Console.WriteLine(string.Create(inv, $"| model | batch × seq | rounds | float32 CPU ms (wall) | bf16 CPU ms (wall) | bf16 / float32 CPU · wall | last losses fp32 · bf16 |"));
        Console.WriteLine("|---|---|---:|---:|---:|---:|---|");
        Console.WriteLine(string.Create(inv,
            $"| hidden {config.HiddenSize}, {config.NumHiddenLayers} layers, {config.NumAttentionHeads} heads, FFN {config.IntermediateSize} | {batch} × {seq} | {rounds} | {fc:N0} ({fw:N0}) | {bc:N0} ({bw:N0}) | {bc / fc:F2}× · {bw / fw:F2}× | {f[^1].Loss:F4} · {b[^1].Loss:F4} |"));
        return 0;
    }

    private static BertForPreTraining Build(BertConfig config)
    {
        // The same seed for both copies: the same weights.
        using var g = torch.random.manual_seed(42);
        var model = BertPretrained.Create<BertForPreTraining>(config);
        model.train();
        return model;
    }
}
