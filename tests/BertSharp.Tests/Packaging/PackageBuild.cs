using System.Diagnostics;
using System.Reflection;
using System.Text;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Packaging;

/// <summary>
/// Runs the .NET SDK (<c>dotnet pack</c>, <c>dotnet build</c>, <c>dotnet tool</c>) and the built programs in child
/// processes, the way a user outside this repository would, for the packaging tests. Offline: the only package sources are
/// the folder the packages are packed into and this machine's NuGet global packages folder (which holds every dependency
/// after the solution's own restore), read as a local feed.
/// </summary>
internal static class PackageBuild
{
    /// <summary>The configuration the test assembly (and so the projects it references) was built in.</summary>
    public static string Configuration { get; } =
        typeof(PackageBuild).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";

    /// <summary>This machine's NuGet global packages folder (where the solution's restore put TorchSharp, libtorch, ...).</summary>
    public static string GlobalPackages { get; } =
        typeof(PackageBuild).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "NuGetPackageRoot").Value!;

    /// <summary>The library projects that become packages, in dependency order.</summary>
    public static readonly string[] LibraryProjects = ["BertSharp.Tokenizers", "BertSharp", "BertSharp.Training", "BertSharp.Inference"];

    /// <summary>
    /// Packs projects (already built by the test run: <c>NoBuild</c>) into <paramref name="outputDir"/> in one MSBuild
    /// process, through a throwaway traversal project.
    /// </summary>
    public static void Pack(string workDir, string outputDir, params string[] projectNames)
    {
        var projects = string.Join(";", projectNames.Select(n => Path.Combine(TestPaths.RepoRoot, "src", n, n + ".csproj")));
        var traversal = Path.Combine(workDir, "pack.proj");
        File.WriteAllText(traversal, $"""
            <Project>
              <Target Name="PackAll">
                <MSBuild Projects="{projects}" Targets="Pack"
                         Properties="Configuration={Configuration};NoBuild=true;_IsPacking=true;PackageOutputPath={outputDir}/" />
              </Target>
            </Project>
            """);
        Run(workDir, "dotnet", "msbuild", traversal, "-t:PackAll", "-nologo", "-v:m", "-nodeReuse:false");
    }

    /// <summary>
    /// Writes a nuget.config for <paramref name="dir"/> that takes the BertSharp packages from <paramref name="packages"/>
    /// only and everything else from this machine's global packages folder, so that the build needs no network.
    /// </summary>
    public static void WriteOfflineNuGetConfig(string dir, string packages) =>
        File.WriteAllText(Path.Combine(dir, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="bertsharp-local" value="{packages}" />
                <add key="machine-cache" value="{GlobalPackages}" />
              </packageSources>
              <packageSourceMapping>
                <packageSource key="bertsharp-local"><package pattern="BertSharp" /><package pattern="BertSharp.*" /></packageSource>
                <packageSource key="machine-cache"><package pattern="*" /></packageSource>
              </packageSourceMapping>
            </configuration>
            """);

    /// <summary>Copies a folder (without bin/ and obj/), e.g. a sample, to a fresh place.</summary>
    public static void CopyTree(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var rel = Path.GetRelativePath(from, file);
            var parts = rel.Split(Path.DirectorySeparatorChar);
            if (parts.Any(p => p is "bin" or "obj"))
            {
                continue;
            }
            var dest = Path.Combine(to, rel);
            Directory.CreateDirectory(Path.GetDirectoryName(dest)!);
            File.Copy(file, dest);
        }
    }

    /// <summary>Runs a program to completion (10 minutes at most); throws with its output when it fails.</summary>
    public static string Run(string workDir, string program, params string[] args) => Run(workDir, null, program, args);

    /// <summary>As <see cref="Run(string, string, string[])"/>, with extra environment variables.</summary>
    public static string Run(string workDir, IReadOnlyDictionary<string, string>? env, string program, params string[] args)
    {
        var psi = new ProcessStartInfo(program)
        {
            WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        // dotnet test runs us under MSBuild-flavoured variables (MSBuildExtensionsPath, MSBUILD_EXE_PATH, ...) that would
        // steer a child SDK to this test run's settings; a user's shell has none of them.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            psi.Environment.Remove(key);
        }
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        psi.Environment["DOTNET_SKIP_FIRST_TIME_EXPERIENCE"] = "1";
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        using var p = Process.Start(psi)!;
        var output = new StringBuilder();
        p.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        p.ErrorDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        if (!p.WaitForExit(TimeSpan.FromMinutes(10)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{program} {string.Join(" ", args)} ran over 10 minutes:\n{output}");
        }
        p.WaitForExit();
        var text = output.ToString();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(" ", args)} exited with {p.ExitCode}:\n{text}");
        }
        return text;
    }

    /// <summary>The version need flags of libstdc++ versions in an ELF library, as binutils' readelf reports them.</summary>
    public static string? ReadelfVersionNeed(string library, string version)
    {
        try
        {
            var text = Run(Path.GetDirectoryName(library)!, "readelf", "-V", library);
            return text.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("Name: " + version + " ", StringComparison.Ordinal));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return null; // no readelf on this machine
        }
    }
}
