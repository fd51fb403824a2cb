using System.Diagnostics;
using System.Reflection;
using System.Text;
using System.Xml.Linq;
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

    /// <summary>
    /// A folder of links to every package of <see cref="GlobalPackages"/> but BertSharp's own, for a consumer build's
    /// RestoreFallbackFolders: NuGet takes a package from a fallback folder before it asks any source, so a BertSharp 0.1.0
    /// that a consumer on this machine once restored from elsewhere (an older pack, nuget.org) would shadow the one just
    /// packed; the links keep libtorch and the rest where they lie instead of extracting them again.
    /// </summary>
    public static string FallbackWithoutBertSharp(string dir)
    {
        Directory.CreateDirectory(dir);
        foreach (var package in Directory.GetDirectories(GlobalPackages))
        {
            var id = Path.GetFileName(package);
            if (!id.StartsWith("bertsharp", StringComparison.OrdinalIgnoreCase))
            {
                Directory.CreateSymbolicLink(Path.Combine(dir, id), package);
            }
        }
        return dir;
    }

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
        File.WriteAllText(traversal, PackTraversal(projects, Configuration, outputDir));
        Run(workDir, "dotnet", "msbuild", traversal, "-t:PackAll", "-nologo", "-v:m", "-nodeReuse:false");
    }

    private static string PackTraversal(string projects, string configuration, string outputDir) => $"""
        <Project>
          <Target Name="PackAll">
            <MSBuild Projects="{projects}" Targets="Pack"
                     Properties="Configuration={configuration};NoBuild=true;_IsPacking=true;PackageOutputPath={outputDir}/" />
          </Target>
        </Project>
        """;

    /// <summary>
    /// The inputs of <see cref="Pack"/> for the projects <paramref name="projectNames"/> (under <c>src/</c> of
    /// <paramref name="repoRoot"/>): the SDK version, the branch and remotes SourceLink writes into the nuspec, the
    /// traversal project; the repository's Directory.Build.props/targets, Directory.Packages.props and build/*.props|targets;
    /// and for each packed project and every project it references: its project file, the README.md its package embeds,
    /// its restore output (project.assets.json, nuget.g.props/targets: the dependencies and package versions), and the
    /// stamps of its build output (bin/&lt;Configuration&gt;/net10.0, which a NoBuild pack and the tool's publish read) and of
    /// its compiled assembly in obj/ (which the publish copies).
    /// </summary>
    public static CacheKey PackKey(string repoRoot, string configuration, string sdkVersion, string sourceControl, IReadOnlyList<string> projectNames)
    {
        var key = new CacheKey()
            .Add("sdk", sdkVersion)
            .Add("source control", sourceControl)
            .Add("pack", PackTraversal(string.Join(";", projectNames), configuration, "OUTPUT").ReplaceLineEndings(" "));
        foreach (var file in new[] { "Directory.Build.props", "Directory.Build.targets", "Directory.Packages.props", "global.json", "NuGet.config", "nuget.config" })
        {
            key.AddFile(file, Path.Combine(repoRoot, file));
        }
        var build = Path.Combine(repoRoot, "build");
        var buildFiles = Directory.Exists(build) ? Directory.GetFiles(build) : [];
        foreach (var file in buildFiles.Where(f => f.EndsWith(".props", StringComparison.Ordinal) || f.EndsWith(".targets", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
        {
            key.AddFile("build/" + Path.GetFileName(file), file);
        }
        foreach (var project in ProjectClosure(projectNames.Select(n => Path.Combine(repoRoot, "src", n, n + ".csproj"))))
        {
            var dir = Path.GetDirectoryName(project)!;
            var name = Path.GetRelativePath(repoRoot, dir).Replace(Path.DirectorySeparatorChar, '/');
            key.AddFile(name + "/" + Path.GetFileName(project), project);
            key.AddFile(name + "/README.md", Path.Combine(dir, "README.md"));
            var obj = Path.Combine(dir, "obj");
            key.AddFile(name + "/obj/project.assets.json", Path.Combine(obj, "project.assets.json"));
            key.AddFile(name + "/obj/nuget.g.props", Path.Combine(obj, Path.GetFileName(project) + ".nuget.g.props"));
            key.AddFile(name + "/obj/nuget.g.targets", Path.Combine(obj, Path.GetFileName(project) + ".nuget.g.targets"));
            key.AddStamps(name + "/bin", Path.Combine(dir, "bin", configuration, "net10.0"));
            // Only the compiler's outputs: obj/ also holds MSBuild's bookkeeping files, rewritten by builds that change nothing,
            // and DotnetToolSettings.xml, which packing a tool writes there (with it keyed, the first pack after a build would
            // change its own key and the second run would pack again).
            key.AddStamps(name + "/obj", Path.Combine(obj, configuration, "net10.0"), SearchOption.TopDirectoryOnly,
                f => f.EndsWith(".dll", StringComparison.Ordinal) || f.EndsWith(".pdb", StringComparison.Ordinal)
                     || (f.EndsWith(".xml", StringComparison.Ordinal) && f != "DotnetToolSettings.xml"));
        }
        return key;
    }

    /// <summary>The project files and, transitively, those they reference (ProjectReference), each once, sorted.</summary>
    private static IEnumerable<string> ProjectClosure(IEnumerable<string> projects)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var todo = new Stack<string>(projects.Select(Path.GetFullPath));
        while (todo.TryPop(out var project))
        {
            if (!seen.Add(project) || !File.Exists(project))
            {
                continue;
            }
            foreach (var reference in XDocument.Load(project).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")?.Value.Replace('\\', '/');
                if (include is not null)
                {
                    todo.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(project)!, include)));
                }
            }
        }
        return seen;
    }

    /// <summary>The version of the SDK that <c>dotnet</c> runs in the child processes (what <c>dotnet --version</c> prints).</summary>
    public static string SdkVersion => SdkVersionLazy.Value;

    private static readonly Lazy<string> SdkVersionLazy = new(() => Run(TestPaths.RepoRoot, "dotnet", "--version").Trim());

    /// <summary>
    /// What SourceLink records in a package besides the commit (the branch, the remotes' URLs) for the checkout at
    /// <paramref name="repoRoot"/>; "none" outside a git checkout. Not the commit: the assemblies a test run packs carry none
    /// (build/Packaging.props), so a commit that rebuilt no packed assembly would only change the nuspec's commit attribute,
    /// and with the commit keyed every commit packed, installed and built the sample again (about 50 CPU-seconds).
    /// </summary>
    public static string SourceControl(string repoRoot)
    {
        try
        {
            var head = Run(repoRoot, "git", "rev-parse", "--symbolic-full-name", "HEAD");
            string remotes;
            try
            {
                remotes = Run(repoRoot, "git", "config", "--get-regexp", @"^remote\..*\.url$");
            }
            catch (InvalidOperationException)
            {
                remotes = "no remote"; // git config exits with 1 when nothing matches
            }
            // Words only: Run's text may end in one or two empty lines (the streams' ends arrive asynchronously).
            return string.Join(" ", (head + " " + remotes).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        }
        catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            return "none";
        }
    }

    /// <summary>
    /// Writes a nuget.config for <paramref name="dir"/> that takes the BertSharp packages from <paramref name="packages"/>
    /// only and everything else from this machine's global packages folder, so that the build needs no network.
    /// </summary>
    public static void WriteOfflineNuGetConfig(string dir, string packages) =>
        File.WriteAllText(Path.Combine(dir, "nuget.config"), OfflineNuGetConfig(packages));

    /// <summary>The text <see cref="WriteOfflineNuGetConfig"/> writes.</summary>
    public static string OfflineNuGetConfig(string packages) => $"""
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
            """;

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
