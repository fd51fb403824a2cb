using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace BertSharp.Training;

/// <summary>
/// HF's <c>lr_scheduler_kwargs</c> as one schedule reads them: each key it takes is read once, with its type checked, and
/// <see cref="RefuseOthers"/> then refuses any key it did not take, as the schedule's Python function would with a
/// TypeError, but in one readable line naming the key and the schedule.
/// </summary>
internal sealed class SchedulerKwargs(string type, JsonObject? given)
{
    private readonly List<string> _taken = [];

    /// <summary>
    /// Every argument the schedule read, with the value it runs with (given, or its default; null for a None): two kwargs
    /// that resolve alike ({} and {"power": 1.0} for polynomial) schedule alike.
    /// </summary>
    public JsonObject Resolved { get; } = [];

    /// <summary>A number (JSON null is Python's None, which the function's arithmetic refuses), or <paramref name="fallback"/> when absent.</summary>
    public double Number(string key, double fallback) =>
        Resolve(key, !Take(key, out var node) ? fallback : AsNumber(key, node) ?? throw Wrong(key, node, "a number"));

    /// <summary>A number, or null when absent or null (the keys whose HF default is None).</summary>
    public double? OptionalNumber(string key) => Resolve(key, Take(key, out var node) ? AsNumber(key, node) : null);

    /// <summary>A whole number of steps, or null when absent or null (the keys whose HF default is None).</summary>
    public long? Integer(string key)
    {
        if (!Take(key, out var node) || node is null)
        {
            return Resolve<long?>(key, null);
        }
        return Resolve<long?>(key, node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && long.TryParse(v.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw Wrong(key, node, "a whole number of steps"));
    }

    /// <summary>A whole number, or <paramref name="fallback"/> when absent; <paramref name="expected"/> says what it counts.</summary>
    public long WholeNumber(string key, long fallback, string expected)
    {
        if (!Take(key, out var node))
        {
            return Resolve(key, fallback);
        }
        return Resolve(key, node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && long.TryParse(v.ToJsonString(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : throw Wrong(key, node, expected));
    }

    /// <summary>One of <paramref name="among"/>, or <paramref name="fallback"/> when absent.</summary>
    public string Choice(string key, string fallback, string[] among)
    {
        if (!Take(key, out var node))
        {
            return Resolve(key, fallback);
        }
        return Resolve(key, node is JsonValue v && v.TryGetValue<string>(out var s) && among.Contains(s)
            ? s
            : throw Wrong(key, node, string.Join(" or ", among.Select(a => $"\"{a}\""))));
    }

    /// <summary>
    /// Records <paramref name="key"/> as <paramref name="value"/> in <see cref="Resolved"/> in place of
    /// <paramref name="replacing"/>, an argument the schedule converts into it.
    /// </summary>
    public void ResolveAs(string key, double value, string replacing)
    {
        Resolved.Remove(replacing);
        Resolve(key, value);
    }

    /// <summary>Throws for the first given key that the schedule did not read.</summary>
    public void RefuseOthers()
    {
        if (given?.FirstOrDefault(kv => !_taken.Contains(kv.Key)).Key is not { } key)
        {
            return;
        }
        var takes = _taken.Count == 0 ? "it takes none" : "it takes " + string.Join(", ", _taken);
        throw Refused($"{type} takes no argument '{key}' ({takes})", withType: false);
    }

    /// <summary>A refusal of these kwargs for <paramref name="reason"/>, naming the option and the schedule.</summary>
    public BertSharpException Refused(string reason, bool withType = true) =>
        new($"{BertSharpException.Field("lr_scheduler_kwargs")}: {(withType ? type + ": " : "")}{reason}.");

    private T Resolve<T>(string key, T value)
    {
        Resolved[key] = JsonValue.Create(value);
        return value;
    }

    private bool Take(string key, out JsonNode? node)
    {
        _taken.Add(key);
        node = null;
        return given is not null && given.TryGetPropertyValue(key, out node);
    }

    private double? AsNumber(string key, JsonNode? node) => node switch
    {
        null => null,
        // From the number's JSON text: a JsonObject built in code holds an int or a long, which GetValue<double> refuses.
        JsonValue v when v.GetValueKind() == JsonValueKind.Number => double.Parse(v.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture),
        _ => throw Wrong(key, node, "a number"),
    };

    private BertSharpException Wrong(string key, JsonNode? node, string expected) =>
        Refused($"'{key}' is {node?.ToJsonString() ?? "null"}; expected {expected}");
}
