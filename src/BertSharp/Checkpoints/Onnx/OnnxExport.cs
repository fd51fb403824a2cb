using BertSharp.IO;
using BertSharp.Modeling;
using Google.Protobuf;
using Onnx;

namespace BertSharp.Checkpoints.Onnx;

/// <summary>Options of <see cref="OnnxExport"/>.</summary>
/// <param name="Optimize">
/// Write ONNX Runtime's fused BERT operators (com.microsoft <c>EmbedLayerNormalization</c>, <c>Attention</c>,
/// <c>SkipLayerNormalization</c>, <c>BiasGelu</c> for erf GELU / <c>FastGelu</c> for tanh GELU) instead of their decomposition.
/// </param>
/// <param name="QuantizeInt8">Dynamic int8 quantization of the MatMul weights (see <see cref="OnnxQuantizer"/>).</param>
/// <param name="ExternalData">Store the weights in <c>OUT.onnx.data</c> beside the graph (ONNX external data, as for models over 2 GB).</param>
public sealed record OnnxExportOptions(bool Optimize = false, bool QuantizeInt8 = false, bool ExternalData = false);

/// <summary>What <see cref="OnnxExport.Export(BertPreTrainedModel, string, OnnxExportOptions?)"/> wrote.</summary>
/// <param name="Path">The .onnx file.</param>
/// <param name="Architecture">The model class exported.</param>
/// <param name="Outputs">Graph output names.</param>
/// <param name="OpCounts">Nodes per op type (<c>com.microsoft:Attention</c> for contrib ops).</param>
/// <param name="QuantizedMatMuls">MatMuls turned into DynamicQuantizeMatMul.</param>
/// <param name="Bytes">Size of the file(s) written.</param>
public sealed record OnnxExportSummary(string Path, string Architecture, IReadOnlyList<string> Outputs, IReadOnlyDictionary<string, int> OpCounts,
    int QuantizedMatMuls, long Bytes);

/// <summary>
/// BertSharp → ONNX: the graph of a model with every head (base, sequence classification incl. multi-label and regression,
/// token classification, QA, masked LM, pre-training, NSP), opset 17, dynamic batch and sequence axes; optionally fused by
/// ONNX Runtime and/or dynamically quantized to int8.
/// </summary>
public static class OnnxExport
{
    /// <summary>The ONNX model of <paramref name="model"/> (weights inline, not quantized; fused when <paramref name="fused"/>).</summary>
    public static ModelProto ToOnnx(BertPreTrainedModel model, bool fused = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        return OnnxExporter.Build(model, fused);
    }

    /// <summary>Loads a model directory (or Hub id) as its config's architecture (or <paramref name="architecture"/>) and exports it.</summary>
    public static OnnxExportSummary Export(string modelDirectory, string path, OnnxExportOptions? options = null, string? architecture = null)
    {
        var dir = BertPretrained.ResolveDirectory(modelDirectory);
        using var model = BertPretrained.Load(architecture, dir, out var report);
        if (report.MissingKeys.Count > 0)
        {
            throw new BertSharpException(
                $"{dir}: the checkpoint lacks {string.Join(", ", report.MissingKeys.Take(3))}{(report.MissingKeys.Count > 3 ? ", …" : "")} for {model.GetType().Name}; " +
                $"exporting would write random weights (pass {BertSharpException.Field("architecture")}).");
        }
        BertSharp.Inference.RequiredWeights.Check(report, [], "", dir);
        return Export(model, path, options);
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> atomically (a failed export leaves nothing behind).</summary>
    public static OnnxExportSummary Export(BertPreTrainedModel model, string path, OnnxExportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(path);
        options ??= new OnnxExportOptions();
        if (!path.EndsWith(".onnx", StringComparison.OrdinalIgnoreCase))
        {
            throw new BertSharpException($"{path}: expected an output file ending in .onnx.");
        }
        var full = System.IO.Path.GetFullPath(path);
        // Before anything is built or written: a directory in the output's place would otherwise fail only at the graph's
        // rename, after the external data had been written beside it.
        CheckOutputPath(path, full);
        var onnx = ToOnnx(model, options.Optimize);
        var quantized = options.QuantizeInt8 ? OnnxQuantizer.QuantizeInt8(onnx) : 0;
        long bytes;
        try
        {
            if (options.ExternalData)
            {
                bytes = WriteWithExternalData(onnx, full);
            }
            else
            {
                BeforeGraphWrite?.Invoke(full);
                AtomicFile.Write(full, s => onnx.WriteTo(s));
                bytes = new FileInfo(full).Length;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The system's message names a temp file or none ("Access to the path ... is denied"): the output is what to fix.
            throw new BertSharpException($"{path}: cannot write the ONNX export ({e.Message.TrimEnd('.')}).", e);
        }
        var ops = onnx.Graph.Node.GroupBy(n => n.Domain is "" or "ai.onnx" ? n.OpType : n.Domain + ":" + n.OpType)
            .OrderBy(g => g.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return new OnnxExportSummary(full, model.GetType().Name, [.. onnx.Graph.Output.Select(o => o.Name)], ops, quantized, bytes);
    }

    /// <summary>Tests only: runs just before the graph is written (after the external data), to fail an export there.</summary>
    [ThreadStatic]
    internal static Action<string>? BeforeGraphWrite;

    private static void CheckOutputPath(string path, string full)
    {
        if (Directory.Exists(full))
        {
            throw new BertSharpException($"{path}: is a directory; expected a file path.");
        }
        var parent = System.IO.Path.GetDirectoryName(full);
        if (parent is not null && File.Exists(parent))
        {
            throw new BertSharpException($"{path}: {parent} is a file; expected a file path in a directory.");
        }
    }

    /// <summary>Moves every initializer over 1 KiB into <c>OUT.onnx.data</c> (ONNX external data: location, offset, length).</summary>
    private static long WriteWithExternalData(ModelProto model, string path)
    {
        var dataName = System.IO.Path.GetFileName(path) + ".data";
        var dataPath = path + ".data";
        var large = model.Graph.Initializer.Where(t => t.RawData.Length > 1024).ToList();
        AtomicFile.Write(dataPath, s =>
        {
            long offset = 0;
            foreach (var t in large)
            {
                t.RawData.WriteTo(s);
                var length = t.RawData.Length;
                t.RawData = ByteString.Empty;
                t.DataLocation = TensorProto.Types.DataLocation.External;
                t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = dataName });
                t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                offset += length;
            }
        });
        BeforeGraphWrite?.Invoke(path);
        AtomicFile.Write(path, s => model.WriteTo(s));
        return new FileInfo(path).Length + new FileInfo(dataPath).Length;
    }
}
