using System.Globalization;
using System.Text;
using BertSharp.IO;

namespace BertSharp.Runtime;

/// <summary>
/// Remembers what <see cref="ElfSymbols.Find"/> found in a library, per build of that library (its GNU build ID), in
/// BertSharp's cache folder (<see cref="DefaultDirectory"/>). Finding MKL's variables walks libtorch_cpu.so's whole
/// symbol table (13 MB of it, 530,000 symbols): about 0.13 CPU-s and 0.2–0.6 s of wall time at every start of every process
/// that loads libtorch (each <c>bert</c> command, each MPI rank). The answer only changes with the library's build, which the
/// build ID names. Where the cache cannot be read or written, the table is read as before.
/// </summary>
internal static class ElfSymbolCache
{
    private const string Header = "bertsharp elf-symbols 1";

    /// <summary>As <see cref="ElfSymbols.Find"/>, answered from the cache when it holds this build's answer for these names.</summary>
    public static Dictionary<string, (ulong Value, ulong Size)> Find(string path, IReadOnlyCollection<string> names, string? cacheDirectory = null)
    {
        var id = ElfSymbols.BuildId(path);
        var dir = cacheDirectory ?? DefaultDirectory();
        if (id is null || dir is null)
        {
            return ElfSymbols.Find(path, names);
        }
        var file = Path.Combine(dir, "elf-symbols-" + id + ".txt");
        var wanted = string.Join(",", names.Order(StringComparer.Ordinal));
        if (TryRead(file, wanted) is { } cached)
        {
            return cached;
        }
        var found = ElfSymbols.Find(path, names);
        try
        {
            Directory.CreateDirectory(dir);
            var text = new StringBuilder().Append(Header).Append('\n').Append("names ").Append(wanted).Append('\n');
            foreach (var (name, (value, size)) in found)
            {
                text.Append(CultureInfo.InvariantCulture, $"{name} {value:x} {size:x}\n");
            }
            AtomicFile.WriteAllText(file, text.ToString());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A read-only or missing home: the next process reads the table again.
        }
        return found;
    }

    /// <summary>
    /// BertSharp's cache folder, where the quick start also imports its model: <c>$BERTSHARP_CACHE</c>, else
    /// <c>$XDG_CACHE_HOME/bertsharp</c>, else <c>~/.cache/bertsharp</c>; null without a home directory.
    /// </summary>
    public static string? DefaultDirectory()
    {
        var own = Environment.GetEnvironmentVariable("BERTSHARP_CACHE");
        if (!string.IsNullOrEmpty(own) && Path.IsPathRooted(own))
        {
            return own;
        }
        var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (!string.IsNullOrEmpty(xdg) && Path.IsPathRooted(xdg))
        {
            return Path.Combine(xdg, "bertsharp");
        }
        var home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return string.IsNullOrEmpty(home) ? null : Path.Combine(home, ".cache", "bertsharp");
    }

    private static Dictionary<string, (ulong Value, ulong Size)>? TryRead(string file, string wanted)
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines(file);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
        if (lines.Length < 2 || lines[0] != Header || lines[1] != "names " + wanted)
        {
            return null;
        }
        var found = new Dictionary<string, (ulong Value, ulong Size)>(StringComparer.Ordinal);
        foreach (var line in lines.Skip(2))
        {
            var f = line.Split(' ');
            if (f.Length != 3
                || !ulong.TryParse(f[1], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var value)
                || !ulong.TryParse(f[2], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var size))
            {
                return null; // damaged: read the table again (and rewrite the file)
            }
            found[f[0]] = (value, size);
        }
        return found;
    }
}
