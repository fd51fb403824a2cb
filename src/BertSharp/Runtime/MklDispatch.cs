using System.Globalization;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace BertSharp.Runtime;

/// <summary>How MKL's override of its CPU-vendor check ended (see <see cref="MklDispatch"/>).</summary>
public enum MklVendorOverride
{
    /// <summary>An Intel CPU: MKL already picks its kernels from the CPU's features.</summary>
    NotNeeded,

    /// <summary>A non-Intel CPU: MKL was told to pick its kernels from the CPU's features, as it does on Intel.</summary>
    Applied,

    /// <summary>A non-Intel CPU, and <c>BERTSHARP_MKL_VENDOR_OVERRIDE=0</c> kept MKL's own choice.</summary>
    Disabled,

    /// <summary>MKL had already chosen its code path (a matrix product ran before BertSharp configured libtorch).</summary>
    TooLate,

    /// <summary>This libtorch has no MKL, or its symbols could not be found (not x86-64, stripped or unknown build).</summary>
    Unavailable,
}

/// <summary>What MKL, the GEMM engine inside libtorch, runs on this CPU.</summary>
/// <param name="CpuVendor">CPUID vendor string (GenuineIntel, AuthenticAMD, …), or the simulated one.</param>
/// <param name="Simulated">Whether <c>BERTSHARP_SIMULATE_CPU_VENDOR</c> made MKL believe it runs on another vendor's CPU.</param>
/// <param name="CodePath">MKL's code path: avx512, avx2, mc3 (SSE4.2), def (generic; MKL's choice for non-Intel CPUs), or unknown.</param>
/// <param name="Override">Whether BertSharp overrode MKL's vendor check.</param>
public sealed record MklDispatchReport(string CpuVendor, bool Simulated, string CodePath, MklVendorOverride Override);

/// <summary>
/// MKL (linked statically into libtorch_cpu.so, where it computes every float32 matrix product) chooses its kernels per CPU
/// vendor: on an Intel CPU from the CPU's features (AVX-512, AVX2), on any other CPU its generic "def" path, whose sgemm
/// kernel (<c>mkl_blas_def_sgemm_kernel_0_zen</c> on AMD) is AVX2 at best and runs at about half the speed of the AVX-512
/// one on the same CPU. MKL_DEBUG_CPU_TYPE no longer exists, MKL_ENABLE_INSTRUCTIONS can only lower the choice and
/// MKL_CBWR falls back to AUTO on non-Intel CPUs (all read in MKL's code: <c>__detect_real_cpu</c> returns "def" as soon as
/// <c>mkl_serv_intel_cpu_true()</c> is 0). MKL caches that answer in a variable (<c>mkl_serv_intel_cpu_true.cached</c>) that
/// every vendor check reads; setting it before the first product makes MKL choose by features on every x86-64 CPU.
/// </summary>
internal static class MklDispatch
{
    private const string IntelTrue = "mkl_serv_intel_cpu_true";
    private const string IntelTrueCached = "mkl_serv_intel_cpu_true.cached";
    private const string AmdCached = "MKL_AMD_CPU_True.cached";
    private const string ZenCached = "mkl_serv_cpuiszen.itisZen";
    private const string CpuType = "mkl_cpu_type";
    private const string PathNames = "dll_cfg_names";

    private static readonly object Gate = new();
    private static MklDispatchReport? _report;

    /// <summary>The state after <see cref="TorchRuntime.EnsureLoaded"/>; null before libtorch is loaded.</summary>
    public static MklDispatchReport? Report
    {
        get
        {
            lock (Gate)
            {
                return _report;
            }
        }
    }

    /// <summary>The CPU's CPUID vendor string, or "unknown" off x86.</summary>
    public static string CpuVendor()
    {
        if (!X86Base.IsSupported)
        {
            return "unknown";
        }
        var (_, ebx, ecx, edx) = X86Base.CpuId(0, 0);
        Span<int> regs = [ebx, edx, ecx];
        return System.Text.Encoding.ASCII.GetString(MemoryMarshal.AsBytes(regs));
    }

    /// <summary>Applies the vendor override once, right after libtorch has loaded and before any matrix product.</summary>
    internal static unsafe MklDispatchReport Configure()
    {
        lock (Gate)
        {
            if (_report is not null)
            {
                return _report;
            }
            var simulate = Environment.GetEnvironmentVariable("BERTSHARP_SIMULATE_CPU_VENDOR");
            var vendor = string.IsNullOrWhiteSpace(simulate) ? CpuVendor() : simulate.Trim();
            var simulated = !string.IsNullOrWhiteSpace(simulate);
            var library = FindLoadedLibrary("libtorch_cpu.so");
            if (library is not { } lib || !X86Base.IsSupported)
            {
                return _report = new MklDispatchReport(vendor, simulated, "unknown", MklVendorOverride.Unavailable);
            }
            string[] names = [IntelTrue, IntelTrueCached, AmdCached, ZenCached, CpuType, PathNames];
            // The symbol table must describe the mapped file: the exported function has to sit where the table says.
            bool Consistent(Dictionary<string, (ulong Value, ulong Size)> found) => found.TryGetValue(IntelTrue, out var fn)
                && NativeLibrary.TryLoad(lib.Path, out var handle)
                && NativeLibrary.TryGetExport(handle, IntelTrue, out var exported)
                && exported == (nint)(lib.Base + fn.Value);
            var symbols = ElfSymbolCache.Find(lib.Path, names);
            if (!Consistent(symbols))
            {
                symbols = ElfSymbols.Find(lib.Path, names); // a cached answer that does not fit: read the table itself
            }
            if (!Consistent(symbols) || !symbols.ContainsKey(IntelTrueCached) || !symbols.ContainsKey(CpuType))
            {
                return _report = new MklDispatchReport(vendor, simulated, "unknown", MklVendorOverride.Unavailable);
            }
            int* Var(string name) => (int*)(lib.Base + symbols[name].Value);
            var isIntel = vendor == "GenuineIntel";
            MklVendorOverride outcome;
            if (*Var(CpuType) >= 0)
            {
                outcome = isIntel ? MklVendorOverride.NotNeeded : MklVendorOverride.TooLate;
            }
            else
            {
                if (simulated)
                {
                    // What MKL's own CPUID checks would have cached on that vendor's CPU (Zen: AMD's current cores).
                    *Var(IntelTrueCached) = isIntel ? 1 : 0;
                    if (symbols.ContainsKey(AmdCached) && symbols.ContainsKey(ZenCached))
                    {
                        *Var(AmdCached) = vendor == "AuthenticAMD" ? 1 : 0;
                        *Var(ZenCached) = vendor == "AuthenticAMD" ? 1 : 0;
                    }
                }
                if (isIntel)
                {
                    outcome = MklVendorOverride.NotNeeded;
                }
                else if (Environment.GetEnvironmentVariable("BERTSHARP_MKL_VENDOR_OVERRIDE") == "0")
                {
                    outcome = MklVendorOverride.Disabled;
                }
                else
                {
                    *Var(IntelTrueCached) = 1;
                    outcome = MklVendorOverride.Applied;
                }
            }
            return _report = new MklDispatchReport(vendor, simulated, CodePathName(lib, symbols), outcome);
        }
    }

    /// <summary>MKL's code path for this process (asks MKL, which detects once and caches), e.g. "avx512".</summary>
    private static unsafe string CodePathName((string Path, ulong Base) lib, Dictionary<string, (ulong Value, ulong Size)> symbols)
    {
        if (!NativeLibrary.TryLoad(lib.Path, out var handle) || !NativeLibrary.TryGetExport(handle, "mkl_serv_cpu_detect", out var detect))
        {
            return "unknown";
        }
        var type = ((delegate* unmanaged<int>)detect)();
        // dll_cfg_names[type] = { "libmkl_<path>.so.N", "libmkl_vml_<path>.so.N" }: the names MKL's dynamic build would load.
        if (type >= 0 && symbols.TryGetValue(PathNames, out var names) && (ulong)(type + 1) * 16 <= names.Size)
        {
            var name = Marshal.PtrToStringAnsi(*(nint*)(lib.Base + names.Value + (ulong)type * 16));
            if (name is not null && name.StartsWith("libmkl_", StringComparison.Ordinal) && name.Contains(".so", StringComparison.Ordinal))
            {
                return name["libmkl_".Length..name.IndexOf(".so", StringComparison.Ordinal)];
            }
        }
        return "type " + type.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>Path and load address of a shared library mapped into this process (from /proc/self/maps), if any.</summary>
    internal static (string Path, ulong Base)? FindLoadedLibrary(string fileName)
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            // start-end perms offset dev inode path
            var f = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
            if (f.Length == 6 && f[5].EndsWith("/" + fileName, StringComparison.Ordinal) && ulong.Parse(f[2], NumberStyles.HexNumber, CultureInfo.InvariantCulture) == 0)
            {
                return (f[5].Trim(), ulong.Parse(f[0].Split('-')[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture));
            }
        }
        return null;
    }
}
