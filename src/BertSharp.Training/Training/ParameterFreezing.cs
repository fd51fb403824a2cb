using System.Globalization;
using BertSharp.Modeling;

namespace BertSharp.Training;

/// <summary>
/// Which parameters a fine-tuning leaves as they are: with <c>freezeEncoder</c> all of BERT (embeddings, every layer, the
/// pooler) so that only the task head learns; with <c>freezeLayers</c> N the embeddings and the first N encoder layers.
/// Frozen parameters get no gradient, no optimizer state and no weight decay (the trainer optimises only parameters that
/// require a gradient).
/// </summary>
public static class ParameterFreezing
{
    /// <summary>Checks the options against the model's depth; errors name the field.</summary>
    public static void Check(bool freezeEncoder, int? freezeLayers, int numHiddenLayers)
    {
        if (freezeEncoder && freezeLayers is not null)
        {
            throw new BertSharpException($"{BertSharpException.Field("freeze_encoder")} and {BertSharpException.Field("freeze_layers")}: give one or the other.");
        }
        if (freezeLayers is { } n && (n < 0 || n > numHiddenLayers))
        {
            throw new BertSharpException(Invariant($"{BertSharpException.Field("freeze_layers")} {n}: expected 0…{numHiddenLayers} (the model has {numHiddenLayers} layers)."));
        }
    }

    /// <summary>Whether the parameter <paramref name="name"/> (an HF key such as <c>bert.encoder.layer.3.output.dense.weight</c>) is frozen.</summary>
    public static bool IsFrozen(string name, bool freezeEncoder, int? freezeLayers)
    {
        ArgumentNullException.ThrowIfNull(name);
        const string bert = BertPreTrainedModel.BaseModelPrefix + ".";
        if (freezeEncoder)
        {
            return name.StartsWith(bert, StringComparison.Ordinal);
        }
        if (freezeLayers is not { } n || n == 0)
        {
            return false;
        }
        if (name.StartsWith(bert + "embeddings.", StringComparison.Ordinal))
        {
            return true;
        }
        const string layer = bert + "encoder.layer.";
        if (!name.StartsWith(layer, StringComparison.Ordinal))
        {
            return false;
        }
        var rest = name[layer.Length..];
        var dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 && int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var i) && i < n;
    }

    /// <summary>Freezes the parameters <see cref="IsFrozen"/> selects; returns (trainable, total) parameter counts, or null when nothing is frozen.</summary>
    public static (long Trainable, long Total)? Apply(BertPreTrainedModel model, bool freezeEncoder, int? freezeLayers)
    {
        ArgumentNullException.ThrowIfNull(model);
        Check(freezeEncoder, freezeLayers, model.Config.NumHiddenLayers);
        if (!freezeEncoder && freezeLayers is null or 0)
        {
            return null;
        }
        long trainable = 0, total = 0;
        foreach (var (name, p) in model.NamedParameters())
        {
            var frozen = IsFrozen(name, freezeEncoder, freezeLayers);
            p.requires_grad = !frozen;
            total += p.numel();
            trainable += frozen ? 0 : p.numel();
        }
        return (trainable, total);
    }

    /// <summary>The plan line of a run with frozen parameters.</summary>
    public static string Describe((long Trainable, long Total) counts, bool freezeEncoder, int? freezeLayers) =>
        (freezeEncoder ? "frozen: the whole encoder (embeddings, layers, pooler); only the head trains"
            : Invariant($"frozen: the embeddings and the first {freezeLayers} encoder layer(s)"))
        + Invariant($" — {counts.Trainable:N0} of {counts.Total:N0} parameters train");
}
