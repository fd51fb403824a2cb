using System.Buffers.Binary;
using BertSharp.Modeling;
using static TorchSharp.torch;

namespace BertSharp.Checkpoints.PyTorchBin;

/// <summary>
/// The torch &lt; 1.6 <c>torch.save</c> format (still common for 2019-era BERT checkpoints): four pickles in a row — the
/// magic number, the protocol version 1001, a sys-info dict, the state dict (persistent ids
/// <c>('storage', cls, key, location, numel, None)</c>) and the list of storage keys — then, per key in that order, an
/// int64 element count and the raw little-endian bytes. Every pickle goes through the same restricted unpickler.
/// </summary>
internal static class LegacyTorchFormat
{
    /// <summary>The first pickle: protocol 2, LONG1 of 10 bytes = 0x1950a86a20f9469cfc6c, STOP.</summary>
    private static readonly byte[] Magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];

    /// <summary>Pickles of a state dict are small; only this much of the file is read to parse them.</summary>
    private const int MaxPickleRegion = 64 << 20;

    public static bool HasMagic(FileStream fs)
    {
        Span<byte> head = stackalloc byte[Magic.Length];
        fs.Position = 0;
        int n = fs.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        fs.Position = 0;
        return n == Magic.Length && head.SequenceEqual(Magic);
    }

    public static Dictionary<string, Tensor> Read(string path, FileStream fs)
    {
        var (source, refs, keys, storages, dataStart) = Parse(path, fs);
        var loaded = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        try
        {
            fs.Position = dataStart;
            foreach (var key in keys)
            {
                loaded[key] = ReadStorage(source, fs, storages[key]);
            }
            // Materialize disposes the storage handles it used; the views keep the memory alive.
            return PyTorchBinReader.Materialize(path, refs, (_, s) => loaded[s.Key]);
        }
        finally
        {
            foreach (var t in loaded.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <summary>Names, dtypes and shapes, with every storage's element count checked against the file; no tensor data is read.</summary>
    public static List<CheckpointTensor> ReadHeader(string path, FileStream fs) =>
        PyTorchBinReader.Describe(path, Parse(path, fs).Refs);

    /// <summary>
    /// Reads the four pickles and walks the storage records that follow them (count, then bytes) by seeking, so every count
    /// is checked against its pickle and against the file before anything is allocated.
    /// </summary>
    private static (string Source, List<(string Key, TensorRef Ref)> Refs, List<string> Keys, IReadOnlyDictionary<string, StorageRef> Storages, long DataStart)
        Parse(string path, FileStream fs)
    {
        var head = new byte[(int)Math.Min(fs.Length, MaxPickleRegion)];
        fs.Position = 0;
        fs.ReadExactly(head);
        var source = path + " (legacy torch format)";
        int pos = Magic.Length;
        object? Next()
        {
            var u = new RestrictedUnpickler(source, head, pos);
            var v = u.Load();
            pos = u.Position;
            return v;
        }
        if (Next() is not 1001L)
        {
            throw new BertSharpException($"{source}: unsupported serialization protocol version (expected 1001).");
        }
        if (Next() is PickleDict sysInfo && sysInfo.Items.Any(kv => kv.Key is "little_endian" && kv.Value is false))
        {
            throw new BertSharpException($"{source}: written on a big-endian machine; only little-endian checkpoints are supported.");
        }
        var main = new RestrictedUnpickler(source, head, pos);
        var refs = PyTorchBinReader.ToStateDict(source, main.Load());
        pos = main.Position;
        if (Next() is not List<object?> list || list.Any(k => k is not string))
        {
            throw new BertSharpException($"{source}: the storage key list is missing or malformed.");
        }
        var keys = list.Cast<string>().ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        fs.Position = pos;
        foreach (var key in keys)
        {
            var s = main.Storages.GetValueOrDefault(key)
                ?? throw new BertSharpException($"{source}: storage '{key}' is listed but no tensor uses it.");
            if (!seen.Add(key))
            {
                throw new BertSharpException($"{source}: storage '{key}' is listed twice.");
            }
            SkipStorage(source, fs, s);
        }
        var missing = main.Storages.Keys.Where(k => !seen.Contains(k)).ToList();
        if (missing.Count > 0)
        {
            throw new BertSharpException($"{source}: storage '{missing[0]}' is used by a tensor but has no data.");
        }
        return (source, refs, keys, main.Storages, pos);
    }

    /// <summary>Checks one storage record (int64 count, then count × element size bytes) and moves past it.</summary>
    private static void SkipStorage(string source, FileStream fs, StorageRef s)
    {
        long count = ReadCount(source, fs, s);
        fs.Seek(count * SafeTensorsDType.FromScalarType(s.DType)!.Size, SeekOrigin.Current);
    }

    private static long ReadCount(string source, FileStream fs, StorageRef s)
    {
        Span<byte> countBytes = stackalloc byte[8];
        if (fs.ReadAtLeast(countBytes, 8, throwOnEndOfStream: false) != 8)
        {
            throw new BertSharpException($"{source}: data of storage '{s.Key}' is missing (file truncated).");
        }
        long count = BinaryPrimitives.ReadInt64LittleEndian(countBytes);
        long elementSize = SafeTensorsDType.FromScalarType(s.DType)!.Size;
        if (count != s.ElementCount || count > (fs.Length - fs.Position) / elementSize)
        {
            throw new BertSharpException(
                Invariant($"{source}: storage '{s.Key}' holds {count} elements where {s.ClassName}[{s.ElementCount}] is expected, or the file is truncated."));
        }
        return count;
    }

    private static Tensor ReadStorage(string source, FileStream fs, StorageRef s)
    {
        long count = ReadCount(source, fs, s);
        var t = empty(count, s.DType);
        try
        {
            foreach (var chunk in SafeTensorsWriter.Chunks(t))
            {
                using (chunk)
                {
                    fs.ReadExactly(chunk.bytes);
                }
            }
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }
}
