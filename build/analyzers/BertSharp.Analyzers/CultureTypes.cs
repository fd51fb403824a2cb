using System.Linq;
using Microsoft.CodeAnalysis;

namespace BertSharp.Analyzers;

/// <summary>
/// The framework's types by which <see cref="InterpolatedCultureAnalyzer"/> judges a hole and its string, and
/// <see cref="JoinedCultureAnalyzer"/> a value joined to a string.
/// </summary>
internal sealed class CultureTypes
{
    /// <summary>A rule of the culture analyzers: an error, in one category, for one reason.</summary>
    public static DiagnosticDescriptor Rule(string id, string title, string messageFormat) => new(
        id,
        title,
        messageFormat,
        category: "Globalization",
        defaultSeverity: DiagnosticSeverity.Error,
        isEnabledByDefault: true,
        description: "The library packages run in their host's culture: numbers, dates and time spans in their messages and files must read the same in every culture.");

    private readonly INamedTypeSymbol formattable;
    private readonly INamedTypeSymbol? formattableString;
    private readonly INamedTypeSymbol? guid;
    private readonly INamedTypeSymbol? version;
    private readonly INamedTypeSymbol? uri;
    private readonly INamedTypeSymbol? dateTime;
    private readonly INamedTypeSymbol? dateTimeOffset;
    private readonly INamedTypeSymbol? timeSpan;

    private CultureTypes(Compilation compilation, INamedTypeSymbol formattable, INamedTypeSymbol formatProvider)
    {
        this.formattable = formattable;
        FormatProvider = formatProvider;
        formattableString = compilation.GetTypeByMetadataName("System.FormattableString");
        guid = compilation.GetTypeByMetadataName("System.Guid");
        version = compilation.GetTypeByMetadataName("System.Version");
        uri = compilation.GetTypeByMetadataName("System.Uri");
        dateTime = compilation.GetTypeByMetadataName("System.DateTime");
        dateTimeOffset = compilation.GetTypeByMetadataName("System.DateTimeOffset");
        timeSpan = compilation.GetTypeByMetadataName("System.TimeSpan");
    }

    public INamedTypeSymbol FormatProvider { get; }

    /// <summary>The types of <paramref name="compilation"/>, or null where it has no IFormattable to judge by.</summary>
    public static CultureTypes? From(Compilation compilation) =>
        compilation.GetTypeByMetadataName("System.IFormattable") is { } formattable
        && compilation.GetTypeByMetadataName("System.IFormatProvider") is { } provider
            ? new CultureTypes(compilation, formattable, provider)
            : null;

    /// <summary>Whether an interpolated string converted to <paramref name="type"/> is formatted by its receiver.</summary>
    public bool IsFormattableTarget(ITypeSymbol? type) => Is(type, formattableString) || Is(type, formattable);

    /// <summary>Whether a hole of <paramref name="type"/> written with <paramref name="format"/> reads differently by culture.</summary>
    public bool IsCultureSensitive(ITypeSymbol? type, string? format)
    {
        if (type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Nullable_T } nullable)
        {
            type = nullable.TypeArguments[0];
        }
        if (type is null || type.TypeKind == TypeKind.Enum || type.SpecialType is SpecialType.System_Enum
            or SpecialType.System_Char or SpecialType.System_String or SpecialType.System_Boolean || Is(type, guid)
            || Is(type, version) || Is(type, uri) || IsInvariantFormat(type, format))
        {
            return false;
        }
        return type is ITypeParameterSymbol parameter
            ? parameter.ConstraintTypes.Any(constraint => IsCultureSensitive(constraint, format))
            : Formattable(type);
    }

    private bool Formattable(ITypeSymbol type) =>
        Is(type, formattable) || type.AllInterfaces.Any(i => Is(i, formattable));

    private bool IsInvariantFormat(ITypeSymbol type, string? format)
    {
        if (format is not { Length: > 0 })
        {
            return false;
        }
        var letter = format[0];
        if (IsInteger(type))
        {
            // Digits and letters only, no sign: a hexadecimal or binary integer is written as two's complement.
            return letter is 'X' or 'x' or 'B' or 'b';
        }
        if (Is(type, dateTime) || Is(type, dateTimeOffset))
        {
            return format.Length == 1 && letter is 'O' or 'o' or 'R' or 'r' or 's' or 'u';
        }
        return Is(type, timeSpan) && format == "c";
    }

    private static bool IsInteger(ITypeSymbol type) => type.SpecialType is SpecialType.System_SByte or SpecialType.System_Byte
        or SpecialType.System_Int16 or SpecialType.System_UInt16 or SpecialType.System_Int32 or SpecialType.System_UInt32
        or SpecialType.System_Int64 or SpecialType.System_UInt64 or SpecialType.System_IntPtr or SpecialType.System_UIntPtr;

    private static bool Is(ITypeSymbol? type, ITypeSymbol? other) =>
        type is not null && other is not null && SymbolEqualityComparer.Default.Equals(type.OriginalDefinition, other);
}
