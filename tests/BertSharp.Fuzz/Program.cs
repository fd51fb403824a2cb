using System.Globalization;

namespace BertSharp.Fuzz;

/// <summary>
/// <c>BertSharp.Fuzz [--target all|tokenizer|pickle|safetensors|datasets] [--inputs N] [--seed S] [--hang-seconds T]
/// [--findings DIR]</c> runs N inputs per target and prints one JSON line per target; exit 1 when anything crashed, 3 on a
/// hang. <c>--replay FILE --target NAME</c> runs one saved input and shows what it throws. See bench/fuzz.sh.
/// </summary>
public static class Program
{
    public static int Main(string[] args)
    {
        string Arg(string name, string fallback)
        {
            var i = Array.IndexOf(args, name);
            return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        }
        var which = Arg("--target", "all");
        var targets = Fuzzer.AllTargets().Where(t => which == "all" || t.Name == which).ToList();
        if (targets.Count == 0)
        {
            Console.Error.WriteLine($"--target {which}: expected all, tokenizer, pickle, safetensors or datasets.");
            return 2;
        }
        if (Arg("--replay", "") is { Length: > 0 } replay)
        {
            targets[0].Run(File.ReadAllBytes(replay));
            Console.Out.WriteLine("no crash");
            return 0;
        }
        var inputs = long.Parse(Arg("--inputs", "10000"), CultureInfo.InvariantCulture);
        var seed = int.Parse(Arg("--seed", "1"), CultureInfo.InvariantCulture);
        var hang = TimeSpan.FromSeconds(double.Parse(Arg("--hang-seconds", "10"), CultureInfo.InvariantCulture));
        var findings = Arg("--findings", Path.Combine(Environment.CurrentDirectory, "fuzz-findings"));
        var reports = new List<FuzzReport>();
        foreach (var t in targets)
        {
            var report = Fuzzer.Run(t, inputs, seed, hang, findings);
            Console.Out.WriteLine(Fuzzer.Json(report));
            reports.Add(report);
        }
        if (reports.Count > 1)
        {
            Console.Out.WriteLine(Fuzzer.Json(new FuzzReport("total", reports.Sum(r => r.Inputs), reports.Sum(r => r.Refused), reports.Sum(r => r.Crashes),
                reports.Sum(r => r.Hangs), reports.Sum(r => r.Seconds), reports.Max(r => r.SlowestMs), [.. reports.SelectMany(r => r.Findings)])));
        }
        return reports.Any(r => r.Crashes > 0) ? 1 : 0;
    }
}
