using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace BertSharp.Analyzers;

/// <summary>
/// BSA0001: a hole of an interpolated string whose value formats by the current culture (a number, a date, a time span: any
/// <see cref="System.IFormattable"/> but an enum, a char, a Guid or a Version, whose text ignores the culture), in an
/// interpolated string that is formatted without a format provider. The library packages run in their host's culture, where
/// <c>$"got {-1}"</c> may read "got −1" (U+2212) and <c>$"{0.5}"</c> "0,5"; CA1305 does not look at interpolated strings.
/// </summary>
/// <remarks>
/// An interpolated string formats with a provider when it is passed as an interpolated string handler whose constructor
/// takes one (<c>string.Create(CultureInfo.InvariantCulture, $"...")</c>, <c>StringBuilder.Append(provider, $"...")</c>)
/// or converted to <see cref="System.FormattableString"/> or <see cref="System.IFormattable"/>
/// (<c>FormattableString.Invariant($"...")</c>), whose receiver chooses the provider. Holes typed <c>object</c> or an
/// unconstrained type parameter are not judged (their value's type is not known here); neither are formats that read the
/// same in every culture: hexadecimal and binary integers (<c>X</c>, <c>B</c>), round-trip and sortable dates (<c>O</c>,
/// <c>R</c>, <c>s</c>, <c>u</c>) and a time span's constant form (<c>c</c>).
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class InterpolatedCultureAnalyzer : DiagnosticAnalyzer
{
    public const string DiagnosticId = "BSA0001";

    private static readonly DiagnosticDescriptor Rule = CultureTypes.Rule(
        DiagnosticId,
        title: "Interpolated value formatted in the current culture",
        messageFormat: "'{0}' ({1}) in this interpolated string is formatted in the current culture; write Invariant($\"...\") (build/Packaging.targets)");

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Rule);

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var types = CultureTypes.From(start.Compilation);
            if (types is not null)
            {
                start.RegisterOperationAction(c => Analyze(c, types), OperationKind.InterpolatedString);
            }
        });
    }

    private static void Analyze(OperationAnalysisContext context, CultureTypes types)
    {
        var operation = (IInterpolatedStringOperation)context.Operation;
        if (FormatsWithProvider(operation, types) || operation.Syntax is not InterpolatedStringExpressionSyntax syntax
            || operation.SemanticModel is not { } model)
        {
            return;
        }
        foreach (var hole in syntax.Contents.OfType<InterpolationSyntax>())
        {
            var type = model.GetTypeInfo(hole.Expression, context.CancellationToken).Type;
            if (types.IsCultureSensitive(type, hole.FormatClause?.FormatStringToken.ValueText))
            {
                context.ReportDiagnostic(Diagnostic.Create(Rule, hole.GetLocation(), hole.Expression.ToString(),
                    type!.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat)));
            }
        }
    }

    private static bool FormatsWithProvider(IInterpolatedStringOperation operation, CultureTypes types)
    {
        // $"a" + $"b" passed as one handler is an addition below the handler's creation.
        IOperation outer = operation;
        while (outer.Parent is IInterpolatedStringAdditionOperation addition)
        {
            outer = addition;
        }
        return outer.Parent switch
        {
            IInterpolatedStringHandlerCreationOperation { HandlerCreation: IObjectCreationOperation { Constructor: { } constructor } } =>
                constructor.Parameters.Any(p => SymbolEqualityComparer.Default.Equals(p.Type, types.FormatProvider)),
            IConversionOperation conversion => types.IsFormattableTarget(conversion.Type),
            _ => false,
        };
    }
}
