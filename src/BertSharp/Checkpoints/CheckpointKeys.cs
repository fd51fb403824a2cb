using static TorchSharp.torch;

namespace BertSharp.Checkpoints;

/// <summary>
/// State-dict key normalisation shared by every checkpoint format. Only renames that HF applies regardless of the model
/// live here (legacy TF-era LayerNorm names); the <c>bert.</c> prefix depends on the target model and is handled there.
/// </summary>
public static class CheckpointKeys
{
    /// <summary>
    /// HF's <c>_fix_key</c>: a key containing <c>beta</c> has every <c>beta</c> replaced by <c>bias</c>; otherwise a key
    /// containing <c>gamma</c> has every <c>gamma</c> replaced by <c>weight</c>
    /// (<c>encoder.layer.0.output.LayerNorm.gamma</c> → <c>encoder.layer.0.output.LayerNorm.weight</c>).
    /// </summary>
    public static string Normalize(string key)
    {
        ArgumentNullException.ThrowIfNull(key);
        if (key.Contains("beta", StringComparison.Ordinal))
        {
            return key.Replace("beta", "bias", StringComparison.Ordinal);
        }
        if (key.Contains("gamma", StringComparison.Ordinal))
        {
            return key.Replace("gamma", "weight", StringComparison.Ordinal);
        }
        return key;
    }

    /// <summary>
    /// Applies <see cref="Normalize"/> to every key (same tensors, order kept).
    /// </summary>
    /// <exception cref="BertSharpException">Two keys normalise to the same name (e.g. both <c>LayerNorm.gamma</c> and
    /// <c>LayerNorm.weight</c> are present), so one would silently replace the other.</exception>
    public static Dictionary<string, Tensor> NormalizeAll(IReadOnlyDictionary<string, Tensor> stateDict, string? source = null)
    {
        ArgumentNullException.ThrowIfNull(stateDict);
        var result = new Dictionary<string, Tensor>(stateDict.Count, StringComparer.Ordinal);
        var origin = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, t) in stateDict)
        {
            var k = Normalize(key);
            if (!origin.TryAdd(k, key))
            {
                throw new BertSharpException(
                    $"{source ?? "checkpoint"}: keys '{origin[k]}' and '{key}' both mean '{k}' (legacy gamma/beta names mixed with new ones).");
            }
            result.Add(k, t);
        }
        return result;
    }

    /// <summary>
    /// HF's key mapping of a checkpoint into a model, on names only: legacy names normalised, then the <c>bert.</c> prefix
    /// added (a bare encoder checkpoint loaded into a head model) or removed (a head checkpoint loaded into BertModel, whose
    /// other keys are then unexpected). Returns model key → stored checkpoint key.
    /// </summary>
    /// <param name="checkpointKeys">The keys as stored.</param>
    /// <param name="modelHasPrefix">Whether the model's keys start with <c>bert.</c> (every head model).</param>
    /// <param name="source">Names the checkpoint in errors.</param>
    /// <param name="unexpected">Keys (normalised) that a BertModel has no place for.</param>
    public static Dictionary<string, string> MapToModel(IEnumerable<string> checkpointKeys, bool modelHasPrefix, string? source,
        out List<string> unexpected)
    {
        ArgumentNullException.ThrowIfNull(checkpointKeys);
        const string prefix = "bert.";
        var origin = new Dictionary<string, string>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var key in checkpointKeys)
        {
            var k = Normalize(key);
            if (!origin.TryAdd(k, key))
            {
                throw new BertSharpException(
                    $"{source ?? "checkpoint"}: keys '{origin[k]}' and '{key}' both mean '{k}' (legacy gamma/beta names mixed with new ones).");
            }
            order.Add(k);
        }
        var checkpointHasPrefix = order.Any(k => k.StartsWith(prefix, StringComparison.Ordinal));
        var result = new Dictionary<string, string>(order.Count, StringComparer.Ordinal);
        unexpected = [];
        foreach (var key in order)
        {
            var k = key;
            if (modelHasPrefix && !checkpointHasPrefix)
            {
                k = prefix + key;
            }
            else if (!modelHasPrefix && checkpointHasPrefix)
            {
                if (!key.StartsWith(prefix, StringComparison.Ordinal))
                {
                    unexpected.Add(key);
                    continue;
                }
                k = key[prefix.Length..];
            }
            result[k] = origin[key];
        }
        return result;
    }
}
