using System.Text.Json.Nodes;
using BertSharp.Inference;
using BertSharp.Server.Endpoints;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace BertSharp.Server;

/// <summary>
/// Puts into the OpenAPI request schemas what <see cref="RequestChecks"/> enforces but the records cannot say: which fields are
/// required, the choices of string options, and how many texts a request may hold. The records' fields stay nullable so that a
/// missing field reaches those checks (and their messages naming the field) rather than a serializer error.
/// </summary>
internal static class ApiSchema
{
    /// <summary>
    /// Unanchored, as JSON Schema patterns are: some character that is not white space to .NET's char.IsWhiteSpace, which
    /// <see cref="RequestChecks.Text"/> decides by. Spelled out as wwwroot/app.js's BLANK spells it: ECMA-262's \S, which
    /// OpenAPI patterns use, takes U+0085 (which the server refuses as blank) and not U+FEFF (which the server takes as text).
    /// </summary>
    public const string NotBlank = @"[^\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]";

    public static Task Transform(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        if (type == typeof(AttentionRequest))
        {
            Require(schema, "text");
        }
        else if (type == typeof(FillMaskRequest))
        {
            Require(schema, "text");
            // Absent or null ranks the whole vocabulary; given, one word or a non-empty list of words (400 otherwise).
            var targets = Property(schema, "targets");
            StringOrTexts(targets, maxItems: null);
            targets.Type |= JsonSchemaType.Null;
            // HF caps top_k at the targets' number, and so does the server before it checks the bound: with targets any top_k
            // from the minimum up is taken, so the bound moves from the property to the branch without them.
            var topK = Property(schema, "top_k");
            topK.Maximum = null;
            var max = FillMaskEndpoint.MaxTopK(context.ApplicationServices.GetRequiredService<ServedModel>());
            topK.Description = FormattableString.Invariant(
                $"Candidates per mask, at least {RequestChecks.MinTopK}; without targets at most {max}; with targets any larger value is capped at their number (as HF's pipeline caps it).");
            schema.OneOf =
            [
                Given("targets", JsonSchemaType.String | JsonSchemaType.Array),
                new OpenApiSchema
                {
                    Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal)
                    {
                        ["targets"] = new OpenApiSchema { Type = JsonSchemaType.Null },
                        ["top_k"] = new OpenApiSchema { Maximum = max.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                    },
                },
            ];
        }
        else if (type == typeof(NerRequest))
        {
            Require(schema, "text");
            Choices(schema, "aggregation", RequestChecks.ChoiceNames<AggregationStrategy>());
            // The window's room for text is max length minus [CLS] and [SEP]; a stride must leave each window a token to move on.
            var stride = Property(schema, "stride");
            stride.Minimum = "0";
            stride.Maximum = (context.ApplicationServices.GetRequiredService<ServedModel>().MaxLength - 3).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else if (type == typeof(QaRequest))
        {
            Require(schema, "question", "context");
        }
        else if (type == typeof(EmbedRequest))
        {
            TextOrTexts(schema, context);
            Choices(schema, "pooling", RequestChecks.ChoiceNames<Pooling>());
        }
        else if (type == typeof(RerankRequest))
        {
            Require(schema, "query");
            var texts = Property(schema, "texts");
            texts.Type = JsonSchemaType.Array;
            texts.MinItems = 1;
            texts.MaxItems = MaxTexts(context.ApplicationServices.GetRequiredService<ServerOptions>());
            if (texts.Items is OpenApiSchema item)
            {
                NonEmptyText(item);
            }
            (schema.Required ??= new HashSet<string>(StringComparer.Ordinal)).Add("texts");
            Choices(schema, "truncation_direction", RequestChecks.ChoiceNames<TruncationDirection>());
        }
        else if (type == typeof(ZeroShotRequest))
        {
            var options = context.ApplicationServices.GetRequiredService<ServerOptions>();
            StringOrTexts(Property(schema, "inputs"), MaxTexts(options));
            (schema.Required ??= new HashSet<string>(StringComparer.Ordinal)).Add("inputs");
            (schema.Required ??= new HashSet<string>(StringComparer.Ordinal)).Add("parameters");
            schema.Description = FormattableString.Invariant(
                $"At most {options.MaxZeroShotPairs} inputs × candidate labels per request (422 beyond): each label is one (text, hypothesis) pair per input.");
        }
        else if (type == typeof(ZeroShotParameters))
        {
            // One string is split at its commas, so it may hold several labels; the array's entries are one label each.
            StringOrTexts(Property(schema, "candidate_labels"), maxItems: null);
            (schema.Required ??= new HashSet<string>(StringComparer.Ordinal)).Add("candidate_labels");
            Property(schema, "hypothesis_template").Pattern = "\\{\\}";
        }
        else if (type == typeof(OpenAiEmbeddingsRequest))
        {
            OpenAiInput(schema, context);
        }
        else if (type == typeof(ClassifyRequest))
        {
            var textsBranch = TextOrTexts(schema, context);
            // A text when given; null is taken as not given.
            NonEmptyText(Property(schema, "text_pair"), nullable: true);
            // text_pair goes with text only (the endpoint answers 400 otherwise): the texts branch takes it null or absent. Not
            // dependentRequired, which would also refuse {"texts": [...], "text_pair": null}, which the endpoint takes.
            textsBranch.Properties!["text_pair"] = new OpenApiSchema { Type = JsonSchemaType.Null };
        }
        return Task.CompletedTask;
    }

    /// <summary>
    /// OpenAI's request as this server takes it: <c>input</c> one text or a non-empty list of at most <see cref="MaxTexts"/>
    /// (token ids are refused), <c>encoding_format</c> exactly float or base64 (as OpenAI spells them), <c>dimensions</c> up to
    /// the model's embedding size.
    /// </summary>
    private static void OpenAiInput(OpenApiSchema schema, OpenApiSchemaTransformerContext context)
    {
        var options = context.ApplicationServices.GetRequiredService<ServerOptions>();
        var served = context.ApplicationServices.GetRequiredService<ServedModel>();
        StringOrTexts(Property(schema, "input"), MaxTexts(options));
        (schema.Required ??= new HashSet<string>(StringComparer.Ordinal)).Add("input");
        var format = Property(schema, "encoding_format");
        format.Type = JsonSchemaType.String | JsonSchemaType.Null;
        format.Pattern = "^(?:float|base64)$";
        var dimensions = Property(schema, "dimensions");
        dimensions.Minimum = "1";
        dimensions.Maximum = served.Features.Dimension.ToString(System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// A field of one non-blank string or a non-empty array of them (<see cref="StringOrStrings"/>): the string keywords bind
    /// strings only and the array keywords arrays only, so one schema says both without a <c>oneOf</c>.
    /// </summary>
    private static void StringOrTexts(OpenApiSchema field, int? maxItems)
    {
        NonEmptyText(field);
        field.Type = JsonSchemaType.String | JsonSchemaType.Array;
        field.MinItems = 1;
        field.MaxItems = maxItems;
        var item = field.Items as OpenApiSchema ?? new OpenApiSchema();
        NonEmptyText(item);
        field.Items = item;
    }

    /// <summary>The most texts one request may hold: the per-request limit, and no more than the queue can take (422 beyond either).</summary>
    public static int MaxTexts(ServerOptions options) => Math.Min(options.MaxTextsPerRequest, options.MaxQueue);

    private static OpenApiSchema Property(OpenApiSchema schema, string name) =>
        schema.Properties?.TryGetValue(name, out var p) == true && p is OpenApiSchema s
            ? s
            : throw new InvalidOperationException($"the OpenAPI schema has no property '{name}'.");

    /// <summary>A required text is a non-empty string; null is refused like a missing field, so the schema does not allow it.</summary>
    private static void Require(OpenApiSchema schema, params string[] names)
    {
        foreach (var name in names)
        {
            NonEmptyText(Property(schema, name));
            (schema.Required ??= new HashSet<string>(StringComparer.Ordinal)).Add(name);
        }
    }

    /// <summary>
    /// What <see cref="RequestChecks.Text"/> accepts: a string with something besides white space (<see cref="NotBlank"/>).
    /// minLength says part of it to tools that skip patterns. An optional
    /// text (<paramref name="nullable"/>) may also be null, which the endpoint takes as not given; the bounds do not apply to it.
    /// </summary>
    private static void NonEmptyText(OpenApiSchema text, bool nullable = false)
    {
        text.Type = nullable ? JsonSchemaType.String | JsonSchemaType.Null : JsonSchemaType.String;
        text.MinLength = 1;
        text.Pattern = NotBlank;
    }

    /// <summary>
    /// Exactly one of <c>text</c> and <c>texts</c> given, null being not given (the records cannot tell the two apart): each is
    /// nullable on the object, and a <c>oneOf</c> of two branches that each require one and narrow it to its non-null type.
    /// The branches declare no property the object lacks, so a code generator still makes one request type with both fields;
    /// validators, and clients that validate, see the exact rule. Returns the <c>texts</c> branch.
    /// </summary>
    private static OpenApiSchema TextOrTexts(OpenApiSchema schema, OpenApiSchemaTransformerContext context)
    {
        var options = context.ApplicationServices.GetRequiredService<ServerOptions>();
        NonEmptyText(Property(schema, "text"), nullable: true);
        var texts = Property(schema, "texts");
        texts.Type = JsonSchemaType.Array | JsonSchemaType.Null;
        texts.MinItems = 1;
        texts.MaxItems = MaxTexts(options);
        if (texts.Items is OpenApiSchema item)
        {
            NonEmptyText(item);
        }
        var textsBranch = Given("texts", JsonSchemaType.Array);
        schema.OneOf = [Given("text", JsonSchemaType.String), textsBranch];
        return textsBranch;
    }

    /// <summary>A branch requiring <paramref name="name"/> and refusing it null.</summary>
    private static OpenApiSchema Given(string name, JsonSchemaType type) => new()
    {
        Required = new HashSet<string>(StringComparer.Ordinal) { name },
        Properties = new Dictionary<string, IOpenApiSchema>(StringComparer.Ordinal) { [name] = new OpenApiSchema { Type = type } },
    };

    /// <summary>
    /// An option's accepted values in any ASCII letter case (<see cref="RequestChecks.Choice{T}"/>): a pattern, since an enum
    /// would refuse "MEAN", which the server takes. null takes the default, as omitting the option does; the pattern applies to
    /// strings only.
    /// </summary>
    private static void Choices(OpenApiSchema schema, string name, IReadOnlyList<string> values)
    {
        var p = Property(schema, name);
        p.Type = JsonSchemaType.String | JsonSchemaType.Null;
        p.Pattern = AnyCase(values);
    }

    /// <summary>An anchored ECMA pattern of exactly <paramref name="values"/>, each ASCII letter in either case ("cls": [cC][lL][sS]).</summary>
    internal static string AnyCase(IEnumerable<string> values) =>
        "^(?:" + string.Join("|", values.Select(v => string.Concat(v.Select(c => char.IsAsciiLetter(c)
            ? $"[{char.ToLowerInvariant(c)}{char.ToUpperInvariant(c)}]"
            : System.Text.RegularExpressions.Regex.Escape(c.ToString()))))) + ")$";
}
