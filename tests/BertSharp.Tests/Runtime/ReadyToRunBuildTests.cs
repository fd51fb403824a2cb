using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Runtime;

/// <summary>
/// build/ReadyToRun.targets: the Release output of the tests (from which the CLI child processes run) and of the CLI holds
/// ReadyToRun images, of BertSharp's assemblies (the same compilations that obj/ holds as IL) and of the packages' alike.
/// </summary>
public class ReadyToRunBuildTests
{
    private static readonly string[] Assemblies = ["bert.dll", "BertSharp.dll", "BertSharp.Training.dll", "TorchSharp.dll", "System.CommandLine.dll"];

    private static (bool ReadyToRun, Guid Mvid) Read(string path)
    {
        using var pe = new PEReader(File.OpenRead(path));
        var mvid = pe.GetMetadataReader().GetGuid(pe.GetMetadataReader().GetModuleDefinition().Mvid);
        return (pe.PEHeaders.CorHeader!.ManagedNativeHeaderDirectory.Size > 0, mvid);
    }

    public static TheoryData<string> OutputFolders => new()
    {
        AppContext.BaseDirectory,
        Path.Combine(TestPaths.RepoRoot, "src", "BertSharp.Cli", "bin", "Release", "net10.0"),
    };

    [SkippableTheory]
    [MemberData(nameof(OutputFolders))]
    public void Release_output_holds_ReadyToRun_images_of_the_compiled_assemblies(string folder)
    {
        Skip.IfNot(AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal),
            "ReadyToRun images are made for Release builds only");
        Skip.IfNot(OperatingSystem.IsLinux() && System.Runtime.InteropServices.RuntimeInformation.OSArchitecture == System.Runtime.InteropServices.Architecture.X64,
            "ReadyToRun images are made on linux-x64 only");
        Skip.IfNot(Directory.Exists(folder), $"{folder} is not built");
        // The IL that BertSharp's images were made from: each project's own compilation in obj/.
        var il = new Dictionary<string, string>
        {
            ["bert.dll"] = Path.Combine(TestPaths.RepoRoot, "src", "BertSharp.Cli", "obj", "Release", "net10.0", "bert.dll"),
            ["BertSharp.dll"] = Path.Combine(TestPaths.RepoRoot, "src", "BertSharp", "obj", "Release", "net10.0", "BertSharp.dll"),
            ["BertSharp.Training.dll"] = Path.Combine(TestPaths.RepoRoot, "src", "BertSharp.Training", "obj", "Release", "net10.0", "BertSharp.Training.dll"),
        };
        foreach (var name in Assemblies)
        {
            var image = Read(Path.Combine(folder, name));
            Assert.True(image.ReadyToRun, $"{name} in {folder} is not a ReadyToRun image");
            if (il.TryGetValue(name, out var source))
            {
                var original = Read(source);
                Assert.False(original.ReadyToRun, $"{source} should be IL");
                Assert.Equal(original.Mvid, image.Mvid);
            }
        }
    }
}
