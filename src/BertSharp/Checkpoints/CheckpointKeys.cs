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
}
