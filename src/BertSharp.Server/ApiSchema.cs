using System.Text.Json.Nodes;
using BertSharp.Inference;
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
    /// <summary>Unanchored, as JSON Schema patterns are: some character that is not white space.</summary>
    public const string NotBlank = @"\S";

    public static Task Transform(OpenApiSchema schema, OpenApiSchemaTransformerContext context, CancellationToken cancellationToken)
    {
        var type = context.JsonTypeInfo.Type;
        if (type == typeof(AttentionRequest) || type == typeof(FillMaskRequest))
        {
            Require(schema, "text");
        }
        else if (type == typeof(NerRequest))
        {
            Require(schema, "text");
            Choices(schema, "aggregation", RequestChecks.ChoiceNames<AggregationStrategy>());
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
        else if (type == typeof(ClassifyRequest))
        {
            TextOrTexts(schema, context);
            // A text when given; null is taken as not given.
            NonEmptyText(Property(schema, "text_pair"), nullable: true);
            // text_pair goes with text only (the endpoint answers 400 otherwise).
            schema.DependentRequired = new Dictionary<string, HashSet<string>> { ["text_pair"] = ["text"] };
        }
        return Task.CompletedTask;
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
    /// What <see cref="RequestChecks.Text"/> accepts: a string with something besides white space (ECMA's \S; it and .NET's
    /// char.IsWhiteSpace differ only on U+0085 and U+FEFF). minLength says the same to tools that skip patterns. An optional
    /// text (<paramref name="nullable"/>) may also be null, which the endpoint takes as not given; the bounds do not apply to it.
    /// </summary>
    private static void NonEmptyText(OpenApiSchema text, bool nullable = false)
    {
        text.Type = nullable ? JsonSchemaType.String | JsonSchemaType.Null : JsonSchemaType.String;
        text.MinLength = 1;
        text.Pattern = NotBlank;
    }

    /// <summary>
    /// Exactly one of <c>text</c> and <c>texts</c>: a <c>oneOf</c> of the two required sets. The properties stay on the object
    /// itself, so a code generator still makes one request type with both fields (branches with properties of their own
    /// would become a union type); validators, and clients that validate, see the exact rule.
    /// </summary>
    private static void TextOrTexts(OpenApiSchema schema, OpenApiSchemaTransformerContext context)
    {
        var options = context.ApplicationServices.GetRequiredService<ServerOptions>();
        NonEmptyText(Property(schema, "text"));
        var texts = Property(schema, "texts");
        texts.Type = JsonSchemaType.Array;
        texts.MinItems = 1;
        texts.MaxItems = MaxTexts(options);
        if (texts.Items is OpenApiSchema item)
        {
            NonEmptyText(item);
        }
        schema.OneOf =
        [
            new OpenApiSchema { Required = new HashSet<string>(StringComparer.Ordinal) { "text" } },
            new OpenApiSchema { Required = new HashSet<string>(StringComparer.Ordinal) { "texts" } },
        ];
    }

    /// <summary>An option's accepted values, spelled exactly so; null takes the default, as omitting the option does.</summary>
    private static void Choices(OpenApiSchema schema, string name, IReadOnlyList<string> values)
    {
        var p = Property(schema, name);
        p.Type = JsonSchemaType.String | JsonSchemaType.Null;
        // An enum binds on its own: without null among its values the type's null would still be refused.
        p.Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v)), null!];
    }
}
