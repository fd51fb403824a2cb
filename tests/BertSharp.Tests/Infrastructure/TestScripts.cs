using System.Diagnostics;

namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// Runs the repository's scripts: ./test.sh's POSIX helpers under <c>tests/</c>, the bash scripts users run, and the Node
/// scripts of <c>bench/</c>.
/// </summary>
internal static class TestScripts
{
    /// <summary>Runs <c>sh tests/<paramref name="script"/> ARGS...</c> and returns its exit code, stdout and stderr.</summary>
    public static (int Exit, string Stdout, string Stderr) Run(string script, params string[] args) =>
        Start("sh", [], [Path.Combine(TestPaths.RepoRoot, "tests", script), .. args]);

    /// <summary>Runs <c>bash <paramref name="script"/> ARGS...</c> (a path) with <paramref name="environment"/> added.</summary>
    public static (int Exit, string Stdout, string Stderr) RunBash(string script, IEnumerable<(string Name, string Value)> environment, params string[] args) =>
        Start("bash", environment, [script, .. args]);

    /// <summary>Runs <c>node bench/<paramref name="script"/> ARGS...</c>.</summary>
    public static (int Exit, string Stdout, string Stderr) RunNode(string script, params string[] args) =>
        Start("node", [], [Path.Combine(TestPaths.RepoRoot, "bench", script), .. args]);

    /// <summary>Runs <paramref name="program"/> (found on PATH) with <paramref name="args"/>.</summary>
    public static (int Exit, string Stdout, string Stderr) RunProgram(string program, params string[] args) => Start(program, [], args);

    /// <summary>The full path of the program <paramref name="name"/> on PATH, or null where it is not installed.</summary>
    public static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);

    private static (int Exit, string Stdout, string Stderr) Start(string program, IEnumerable<(string Name, string Value)> environment, string[] args)
    {
        var psi = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        foreach (var (name, value) in environment)
        {
            psi.Environment[name] = value;
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, stdout, stderr.Result);
    }
}
