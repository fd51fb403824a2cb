namespace BertSharp.Server;

/// <summary>Field checks of request bodies: each failure is a 400 naming the field.</summary>
internal static class RequestChecks
{
    // The bounds of the numeric options: the endpoints check them and the request records' [Range] attributes put the same
    // numbers into the OpenAPI document, so the two cannot drift apart.
    public const int MinTopK = 1;
    public const int FillMaskMaxTopK = 50;
    public const int FillMaskDefaultTopK = 5;
    public const int QaMaxTopK = 20;
    public const int QaDefaultTopK = 1;
    public const int MinAnswerLength = 1;
    public const int MaxAnswerLength = 512;

    /// <summary>The accepted values of a <see cref="Choice{T}"/> field, as the API spells them (the error message and the OpenAPI pattern).</summary>
    public static IReadOnlyList<string> ChoiceNames<T>() where T : struct, Enum => [.. Enum.GetNames<T>().Select(n => n.ToLowerInvariant())];

    public static string Text(string? value, string field)
    {
        var text = Required(value, field);
        return string.IsNullOrWhiteSpace(text) ? throw Empty(field) : text;
    }

    /// <summary>A text field that must be present; what counts as empty is left to the caller (e.g. the library's rule).</summary>
    public static string Required(string? value, string field) =>
        value ?? throw new ApiException(400, $"'{field}' is required: a non-empty string.");

    /// <summary>The 400 of a text field that is empty or white space only.</summary>
    public static ApiException Empty(string field) => new(400, $"'{field}' must not be empty.");

    public static IReadOnlyList<string> TextOrTexts(string? text, string[]? texts, int maxTexts)
    {
        if ((text is null) == (texts is null))
        {
            throw new ApiException(400, "give exactly one of 'text' (a string) or 'texts' (an array of strings).");
        }
        if (text is not null)
        {
            return [Text(text, "text")];
        }
        return Texts(texts!, "texts", maxTexts);
    }

    /// <summary>A non-empty list of at most <paramref name="maxTexts"/> texts, each refused by its index in <paramref name="field"/>.</summary>
    public static IReadOnlyList<string> Texts(string[] texts, string field, int maxTexts)
    {
        if (texts.Length == 0)
        {
            throw new ApiException(400, $"'{field}' must not be empty.");
        }
        if (texts.Length > maxTexts)
        {
            throw new ApiException(422, $"'{field}' has {texts.Length} entries; the limit is {maxTexts} per request.");
        }
        return [.. texts.Select((t, i) => Text(t, $"{field}[{i}]"))];
    }

    public static T Choice<T>(string? value, string field, T fallback) where T : struct, Enum
    {
        if (value is null)
        {
            return fallback;
        }
        // The names in any letter case, as HF reads them (the token-classification pipeline upper-cases the aggregation
        // strategy, sentence-transformers lower-cases the pooling mode), but ASCII case only, as the OpenAPI pattern says:
        // Python's upper() also takes "ſimple" for SIMPLE. Nothing else: Enum.TryParse also took " cls" and "simple,first"
        // (the two values OR-ed together: average).
        var names = ChoiceNames<T>();
        var values = Enum.GetValues<T>();
        for (var i = 0; i < names.Count; i++)
        {
            if (System.Text.Ascii.EqualsIgnoreCase(names[i], value))
            {
                return values[i];
            }
        }
        throw new ApiException(400, $"'{field}' must be one of {string.Join(", ", names)} (in any letter case); got '{value}'.");
    }

    public static int Range(int? value, string field, int fallback, int min, int max)
    {
        var v = value ?? fallback;
        if (v < min || v > max)
        {
            throw new ApiException(400, $"'{field}' must be between {min} and {max}; got {v}.");
        }
        return v;
    }
}
