using BertSharp.IO;
using BertSharp.Runtime;
using static TorchSharp.torch;

namespace BertSharp.Checkpoints;

/// <summary>
/// Reader and writer for the <a href="https://github.com/huggingface/safetensors">safetensors</a> format: an 8-byte
/// little-endian header length, a JSON header, then the raw little-endian C-order tensor bytes. Headers are fully
/// validated before any tensor is allocated; files are written atomically in the exact layout of the Rust writer.
/// </summary>
public static class SafeTensors
{
    /// <summary>Reads and validates only the header (names, dtypes, shapes, offsets, metadata); no tensor data is read.</summary>
    /// <exception cref="BertSharpException">The file is missing, truncated or its header is invalid.</exception>
    public static SafeTensorsHeader ReadHeader(string path)
    {
        using var fs = Open(path);
        return SafeTensorsHeaderParser.Read(path, fs);
    }

    /// <summary>
    /// Loads every tensor onto the CPU with the dtype and shape stored in the file (F16/BF16 stay half precision).
    /// The dictionary enumerates in file order.
    /// </summary>
    /// <exception cref="BertSharpException">The file is invalid, or holds a dtype TorchSharp has no type for (U16/U32/U64/F8).</exception>
    public static Dictionary<string, Tensor> Load(string path) => Load(path, null);

    /// <summary>
    /// <see cref="Load(string)"/>, first handing the header to <paramref name="check"/>, which throws to refuse the file
    /// before any tensor is allocated: a caller that checks the header against what it expects parses it once.
    /// </summary>
    internal static Dictionary<string, Tensor> Load(string path, Action<SafeTensorsHeader>? check)
    {
        TorchRuntime.EnsureLoaded();
        using var fs = Open(path);
        var header = SafeTensorsHeaderParser.Read(path, fs);
        check?.Invoke(header);
        CheckDTypes(path, header);
        var result = new Dictionary<string, Tensor>(header.Tensors.Count, StringComparer.Ordinal);
        try
        {
            foreach (var e in header.Tensors)
            {
                var t = empty(e.Shape, e.DType.ScalarType!.Value);
                result.Add(e.Name, t);
                ReadData(path, fs, header.DataStart, e, t);
            }
        }
        catch
        {
            DisposeAll(result);
            throw;
        }
        return result;
    }

    /// <summary>Refuses a header with a dtype TorchSharp has no type for, before any tensor is allocated.</summary>
    internal static void CheckDTypes(string path, SafeTensorsHeader header)
    {
        foreach (var e in header.Tensors)
        {
            if (e.DType.ScalarType is null)
            {
                throw new BertSharpException($"{path}: tensor '{e.Name}' has dtype {e.DType.Name}, which TorchSharp cannot represent.");
            }
        }
    }

    /// <summary>
    /// Reads the bytes of <paramref name="entry"/> into <paramref name="destination"/>, a contiguous CPU tensor of the
    /// entry's dtype and element count, through its storage (no intermediate buffer).
    /// </summary>
    internal static void ReadData(string path, FileStream fs, long dataStart, SafeTensorsEntry entry, Tensor destination)
    {
        if (entry.ByteCount == 0)
        {
            return;
        }
        try
        {
            fs.Position = dataStart + entry.Begin;
            using var flat = destination.view(-1);
            foreach (var chunk in SafeTensorsWriter.Chunks(flat))
            {
                using (chunk)
                {
                    fs.ReadExactly(chunk.bytes);
                }
            }
        }
        catch (Exception e) when (e is EndOfStreamException or IOException)
        {
            throw new BertSharpException($"{path}: could not read tensor data ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Writes <paramref name="tensors"/> atomically (temp file, then rename) in the layout the Rust writer produces, so a
    /// file saved here is byte-identical to the one HF <c>save_file</c> would write for the same tensors and metadata.
    /// Metadata keys are written in the dictionary's enumeration order. Tensors may live on any device and need not be
    /// contiguous.
    /// </summary>
    public static void Save(string path, IReadOnlyDictionary<string, Tensor> tensors, IReadOnlyDictionary<string, string>? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(tensors);
        TorchRuntime.EnsureLoaded();
        AtomicFile.Write(path, s => SafeTensorsWriter.Write(s, tensors, metadata));
    }

    internal static FileStream Open(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BertSharpException($"{path}: file not found.", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new BertSharpException($"{path}: cannot open ({e.Message}).", e);
        }
    }

    internal static void DisposeAll(Dictionary<string, Tensor> tensors)
    {
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
        tensors.Clear();
    }
}
