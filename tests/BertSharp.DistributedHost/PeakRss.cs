using System.Globalization;

namespace BertSharp.DistributedHost;

/// <summary>
/// This process's peak resident set (Linux VmHWM), which <see cref="Reset"/> brings down to the current resident set, so
/// that one command among several run in this process gets its own peak, as GNU time reports for a process of its own.
/// </summary>
internal static class PeakRss
{
    /// <summary>Resets the peak to the current resident set (writing 5 to /proc/self/clear_refs).</summary>
    public static void Reset()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A kernel or sandbox that refuses it leaves the peak since the process started: a bound on every command's own.
        }
    }

    /// <summary>The peak resident set since the last <see cref="Reset"/>, in kB.</summary>
    public static long Kilobytes()
    {
        // "VmHWM:\t  123456 kB"
        var line = File.ReadLines("/proc/self/status").First(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
    }
}
