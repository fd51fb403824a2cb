using System.Diagnostics;
using System.Globalization;

namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// Runs the built <c>bert</c> CLI as a child process under GNU time, which reports the child's own peak RSS and CPU time
/// (getrusage of exactly that process), so memory and time bounds of a command are measured, not guessed.
/// </summary>
public static class ChildCli
{
    private const string Time = "/usr/bin/time";

    public sealed record Result(int ExitCode, string StdOut, string StdErr, long PeakRssKb, double CpuSeconds);

    /// <summary>Whether GNU time and the built CLI are here; tests measuring a child skip without them.</summary>
    public static bool Available => File.Exists(Time) && File.Exists(CliDll);

    private static string CliDll => Path.Combine(AppContext.BaseDirectory, "bert.dll");

    public static Result Run(params string[] args)
    {
        var report = Path.GetTempFileName();
        try
        {
            var host = Environment.ProcessPath is { } p && Path.GetFileNameWithoutExtension(p) == "dotnet" ? p : "dotnet";
            var psi = new ProcessStartInfo(Time)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var a in new[] { "-f", "%M %U %S", "-o", report, host, CliDll }.Concat(args))
            {
                psi.ArgumentList.Add(a);
            }
            psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            using var process = Process.Start(psi)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            if (!process.WaitForExit(120_000))
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("bert " + string.Join(' ', args) + " ran for more than 120 s");
            }
            // GNU time writes "Command exited with non-zero status N" before the format line; the numbers are the last line.
            var numbers = File.ReadAllLines(report).Last(l => l.Length > 0).Split(' ');
            return new Result(process.ExitCode, stdout.Result, stderr.Result,
                long.Parse(numbers[0], CultureInfo.InvariantCulture),
                double.Parse(numbers[1], CultureInfo.InvariantCulture) + double.Parse(numbers[2], CultureInfo.InvariantCulture));
        }
        finally
        {
            File.Delete(report);
        }
    }
}
