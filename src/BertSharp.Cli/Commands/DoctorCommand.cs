using System.CommandLine;
using System.Globalization;
using System.Runtime.InteropServices;
using BertSharp.Runtime;
using TorchSharp;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert doctor</c>: checks that libtorch loads and reports what the machine offers and how fast it multiplies.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var quick = new Option<bool>("--quick") { Description = "Skip the GEMM speed measurement (about a second)." };
        var cmd = new Command("doctor",
            "Check that libtorch loads here; print versions, threads, CUDA, MPI, allocator, the GEMM code path and its measured speed (under bert launch / mpirun: check that the ranks communicate).")
        {
            quick,
        };
        cmd.SetAction(parse =>
        {
            TorchRuntime.EnsureLoaded();
            // First, before anything is printed: under mpirun this silences the other ranks' stdout.
            var distributed = DistributedCheck.Run();
            using var a = torch.ones(2, 3);
            using var b = torch.ones(3, 2);
            using var c = a.matmul(b);
            var gemm = TorchRuntime.Gemm;
            Console.WriteLine($"bertsharp     {typeof(TorchRuntime).Assembly.GetName().Version}");
            Console.WriteLine($".NET          {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription}");
            Console.WriteLine($"libtorch      loaded (matmul check: {c.sum().item<float>()} == 12)");
            Console.WriteLine($"cpu           {CpuName()}, {Environment.ProcessorCount} logical CPUs, vendor {gemm.CpuVendor}{(gemm.Simulated ? " (simulated by BERTSHARP_SIMULATE_CPU_VENDOR)" : "")}");
            Console.WriteLine($"gemm path     MKL {gemm.CodePath} kernels; {OverrideText(gemm)}");
            var threads = torch.get_num_threads();
            foreach (var n in parse.GetValue(quick) ? [] : threads > 1 ? new[] { 1, threads } : [1])
            {
                var s = GemmProbe.Measure(n);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"gemm speed    {s.GflopsWall:F0} GFLOP/s wall, {s.GflopsPerCpuSecond:F0} GFLOP per CPU-second on {n} thread{(n == 1 ? "" : "s")} (float32 1024×768 · 768×3072)"));
            }
            var policy = NativeEnvironment.Settings.FirstOrDefault();
            Console.WriteLine($"threads       {threads}");
            Console.WriteLine($"thread wait   {policy.Name}={policy.Value} ({(policy.SetByBertSharp ? "set by BertSharp: idle OpenMP threads sleep instead of spinning" : "set by you")}{(NativeEnvironment.AppliedTooLate ? "; WARNING: libtorch loaded before BertSharp could set it" : "")})");
            Console.WriteLine($"cuda          {(torch.cuda.is_available() ? $"yes, {torch.cuda.device_count()} device(s)" : "no")}");
            Console.WriteLine($"distributed   {distributed}");
            Console.WriteLine($"allocator     {Allocator.Describe()}");
            return 0;
        });
        return cmd;
    }

    private static string OverrideText(MklDispatchReport r) => r.Override switch
    {
        MklVendorOverride.NotNeeded => "Intel CPU, MKL chooses by CPU features",
        MklVendorOverride.Applied => "non-Intel CPU: BertSharp made MKL choose by CPU features (else it runs its generic 'def' path at about half the speed; BERTSHARP_MKL_VENDOR_OVERRIDE=0 keeps MKL's choice)",
        MklVendorOverride.Disabled => "non-Intel CPU and BERTSHARP_MKL_VENDOR_OVERRIDE=0: MKL's own choice kept",
        MklVendorOverride.TooLate => "non-Intel CPU, but MKL had already chosen before BertSharp loaded libtorch (use a BertSharp type before any torch call)",
        _ => "MKL's vendor check could not be inspected in this libtorch build",
    };

    private static string CpuName()
    {
        try
        {
            return File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown CPU";
        }
        catch (IOException)
        {
            return "unknown CPU";
        }
    }
}
