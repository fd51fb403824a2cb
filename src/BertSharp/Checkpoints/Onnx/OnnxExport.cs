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
/// <param name="ExternalData">
/// Store the weights in <c>OUT.onnx.HASH.data</c> beside the graph (ONNX external data, as for models over 2 GB); HASH (16 hex digits
/// of the data's SHA-256) ties the graph to its own data, so an interrupted export never pairs one export's graph with another's weights.
/// </param>
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
        using var model = TypedModelNames.Load(modelDirectory, dir, () =>
        {
            var loaded = BertPretrained.Load(architecture, dir, out var report);
            try
            {
                if (report.MissingKeys.Count > 0)
                {
                    throw new BertSharpException(
                        $"{dir}: the checkpoint lacks {string.Join(", ", report.MissingKeys.Take(3))}{(report.MissingKeys.Count > 3 ? ", …" : "")} for {loaded.GetType().Name}; " +
                        $"exporting would write random weights ({(architecture is null ? "pass" : "choose")} an {BertSharpException.Field("architecture")} whose head the checkpoint has, " +
                        $"e.g. {nameof(BertModel)} for the encoder alone).");
                }
                BertSharp.Inference.RequiredWeights.CheckEncoder(report, dir);
            }
            catch
            {
                loaded.Dispose();
                throw;
            }
            return loaded;
        });
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
        if (options.ExternalData)
        {
            CheckDataFileName(path, full);
        }
        var onnx = ToOnnx(model, options.Optimize);
        var quantized = options.QuantizeInt8 ? OnnxQuantizer.QuantizeInt8(onnx) : 0;
        var previousData = DataFilesOf(full);
        long bytes;
        string? dataName = null;
        try
        {
            if (options.ExternalData)
            {
                bytes = WriteWithExternalData(onnx, full, out dataName);
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
            // AtomicFile's failure already names the file it could not write: the graph (this path) or its data beside it, named
            // by its file name alone, since the line names their directory once already. A system's message from outside its
            // writes ("Access to the path '/out/m.onnx' is denied") is said the same way, its quoted path not again in the reason.
            var w = e as OutputWriteException ?? AtomicFile.Failure(path, full, full, e);
            var reason = w.FullTarget == full ? w.Reason
                : System.IO.Path.GetDirectoryName(w.FullTarget) == System.IO.Path.GetDirectoryName(full) ? $"its data file {System.IO.Path.GetFileName(w.FullTarget)}: {w.Reason}"
                : $"{w.FullTarget}: {w.Reason}";
            throw new BertSharpException($"{path}: cannot write the ONNX export ({reason}).", e);
        }
        RemoveStaleDataFiles(full, previousData, dataName);
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

    /// <summary>
    /// Refuses a graph name too long for its data file's (<c>NAME.HASH.data</c>, <see cref="DataNameExtraBytes"/> bytes longer)
    /// before anything is written: the data file would fail to be created, with a system error naming a temporary file. The
    /// data file keeps the graph's whole name, as the loader's check of which data files are a graph's own expects.
    /// </summary>
    private static void CheckDataFileName(string path, string full)
    {
        var bytes = System.Text.Encoding.UTF8.GetByteCount(System.IO.Path.GetFileName(full));
        if (bytes > AtomicFile.MaxNameBytes - DataNameExtraBytes)
        {
            throw new BertSharpException(Invariant(
                $"{path}: the file name is {bytes} bytes (UTF-8); with external data it may have at most {AtomicFile.MaxNameBytes - DataNameExtraBytes}, since its data file adds '.<16 hex digits>.data' within a file name's {AtomicFile.MaxNameBytes} bytes; choose a shorter name."));
        }
    }

    // ".HASH.data" after the graph's name.
    private const int DataNameExtraBytes = 1 + HashDigits + 5;

    /// <summary>
    /// Moves every initializer over 1 KiB into <c>OUT.onnx.HASH.data</c> (ONNX external data: location, offset, length),
    /// where HASH is the first 16 hex digits of the SHA-256 of the data.
    /// </summary>
    /// <remarks>
    /// The graph and its data are two files, and two renames cannot be made one. With a fixed data name, replacing the data
    /// and then the graph left a window (a kill, a failed graph rename) in which the previous graph loaded the new weights
    /// without a word. Named by content, the new data never replaces the file the previous graph reads: the data is written
    /// (atomically), then the graph that names it (atomically); until the graph's rename the previous export is intact, and
    /// after it the new one is. A data file left by a failed graph write is deleted here, and one left by a kill is deleted
    /// by the next export of the same path (<see cref="RemoveStaleDataFiles"/>).
    /// </remarks>
    private static long WriteWithExternalData(ModelProto model, string path, out string dataName)
    {
        var large = model.Graph.Initializer.Where(t => t.RawData.Length > 1024).ToList();
        using (var sha = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.SHA256))
        {
            foreach (var t in large)
            {
                sha.AppendData(t.RawData.Span);
            }
            dataName = System.IO.Path.GetFileName(path) + "." + Convert.ToHexStringLower(sha.GetHashAndReset())[..HashDigits] + ".data";
        }
        var location = dataName;
        var dataPath = System.IO.Path.Combine(System.IO.Path.GetDirectoryName(path)!, dataName);
        // The same name means the same bytes (an export of the same weights): the file may be the previous graph's data,
        // so a failure below must not delete it.
        var existed = File.Exists(dataPath);
        AtomicFile.Write(dataPath, s =>
        {
            long offset = 0;
            foreach (var t in large)
            {
                t.RawData.WriteTo(s);
                var length = t.RawData.Length;
                t.RawData = ByteString.Empty;
                t.DataLocation = TensorProto.Types.DataLocation.External;
                t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
                t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
                offset += length;
            }
        });
        var published = false;
        try
        {
            BeforeGraphWrite?.Invoke(path);
            AtomicFile.Write(path, s => model.WriteTo(s));
            published = true;
        }
        finally
        {
            if (!published && !existed)
            {
                File.Delete(dataPath);
            }
        }
        return new FileInfo(path).Length + new FileInfo(dataPath).Length;
    }

    /// <summary>
    /// Whether <paramref name="dir"/> holds a data file named with its hash: only a graph with one beside it can name one, and
    /// others are not parsed a second time. A directory that cannot be listed may hold one.
    /// </summary>
    private static bool MayHoldHashedData(string dir)
    {
        try
        {
            return Directory.EnumerateFiles(dir, "*.data").Any(f => DataFileHash(System.IO.Path.GetFileName(f)) is not null);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return true;
        }
    }

    /// <summary>Whether <paramref name="entry"/> is a data file an export of <paramref name="graphName"/> writes (or wrote: <c>OUT.onnx.data</c>).</summary>
    private static bool IsDataFileOf(string graphName, string entry) =>
        entry == graphName + ".data"
        || (entry.Length == graphName.Length + 1 + HashDigits + ".data".Length && entry.StartsWith(graphName + ".", StringComparison.Ordinal)
            && DataFileHash(entry) is not null);

    private const int HashDigits = 16;

    /// <summary>
    /// The hash a data file's name carries (<c>GRAPH.onnx.HASH.data</c>, HASH being the first 16 lowercase hex digits of the
    /// file's SHA-256, as <see cref="WriteWithExternalData"/> names it); null for any other name (other tools' data files).
    /// </summary>
    internal static string? DataFileHash(string name)
    {
        const string Suffix = ".data";
        var head = name.Length - HashDigits - Suffix.Length;
        if (head <= 0 || !name.EndsWith(Suffix, StringComparison.Ordinal) || !name.AsSpan(0, head).EndsWith(".onnx.", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var hash = name.Substring(head, HashDigits);
        return hash.AsSpan().ContainsAnyExcept("0123456789abcdef") ? null : hash;
    }

    /// <summary>
    /// Checks an external data file whose name carries its hash (<see cref="DataFileHash"/>) against its content, hashed as
    /// it streams; a file named otherwise is left to the reader's own checks.
    /// </summary>
    /// <exception cref="BertSharpException">The content's hash differs from the name's: truncated or altered since export.</exception>
    internal static void VerifyDataFile(string path)
    {
        if (DataFileHash(System.IO.Path.GetFileName(path)) is not { } expected)
        {
            return;
        }
        string actual;
        try
        {
            using var fs = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            actual = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(fs))[..HashDigits];
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            // The reader names a missing file itself (ORT, OnnxTensorReader).
            return;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BertSharpException($"{path}: cannot read the external data ({e.Message.TrimEnd('.')}).", e);
        }
        if (actual != expected)
        {
            // Without this a truncated file is an ORT or protobuf error, and an altered one loads other weights silently.
            throw new BertSharpException(
                $"{path}: the external data's SHA-256 begins {actual}, but its name says {expected}: the file was truncated or altered after export; export the model again.");
        }
    }

    /// <summary>
    /// Checks every data file the graph at <paramref name="graphPath"/> names that carries its hash (<see cref="VerifyDataFile"/>),
    /// before a reader that does not check it (ONNX Runtime) loads the weights.
    /// </summary>
    internal static void VerifyDataFiles(string graphPath)
    {
        var info = new FileInfo(graphPath);
        if (!info.Exists || info.DirectoryName is not { } dir || !MayHoldHashedData(dir))
        {
            return;
        }
        foreach (var location in LocationsOf(info))
        {
            // A location with a directory in it is not one an export writes (nor one that can climb out: never opened here).
            if (location == System.IO.Path.GetFileName(location))
            {
                VerifyDataFile(System.IO.Path.Combine(dir, location));
            }
        }
    }

    /// <summary>A temporary file <see cref="AtomicFile.Write"/> left (<c>.NAME.XXXXXXXX.tmp</c>, killed) for the graph or one of its data files.</summary>
    private static bool IsTempFileOf(string graphName, string entry) =>
        AtomicFile.TempKey(entry) is { } key && (key == AtomicFile.LeftoverKey(graphName) || IsDataFileOf(graphName, key));

    /// <summary>
    /// The data files beside <paramref name="full"/> that the graph now there reads and that an export of that path wrote
    /// (<c>OUT.onnx.data</c> as earlier versions named it included): they belong to the graph about to be replaced.
    /// </summary>
    private static HashSet<string> DataFilesOf(string full)
    {
        var info = new FileInfo(full);
        return LocationsOf(info).Where(l => IsDataFileOf(info.Name, l)).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>The distinct external-data locations the graph <paramref name="info"/> names; none when it cannot be read.</summary>
    private static HashSet<string> LocationsOf(FileInfo info)
    {
        var found = new HashSet<string>(StringComparer.Ordinal);
        // An external-data graph is small; a large one holds its weights inline and names no data file (not worth parsing).
        if (!info.Exists || info.Length > 64 << 20)
        {
            return found;
        }
        try
        {
            // Only the external-data entries are parsed: everything else, an inline weight's bytes included, is skipped. A
            // graph holding its weights inline beside an export's hashed data file (an int8 export next to an
            // --external-data one) had every weight copied into memory here, before ONNX Runtime parsed it again.
            using var fs = info.OpenRead();
            using var input = new CodedInputStream(fs, leaveOpen: true);
            Within(input, fs.Length, ModelProto.GraphFieldNumber, graphEnd =>
                Within(input, graphEnd, GraphProto.InitializerFieldNumber, tensorEnd =>
                    Within(input, tensorEnd, TensorProto.ExternalDataFieldNumber, entryEnd =>
                    {
                        string? key = null, value = null;
                        while (input.Position < entryEnd)
                        {
                            switch (WireFormat.GetTagFieldNumber(input.ReadTag()))
                            {
                                case StringStringEntryProto.KeyFieldNumber: key = input.ReadString(); break;
                                case StringStringEntryProto.ValueFieldNumber: value = input.ReadString(); break;
                                default: input.SkipLastField(); break;
                            }
                        }
                        if (key == "location" && value is not null)
                        {
                            found.Add(value);
                        }
                    })));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidProtocolBufferException or InvalidDataException)
        {
            // Not an ONNX graph BertSharp can read: it names nothing (its reader reports it).
        }
        return found;
    }

    /// <summary>
    /// Reads the message that ends at <paramref name="end"/>: calls <paramref name="read"/> with the end of each field
    /// <paramref name="field"/> (a message) and skips every other field.
    /// </summary>
    private static void Within(CodedInputStream input, long end, int field, Action<long> read)
    {
        while (input.Position < end)
        {
            var tag = input.ReadTag();
            if (WireFormat.GetTagFieldNumber(tag) == field && WireFormat.GetTagWireType(tag) == WireFormat.WireType.LengthDelimited)
            {
                var inner = input.ReadLength() + input.Position;
                if (inner > end)
                {
                    throw new InvalidDataException("a field runs past the end of its message");
                }
                read(inner);
            }
            else
            {
                input.SkipLastField();
            }
        }
        if (input.Position != end)
        {
            throw new InvalidDataException("a field runs past the end of its message");
        }
    }

    /// <summary>
    /// After the new graph is in place: deletes the replaced graph's data files, data files of this path that no graph
    /// names (left by an export killed between its data and its graph), and temporary files of such writes.
    /// </summary>
    /// <remarks>
    /// Best effort: the export has succeeded by now, and whatever cannot be deleted is tried again by the next export.
    /// </remarks>
    private static void RemoveStaleDataFiles(string full, HashSet<string> previousData, string? keep)
    {
        var dir = System.IO.Path.GetDirectoryName(full)!;
        var graphName = System.IO.Path.GetFileName(full);
        foreach (var entry in Directory.EnumerateFiles(dir))
        {
            var name = System.IO.Path.GetFileName(entry);
            var stale = name != keep && (previousData.Contains(name) || (IsDataFileOf(graphName, name) && name != graphName + ".data"))
                || IsTempFileOf(graphName, name);
            if (!stale)
            {
                continue;
            }
            try
            {
                File.Delete(entry);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left for the next export of this path (see remarks).
            }
        }
    }
}
