using System.Diagnostics;
using TorchSharp;
using static TorchSharp.torch;

namespace BertSharp.Runtime;

/// <summary>Measured float32 matrix-product speed of this libtorch on this machine.</summary>
/// <param name="Threads">Intra-op threads used.</param>
/// <param name="GflopsWall">GFLOP per second of wall time.</param>
/// <param name="GflopsPerCpuSecond">GFLOP per second of process CPU time (stable on a shared machine).</param>
internal sealed record GemmSpeed(int Threads, double GflopsWall, double GflopsPerCpuSecond);

/// <summary>
/// Times <c>linear</c> on a [1024, 768] input and a [3072, 768] weight (BERT-base's FFN up-projection for 8 × 128 tokens), the
/// product that dominates BERT's CPU time.
/// </summary>
internal static class GemmProbe
{
    /// <summary>Runs the product for about <paramref name="seconds"/> after one warm-up call, on <paramref name="threads"/> threads.</summary>
    public static GemmSpeed Measure(int threads, double seconds = 0.4)
    {
        TorchRuntime.EnsureLoaded();
        var before = torch.get_num_threads();
        torch.set_num_threads(threads);
        try
        {
            using var scope = NewDisposeScope();
            // Its own generator: measuring speed must not reseed the caller's torch.manual_seed stream.
            using var generator = new torch.Generator(0);
            var x = torch.randn(1024, 768, generator: generator);
            var w = torch.randn(3072, 768, generator: generator);
            nn.functional.linear(x, w).Dispose();
            var cpu = Environment.CpuUsage.TotalTime;
            var clock = Stopwatch.StartNew();
            var calls = 0;
            do
            {
                nn.functional.linear(x, w).Dispose();
                calls++;
            }
            while (clock.Elapsed.TotalSeconds < seconds);
            var flop = 2.0 * 1024 * 768 * 3072 * calls;
            var cpuSeconds = Math.Max(1e-9, (Environment.CpuUsage.TotalTime - cpu).TotalSeconds);
            return new GemmSpeed(threads, flop / clock.Elapsed.TotalSeconds / 1e9, flop / cpuSeconds / 1e9);
        }
        finally
        {
            torch.set_num_threads(before);
        }
    }
}
