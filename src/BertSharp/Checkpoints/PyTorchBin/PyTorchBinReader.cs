using System.IO.Compression;
using System.IO.Hashing;
using System.Text;
using BertSharp.Checkpoints.PyTorchBin;
using BertSharp.Modeling;
using BertSharp.Runtime;
using static TorchSharp.torch;

namespace BertSharp.Checkpoints;

/// <summary>
/// Reads <c>pytorch_model.bin</c> files written by <c>torch.save(model.state_dict())</c> (torch ≥ 1.6 zip format: a
/// pickle <c>&lt;name&gt;/data.pkl</c> plus one raw little-endian entry <c>&lt;name&gt;/data/&lt;key&gt;</c> per storage)
/// without Python and without trusting the pickle: a restricted unpickler accepts only ordered dicts, tensor rebuilds
/// and storage references, and refuses anything else (e.g. <c>os.system</c>, <c>builtins.eval</c>) by name. The legacy
/// torch &lt; 1.6 format is read too (<see cref="PyTorchBin.LegacyTorchFormat"/>).
/// </summary>
public static class PyTorchBinReader
{
    /// <summary>Refuse pickles larger than this before reading them (a state-dict pickle is a few hundred KB).</summary>
    private const long MaxPickleBytes = 64L << 20;

    /// <summary>
    /// Loads the state dict onto the CPU. Tensors keep the stored dtype and are strided views into their storages, so
    /// entries that shared a storage in PyTorch (tied weights) share memory here too.
    /// </summary>
    /// <exception cref="BertSharpException">The file is not a torch zip checkpoint, is corrupted, or its pickle uses
    /// anything beyond a state dict; the message names the file and the offending global, key or storage.</exception>
    public static Dictionary<string, Tensor> Read(string path)
    {
        TorchRuntime.EnsureLoaded();
        return Open(path, LegacyTorchFormat.Read, (zip, fileLength) =>
        {
            var (prefix, refs) = Parse(path, zip, fileLength);
            return Materialize(path, refs, (key, storage) => ReadStorage(path, zip, prefix, key, storage));
        });
    }

    /// <summary>
    /// The names, dtypes and shapes of the state dict, validated exactly as <see cref="Read"/> validates them (pickle, storage
    /// entries and their sizes, view bounds) but without reading or allocating any tensor data.
    /// </summary>
    internal static List<CheckpointTensor> ReadHeader(string path) =>
        Open(path, LegacyTorchFormat.ReadHeader, (zip, fileLength) => Describe(path, Parse(path, zip, fileLength).Refs));

    internal static List<CheckpointTensor> Describe(string path, List<(string Key, TensorRef Ref)> refs)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var result = new List<CheckpointTensor>(refs.Count);
        foreach (var (key, r) in refs)
        {
            CheckBounds(path, key, r);
            if (!seen.Add(key))
            {
                throw new BertSharpException($"{path}: state-dict key '{key}' appears twice.");
            }
            result.Add(new CheckpointTensor(key, SafeTensorsDType.FromScalarType(r.Storage.DType)?.Name ?? r.Storage.DType.ToString(), r.Size));
        }
        return result;
    }

    private static T Open<T>(string path, Func<string, FileStream, T> legacy, Func<ZipArchive, long, T> archive)
    {
        using var fs = OpenStream(path);
        if (!CheckMagic(path, fs))
        {
            return legacy(path, fs);
        }
        return Zip(path, () =>
        {
            using var zip = OpenZip(path, fs);
            return archive(zip, fs.Length);
        });
    }

    /// <summary>
    /// The checkpoint of <paramref name="path"/> for reading tensor by tensor: a zip archive is parsed and validated as
    /// <see cref="Read"/> validates it, then each storage is read from its entry when a tensor is copied out
    /// (<see cref="PyTorchBinFile"/>); a legacy-format file is loaded whole.
    /// </summary>
    internal static CheckpointTensors OpenTensors(string path)
    {
        TorchRuntime.EnsureLoaded();
        var fs = OpenStream(path);
        try
        {
            if (!CheckMagic(path, fs))
            {
                using (fs)
                {
                    return CheckpointTensors.Of(LegacyTorchFormat.Read(path, fs), owned: true);
                }
            }
            return Zip(path, () =>
            {
                var zip = OpenZip(path, fs);
                try
                {
                    var (prefix, refs) = Parse(path, zip, fs.Length);
                    Describe(path, refs);
                    return new PyTorchBinFile(path, fs, zip, prefix, refs);
                }
                catch
                {
                    zip.Dispose();
                    throw;
                }
            });
        }
        catch
        {
            fs.Dispose();
            throw;
        }
    }

    private static FileStream OpenStream(string path)
    {
        try
        {
            return new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BertSharpException($"{path}: file not found.", e);
        }
    }

    private static ZipArchive OpenZip(string path, FileStream fs)
    {
        var zip = new ZipArchive(fs, ZipArchiveMode.Read, leaveOpen: true);
        try
        {
            CheckSizes(path, zip, fs.Length);
            return zip;
        }
        catch
        {
            zip.Dispose();
            throw;
        }
    }

    /// <summary>Runs <paramref name="read"/>, turning what the zip reader throws on a damaged archive into a one-line error.</summary>
    internal static T Zip<T>(string path, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidDataException or IOException or NotSupportedException or ArgumentException)
        {
            throw new BertSharpException($"{path}: corrupted torch zip archive ({e.Message}).", e);
        }
    }

    /// <returns>False for the legacy (torch &lt; 1.6) format, true for a zip archive.</returns>
    private static bool CheckMagic(string path, FileStream fs)
    {
        Span<byte> magic = stackalloc byte[4];
        int n = fs.ReadAtLeast(magic, 4, throwOnEndOfStream: false);
        fs.Position = 0;
        if (n == 4 && magic.SequenceEqual("PK\x03\x04"u8))
        {
            return true;
        }
        if (LegacyTorchFormat.HasMagic(fs))
        {
            return false;
        }
        throw new BertSharpException($"{path}: not a PyTorch checkpoint (expected a zip archive or the legacy format written by torch.save).");
    }

    /// <summary>
    /// Sizes come from the zip's central directory, which a hostile file controls: an entry may not claim more stored
    /// bytes than the file has, nor expand beyond deflate's maximum ratio, and the entries together may not claim more
    /// stored bytes than the file holds — several entries pointing at one deflated stream would otherwise multiply it.
    /// </summary>
    private static void CheckSizes(string path, ZipArchive zip, long fileLength)
    {
        long stored = 0;
        foreach (var e in zip.Entries)
        {
            if (e.CompressedLength > fileLength || e.Length > Math.Max(e.CompressedLength, 1) * 1032L)
            {
                throw new BertSharpException(
                    Invariant($"{path}: zip entry {e.FullName} claims {e.Length} bytes from {e.CompressedLength} stored in a {fileLength}-byte file (corrupted or hostile archive)."));
            }
            stored += e.CompressedLength;
            if (stored > fileLength)
            {
                throw new BertSharpException(
                    Invariant($"{path}: the zip entries claim {stored}+ stored bytes in a {fileLength}-byte file: entries share data (corrupted or hostile archive)."));
            }
        }
    }

    /// <summary>
    /// Reads and checks the pickle, then checks every storage it references against its zip entry, before any tensor exists:
    /// each entry holds exactly the bytes its storage needs, and the distinct storages together need no more bytes than the
    /// file has (torch.save stores them uncompressed), so nothing large is allocated on the archive's word.
    /// </summary>
    private static (string Prefix, List<(string Key, TensorRef Ref)> Refs) Parse(string path, ZipArchive zip, long fileLength)
    {
        var pickles = zip.Entries.Where(e => e.FullName.EndsWith("/data.pkl", StringComparison.Ordinal) &&
                                             e.FullName.IndexOf('/', StringComparison.Ordinal) == e.FullName.Length - "/data.pkl".Length).ToList();
        if (pickles.Count != 1)
        {
            throw new BertSharpException(Invariant($"{path}: not a torch.save archive (expected exactly one <name>/data.pkl entry, found {pickles.Count})."));
        }
        var pkl = pickles[0];
        var prefix = pkl.FullName[..^"data.pkl".Length];
        var byteorder = zip.GetEntry(prefix + "byteorder");
        if (byteorder is not null)
        {
            var order = Encoding.ASCII.GetString(ReadEntry(path, byteorder, 16)).Trim();
            if (order != "little")
            {
                throw new BertSharpException($"{path}: byteorder is '{order}'; only little-endian checkpoints are supported.");
            }
        }
        if (pkl.Length > MaxPickleBytes)
        {
            throw new BertSharpException(Invariant($"{path}: {pkl.FullName} is {pkl.Length} bytes, too large for a state-dict pickle."));
        }
        var source = $"{path}:{pkl.FullName}";
        var unpickler = new RestrictedUnpickler(source, ReadEntry(path, pkl, MaxPickleBytes));
        var refs = ToStateDict(source, unpickler.Load());
        long total = 0;
        foreach (var s in unpickler.Storages.Values)
        {
            var name = prefix + "data/" + s.Key;
            var entry = zip.GetEntry(name)
                ?? throw new BertSharpException($"{path}: storage entry {name} is missing from the archive.");
            long bytes = CheckStorageEntry(path, name, entry.Length, s);
            total += bytes;
            if (total > fileLength)
            {
                throw new BertSharpException(
                    Invariant($"{path}: the tensors' storages need {total}+ bytes, more than the {fileLength}-byte file holds (storages must be stored uncompressed, as torch.save writes them)."));
            }
        }
        return (prefix, refs);
    }

    /// <returns>The entry's byte count, once it is known to be exactly what the storage needs.</returns>
    private static long CheckStorageEntry(string path, string name, long entryLength, StorageRef s)
    {
        long elementSize = SafeTensorsDType.FromScalarType(s.DType)!.Size;
        if (s.ElementCount > entryLength / elementSize || s.ElementCount * elementSize != entryLength)
        {
            throw new BertSharpException(
                Invariant($"{path}: storage {name} has {entryLength} bytes, but {s.ClassName}[{s.ElementCount}] needs {s.ElementCount}×{elementSize}."));
        }
        return entryLength;
    }

    internal static List<(string Key, TensorRef Ref)> ToStateDict(string source, object? root)
    {
        if (root is not PickleDict dict)
        {
            throw new BertSharpException($"{source}: the pickle holds a {root?.GetType().Name ?? "None"}, not a state dict (an OrderedDict of tensors).");
        }
        var result = new List<(string, TensorRef)>(dict.Items.Count);
        foreach (var (k, v) in dict.Items)
        {
            if (k is not string key)
            {
                throw new BertSharpException($"{source}: state-dict key {k} is not a string.");
            }
            if (v is not TensorRef t)
            {
                throw new BertSharpException($"{source}: state-dict entry '{key}' is not a tensor (a nested dict or wrapped checkpoint is not supported).");
            }
            result.Add((key, t));
        }
        return result;
    }

    /// <summary>Builds each tensor as a view of its storage, loading every storage once through <paramref name="load"/>.</summary>
    internal static Dictionary<string, Tensor> Materialize(string path, List<(string Key, TensorRef Ref)> refs, Func<string, StorageRef, Tensor> load)
    {
        var storages = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var result = new Dictionary<string, Tensor>(refs.Count, StringComparer.Ordinal);
        try
        {
            foreach (var (key, r) in refs)
            {
                CheckBounds(path, key, r);
                if (!storages.TryGetValue(r.Storage.Key, out var storage))
                {
                    storage = load(key, r.Storage);
                    storages.Add(r.Storage.Key, storage);
                }
                if (!result.TryAdd(key, storage.as_strided(r.Size, r.Stride, r.Offset)))
                {
                    throw new BertSharpException($"{path}: state-dict key '{key}' appears twice.");
                }
            }
        }
        catch
        {
            SafeTensors.DisposeAll(result);
            throw;
        }
        finally
        {
            // The views hold their own references to the storage memory.
            foreach (var s in storages.Values)
            {
                s.Dispose();
            }
        }
        return result;
    }

    /// <summary>A view must stay inside its storage; libtorch's as_strided does not check that for us.</summary>
    internal static void CheckBounds(string path, string key, TensorRef r)
    {
        string Where() => Invariant($"{path}: tensor '{key}' (size [{ShapeText.Join(r.Size)}], stride [{ShapeText.Join(r.Stride)}], offset {r.Offset})");
        if (r.Size.Length != r.Stride.Length)
        {
            throw new BertSharpException($"{Where()}: size and stride have different ranks.");
        }
        if (r.Offset < 0 || r.Size.Any(s => s < 0) || r.Stride.Any(s => s < 0))
        {
            throw new BertSharpException($"{Where()}: negative size, stride or offset.");
        }
        try
        {
            // libtorch multiplies every dimension (an empty view of [0, 2^61, 4] still overflows its element count).
            r.Size.Where(s => s != 0).Aggregate(1L, (a, b) => checked(a * b));
        }
        catch (OverflowException)
        {
            throw new BertSharpException($"{Where()}: the element count overflows.");
        }
        if (r.Size.Contains(0))
        {
            return;
        }
        try
        {
            long last = r.Offset;
            for (int i = 0; i < r.Size.Length; i++)
            {
                last = checked(last + (r.Size[i] - 1) * r.Stride[i]);
            }
            if (last >= r.Storage.ElementCount)
            {
                throw new BertSharpException(Invariant($"{Where()}: reaches element {last} of storage '{r.Storage.Key}', which has {r.Storage.ElementCount}."));
            }
        }
        catch (OverflowException)
        {
            throw new BertSharpException($"{Where()}: extent overflows.");
        }
    }

    private static Tensor ReadStorage(string path, ZipArchive zip, string prefix, string key, StorageRef s)
    {
        var t = empty(s.ElementCount, s.DType);
        try
        {
            ReadStorageInto(path, zip, prefix, key, s, t);
            return t;
        }
        catch
        {
            t.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Reads the storage <paramref name="s"/> from its entry into <paramref name="flat"/> (1-D, contiguous, on the CPU, of the
    /// storage's dtype and element count) chunk by chunk through its memory, checking the entry's CRC-32.
    /// </summary>
    internal static void ReadStorageInto(string path, ZipArchive zip, string prefix, string key, StorageRef s, Tensor flat)
    {
        var name = prefix + "data/" + s.Key;
        var entry = zip.GetEntry(name)
            ?? throw new BertSharpException($"{path}: storage entry {name} of tensor '{key}' is missing from the archive.");
        // Parse checked every storage against its entry before anything was allocated; a lying pickle cannot get here.
        CheckStorageEntry(path, name, entry.Length, s);
        if (entry.Length == 0)
        {
            return;
        }
        using var stream = entry.Open();
        var crc = new Crc32();
        foreach (var chunk in SafeTensorsWriter.Chunks(flat))
        {
            using (chunk)
            {
                if (stream.ReadAtLeast(chunk.bytes, chunk.bytes.Length, throwOnEndOfStream: false) != chunk.bytes.Length)
                {
                    throw new BertSharpException($"{path}: storage {name} of tensor '{key}' ends early.");
                }
                crc.Append(chunk.bytes);
            }
        }
        CheckCrc(path, entry, crc.GetCurrentHashAsUInt32(), $"storage {name} of tensor '{key}'");
    }

    private static byte[] ReadEntry(string path, ZipArchiveEntry entry, long max)
    {
        if (entry.Length > max)
        {
            throw new BertSharpException(Invariant($"{path}: {entry.FullName} is {entry.Length} bytes, more than expected."));
        }
        var buf = new byte[entry.Length];
        using var s = entry.Open();
        if (s.ReadAtLeast(buf, buf.Length, throwOnEndOfStream: false) != buf.Length)
        {
            throw new BertSharpException($"{path}: {entry.FullName} ends early.");
        }
        CheckCrc(path, entry, Crc32.HashToUInt32(buf), entry.FullName);
        return buf;
    }

    /// <summary>
    /// Compares an entry's bytes with the CRC-32 its zip records: a stored (uncompressed) storage with a flipped byte reads
    /// without any other error and would load as different weights. A CRC of 0 on a non-empty entry means none was recorded
    /// (torch.serialization.set_crc32_options(False) writes 0), so there is nothing to compare.
    /// </summary>
    private static void CheckCrc(string path, ZipArchiveEntry entry, uint actual, string what)
    {
        if (entry.Crc32 != 0 && entry.Crc32 != actual)
        {
            throw new BertSharpException($"{path}: {what} fails its CRC-32 check (the zip records {entry.Crc32:x8}, the bytes give {actual:x8}); the file is corrupted.");
        }
    }
}
