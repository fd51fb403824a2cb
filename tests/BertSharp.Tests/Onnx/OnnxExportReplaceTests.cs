using BertSharp.Checkpoints.Onnx;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Onnx;

/// <summary>A directory in the output's place writes nothing, and a failed write names the output.</summary>
public sealed class OnnxExportReplaceTests
{
    private const string Case = "sequence-classification";

    [Fact]
    public void A_directory_in_place_of_the_output_is_refused_before_anything_is_written()
    {
        using var a = BertPretrained.Load(null, HfFixture.Dir(Case), out _);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("m.onnx");
        Directory.CreateDirectory(path);
        File.WriteAllText(Path.Combine(path, "keep.txt"), "not BertSharp's");
        foreach (var external in new[] { true, false })
        {
            var e = Assert.Throws<BertSharpException>(() => OnnxExport.Export(a, path, new OnnxExportOptions(ExternalData: external)));
            Assert.Equal($"{path}: is a directory; expected a file path.", e.Message);
            Assert.Equal(new[] { "m.onnx" }, Names(tmp.Path));
            Assert.Equal(new[] { "keep.txt" }, Names(path));
        }

        var cli = CliRunner.Run("export-onnx", HfFixture.Dir(Case), path, "--external-data");
        Assert.Equal(2, cli.ExitCode);
        Assert.Contains($"{path}: is a directory; expected a file path.", cli.StdErr, StringComparison.Ordinal);
        Assert.Single(cli.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(new[] { "m.onnx" }, Names(tmp.Path));
    }

    [Fact]
    public void A_write_the_system_refuses_fails_naming_the_output()
    {
        using var a = BertPretrained.Load(null, HfFixture.Dir(Case), out _);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("m.onnx");
        OnnxExport.BeforeGraphWrite = p => throw new UnauthorizedAccessException($"Access to the path '{p}.0123abcd.tmp' is denied.");
        try
        {
            var e = Assert.Throws<BertSharpException>(() => OnnxExport.Export(a, path));
            Assert.StartsWith(path + ": cannot write the ONNX export (Access to the path", e.Message, StringComparison.Ordinal);
        }
        finally
        {
            OnnxExport.BeforeGraphWrite = null;
        }
    }

    private static string[] Names(string dir) =>
        [.. Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
}
