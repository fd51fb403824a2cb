using System.CommandLine;
using System.Runtime.InteropServices;
using BertSharp.Runtime;
using TorchSharp;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert doctor</c>: checks that libtorch loads and reports what the machine offers.</summary>
internal static class DoctorCommand
{
    public static Command Create()
    {
        var cmd = new Command("doctor", "Check that libtorch loads here; print versions, threads, CUDA, MPI and allocator (under bert launch / mpirun: check that the ranks communicate).");
        cmd.SetAction(_ =>
        {
            TorchRuntime.EnsureLoaded();
            // First, before anything is printed: under mpirun this silences the other ranks' stdout.
            var distributed = DistributedCheck.Run();
            using var a = torch.ones(2, 3);
            using var b = torch.ones(3, 2);
            using var c = a.matmul(b);
            var preload = Environment.GetEnvironmentVariable("LD_PRELOAD") ?? "";
            Console.WriteLine($"bertsharp     {typeof(TorchRuntime).Assembly.GetName().Version}");
            Console.WriteLine($".NET          {RuntimeInformation.FrameworkDescription} on {RuntimeInformation.OSDescription}");
            Console.WriteLine($"libtorch      loaded (matmul check: {c.sum().item<float>()} == 12)");
            Console.WriteLine($"threads       {torch.get_num_threads()}");
            Console.WriteLine($"cuda          {(torch.cuda.is_available() ? $"yes, {torch.cuda.device_count()} device(s)" : "no")}");
            Console.WriteLine($"distributed   {distributed}");
            Console.WriteLine($"allocator     {(preload.Contains("tcmalloc", StringComparison.Ordinal) ? "tcmalloc (LD_PRELOAD)" : "glibc malloc (install libtcmalloc-minimal4 for flat memory in training)")}");
            return 0;
        });
        return cmd;
    }
}
