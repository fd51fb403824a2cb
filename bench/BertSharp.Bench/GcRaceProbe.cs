using System.Globalization;
using BertSharp.Runtime;
using BertSharp.Modeling;
using TorchSharp;

namespace BertSharp.Bench;

/// <summary>
/// <c>--gc-race SECONDS unscoped|scoped|stable</c>: shows TorchSharp 0.107's garbage-collection race (tests/README.md, "A test
/// host that crashes"). One thread runs small tensor expressions whose temporaries and implicit Scalars nothing references
/// during the native call; another allocates and collects. <c>unscoped</c> runs them outside any dispose scope, <c>scoped</c>
/// inside one per iteration (tensors held, implicit Scalars not), <c>stable</c> as the library does: in a dispose scope with
/// Scalars from <c>StableScalars</c> (what build/BannedSymbols.txt enforces). Exits 0 when the loop survived with the right
/// values, 1 when a value came back wrong or libtorch threw; a native crash ends the process with a signal
/// (bench/torchsharp-gc-race.sh).
/// </summary>
internal static class GcRaceProbe
{
    public static int Run(string[] args)
    {
        var seconds = double.Parse(args[1], CultureInfo.InvariantCulture);
        var mode = args[2] is "unscoped" or "scoped" or "stable"
            ? args[2]
            : throw new ArgumentException($"--gc-race: mode '{args[2]}' is not one of unscoped, scoped, stable");
        var scoped = mode != "unscoped";
        TorchRuntime.EnsureLoaded();
        var stop = false;
        var collector = new Thread(() =>
        {
            while (!Volatile.Read(ref stop))
            {
                _ = new byte[10_000];
                GC.Collect();
                GC.WaitForPendingFinalizers();
            }
        });
        collector.Start();
        using var t = StableScalars.Range(16, torch.ScalarType.Float64);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long iterations = 0;
        try
        {
            while (clock.Elapsed.TotalSeconds < seconds)
            {
                using var scope = scoped ? torch.NewDisposeScope() : null;
                // t[5] = 5 and sum(2t + 1) = 2·120 + 16 = 256.
                var fifth = t.view(-1)[5].item<double>();
                var sum = mode == "stable"
                    ? StableScalars.Add(t.mul(StableScalars.Of(2.0)), StableScalars.Of(1.0)).sum().item<double>()
                    : Unstable(t);
                if (fifth != 5 || sum != 256)
                {
                    Console.WriteLine($"{mode}: wrong values after {iterations:N0} iterations ({fifth}, {sum})");
                    return 1;
                }
                iterations++;
            }
        }
        catch (Exception e) when (e is System.Runtime.InteropServices.ExternalException)
        {
            Console.WriteLine($"{mode}: libtorch threw after {iterations:N0} iterations: {e.Message.Split('\n')[0]}");
            return 1;
        }
        finally
        {
            Volatile.Write(ref stop, true);
            collector.Join();
        }
        Console.WriteLine($"{mode}: survived {iterations:N0} iterations in {seconds} s");
        return 0;
    }

    // Deliberately the calls build/BannedSymbols.txt bans (implicit Scalars 2.0 and 1.0, add's alpha): the race they lose.
#pragma warning disable RS0030
    private static double Unstable(torch.Tensor t) => t.mul(2.0).add(1.0).sum().item<double>();
#pragma warning restore RS0030
}
