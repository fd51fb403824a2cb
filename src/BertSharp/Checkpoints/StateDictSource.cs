using static TorchSharp.torch;

namespace BertSharp.Checkpoints;

/// <summary>
/// Finds and loads the weights of a HF checkpoint, whatever their format. Keys are returned exactly as stored; apply
/// <see cref="CheckpointKeys.NormalizeAll"/> for the legacy gamma/beta names.
/// </summary>
public static class StateDictSource
{
    /// <summary>Weight files a checkpoint directory is searched for, in HF's order of preference.</summary>
    public static IReadOnlyList<string> WeightFileNames { get; } =
        ["model.safetensors", "model.safetensors.index.json", "pytorch_model.bin", "pytorch_model.bin.index.json"];

    /// <summary>
    /// The weights file of <paramref name="pathOrDir"/>: the path itself when it is a file, else the first of
    /// <see cref="WeightFileNames"/> present in the directory.
    /// </summary>
    public static string FindWeightsFile(string pathOrDir)
    {
        if (File.Exists(pathOrDir))
        {
            return pathOrDir;
        }
        if (!Directory.Exists(pathOrDir))
        {
            throw new BertSharpException($"{pathOrDir}: no such file or directory.");
        }
        foreach (var name in WeightFileNames)
        {
            var p = Path.Combine(pathOrDir, name);
            if (File.Exists(p))
            {
                return p;
            }
        }
        throw new BertSharpException($"{pathOrDir}: no model weights found (looked for {string.Join(", ", WeightFileNames)}).");
    }

    /// <summary>
    /// Loads a state dict (CPU tensors, stored dtypes) from a checkpoint directory, a <c>.safetensors</c> file, a
    /// shard index (<c>*.index.json</c>) or a <c>pytorch_model.bin</c>.
    /// </summary>
    public static Dictionary<string, Tensor> Load(string pathOrDir)
    {
        var file = FindWeightsFile(pathOrDir);
        if (file.EndsWith(".index.json", StringComparison.OrdinalIgnoreCase))
        {
            return ShardIndex.Read(file).Load(LoadFile);
        }
        return LoadFile(file);
    }

    private static Dictionary<string, Tensor> LoadFile(string file) =>
        IsZip(file) ? PyTorchBinReader.Read(file) : SafeTensors.Load(file);

    internal static bool IsZip(string file)
    {
        using var fs = File.OpenRead(file);
        Span<byte> magic = stackalloc byte[4];
        return fs.ReadAtLeast(magic, 4, throwOnEndOfStream: false) == 4 && magic.SequenceEqual("PK\x03\x04"u8)
            || file.EndsWith(".bin", StringComparison.OrdinalIgnoreCase) || file.EndsWith(".pt", StringComparison.OrdinalIgnoreCase)
            || file.EndsWith(".pth", StringComparison.OrdinalIgnoreCase);
    }
}
