using System.Diagnostics;

namespace BertSharp.Tests.Infrastructure;

/// <summary>Runs one of ./test.sh's POSIX shell helpers under <c>tests/</c> (e.g. <c>trx-skipped.sh</c>) as test.sh does.</summary>
internal static class TestScripts
{
    /// <summary>Runs <c>sh tests/<paramref name="script"/> ARGS...</c> and returns its exit code, stdout and stderr.</summary>
    public static (int Exit, string Stdout, string Stderr) Run(string script, params string[] args)
    {
        var psi = new ProcessStartInfo("sh") { RedirectStandardOutput = true, RedirectStandardError = true };
        psi.ArgumentList.Add(Path.Combine(TestPaths.RepoRoot, "tests", script));
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }
}
