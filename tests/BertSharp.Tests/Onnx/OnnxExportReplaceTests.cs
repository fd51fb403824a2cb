using BertSharp.Checkpoints.Onnx;
using BertSharp.IO;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using Google.Protobuf;
using Onnx;
using TorchSharp;

namespace BertSharp.Tests.Onnx;

/// <summary>
/// An export over a previous one (external data included) replaces it whole or not at all: a graph never loads another
/// export's weights, a failed export leaves the previous one and nothing of its own, and a directory in the output's place
/// writes nothing.
/// </summary>
public sealed class OnnxExportReplaceTests
{
    private const string Case = "sequence-classification";

    [Fact]
    public void Data_of_an_export_killed_before_its_graph_does_not_pair_with_the_previous_graph_and_the_next_export_removes_it()
    {
        using var a = BertPretrained.Load(null, HfFixture.Dir(Case), out _);
        using var b = Perturbed();
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("m.onnx");
        OnnxExport.Export(a, path, new OnnxExportOptions(ExternalData: true));
        Assert.True(DiffTo(a, path) <= 1e-4);

        // What a kill between B's two renames leaves: B's complete data file beside A's graph, and a temp of B's graph.
        using var otherTmp = TestPaths.TempDir();
        var other = otherTmp.Path;
        OnnxExport.Export(b, Path.Combine(other, "m.onnx"), new OnnxExportOptions(ExternalData: true));
        var bData = Directory.GetFiles(other).Select(Path.GetFileName).Single(n => n != "m.onnx")!;
        File.Copy(Path.Combine(other, bData), tmp.File(bData), overwrite: true);
        File.WriteAllText(tmp.File(".m.onnx.0123abcd.tmp"), "half a graph");

        Assert.True(DiffTo(a, path) <= 1e-4, "A's graph must still read A's weights beside B's data");

        // The next export of the path removes what the killed one left (and the previous export's data when it differs).
        OnnxExport.Export(a, path, new OnnxExportOptions(ExternalData: true));
        Assert.Equal(new[] { "m.onnx", DataNameOf(path) }, Names(tmp.Path));
        Assert.True(DataNameOf(path) != bData);
        Assert.True(DiffTo(a, path) <= 1e-4);
        OnnxExport.Export(b, path, new OnnxExportOptions(ExternalData: true));
        Assert.Equal(new[] { "m.onnx", bData }, Names(tmp.Path));
        Assert.True(DiffTo(b, path) <= 1e-4);
        // An inline export over an external-data one leaves no data file behind.
        OnnxExport.Export(a, path);
        Assert.Equal(new[] { "m.onnx" }, Names(tmp.Path));
        Assert.True(DiffTo(a, path) <= 1e-4);
        // A graph whose name is near the 255-byte limit: its killed export's temp, under a shortened name, is removed too.
        var longPath = tmp.File(new string('m', 245) + ".onnx");
        File.WriteAllText(AtomicFile.TempPath(longPath, "0123abcd"), "half a graph");
        OnnxExport.Export(a, longPath);
        Assert.Equal(new[] { "m.onnx", Path.GetFileName(longPath) }, Names(tmp.Path));
    }

    // The data file is named GRAPH.HASH.data, 22 bytes longer than the graph: within a file name's 255 bytes, 233 are left.
    [Fact]
    public void An_external_data_export_takes_a_graph_name_of_up_to_233_bytes_and_refuses_a_longer_one_before_writing()
    {
        using var a = BertPretrained.Load(null, HfFixture.Dir(Case), out _);
        using var tmp = TestPaths.TempDir();
        var longest = tmp.File(new string('m', 228) + ".onnx");
        OnnxExport.Export(a, longest, new OnnxExportOptions(ExternalData: true));
        Assert.Equal(255, System.Text.Encoding.UTF8.GetByteCount(DataNameOf(longest)));
        Assert.Equal(new[] { Path.GetFileName(longest), DataNameOf(longest) }, Names(tmp.Path));
        Assert.True(DiffTo(a, longest) <= 1e-4);

        var before = TestPaths.Snapshot(tmp.Path);
        var tooLong = tmp.File(new string('é', 114) + "m.onnx");
        var e = Assert.Throws<BertSharpException>(() => OnnxExport.Export(a, tooLong, new OnnxExportOptions(ExternalData: true)));
        Assert.Equal($"{tooLong}: the file name is 234 bytes (UTF-8); with external data it may have at most 233, since its data file adds " +
            "'.<16 hex digits>.data' within a file name's 255 bytes; choose a shorter name.", e.Message);
        TestPaths.AssertUnchanged(before, tmp.Path);
    }

    [Fact]
    public void An_export_over_one_with_the_earlier_data_name_removes_that_data_file()
    {
        using var a = BertPretrained.Load(null, HfFixture.Dir(Case), out _);
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("m.onnx");
        OnnxExport.Export(a, path, new OnnxExportOptions(ExternalData: true));
        // As earlier versions wrote it: the data in m.onnx.data.
        File.Move(tmp.File(DataNameOf(path)), tmp.File("m.onnx.data"));
        var graph = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));
        foreach (var e in graph.Graph.Initializer.SelectMany(t => t.ExternalData).Where(e => e.Key == "location"))
        {
            e.Value = "m.onnx.data";
        }
        File.WriteAllBytes(path, graph.ToByteArray());
        Assert.True(DiffTo(a, path) <= 1e-4);

        OnnxExport.Export(a, path, new OnnxExportOptions(ExternalData: true));
        Assert.Equal(new[] { "m.onnx", DataNameOf(path) }, Names(tmp.Path));
        Assert.True(DiffTo(a, path) <= 1e-4);
    }

    [Fact]
    public void An_export_whose_graph_write_fails_leaves_the_previous_export_as_it_was_and_nothing_of_its_own()
    {
        using var a = BertPretrained.Load(null, HfFixture.Dir(Case), out _);
        using var b = Perturbed();
        using var tmp = TestPaths.TempDir();
        var path = tmp.File("m.onnx");
        OnnxExport.Export(a, path, new OnnxExportOptions(ExternalData: true));
        var before = TestPaths.Snapshot(tmp.Path);
        foreach (var external in new[] { true, false })
        {
            OnnxExport.BeforeGraphWrite = p => throw new UnauthorizedAccessException($"Access to the path '{p}' is denied.");
            BertSharpException e;
            try
            {
                e = Assert.Throws<BertSharpException>(() => OnnxExport.Export(b, path, new OnnxExportOptions(ExternalData: external)));
            }
            finally
            {
                OnnxExport.BeforeGraphWrite = null;
            }
            // The system's message quotes the graph's path, which the line names once, at its start.
            Assert.Equal(path + ": cannot write the ONNX export (permission denied).", e.Message);
            ErrorLines.AssertNamesEachPathOnce(e.Message);
            TestPaths.AssertUnchanged(before, tmp.Path);
            Assert.True(DiffTo(a, path) <= 1e-4);
        }
    }

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
        // .NET's wording of a full disk, which quotes the path it could not write.
        OnnxExport.BeforeGraphWrite = p => throw new IOException($"No space left on device : '{p}'");
        try
        {
            var e = Assert.Throws<BertSharpException>(() => OnnxExport.Export(a, path));
            Assert.Equal(path + ": cannot write the ONNX export (No space left on device).", e.Message);
        }
        finally
        {
            OnnxExport.BeforeGraphWrite = null;
        }
        // A real refusal (no file can be made in /proc): said once, of the graph or of its data file, without a temp name.
        Assert.Equal("/proc/m.onnx: cannot write the ONNX export (no such file or directory).",
            Assert.Throws<BertSharpException>(() => OnnxExport.Export(a, "/proc/m.onnx")).Message);
        Assert.Matches(@"^/proc/m\.onnx: cannot write the ONNX export \(its data file m\.onnx\.[0-9a-f]{16}\.data: no such file or directory\)\.$",
            Assert.Throws<BertSharpException>(() => OnnxExport.Export(a, "/proc/m.onnx", new OnnxExportOptions(ExternalData: true))).Message);
    }

    /// <summary>The fixture model with every weight changed: an export whose data differs from the fixture's everywhere.</summary>
    private static BertPreTrainedModel Perturbed()
    {
        var model = BertPretrained.Load(null, HfFixture.Dir(Case), out _);
        using var factor = 1.5.ToScalar();
        using (torch.no_grad())
        {
            foreach (var p in model.parameters())
            {
                p.mul_(factor);
            }
        }
        return model;
    }

    private static double DiffTo(BertPreTrainedModel model, string onnxPath)
    {
        var reference = HfFixture.Tensors(Case);
        var (ids, mask, types) = (reference["in.input_ids"], reference["in.attention_mask"], reference["in.token_type_ids"]);
        return OnnxParity.MaxDiff(onnxPath, OnnxParity.TorchOutputs(model, ids, mask, types), ids.data<long>().ToArray(),
            mask.data<long>().ToArray(), types.data<long>().ToArray(), ids.shape);
    }

    /// <summary>The one external-data location the graph at <paramref name="onnxPath"/> names.</summary>
    private static string DataNameOf(string onnxPath)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(onnxPath));
        return model.Graph.Initializer.SelectMany(t => t.ExternalData).Where(e => e.Key == "location").Select(e => e.Value).Distinct().Single();
    }

    private static string[] Names(string dir) =>
        [.. Directory.EnumerateFileSystemEntries(dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal)];
}
