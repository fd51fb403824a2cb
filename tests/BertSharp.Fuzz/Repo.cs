using System.IO.Compression;

namespace BertSharp.Fuzz;

/// <summary>Finds the repository's fixtures (seeds come from them) and a scratch folder for targets that need files.</summary>
public static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string Fixtures => Path.Combine(Root, "tests", "fixtures");

    /// <summary>A per-process scratch folder, removed at exit.</summary>
    public static string Scratch { get; } = ProcessScratch.Create("bertsharp-fuzz");

    public static byte[] Gunzip(string path)
    {
        using var gz = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
        using var ms = new MemoryStream();
        gz.CopyTo(ms);
        return ms.ToArray();
    }

    /// <summary>Above the binaries, or above the working directory (bench/fuzz.sh runs a copy of the binaries).</summary>
    private static string FindRoot()
    {
        foreach (var start in new[] { AppContext.BaseDirectory, Environment.CurrentDirectory })
        {
            var dir = new DirectoryInfo(start);
            while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "BertSharp.slnx")))
            {
                dir = dir.Parent;
            }
            if (dir is not null)
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"BertSharp.slnx not found above {AppContext.BaseDirectory} or {Environment.CurrentDirectory}");
    }
}
