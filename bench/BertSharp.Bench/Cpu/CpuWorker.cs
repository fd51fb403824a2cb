using System.Diagnostics;
using System.Globalization;
using BertSharp.Modeling;
using BertSharp.Runtime;
using BertSharp.Training;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Bench.Cpu;

/// <summary>
/// One contender of the CPU bench in its own process (so that each one's process CPU time is its own): reads commands
/// <c>fwd|train|gemm SIZE BATCH SEQ THREADS</c> on stdin and answers <c>cpu_ms wall_ms checksum</c> per command. The first
/// command of each kind/size/batch/threads runs once untimed first (warm-up: allocator, JIT, kernel choice).
/// </summary>
internal static class CpuWorker
{
    public static int Run(string contender, string dir)
    {
        using IContender c = contender switch
        {
            "bertsharp" => new BertSharpContender(dir),
            "ort" => new OrtContender(dir),
            _ => throw new ArgumentException($"--cpu-worker: unknown contender '{contender}' (bertsharp, ort)"),
        };
        Console.WriteLine("ready " + c.Describe());
        var warmed = new HashSet<string>(StringComparer.Ordinal);
        string? line;
        while ((line = Console.ReadLine()) is not null)
        {
            var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 0)
            {
                continue;
            }
            var (kind, size, batch, seq, threads) = (f[0], f[1], int.Parse(f[2], CultureInfo.InvariantCulture),
                int.Parse(f[3], CultureInfo.InvariantCulture), int.Parse(f[4], CultureInfo.InvariantCulture));
            if (!c.Supports(kind))
            {
                Console.WriteLine("n/a");
                continue;
            }
            if (warmed.Add(line))
            {
                c.Run(kind, size, batch, seq, threads);
            }
            var cpu = Environment.CpuUsage.TotalTime;
            var clock = Stopwatch.StartNew();
            var check = c.Run(kind, size, batch, seq, threads);
            var wall = clock.Elapsed.TotalMilliseconds;
            var cpuMs = (Environment.CpuUsage.TotalTime - cpu).TotalMilliseconds;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{cpuMs:F3} {wall:F3} {check:F6}"));
        }
        return 0;
    }

    private interface IContender : IDisposable
    {
        string Describe();

        bool Supports(string kind);

        double Run(string kind, string size, int batch, int seq, int threads);
    }

    private sealed class BertSharpContender(string dir) : IContender
    {
        private readonly Dictionary<string, BertModel> _forward = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (BertForPreTraining Model, optim.Optimizer Opt)> _train = new(StringComparer.Ordinal);
        private Tensor? _gemmA;
        private Tensor? _gemmW;

        public string Describe()
        {
            TorchRuntime.EnsureLoaded();
            return "bertsharp " + typeof(BertModel).Assembly.GetName().Version;
        }

        public bool Supports(string kind) => true;

        public double Run(string kind, string size, int batch, int seq, int threads)
        {
            torch.set_num_threads(threads);
            var path = Path.Combine(dir, size);
            // Models are built outside the per-call dispose scope, which would otherwise free their parameters.
            if (kind == "fwd" && !_forward.ContainsKey(size))
            {
                var model = BertPretrained.Load<BertModel>(path);
                model.eval();
                _forward[size] = model;
            }
            if (kind == "train" && !_train.ContainsKey(size))
            {
                var m = BertPretrained.Load<BertForPreTraining>(path);
                _train[size] = (m, AdamWFactory.Create(m, new AdamWOptions(LearningRate: 1e-4, WeightDecay: 0.01)));
            }
            using var scope = NewDisposeScope();
            if (kind == "gemm")
            {
                // size = "MxKxN": x [M, K] @ W[N, K]^T, as a Linear layer computes it.
                var mkn = size.Split('x').Select(s => long.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                if (_gemmA is null || _gemmA.shape[0] != mkn[0])
                {
                    _gemmA?.Dispose();
                    _gemmW?.Dispose();
                    using var g = torch.random.manual_seed(7);
                    _gemmA = torch.randn(mkn[0], mkn[1]).DetachFromDisposeScope();
                    _gemmW = torch.randn(mkn[2], mkn[1]).DetachFromDisposeScope();
                }
                return nn.functional.linear(_gemmA, _gemmW!).select(0, 0).narrow(0, 0, 8).sum().item<float>();
            }
            if (kind == "fwd")
            {
                var model = _forward[size];
                var vocab = model.Config.VocabSize;
                var ids = CpuInputs.Tensor2D(CpuInputs.Ids(batch, seq, vocab), batch, seq);
                using var noGrad = torch.no_grad();
                var o = model.Forward(new BertInput(ids, ones(batch, seq, dtype: ScalarType.Int64), CpuInputs.Tensor2D(CpuInputs.Types(batch, seq), batch, seq)));
                return o.LastHiddenState.select(1, 0).narrow(1, 0, 8).sum().item<float>();
            }
            var t = _train[size];
            t.Model.train();
            var idsArr = CpuInputs.Ids(batch, seq, t.Model.Config.VocabSize);
            t.Opt.zero_grad();
            var output = t.Model.Forward(
                new BertInput(CpuInputs.Tensor2D(idsArr, batch, seq), ones(batch, seq, dtype: ScalarType.Int64), CpuInputs.Tensor2D(CpuInputs.Types(batch, seq), batch, seq)),
                CpuInputs.Tensor2D(CpuInputs.Labels(idsArr), batch, seq), tensor(CpuInputs.NextSentence(batch)), logitsAtLabelledPositionsOnly: true);
            output.Loss!.backward();
            GradientClipping.ClipByGlobalNorm(t.Model.parameters(), 1.0);
            t.Opt.step();
            return output.Loss.item<float>();
        }

        public void Dispose()
        {
            foreach (var m in _forward.Values)
            {
                m.Dispose();
            }
            foreach (var (m, _) in _train.Values)
            {
                m.Dispose();
            }
            _gemmA?.Dispose();
            _gemmW?.Dispose();
        }
    }

    private sealed class OrtContender(string dir) : IContender
    {
        private readonly Dictionary<string, InferenceSession> _sessions = new(StringComparer.Ordinal);
        private float[]? _gemmA;

        public string Describe() => "onnxruntime " + OrtEnv.Instance().GetVersionString();

        public bool Supports(string kind) => kind is "fwd" or "gemm";

        public double Run(string kind, string size, int batch, int seq, int threads)
        {
            var file = kind == "gemm" ? Path.Combine(dir, $"gemm-{size}.onnx") : Path.Combine(dir, size, "model.onnx");
            var key = file + "|" + threads;
            if (!_sessions.TryGetValue(key, out var session))
            {
                // ORT's defaults apart from the thread count (all graph optimisations, its own spinning thread pool).
                using var options = new SessionOptions
                {
                    IntraOpNumThreads = threads,
                    InterOpNumThreads = 1,
                    ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                    GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
                };
                session = new InferenceSession(file, options);
                _sessions[key] = session;
            }
            if (kind == "gemm")
            {
                var mkn = size.Split('x').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                if (_gemmA is null || _gemmA.Length != mkn[0] * mkn[1])
                {
                    var rng = new Random(7);
                    _gemmA = new float[mkn[0] * mkn[1]];
                    for (var i = 0; i < _gemmA.Length; i++)
                    {
                        _gemmA[i] = (float)rng.NextDouble();
                    }
                }
                var a = _gemmA;
                using var xa = OrtValue.CreateTensorValueFromMemory(a, [mkn[0], mkn[1]]);
                using var r = session.Run(new RunOptions(), new Dictionary<string, OrtValue> { ["x"] = xa }, session.OutputNames);
                return r[0].GetTensorDataAsSpan<float>()[..8].ToArray().Sum();
            }
            var vocab = long.Parse(File.ReadAllText(Path.Combine(dir, size, "vocab_size")), CultureInfo.InvariantCulture);
            using var ids = OrtValue.CreateTensorValueFromMemory(CpuInputs.Ids(batch, seq, vocab), [batch, seq]);
            using var mask = OrtValue.CreateTensorValueFromMemory(Enumerable.Repeat(1L, batch * seq).ToArray(), [batch, seq]);
            using var types = OrtValue.CreateTensorValueFromMemory(CpuInputs.Types(batch, seq), [batch, seq]);
            using var results = session.Run(new RunOptions(),
                new Dictionary<string, OrtValue> { ["input_ids"] = ids, ["attention_mask"] = mask, ["token_type_ids"] = types },
                ["last_hidden_state"]);
            var hidden = results[0].GetTensorDataAsSpan<float>();
            var width = (int)results[0].GetTensorTypeAndShape().Shape[2];
            double sum = 0;
            for (var b = 0; b < batch; b++)
            {
                for (var j = 0; j < 8; j++)
                {
                    sum += hidden[b * seq * width + j];
                }
            }
            return sum;
        }

        public void Dispose()
        {
            foreach (var s in _sessions.Values)
            {
                s.Dispose();
            }
        }
    }
}
