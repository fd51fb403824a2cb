using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace BertSharp.Runtime;

/// <summary>
/// Environment settings that libtorch's native libraries read once, when they load, and that BertSharp chooses for them:
/// they must be in the process environment (libc's, not only .NET's copy) before the first TorchSharp call. BertSharp sets
/// them when its assembly is first used (a module initializer) and again from <see cref="TorchRuntime.EnsureLoaded"/>; a
/// variable the user already set is never changed.
/// </summary>
/// <remarks>
/// <c>OMP_WAIT_POLICY=PASSIVE</c>: libtorch's OpenMP (GNU libgomp) otherwise spins its worker threads for ~300,000
/// iterations after every parallel region. With 2 threads on a busy 2-vCPU machine a BERT-base forward of 1 × 128 tokens
/// took 1.05–1.59 CPU-s instead of 0.24–0.30 (bench/README.md, "Threads"): the spinning threads steal the CPU from the
/// threads doing the work, and from every other process. On an idle machine spinning saves a few milliseconds on small
/// calls; set GOMP_SPINCOUNT yourself there.
/// </remarks>
public static class NativeEnvironment
{
    private static readonly object Gate = new();
    private static readonly List<(string Name, string Value, bool Ours)> Applied = [];
    private static bool _done;
    private static bool _tooLate;

    /// <summary>
    /// The names of the variables BertSharp set, comma-separated, for the processes this one starts: an MPI rank under
    /// <c>bert launch</c> inherits them and still reports them as BertSharp's choice, not the user's.
    /// </summary>
    internal const string Marker = "BERTSHARP_SET_ENV";

    /// <summary>The variables BertSharp sets unless the user set them (or set one that overrides them).</summary>
    public static IReadOnlyList<(string Name, string Value, string[] UnlessSet)> Defaults { get; } =
    [
        ("OMP_WAIT_POLICY", "PASSIVE", ["OMP_WAIT_POLICY", "GOMP_SPINCOUNT"]),
    ];

    /// <summary>Each variable of <see cref="Defaults"/> with the value now in force and whether BertSharp set it.</summary>
    public static IReadOnlyList<(string Name, string Value, bool SetByBertSharp)> Settings
    {
        get
        {
            Apply();
            lock (Gate)
            {
                return Applied.ToList();
            }
        }
    }

    /// <summary>True when libtorch's OpenMP had already loaded before BertSharp could set the variables (torch was used first).</summary>
    public static bool AppliedTooLate
    {
        get
        {
            Apply();
            return _tooLate;
        }
    }

    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries",
        Justification = "The variables must be set before libtorch loads, i.e. before the caller's first TorchSharp call; the first use of any BertSharp type is the earliest point a library has.")]
    internal static void OnModuleLoad() => Apply();

    /// <summary>Sets the variables (once per process). Safe to call any number of times.</summary>
    public static void Apply()
    {
        lock (Gate)
        {
            if (_done)
            {
                return;
            }
            _done = true;
            _tooLate = IsOpenMpLoaded();
            var inherited = (Environment.GetEnvironmentVariable(Marker) ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries);
            foreach (var (name, value, unlessSet) in Defaults)
            {
                var user = unlessSet.Select(n => (n, Environment.GetEnvironmentVariable(n))).FirstOrDefault(x => x.Item2 is not null);
                if (user.Item2 is not null)
                {
                    Applied.Add((user.n, user.Item2, user.n == name && user.Item2 == value && inherited.Contains(name)));
                    continue;
                }
                if (OperatingSystem.IsLinux() || OperatingSystem.IsMacOS())
                {
                    _ = setenv(name, value, 0);
                }
                Environment.SetEnvironmentVariable(name, value);
                Applied.Add((name, value, true));
                Environment.SetEnvironmentVariable(Marker, string.Join(',', inherited.Append(name).Distinct()));
            }
        }
    }

    private static bool IsOpenMpLoaded()
    {
        if (!OperatingSystem.IsLinux())
        {
            return false;
        }
        try
        {
            return File.ReadLines("/proc/self/maps").Any(l => l.Contains("/libgomp", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            return false;
        }
    }

    // .NET keeps its own copy of the environment on Unix; native code (libgomp) reads libc's, which only setenv changes.
    [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
    private static extern int setenv(string name, string value, int overwrite);
}
