using BertSharp.Modeling;

namespace BertSharp.Checkpoints;

/// <summary>
/// The tensor names, dtypes and shapes of a checkpoint in any format, read from its headers alone (the safetensors header,
/// the shard index and its shards' headers, or the pickle of a <c>.bin</c>) with the same validation as a full load, but
/// without reading or allocating tensor data. A config can then be checked against the weights before a model exists.
/// </summary>
internal static class CheckpointHeaders
{
    /// <summary>The tensors of the weights file of <paramref name="pathOrDir"/> (see <see cref="StateDictSource.FindWeightsFile"/>), in file order.</summary>
    /// <exception cref="BertSharpException">The file is missing, corrupt or hostile; the message names it.</exception>
    public static List<CheckpointTensor> Read(string pathOrDir)
    {
        var file = StateDictSource.FindWeightsFile(pathOrDir);
        if (file.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase))
        {
            var index = ShardIndex.Read(file);
            var dir = Path.GetDirectoryName(Path.GetFullPath(file))!;
            var result = new List<CheckpointTensor>(index.WeightMap.Count);
            foreach (var shard in index.Shards)
            {
                var shardPath = Path.Combine(dir, shard);
                if (!File.Exists(shardPath))
                {
                    throw new BertSharpException($"{file}: shard file {shard} listed in weight_map is missing from {dir}.");
                }
                result.AddRange(ReadFile(shardPath));
            }
            return result;
        }
        return ReadFile(file);
    }

    private static List<CheckpointTensor> ReadFile(string file) =>
        StateDictSource.IsZip(file)
            ? PyTorchBinReader.ReadHeader(file)
            : [.. SafeTensors.ReadHeader(file).Tensors.Select(t => new CheckpointTensor(t.Name, t.DType.Name, t.Shape))];
}
