using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Commands;

/// <summary>
/// The scripts under <c>scripts/</c> that the README and docs tell users to run, on what a user gives them: their arguments,
/// their environment and a checkout whose path has a space. Each runs bash alone (a stand-in for <c>./bert</c>), no model.
/// </summary>
public class RepositoryScriptsTests
{
    private static string Script(string name) => Path.Combine(TestPaths.RepoRoot, "scripts", name);

    // ./bert rebuilt the CLI only for some extensions (.cs, .csproj, .props, ...) and not for Directory.Build.targets at all: a
    // change to the banned-API list, a build script, the analyzer rules or a PublicAPI file ran the old CLI. A solution
    // build's bin/ and obj/, and the tests, are no input of the CLI.
    [Theory]
    [InlineData("Directory.Build.targets", true)]
    [InlineData("build/BannedSymbols.txt", true)]
    [InlineData("build/prune-r2r-cache.sh", true)]
    [InlineData(".editorconfig", true)]
    [InlineData("src/BertSharp/PublicAPI.Unshipped.txt", true)]
    [InlineData("src/BertSharp/obj/project.assets.json", false)]
    [InlineData("tests/BertSharp.Tests/Test.cs", false)]
    public void Bert_rebuilds_the_cli_when_any_build_input_is_newer(string changed, bool rebuilds)
    {
        using var tmp = TestPaths.TempDir();
        var repo = tmp.File("repo");
        Directory.CreateDirectory(Path.Combine(repo, ".build", "cli"));
        File.Copy(Path.Combine(TestPaths.RepoRoot, "bert"), Path.Combine(repo, "bert"));
        var built = Path.Combine(repo, ".build", "cli", "bert.dll");
        File.WriteAllText(built, "");
        var bin = Directory.CreateDirectory(tmp.File("bin")).FullName;
        // The stand-in dotnet says what it was asked to do; ./bert touches bert.dll after a build.
        File.WriteAllText(Path.Combine(bin, "dotnet"), "#!/bin/sh\necho \"dotnet $1\" >&2\necho \"as $BERTSHARP_PROG\" >&2\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(bin, "dotnet"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var input = Path.Combine(repo, changed);
        Directory.CreateDirectory(Path.GetDirectoryName(input)!);
        File.WriteAllText(input, "");
        File.SetLastWriteTimeUtc(built, DateTime.UtcNow.AddMinutes(-1));
        var (exit, _, stderr) = TestScripts.RunBash(Path.Combine(repo, "bert"),
            [("PATH", bin + ":/usr/bin:/bin"), ("BERTSHARP_NO_TCMALLOC", "1")], "--version");
        Assert.True(exit == 0, stderr);
        Assert.Equal(rebuilds, stderr.Contains("dotnet build", StringComparison.Ordinal));
        // The CLI's "next:" hints start with the launcher as it was run.
        Assert.EndsWith($"dotnet {built}\nas {Path.Combine(repo, "bert")}\n", stderr, StringComparison.Ordinal);
    }

    [Fact]
    public void Real_model_sh_refuses_an_unknown_step_before_running_any()
    {
        using var tmp = TestPaths.TempDir();
        var output = tmp.File("out");
        // 'table' first: it ran (and the model was imported, and OUT made) before the typo after it was noticed.
        var (exit, stdout, stderr) = TestScripts.RunBash(Script("real-model.sh"), [("OUT", output), ("MODEL", tmp.Path)], "table", "tabel");
        Assert.Equal(2, exit);
        Assert.Equal("real-model.sh: unknown step 'tabel' (see the comment at the top)\n", stderr);
        Assert.Equal("", stdout);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Compare_pretrained_sh_runs_from_a_path_with_a_space_and_tables_a_single_arm()
    {
        using var tmp = TestPaths.TempDir();
        var repo = tmp.File("my repo");
        Directory.CreateDirectory(Path.Combine(repo, "scripts"));
        File.Copy(Script("compare-pretrained.sh"), Path.Combine(repo, "scripts", "compare-pretrained.sh"));
        // The stand-in ./bert: a fine-tune whose accuracy is 0.75, written to the run's --output (its last argument).
        File.WriteAllText(Path.Combine(repo, "bert"), "#!/bin/sh\nfor a; do last=$a; done\nmkdir -p \"$last\"\necho '{\"accuracy\": 0.75}' > \"$last/metrics.json\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(Path.Combine(repo, "bert"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        var model = tmp.File("model");
        Directory.CreateDirectory(model);
        File.WriteAllText(Path.Combine(model, "vocab.txt"), "[PAD]\n");
        // BERT's default, "$root/bert", was split at the space ("…/my: No such file or directory", exit 127); with one arm
        // the table's missing column ended the script under pipefail (exit 2 after the header).
        var (exit, stdout, stderr) = TestScripts.RunBash(Path.Combine(repo, "scripts", "compare-pretrained.sh"),
            [("MODEL", model), ("TASKS", "sst2"), ("LRS", "1e-4"), ("ARMS", "pretrained"), ("OUT", tmp.File("out"))]);
        Assert.True(exit == 0, stderr);
        Assert.EndsWith("| sst2 | 1 | 1e-4 | - | 0.7500 | - |\n", stdout, StringComparison.Ordinal);
    }
}
