using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Runtime;

public class MklDispatchTests
{
    /// <summary>The MKL code path a CPU with these features gets when MKL chooses by features (as on Intel CPUs).</summary>
    private static string FeaturePath() =>
        Avx512F.IsSupported && Avx512BW.IsSupported && Avx512DQ.IsSupported && Avx512F.VL.IsSupported ? "avx512" : Avx2.IsSupported ? "avx2" : "mc3";

    [SkippableFact]
    public void Mkl_runs_the_kernels_of_this_cpus_features_whatever_its_vendor()
    {
        var gemm = TorchRuntime.Gemm;
        Skip.If(gemm.Override == MklVendorOverride.Unavailable, "this libtorch has no inspectable MKL");
        Assert.Equal(FeaturePath(), gemm.CodePath);
        Assert.Equal(MklDispatch.CpuVendor() == "GenuineIntel" ? MklVendorOverride.NotNeeded : MklVendorOverride.Applied, gemm.Override);
    }

    [SkippableFact]
    public void Symbol_table_reader_agrees_with_the_dynamic_loader()
    {
        TorchRuntime.EnsureLoaded();
        var lib = MklDispatch.FindLoadedLibrary("libtorch_cpu.so");
        Skip.If(lib is null, "libtorch_cpu.so is not mapped (not Linux)");
        var found = ElfSymbols.Find(lib.Value.Path, ["mkl_serv_cpu_detect", "THIS_SYMBOL_DOES_NOT_EXIST", "mkl_cpu_type"]);
        Assert.True(NativeLibrary.TryGetExport(NativeLibrary.Load(lib.Value.Path), "mkl_serv_cpu_detect", out var exported));
        Assert.Equal((ulong)exported, lib.Value.Base + found["mkl_serv_cpu_detect"].Value);
        Assert.Equal(4UL, found["mkl_cpu_type"].Size); // a local int: only in .symtab, not in the dynamic table
        Assert.False(found.ContainsKey("THIS_SYMBOL_DOES_NOT_EXIST"));
    }

    [SkippableFact]
    public void Symbol_cache_answers_as_the_table_does_per_build_id_and_rereads_a_damaged_file()
    {
        TorchRuntime.EnsureLoaded();
        var lib = MklDispatch.FindLoadedLibrary("libtorch_cpu.so");
        Skip.If(lib is null, "libtorch_cpu.so is not mapped (not Linux)");
        // The build ID as binutils reads it.
        var readelf = Packaging.PackageBuild.Run(Path.GetDirectoryName(lib.Value.Path)!, "readelf", "-n", lib.Value.Path);
        var id = readelf.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("Build ID: ", StringComparison.Ordinal))["Build ID: ".Length..];
        Assert.Equal(id, ElfSymbols.BuildId(lib.Value.Path));
        Assert.Null(ElfSymbols.BuildId(Path.Combine(AppContext.BaseDirectory, "xunit.runner.json")));

        using var tmp = TestPaths.TempDir();
        string[] names = ["mkl_serv_cpu_detect", "THIS_SYMBOL_DOES_NOT_EXIST", "mkl_cpu_type"];
        var table = ElfSymbols.Find(lib.Value.Path, names);
        var file = Path.Combine(tmp.Path, $"elf-symbols-{id}.txt");
        Assert.Equal(table, ElfSymbolCache.Find(lib.Value.Path, names, tmp.Path)); // read from the table, written down
        Assert.True(File.Exists(file));
        // Answered from the file: an entry changed there is what comes back.
        File.WriteAllText(file, File.ReadAllText(file).Replace("mkl_cpu_type ", "mkl_cpu_type 1", StringComparison.Ordinal));
        Assert.NotEqual(table["mkl_cpu_type"], ElfSymbolCache.Find(lib.Value.Path, names, tmp.Path)["mkl_cpu_type"]);
        // Other names, or a damaged line: the table is read again and the file rewritten.
        Assert.Equal(table.Where(kv => kv.Key != "THIS_SYMBOL_DOES_NOT_EXIST").ToDictionary(),
            ElfSymbolCache.Find(lib.Value.Path, ["mkl_serv_cpu_detect", "mkl_cpu_type"], tmp.Path));
        Assert.Equal(table, ElfSymbolCache.Find(lib.Value.Path, names, tmp.Path));
        File.WriteAllText(file, File.ReadAllText(file) + "mkl_cpu_type zz 4\n");
        Assert.Equal(table, ElfSymbolCache.Find(lib.Value.Path, names, tmp.Path));
        Assert.DoesNotContain(" zz ", File.ReadAllText(file), StringComparison.Ordinal);
    }

    [SkippableTheory]
    [InlineData("0", "def")]   // what MKL does on an AMD CPU by itself: its generic path (the mkl_blas_def_sgemm_kernel_0_zen)
    [InlineData(null, null)]   // with BertSharp's override: the same kernels as on Intel
    public void On_a_simulated_AMD_cpu_the_override_restores_the_feature_path(string? overrideVar, string? expected)
    {
        // MKL chooses once per process, so each case runs `bert doctor` in its own process.
        var bert = Path.Combine(AppContext.BaseDirectory, "bert.dll");
        Skip.IfNot(File.Exists(bert) && OperatingSystem.IsLinux(), "bert.dll is not beside the tests");
        Skip.If(TorchRuntime.Gemm.Override == MklVendorOverride.Unavailable, "this libtorch has no inspectable MKL");
        var start = new ProcessStartInfo("dotnet", $"\"{bert}\" doctor --quick") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["BERTSHARP_SIMULATE_CPU_VENDOR"] = "AuthenticAMD";
        start.Environment.Remove("BERTSHARP_MKL_VENDOR_OVERRIDE");
        if (overrideVar is not null)
        {
            start.Environment["BERTSHARP_MKL_VENDOR_OVERRIDE"] = overrideVar;
        }
        using var p = Process.Start(start)!;
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, stdout + p.StandardError.ReadToEnd());
        Assert.Contains("vendor AuthenticAMD (simulated", stdout, StringComparison.Ordinal);
        Assert.Contains($"gemm path     MKL {expected ?? FeaturePath()} kernels", stdout, StringComparison.Ordinal);
    }

    [Fact]
    public void Openmp_thread_policy_is_in_the_native_environment_before_libtorch_loads()
    {
        var policy = NativeEnvironment.Settings.Single();
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null && Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is null)
        {
            Assert.Equal(("OMP_WAIT_POLICY", "PASSIVE", true), policy);
        }
        // libgomp reads libc's environment, not .NET's copy of it.
        Assert.Equal(policy.Value, Marshal.PtrToStringAnsi(getenv(policy.Name)));
    }

    [SkippableFact]
    public void A_child_process_reports_the_inherited_policy_as_bertsharps_and_a_changed_one_as_the_users()
    {
        // An MPI rank under `bert launch` inherits the launcher's environment, which BertSharp set; it used to say "set by you".
        var bert = Path.Combine(AppContext.BaseDirectory, "bert.dll");
        Skip.IfNot(File.Exists(bert) && OperatingSystem.IsLinux(), "bert.dll is not beside the tests");
        Skip.IfNot(NativeEnvironment.Settings.Single().SetByBertSharp, "this test process was started with OMP_WAIT_POLICY or GOMP_SPINCOUNT set");
        string Doctor(Action<IDictionary<string, string?>> env)
        {
            var start = new ProcessStartInfo("dotnet", $"\"{bert}\" doctor --quick") { RedirectStandardOutput = true, RedirectStandardError = true };
            env(start.Environment);
            using var p = Process.Start(start)!;
            var stdout = p.StandardOutput.ReadToEnd();
            p.WaitForExit();
            Assert.True(p.ExitCode == 0, stdout + p.StandardError.ReadToEnd());
            return stdout.Split('\n').Single(l => l.StartsWith("thread wait", StringComparison.Ordinal));
        }
        Assert.Contains("OMP_WAIT_POLICY=PASSIVE (set by BertSharp", Doctor(_ => { }), StringComparison.Ordinal);
        Assert.Contains("OMP_WAIT_POLICY=ACTIVE (set by you)", Doctor(e => e["OMP_WAIT_POLICY"] = "ACTIVE"), StringComparison.Ordinal);
    }

    [DllImport("libc", CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern IntPtr getenv(string name);
}
