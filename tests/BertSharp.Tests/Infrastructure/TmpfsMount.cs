namespace BertSharp.Tests.Infrastructure;

/// <summary>
/// A tmpfs mounted on a fresh directory: a directory on another filesystem than its parent, as a Docker volume is
/// (<c>-v $PWD/out:/out</c>). Unmounted on dispose, lazily when something still holds it, so no test leaves a mount behind.
/// </summary>
internal sealed class TmpfsMount : IDisposable
{
    private TmpfsMount(string path) => Path = path;

    /// <summary>The mount point.</summary>
    public string Path { get; }

    /// <summary>Creates <paramref name="directory"/> and mounts a tmpfs on it; skips the test where mounting is not permitted.</summary>
    public static TmpfsMount At(string directory)
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "tmpfs mounts are Linux's");
        Skip.If(TestScripts.FindOnPath("mount") is null, "no mount program on PATH");
        Directory.CreateDirectory(directory);
        var (exit, _, stderr) = TestScripts.RunProgram("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", directory);
        Skip.If(exit != 0, $"mounting a tmpfs is not permitted here (needs root): {stderr.Trim()}");
        return new TmpfsMount(directory);
    }

    public void Dispose()
    {
        if (TestScripts.RunProgram("umount", Path).Exit != 0)
        {
            TestScripts.RunProgram("umount", "-l", Path);
        }
    }
}
