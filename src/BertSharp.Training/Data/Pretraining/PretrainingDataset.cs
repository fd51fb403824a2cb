using System.Globalization;
using System.Security.Cryptography;
using BertSharp.IO;

namespace BertSharp.Data.Pretraining;

/// <summary>
/// A pre-training data directory opened for reading: the manifest plus a streaming reader that loads one shard at a time
/// (CRC-checked) and can start at any instance index, which is how training resumes its data position.
/// </summary>
public sealed class PretrainingDataset
{
    private PretrainingDataset(string directory, PretrainingManifest manifest)
    {
        Directory = directory;
        Manifest = manifest;
    }

    /// <summary>The data directory as passed to <see cref="Open"/>; shard paths are resolved against it.</summary>
    public string Directory { get; }

    /// <summary>The directory's checked <c>manifest.json</c>: options, vocabulary hash, totals and shard list.</summary>
    public PretrainingManifest Manifest { get; }

    /// <summary>Total instances over all shards.</summary>
    public long Count => Manifest.Instances;

    /// <summary>Opens <paramref name="directory"/>; fails with a clear message when it is not a data directory or lists missing shards.</summary>
    public static PretrainingDataset Open(string directory)
    {
        ArgumentNullException.ThrowIfNull(directory);
        if (!System.IO.Directory.Exists(directory))
        {
            throw new BertSharpException($"{directory}: data directory not found.");
        }
        var manifest = PretrainingManifest.Load(directory);
        foreach (var shard in manifest.Shards)
        {
            var path = Path.Combine(directory, shard.File);
            if (shard.File.Contains('/', StringComparison.Ordinal) || shard.File.Contains('\\', StringComparison.Ordinal) || !File.Exists(path))
            {
                throw new BertSharpException($"{Path.Combine(directory, PretrainingManifest.FileName)}: shard '{shard.File}' is missing.");
            }
        }
        if (manifest.Instances == 0)
        {
            throw new BertSharpException($"{directory}: the data set has no instances.");
        }
        return new PretrainingDataset(directory, manifest);
    }

    /// <summary>
    /// Opens the held-out split of whole documents (<see cref="PretrainingManifest.Validation"/>); null when the data has none.
    /// A split that is not the one this manifest records (other counts or vocabulary) is refused.
    /// </summary>
    public PretrainingDataset? OpenValidation()
    {
        if (Manifest.Validation is not { } v)
        {
            return null;
        }
        var split = Open(Path.Combine(Directory, v.Directory));
        if (split.Manifest.Instances != v.Instances || split.Manifest.Documents != v.Documents || split.Manifest.VocabSha256 != Manifest.VocabSha256)
        {
            throw new BertSharpException(Invariant($"{Path.Combine(split.Directory, PretrainingManifest.FileName)}: not the held-out split {Path.Combine(Directory, PretrainingManifest.FileName)} records ({v.Documents} documents, {v.Instances} instances); rebuild the data."));
        }
        // A split made with other options (another objective, length or masking) has other kinds of instances: its
        // evaluations measured something else than the training split's, or failed (sentence pairs without NSP labels).
        // The seed is left to the data identity a resume checks (PretrainingManifest.ShardsSha256 of each split).
        if (split.Manifest.Options() with { Seed = Manifest.Seed } != Manifest.Options() || split.Manifest.Lowercase != Manifest.Lowercase)
        {
            throw new BertSharpException($"{Path.Combine(split.Directory, PretrainingManifest.FileName)}: not the held-out split of {Path.Combine(Directory, PretrainingManifest.FileName)}: it was built with other options (objective, lengths, masking or lower-casing); rebuild the data.");
        }
        return split;
    }

    /// <summary>SHA-256 (lower-case hex) of a vocabulary file's bytes, as recorded in the manifest.</summary>
    public static string VocabSha256(string vocabPath) =>
        Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(vocabPath)));

    /// <summary>
    /// Throws when the model's vocabulary file is not the one the data was built with (ids would mean different tokens).
    /// </summary>
    public void CheckVocabulary(string vocabPath, int? modelVocabSize = null)
    {
        var sha = VocabSha256(vocabPath);
        if (!string.Equals(sha, Manifest.VocabSha256, StringComparison.OrdinalIgnoreCase))
        {
            throw new PathException(vocabPath,
                $"vocabulary does not match the data in {Directory} (sha256 {sha[..12]}… vs manifest vocab_sha256 {Manifest.VocabSha256[..Math.Min(12, Manifest.VocabSha256.Length)]}…); rebuild the data with this vocab or use the model it was built for.");
        }
        if (modelVocabSize is { } size && size < Manifest.VocabSize)
        {
            throw new PathException(Directory, Invariant($"data uses {Manifest.VocabSize} token ids but the model's vocab_size is {size}."));
        }
    }

    /// <summary>Reads and verifies shard <paramref name="index"/>.</summary>
    public PretrainingInstance[] ReadShard(int index)
    {
        var shard = Manifest.Shards[index];
        var path = Path.Combine(Directory, shard.File);
        var bytes = File.ReadAllBytes(path);
        if (bytes.Length != shard.Bytes)
        {
            throw new BertSharpException(Invariant($"{path}: {bytes.Length} bytes but the manifest lists {shard.Bytes}; the shard is truncated or corrupt."));
        }
        // The shard's own CRC proves it whole, not that it is the one listed: a shard of data built with another seed can
        // have the same size and count, and the manifest's CRCs are what a resumed run checks its data by.
        if (bytes.Length >= 4
            && System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4)).ToString("x8", System.Globalization.CultureInfo.InvariantCulture) is var crc
            && !string.Equals(crc, shard.Crc32, StringComparison.OrdinalIgnoreCase))
        {
            throw new BertSharpException($"{path}: CRC-32 {crc} but the manifest lists {shard.Crc32}; the shard is not the one built with this manifest (rebuild the data, or copy the whole directory).");
        }
        var instances = PretrainingShard.Decode(bytes, path, Manifest.VocabSize);
        if (instances.Length != shard.Instances)
        {
            throw new BertSharpException(Invariant($"{path}: holds {instances.Length} instances but the manifest lists {shard.Instances}."));
        }
        return instances;
    }

    /// <summary>Streams the instances in stored order, starting at global index <paramref name="start"/>.</summary>
    public IEnumerable<PretrainingInstance> Read(long start = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(start);
        long offset = 0;
        for (var s = 0; s < Manifest.Shards.Count; s++)
        {
            var n = Manifest.Shards[s].Instances;
            if (start >= offset + n)
            {
                offset += n;
                continue;
            }
            var instances = ReadShard(s);
            for (var i = (int)Math.Max(0, start - offset); i < instances.Length; i++)
            {
                yield return instances[i];
            }
            offset += n;
        }
    }

    /// <summary>
    /// An endless stream for training: position <c>p</c> is instance <c>p mod Count</c> of epoch <c>p / Count</c>.
    /// </summary>
    public IEnumerable<(long Position, PretrainingInstance Instance)> ReadForever(long position = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(position);
        while (true)
        {
            var epochStart = position - (position % Count);
            foreach (var x in Read(position % Count))
            {
                yield return (position++, x);
            }
            if (position == epochStart)
            {
                yield break;
            }
        }
    }
}
