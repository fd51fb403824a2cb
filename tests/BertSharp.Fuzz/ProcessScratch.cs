using System.Diagnostics;
using System.Globalization;

namespace BertSharp.Fuzz;

/// <summary>
/// Per-process folders in the temp directory for the fuzzer and the test fixtures that extract files once per process.
/// </summary>
public static class ProcessScratch
{
    /// <summary>
    /// The folder <c>PREFIX-PID</c> in the temp directory, removed when the process exits normally. A process that ends
    /// without running its exit handlers (a test host the test platform stops, a crash, a kill) leaves its folder behind,
    /// up to 140 MB for the MiniLM tests; so creating one first removes the folders of the same prefix whose process is gone.
    /// </summary>
    public static string Create(string prefix)
    {
        var temp = Path.GetTempPath();
        foreach (var other in Directory.EnumerateDirectories(temp, prefix + "-*"))
        {
            if (int.TryParse(Path.GetFileName(other).AsSpan(prefix.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                && pid != Environment.ProcessId && !IsRunning(pid))
            {
                TryDelete(other);
            }
        }
        var dir = Path.Combine(temp, $"{prefix}-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => TryDelete(dir);
        return dir;
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            Directory.Delete(dir, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
