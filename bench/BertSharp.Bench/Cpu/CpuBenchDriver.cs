using System.Diagnostics;
using System.Globalization;
using System.Text;
using BertSharp.Modeling;
using BertSharp.Runtime;
using TorchSharp;

namespace BertSharp.Bench.Cpu;

/// <summary>
/// <c>--cpu</c>: BertSharp against ONNX Runtime (same weights, exported by bench/cpu/torch_peer.py), PyTorch (when
/// python3-torch is installed) and a GEMM probe, each contender in its own worker process, interleaved workload by workload
/// and round by round, reporting median process CPU time and wall time per call with the load average.
/// </summary>
internal static class CpuBenchDriver
{
    private sealed record Peer(string Name, string File, string Args);

    private sealed record Workload(string Kind, string Size, int Batch, int Seq, int Threads)
    {
        public string Command => string.Create(CultureInfo.InvariantCulture, $"{Kind} {Size} {Batch} {Seq} {Threads}");

        public string Label => Kind == "gemm"
            ? $"GEMM {Size}"
            : $"{Size} {(Kind == "fwd" ? "forward" : "train step")} {Batch} × {Seq}";

        public double Flop
        {
            get
            {
                var mkn = Size.Split('x').Select(s => double.Parse(s, CultureInfo.InvariantCulture)).ToArray();
                return 2 * mkn[0] * mkn[1] * mkn[2];
            }
        }
    }

    public static int Run(string[] args)
    {
        var opt = ParseOptions(args);
        var dir = Path.GetFullPath(opt.GetValueOrDefault("dir", "bench/.cpu"));
        var sizes = List(opt.GetValueOrDefault("sizes", "base,mini"));
        var threads = List(opt.GetValueOrDefault("threads", "1,2")).Select(int.Parse).ToArray();
        var batches = List(opt.GetValueOrDefault("batches", "1,8,32")).Select(int.Parse).ToArray();
        var seq = int.Parse(opt.GetValueOrDefault("seq", "128"), CultureInfo.InvariantCulture);
        var rounds = int.Parse(opt.GetValueOrDefault("rounds", "3"), CultureInfo.InvariantCulture);
        // Training steps: SIZE:BATCH pairs (base 32 × 128 is ~20 s a step here, so it is not in the default set).
        var train = List(opt.GetValueOrDefault("train", "base:8,mini:8,mini:32"));
        var gemm = opt.GetValueOrDefault("gemm", "1024x768x3072");
        var torchPeer = opt.GetValueOrDefault("torch-peer", Path.Combine(AppContext.BaseDirectory, "torch_peer.py"));

        Prepare(dir, sizes, torchPeer, gemm);
        var peers = new List<Peer>
        {
            new("BertSharp", Environment.ProcessPath!, $"\"{typeof(CpuBenchDriver).Assembly.Location}\" --cpu-worker bertsharp \"{dir}\""),
        };
        foreach (var extra in args.Where(a => a.StartsWith("--peer=", StringComparison.Ordinal)))
        {
            // --peer=NAME=COMMAND: another BertSharp build (e.g. the code before a change) speaking the same protocol.
            var spec = extra["--peer=".Length..];
            var eq = spec.IndexOf('=', StringComparison.Ordinal);
            var cmd = spec[(eq + 1)..].Trim();
            var sp = cmd.IndexOf(' ', StringComparison.Ordinal);
            peers.Add(new(spec[..eq], cmd[..sp], cmd[(sp + 1)..] + $" \"{dir}\""));
        }
        peers.Add(new("ONNX Runtime", Environment.ProcessPath!, $"\"{typeof(CpuBenchDriver).Assembly.Location}\" --cpu-worker ort \"{dir}\""));
        if (opt.GetValueOrDefault("torch", "true") == "false")
        {
            Console.Error.WriteLine("cpu bench: --torch false, PyTorch does not join this run.");
        }
        else if (TorchAvailable())
        {
            // Debian's OpenBLAS 0.3.21 does not know CPUs newer than itself and falls back to its SSE3 "Prescott" kernels
            // (8x slower here); on an AVX-512 CPU name the AVX-512 kernels unless the user chose a core type.
            if (Environment.GetEnvironmentVariable("OPENBLAS_CORETYPE") is null && System.Runtime.Intrinsics.X86.Avx512F.IsSupported)
            {
                Environment.SetEnvironmentVariable("OPENBLAS_CORETYPE", "SkylakeX");
            }
            peers.Add(new("PyTorch", PythonWithTorch.Value!, $"\"{torchPeer}\" worker \"{dir}\""));
        }
        else
        {
            Console.Error.WriteLine("cpu bench: python3 with torch not found (apt-get install python3-torch); PyTorch does not join this run.");
        }

        var workloads = new List<Workload>();
        foreach (var t in threads)
        {
            workloads.Add(new("gemm", gemm, 1, 1, t));
            foreach (var size in sizes)
            {
                workloads.AddRange(batches.Select(b => new Workload("fwd", size, b, seq, t)));
                workloads.AddRange(train.Select(s => s.Split(':')).Where(s => s[0] == size)
                    .Select(s => new Workload("train", size, int.Parse(s[1], CultureInfo.InvariantCulture), seq, t)));
            }
        }

        var workers = peers.Select(p => new WorkerProcess(p.Name, p.File, p.Args)).ToList();
        try
        {
            Console.WriteLine($"# CPU bench — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {CpuName()}, {Environment.ProcessorCount} CPUs, {rounds} rounds");
            foreach (var w in workers)
            {
                Console.WriteLine($"# {w.Name}: {w.Ready}");
            }
            var results = new Dictionary<(Workload, string), List<(double Cpu, double Wall, double Check)>>();
            var loads = new Dictionary<Workload, List<double>>();
            for (var r = 0; r < rounds; r++)
            {
                foreach (var wl in workloads)
                {
                    // Rotate the order each round so that no contender always runs right after another one.
                    for (var k = 0; k < workers.Count; k++)
                    {
                        var w = workers[(k + r) % workers.Count];
                        var answer = w.Ask(wl.Command);
                        (loads.TryGetValue(wl, out var l) ? l : loads[wl] = []).Add(LoadAverage());
                        if (answer is null)
                        {
                            continue;
                        }
                        (results.TryGetValue((wl, w.Name), out var list) ? list : results[(wl, w.Name)] = []).Add(answer.Value);
                    }
                    Console.Error.Write('.');
                }
                if (r < rounds - 1)
                {
                    // A long run can be cut short: every finished round leaves a complete table (on stderr) behind.
                    Console.Error.Write($"\nafter round {r + 1}:" + Report(workloads, workers.Select(w => w.Name).ToList(), results, loads));
                }
            }
            Console.Error.WriteLine();
            Console.Write(Report(workloads, workers.Select(w => w.Name).ToList(), results, loads));
        }
        finally
        {
            foreach (var w in workers)
            {
                w.Dispose();
            }
        }
        return 0;
    }

    private static string Report(List<Workload> workloads, List<string> names, Dictionary<(Workload, string), List<(double Cpu, double Wall, double Check)>> results,
        Dictionary<Workload, List<double>> loads)
    {
        var sb = new StringBuilder();
        var others = names.Skip(1).ToList();
        sb.Append("\n| workload | threads |");
        foreach (var n in names)
        {
            sb.Append(CultureInfo.InvariantCulture, $" {n} CPU ms | {n} wall ms |");
        }
        foreach (var n in others)
        {
            sb.Append(CultureInfo.InvariantCulture, $" {names[0]} / {n} CPU | wall |");
        }
        sb.Append(" load avg |\n|---|---:|");
        sb.Append(string.Concat(Enumerable.Repeat("---:|", names.Count * 2 + others.Count * 2)));
        sb.Append("---|\n");
        foreach (var wl in workloads)
        {
            var med = names.ToDictionary(n => n, n => results.TryGetValue((wl, n), out var l)
                ? (Cpu: Median(l.Select(x => x.Cpu)), Wall: Median(l.Select(x => x.Wall)), Check: l[0].Check)
                : ((double Cpu, double Wall, double Check)?)null);
            sb.Append(CultureInfo.InvariantCulture, $"| {wl.Label} | {wl.Threads} |");
            foreach (var n in names)
            {
                if (med[n] is { } m)
                {
                    sb.Append(wl.Kind == "gemm"
                        ? string.Create(CultureInfo.InvariantCulture, $" {wl.Flop / m.Cpu / 1e6:F0} GF/CPU-s | {wl.Flop / m.Wall / 1e6:F0} GF/s |")
                        : string.Create(CultureInfo.InvariantCulture, $" {m.Cpu:N0} | {m.Wall:N0} |"));
                }
                else
                {
                    sb.Append(" — | — |");
                }
            }
            foreach (var n in others)
            {
                if (med[names[0]] is { } a && med[n] is { } b)
                {
                    sb.Append(CultureInfo.InvariantCulture, $" {a.Cpu / b.Cpu:F2}× | {a.Wall / b.Wall:F2}× |");
                }
                else
                {
                    sb.Append(" — | — |");
                }
            }
            var la = loads[wl];
            sb.Append(CultureInfo.InvariantCulture, $" {la.Min():F1}–{la.Max():F1} |\n");
        }
        sb.Append("\nChecksums (first round; forward: sum of hidden[:, 0, :8]; train: loss):\n");
        foreach (var wl in workloads.Where(w => w.Kind != "gemm"))
        {
            sb.Append(CultureInfo.InvariantCulture, $"  {wl.Label}, {wl.Threads} thr:");
            foreach (var n in names)
            {
                if (results.TryGetValue((wl, n), out var l))
                {
                    sb.Append(CultureInfo.InvariantCulture, $" {n} {l[0].Check:F4};");
                }
            }
            sb.Append('\n');
        }
        return sb.ToString();
    }

    private static void Prepare(string dir, IReadOnlyList<string> sizes, string torchPeer, string gemm)
    {
        Directory.CreateDirectory(dir);
        foreach (var size in sizes)
        {
            var d = Path.Combine(dir, size);
            if (File.Exists(Path.Combine(d, "model.safetensors")))
            {
                continue;
            }
            TorchRuntime.EnsureLoaded();
            using (torch.random.manual_seed(42))
            {
                using var model = BertPretrained.Create<BertForPreTraining>(BertConfig.Preset(size));
                BertPretrained.Save(model, d);
            }
            File.WriteAllText(Path.Combine(d, "vocab_size"), BertConfig.Preset(size).VocabSize.ToString(CultureInfo.InvariantCulture));
        }
        if (sizes.Any(s => !File.Exists(Path.Combine(dir, s, "model.onnx"))) || !File.Exists(Path.Combine(dir, $"gemm-{gemm}.onnx")))
        {
            if (!TorchAvailable())
            {
                throw new BertSharpException("cpu bench: the ONNX files are exported by bench/cpu/torch_peer.py, which needs python3-torch (apt-get install python3-torch).");
            }
            using var p = Process.Start(new ProcessStartInfo(PythonWithTorch.Value!, $"\"{torchPeer}\" export \"{dir}\" {gemm}") { UseShellExecute = false })!;
            p.WaitForExit();
            if (p.ExitCode != 0)
            {
                throw new BertSharpException($"cpu bench: ONNX export failed (exit {p.ExitCode}).");
            }
        }
    }

    private static readonly Lazy<string?> PythonWithTorch = new(() =>
    {
        // Debian's python3-torch lives in the system interpreter, which a pyenv/venv python3 earlier on PATH would hide.
        foreach (var python in new[] { Environment.GetEnvironmentVariable("PYTHON"), "/usr/bin/python3", "python3" })
        {
            if (string.IsNullOrEmpty(python))
            {
                continue;
            }
            try
            {
                using var p = Process.Start(new ProcessStartInfo(python, "-c \"import torch\"") { UseShellExecute = false, RedirectStandardError = true })!;
                p.StandardError.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode == 0)
                {
                    return python;
                }
            }
            catch (System.ComponentModel.Win32Exception)
            {
            }
        }
        return null;
    });

    private static bool TorchAvailable() => PythonWithTorch.Value is not null;

    private static double Median(IEnumerable<double> xs)
    {
        var a = xs.Order().ToArray();
        return a.Length % 2 == 1 ? a[a.Length / 2] : (a[a.Length / 2 - 1] + a[a.Length / 2]) / 2;
    }

    private static double LoadAverage() =>
        double.Parse(File.ReadAllText("/proc/loadavg").Split(' ')[0], CultureInfo.InvariantCulture);

    private static string CpuName() =>
        File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";

    private static List<string> List(string s) => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

    private static Dictionary<string, string> ParseOptions(string[] args)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal) && !args[i].Contains('=', StringComparison.Ordinal) && i + 1 < args.Length)
            {
                d[args[i][2..]] = args[++i];
            }
        }
        return d;
    }

    private static readonly string[] ThreadPolicyVariables = ["OMP_WAIT_POLICY", "GOMP_SPINCOUNT"];

    private static readonly HashSet<string> InitialEnvironment = File.ReadAllText("/proc/self/environ")
        .Split('\0', StringSplitOptions.RemoveEmptyEntries).Select(kv => kv.Split('=', 2)[0]).ToHashSet(StringComparer.Ordinal);

    private sealed class WorkerProcess : IDisposable
    {
        private readonly Process _p;

        public WorkerProcess(string name, string file, string args)
        {
            Name = name;
            var start = new ProcessStartInfo(file, args)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
            };
            // The driver's own BertSharp sets its thread policy (OMP_WAIT_POLICY) in this process's environment; a worker starts
            // from the environment this process was started with (/proc/self/environ is that, unchanged by setenv), so that
            // an older BertSharp build or another peer does not inherit it and a new one sets it itself.
            foreach (var variable in ThreadPolicyVariables.Where(v => !InitialEnvironment.Contains(v)))
            {
                start.Environment.Remove(variable);
            }
            _p = Process.Start(start)!;
            Ready = _p.StandardOutput.ReadLine() ?? throw new BertSharpException($"cpu bench: worker {name} exited at start ({file} {args}).");
        }

        public string Name { get; }

        public string Ready { get; }

        public (double Cpu, double Wall, double Check)? Ask(string command)
        {
            _p.StandardInput.WriteLine(command);
            _p.StandardInput.Flush();
            var line = _p.StandardOutput.ReadLine() ?? throw new BertSharpException($"cpu bench: worker {Name} died on '{command}'.");
            if (line == "n/a")
            {
                return null;
            }
            var f = line.Split(' ').Select(x => double.Parse(x, CultureInfo.InvariantCulture)).ToArray();
            return (f[0], f[1], f[2]);
        }

        public void Dispose()
        {
            try
            {
                _p.StandardInput.Close();
                if (!_p.WaitForExit(10_000))
                {
                    _p.Kill();
                }
            }
            finally
            {
                _p.Dispose();
            }
        }
    }
}
