using System.Text;
using BertSharp.Checkpoints;
using BertSharp.Tests.Infrastructure;

namespace BertSharp.Tests.Checkpoints.Hub;

/// <summary>
/// Which files <c>bert upload</c> sends: huggingface_hub's upload_folder (DEFAULT_IGNORE_PATTERNS, filter_repo_objects with
/// Python's fnmatch), bert's own leftovers and training checkpoints aside. The expected sets are Python's own answers
/// (<c>fnmatch.fnmatch</c> with filter_repo_objects' trailing-"/" rule, run on 3.11 over the same paths).
/// </summary>
public sealed class HubUploadFilesTests : IDisposable
{
    private readonly TempDir _tmp = TestPaths.TempDir();

    public void Dispose() => _tmp.Dispose();

    private string Folder(params string[] paths)
    {
        var dir = Path.Combine(_tmp.Path, "model");
        foreach (var p in paths)
        {
            var full = Path.Combine(dir, p);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, p, Encoding.UTF8);
        }
        return dir;
    }

    private static string[] Names(string dir, string[]? include = null, string[]? exclude = null) =>
        [.. HubUploadFiles.Collect(dir, include, exclude).Select(f => f.PathInRepo)];

    [Fact]
    public void Hidden_files_go_as_upload_folder_sends_them_but_git_hf_metadata_berts_leftovers_and_checkpoints_do_not()
    {
        var dir = Folder(
            "config.json", "model.safetensors", ".gitattributes", ".cache/notes.txt", "eval/.hidden.json",
            ".git/config", ".git/lfs/objects/ab/cd/abcd", "1_Pooling/.git/HEAD",
            ".cache/huggingface/download/model.safetensors.metadata", "sub/.cache/huggingface/x",
            ".bertsharp", ".model.safetensors.0123abcd.tmp", "eval.89abcdef.old/dev.json", "checkpoint-3/model.safetensors",
            "sub/checkpoint-3/kept.txt");
        Assert.Equal(
            [".cache/notes.txt", ".gitattributes", "config.json", "eval/.hidden.json", "model.safetensors", "sub/checkpoint-3/kept.txt"],
            Names(dir));
    }

    [Theory]
    [InlineData("*.json", null, "1_Pooling/config.json|config.json|eval/dev.metrics.json")]
    [InlineData(null, "eval/", ".gitattributes|1_Pooling/config.json|README.md|config.json|model.safetensors|vocab.txt|[x].txt")]
    [InlineData("*config.json", "1_*", "config.json")]
    [InlineData("[!.m]*", null, "1_Pooling/config.json|README.md|config.json|eval/dev.metrics.json|vocab.txt|[x].txt")]
    [InlineData("?onfig.json|[x].txt", null, "config.json")]
    [InlineData("[[]x].txt", null, "[x].txt")]
    [InlineData("[a-c]*", null, "config.json")]
    [InlineData(null, "*/*", ".gitattributes|README.md|config.json|model.safetensors|vocab.txt|[x].txt")]
    [InlineData("*.[!j]*", "[.]*", "README.md|eval/dev.metrics.json|model.safetensors|vocab.txt|[x].txt")]
    public void Include_and_exclude_are_huggingface_hubs_allow_and_ignore_patterns_under_fnmatch(string? include, string? exclude, string expected)
    {
        var dir = Folder(".gitattributes", "1_Pooling/config.json", "README.md", "config.json", "eval/dev.metrics.json", "model.safetensors", "vocab.txt", "[x].txt");
        Assert.Equal(expected.Split('|').Order(StringComparer.Ordinal), Names(dir, include?.Split('|'), exclude?.Split('|')));
    }

    [Fact]
    public void Patterns_that_leave_nothing_or_cannot_match_are_one_line_errors()
    {
        var dir = Folder("config.json", "model.safetensors");
        // "[x" has no closing bracket, so fnmatch reads it literally and it matches no file.
        Assert.Equal($"{dir}: include/exclude left no file to upload; nothing was uploaded.",
            Assert.Throws<BertSharpException>(() => Names(dir, include: ["[x"])).Message);
        Assert.Contains("range 'z-a' is reversed",
            Assert.Throws<BertSharpException>(() => Names(dir, exclude: ["[z-a]*"])).Message, StringComparison.Ordinal);
        Assert.Contains("empty pattern", Assert.Throws<BertSharpException>(() => Names(dir, include: [""])).Message, StringComparison.Ordinal);
        // The folder is still checked as a model directory, whatever the patterns keep.
        File.Delete(Path.Combine(dir, "model.safetensors"));
        Assert.Contains("no model weights found", Assert.Throws<BertSharpException>(() => Names(dir, include: ["config.json"])).Message, StringComparison.Ordinal);
    }
}
