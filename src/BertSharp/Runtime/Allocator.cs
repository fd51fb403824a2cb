namespace BertSharp.Runtime;

/// <summary>
/// Which malloc serves libtorch's tensors. glibc's lets resident memory grow step after step in long training runs and pays
/// page faults for every large tensor it maps and unmaps; tcmalloc (Debian: libtcmalloc-minimal4) keeps memory flat and is
/// faster. A process can only get it from its start (LD_PRELOAD), which the <c>./bert</c> launcher does.
/// </summary>
public static class Allocator
{
    /// <summary>Where Debian/Ubuntu and Fedora put tcmalloc (minimal).</summary>
    public static IReadOnlyList<string> TcmallocPaths { get; } =
        ["/usr/lib/x86_64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib/aarch64-linux-gnu/libtcmalloc_minimal.so.4", "/usr/lib64/libtcmalloc_minimal.so.4", "/usr/lib/libtcmalloc_minimal.so.4"];

    /// <summary>Whether tcmalloc is loaded into this process.</summary>
    public static bool IsTcmalloc =>
        // The map names the file the symlink resolves to (libtcmalloc_minimal.so.4.5.9), hence the prefix match.
        OperatingSystem.IsLinux() && File.ReadLines("/proc/self/maps").Any(l => l.Contains("/libtcmalloc", StringComparison.Ordinal));

    /// <summary>The installed tcmalloc library, if any.</summary>
    public static string? InstalledTcmalloc => TcmallocPaths.FirstOrDefault(File.Exists);

    /// <summary>One line for <c>bert doctor</c>.</summary>
    public static string Describe() => IsTcmalloc
        ? "tcmalloc (preloaded)"
        : InstalledTcmalloc is { } path
            ? $"glibc malloc: tcmalloc is installed but not loaded; start the process with LD_PRELOAD={path} (the repository's ./bert does) for flat memory in training"
            : "glibc malloc: install tcmalloc (apt-get install libtcmalloc-minimal4) and start the process with it in LD_PRELOAD (the repository's ./bert does): flat memory in training, fewer page faults";
}
