using System.Globalization;
using BertSharp.Checkpoints;

namespace BertSharp.Modeling;

/// <summary>One tensor of a checkpoint as stored.</summary>
/// <param name="Name">The stored key.</param>
/// <param name="DType">Stored element type in safetensors spelling (F32, F16, BF16, I64, …).</param>
/// <param name="Shape">Dimensions.</param>
internal sealed record CheckpointTensor(string Name, string DType, long[] Shape)
{
    public long ElementCount => Shape.Aggregate(1L, (a, b) => a * b);
}

/// <summary>Parameter count of one module of the model (embeddings, encoder.layer.N, pooler, a head).</summary>
internal sealed record ModuleParameters(string Module, long Count);

/// <summary>What <c>bert inspect</c> shows: the config, the weights file, its tensors and the parameters per module.</summary>
/// <param name="Directory">The model directory, or the preset / config file inspected.</param>
/// <param name="Config">The configuration.</param>
/// <param name="WeightsFile">The weights file, or null for a preset or config file (no weights yet).</param>
/// <param name="Tensors">The checkpoint's tensors (for a preset: the parameters a fresh model has).</param>
/// <param name="Modules">Parameters per module.</param>
internal sealed record ModelInspection(
    string Directory, BertConfig Config, string? WeightsFile, IReadOnlyList<CheckpointTensor> Tensors, IReadOnlyList<ModuleParameters> Modules)
{
    /// <summary>
    /// A model that does not exist yet: a size preset or a config.json file (what <c>--config</c> takes), built as
    /// <paramref name="architecture"/> (by default the file's architectures[0], as for a checkpoint; BertModel for a preset) to
    /// count its parameters; <paramref name="tree"/> receives its module tree.
    /// </summary>
    public static ModelInspection ForConfig(string presetOrFile, string? architecture, out string tree)
    {
        var config = BertConfig.FromPresetOrFile(presetOrFile);
        architecture ??= DefaultArchitecture(config);
        config.Architectures = [architecture];
        using var model = BertPretrained.Create(architecture, config);
        tree = ModuleTree.Render(model);
        var tensors = model.NamedParameters()
            .Select(p => new CheckpointTensor(p.Name, "F32", p.Param.shape)).OrderBy(t => t.Name, StringComparer.Ordinal).ToList();
        return new ModelInspection(presetOrFile, config, null, tensors, Group(tensors));
    }

    /// <summary>Number of parameters (tied duplicates and buffers not counted, as HF <c>num_parameters()</c>).</summary>
    public long TotalParameters => Modules.Sum(m => m.Count);

    /// <summary>Reads config.json and the tensor headers of a model directory (no tensor data is read).</summary>
    public static ModelInspection Read(string dir)
    {
        var config = BertConfig.Load(Path.Combine(dir, "config.json"));
        var file = StateDictSource.FindWeightsFile(dir);
        var tensors = ReadTensors(file);
        return new ModelInspection(dir, config, file, tensors, Group(tensors));
    }

    /// <summary>
    /// The module tree of the model a directory's config describes (built, not loaded: the tree needs no weights). The config
    /// is first checked against the checkpoint's headers, as a load does, so a config that asks for more than its weights
    /// (vocab_size 2²³ over a 512-word checkpoint) is refused instead of being built.
    /// </summary>
    public static string Tree(string dir, string? architecture = null)
    {
        var config = BertConfig.Load(Path.Combine(dir, "config.json"));
        architecture ??= DefaultArchitecture(config);
        LoadPreflight.Check(architecture, config, CheckpointHeaders.Read(dir), dir);
        using var model = BertPretrained.Create(architecture, config);
        return ModuleTree.Render(model);
    }

    private static string DefaultArchitecture(BertConfig config) =>
        config.Architectures?.FirstOrDefault(BertPretrained.Architectures.Contains) ?? nameof(BertModel);

    private static List<ModuleParameters> Group(IEnumerable<CheckpointTensor> tensors) =>
        [.. tensors
            .Where(t => !IsAlias(t.Name))
            .GroupBy(t => ModuleOf(t.Name), StringComparer.Ordinal)
            .Select(g => new ModuleParameters(g.Key, g.Sum(t => t.ElementCount)))
            .OrderBy(m => ModuleRank(m.Module)).ThenBy(m => LayerIndex(m.Module)).ThenBy(m => m.Module, StringComparer.Ordinal)];

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
