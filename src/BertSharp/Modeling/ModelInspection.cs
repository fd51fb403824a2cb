using System.Globalization;
using BertSharp.Checkpoints;

namespace BertSharp.Modeling;

/// <summary>One tensor of a checkpoint as stored.</summary>
/// <param name="Name">The stored key.</param>
/// <param name="DType">Stored element type in safetensors spelling (F32, F16, BF16, I64, …).</param>
/// <param name="Shape">Dimensions.</param>
public sealed record CheckpointTensor(string Name, string DType, long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>Parameter count of one module of the model (embeddings, encoder.layer.N, pooler, a head).</summary>
public sealed record ModuleParameters(string Module, long Count);

/// <summary>What <c>bert inspect</c> shows: the config, the weights file, its tensors and the parameters per module.</summary>
public sealed record ModelInspection(
    string Directory, BertConfig Config, string WeightsFile, IReadOnlyList<CheckpointTensor> Tensors, IReadOnlyList<ModuleParameters> Modules)
{
    /// <summary>Number of parameters (tied duplicates and buffers not counted, as HF <c>num_parameters()</c>).</summary>
    public long TotalParameters => Modules.Sum(m => m.Count);

    /// <summary>Reads config.json and the tensor headers of a model directory (no tensor data is read).</summary>
    public static ModelInspection Read(string dir)
    {
        var config = BertConfig.Load(Path.Combine(dir, "config.json"));
        var file = StateDictSource.FindWeightsFile(dir);
        var tensors = ReadTensors(file);
        var modules = tensors
            .Where(t => !IsAlias(t.Name))
            .GroupBy(t => ModuleOf(t.Name), StringComparer.Ordinal)
            .Select(g => new ModuleParameters(g.Key, g.Sum(t => t.ElementCount)))
            .OrderBy(m => ModuleRank(m.Module)).ThenBy(m => LayerIndex(m.Module)).ThenBy(m => m.Module, StringComparer.Ordinal)
            .ToList();
        return new ModelInspection(dir, config, file, tensors, modules);
    }

    // Headers only, whatever the format: inspecting a checkpoint never allocates its tensors.
    private static List<CheckpointTensor> ReadTensors(string file) =>
        [.. CheckpointHeaders.Read(file).OrderBy(t => t.Name, StringComparer.Ordinal)];

    // Tied copies (pytorch_model.bin stores the MLM decoder twice) and the position_ids buffer are not parameters.
    private static bool IsAlias(string key) =>
        key.Contains("cls.predictions.decoder.", StringComparison.Ordinal) || key.EndsWith("position_ids", StringComparison.Ordinal);

    /// <summary>The module a key belongs to: <c>embeddings</c>, <c>encoder.layer.N</c>, <c>pooler</c>, <c>cls.predictions</c>, <c>classifier</c>, …</summary>
    public static string ModuleOf(string key)
    {
        var k = key.StartsWith("bert.", StringComparison.Ordinal) ? key[5..] : key;
        var parts = k.Split('.');
        if (parts.Length >= 3 && parts[0] == "encoder" && parts[1] == "layer")
        {
            return $"encoder.layer.{parts[2]}";
        }
        if (parts.Length >= 3 && parts[0] == "cls")
        {
            return $"cls.{parts[1]}";
        }
        return parts.Length > 1 ? parts[0] : k;
    }

    private static int ModuleRank(string module) => module switch
    {
        "embeddings" => 0,
        _ when module.StartsWith("encoder", StringComparison.Ordinal) => 1,
        "pooler" => 2,
        _ => 3,
    };

    private static int LayerIndex(string module) =>
        module.StartsWith("encoder.layer.", StringComparison.Ordinal) &&
        int.TryParse(module["encoder.layer.".Length..], NumberStyles.None, CultureInfo.InvariantCulture, out var i) ? i : -1;
}
