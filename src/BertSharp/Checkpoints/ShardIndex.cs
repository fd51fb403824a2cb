using System.Text.Json;
using static TorchSharp.torch;

namespace BertSharp.Checkpoints;

/// <summary>
/// A sharded checkpoint's index (<c>model.safetensors.index.json</c> or <c>pytorch_model.bin.index.json</c>):
/// <c>{"metadata": {...}, "weight_map": {"key": "shard file", ...}}</c>.
/// </summary>
/// <param name="Path">The index file.</param>
/// <param name="WeightMap">Tensor name → shard file name (relative to the index's directory), in file order.</param>
/// <param name="TotalSize">The declared <c>metadata.total_size</c> in bytes, when present.</param>
public sealed record ShardIndex(string Path, IReadOnlyDictionary<string, string> WeightMap, long? TotalSize)
{
    /// <summary>The distinct shard files, sorted by name.</summary>
    public IReadOnlyList<string> Shards => WeightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();

    /// <summary>An index this large would list millions of tensors; it is refused before it is read.</summary>
    public const long MaxIndexBytes = 64L << 20;

    /// <summary>
    /// Reads and validates an index: a JSON object whose <c>weight_map</c> maps names to plain file names of weight files
    /// (never to an index, so indexes cannot chain or form a cycle).
    /// </summary>
    public static ShardIndex Read(string path)
    {
        try
        {
            var length = IO.LinkedFile.Length(path);
            if (length > MaxIndexBytes)
            {
                throw new BertSharpException(Invariant($"{path}: invalid shard index: {length} bytes, more than the {MaxIndexBytes}-byte limit."));
            }
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new BertSharpException($"{path}: file not found.", e);
        }
        // Strict UTF-8: a tensor name with a bad byte would otherwise fail later with a .NET transcoding error.
        var text = IO.TextLines.ReadAllText(path, "a shard index", MaxIndexBytes);
        IO.StrictJson.RefuseLoneSurrogates(path, text);
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(text, IO.StrictJson.Options);
        }
        catch (JsonException e)
        {
            // Two "weight_map" objects, or one tensor in two shards: readers would disagree on which one holds.
            throw IO.StrictJson.DuplicateKeyError(path, text, e)
                  ?? new BertSharpException($"{IO.LineRef.NotValidJson(path, e)}; expected a sharded checkpoint's index (a JSON object with a \"weight_map\").", e);
        }
        using (doc)
        {
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new BertSharpException($"{path}: invalid shard index: expected an object with a \"weight_map\" object.");
            }
            long? total = null;
            if (root.TryGetProperty("metadata", out var meta) && meta.ValueKind != JsonValueKind.Null)
            {
                if (meta.ValueKind != JsonValueKind.Object)
                {
                    throw new BertSharpException($"{path}: invalid shard index: field 'metadata': expected an object, got {IO.StrictJson.Shown(meta)}.");
                }
                if (meta.TryGetProperty("total_size", out var ts) && ts.ValueKind != JsonValueKind.Null)
                {
                    // Some writers give the byte count as a float (1.5e9): any whole number is accepted.
                    total = ts.ValueKind == JsonValueKind.Number && ts.TryGetDouble(out var t) && t >= 0 && t == Math.Floor(t) && t <= long.MaxValue
                        ? (long)t
                        : throw new BertSharpException($"{path}: invalid shard index: field 'metadata.total_size': expected a whole number of bytes >= 0, got {IO.StrictJson.Shown(ts)}.");
                }
            }
            var weightMap = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var p in map.EnumerateObject())
            {
                if (p.Value.ValueKind != JsonValueKind.String || p.Value.GetString() is not { Length: > 0 } shard)
                {
                    throw new BertSharpException($"{path}: invalid shard index: weight_map[\"{p.Name}\"] is not a file name.");
                }
                // A shard is a sibling file; anything else could make a checkpoint read files outside its directory.
                if (shard != System.IO.Path.GetFileName(shard) || shard is "." or ".." || shard.Contains('\\', StringComparison.Ordinal))
                {
                    throw new BertSharpException($"{path}: invalid shard index: weight_map[\"{p.Name}\"] = \"{shard}\" is not a plain file name in the checkpoint directory.");
                }
                // A shard that is itself an index (this one or another) would make loading recurse, possibly forever.
                if (shard.EndsWith(".json", StringComparison.OrdinalIgnoreCase))
                {
                    throw new BertSharpException(
                        $"{path}: invalid shard index: weight_map[\"{p.Name}\"] = \"{shard}\" names an index or JSON file, not a weights shard (indexes may not refer to indexes).");
                }
                if (weightMap.Count == SafeTensorsHeaderParser.MaxTensors)
                {
                    throw new BertSharpException(Invariant($"{path}: invalid shard index: weight_map lists more than {SafeTensorsHeaderParser.MaxTensors:N0} tensors (the limit)."));
                }
                weightMap.Add(p.Name, shard);
            }
            if (weightMap.Count == 0)
            {
                throw new BertSharpException($"{path}: invalid shard index: weight_map is empty.");
            }
            return new ShardIndex(path, weightMap, total);
        }
    }

    /// <summary>
    /// Loads every shard with <paramref name="loadShard"/> and checks each holds exactly the keys the index assigns to it.
    /// </summary>
    internal Dictionary<string, Tensor> Load(Func<string, Dictionary<string, Tensor>> loadShard)
    {
        var result = new Dictionary<string, Tensor>(WeightMap.Count, StringComparer.Ordinal);
        try
        {
            foreach (var shardPath in ShardPaths())
            {
                var tensors = loadShard(shardPath);
                try
                {
                    CheckShardKeys(shardPath, tensors.Keys);
                }
                catch
                {
                    SafeTensors.DisposeAll(tensors);
                    throw;
                }
                foreach (var (name, t) in tensors)
                {
                    result.Add(name, t);
                }
            }
        }
        catch
        {
            SafeTensors.DisposeAll(result);
            throw;
        }
        return result;
    }

    /// <summary>
    /// Opens every shard with <paramref name="openShard"/> (headers only), checking each holds exactly the keys the index
    /// assigns to it as <see cref="Load"/> does, and gives their tensors as one checkpoint read shard file by shard file.
    /// </summary>
    internal CheckpointTensors Open(Func<string, CheckpointTensors> openShard)
    {
        var shards = new List<CheckpointTensors>();
        try
        {
            foreach (var shardPath in ShardPaths())
            {
                var shard = openShard(shardPath);
                shards.Add(shard);
                CheckShardKeys(shardPath, shard.Keys);
            }
            return new ShardedTensors(shards);
        }
        catch
        {
            foreach (var shard in shards)
            {
                shard.Dispose();
            }
            throw;
        }
    }

    /// <summary>The shard files' paths, in <see cref="Shards"/> order, once every one is known to exist.</summary>
    private List<string> ShardPaths()
    {
        var dir = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path))!;
        var missingShards = Shards.Where(s => !File.Exists(System.IO.Path.Combine(dir, s))).ToList();
        if (missingShards.Count > 0)
        {
            throw new BertSharpException(
                $"{Path}: shard file{(missingShards.Count > 1 ? "s" : "")} {string.Join(", ", missingShards)} listed in weight_map " +
                $"{(missingShards.Count > 1 ? "are" : "is")} missing from {dir}.");
        }
        return [.. Shards.Select(s => System.IO.Path.Combine(dir, s))];
    }

    /// <summary>Refuses a shard holding a tensor the index puts elsewhere (or nowhere), or lacking one it assigns to it.</summary>
    private void CheckShardKeys(string shardPath, IReadOnlyCollection<string> keys)
    {
        var shard = System.IO.Path.GetFileName(shardPath);
        foreach (var name in keys)
        {
            if (!WeightMap.TryGetValue(name, out var owner) || owner != shard)
            {
                throw new BertSharpException(owner is null
                    ? $"{shardPath}: tensor '{name}' is not listed in the weight_map of {Path}."
                    : $"{shardPath}: tensor '{name}' belongs to shard {owner} according to {Path}.");
            }
        }
        var present = keys.ToHashSet(StringComparer.Ordinal);
        var expected = WeightMap.Where(kv => kv.Value == shard && !present.Contains(kv.Key)).Select(kv => kv.Key).ToList();
        if (expected.Count > 0)
        {
            throw new BertSharpException(
                $"{shardPath}: missing tensor{(expected.Count > 1 ? "s" : "")} {string.Join(", ", expected.Take(5).Select(k => $"'{k}'"))}" +
                $"{(expected.Count > 5 ? Invariant($" and {expected.Count - 5} more") : "")} that {Path} assigns to it.");
        }
    }
}
