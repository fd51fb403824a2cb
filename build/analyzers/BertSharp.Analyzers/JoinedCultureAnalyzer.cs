using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.Diagnostics;
using Microsoft.CodeAnalysis.Operations;

namespace BertSharp.Analyzers;

/// <summary>
/// BSA0002: a value of a type that BSA0001 judges (<see cref="CultureTypes"/>: a number, a date, a time span, any
/// <see cref="System.IFormattable"/> whose text the culture changes) made text without a format provider where it is joined
/// to a string, so in the current culture: <c>"got " + n</c> and <c>s += n</c> call its ToString() as <c>$"{n}"</c> does.
/// </summary>
/// <remarks>
/// CA1305 flags a call only where the method has an overload that takes an <see cref="System.IFormatProvider"/>; none of
/// these has one, so each is checked here:
/// <list type="bullet">
/// <item><c>+</c> and <c>+=</c> on a string: the compiler's concatenation, which is no call in the source at all.</item>
/// <item><c>string.Concat</c>: the same concatenation written out.</item>
/// <item><c>string.Join</c> and <c>StringBuilder.AppendJoin</c>: how tensor shapes and index lists become message text.</item>
/// <item><c>StringBuilder.Append(value)</c> and <c>Insert(index, value)</c>: their provider overloads take interpolated
/// strings only.</item>
/// <item><c>TextWriter.Write(value)</c>, <c>WriteLine(value)</c> and their format arguments, and <c>Console</c>'s (which
/// write to <c>Console.Out</c>): they format with the writer's provider, the current culture for a StreamWriter, and the
/// call does not show which writer it is.</item>
/// </list>
/// An argument counts where its parameter is typed <c>object</c>, is a params array or an <c>IEnumerable&lt;T&gt;</c> (each
/// element), or is named <c>value</c>: the framework's name for the one formatted parameter beside indices and counts
/// (<c>Append(char[] value, int startIndex, int charCount)</c>). Operands typed <c>object</c> are not judged, as in BSA0001.
/// </remarks>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class JoinedCultureAnalyzer : DiagnosticAnalyzer
{
    public const string DiagnosticId = "BSA0002";

    private static readonly DiagnosticDescriptor Rule = CultureTypes.Rule(
        DiagnosticId,
        title: "Value joined to a string in the current culture",
        messageFormat: "'{0}' ({1}) is made text in the current culture here; format it with CultureInfo.InvariantCulture, as Invariant($\"...\") (build/Packaging.targets)");

    private static readonly ImmutableHashSet<string> StringMethods = ImmutableHashSet.Create("Concat", "Join");
    private static readonly ImmutableHashSet<string> BuilderMethods = ImmutableHashSet.Create("Append", "AppendJoin", "Insert");
    private static readonly ImmutableHashSet<string> WriterMethods = ImmutableHashSet.Create("Write", "WriteLine");

    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics => ImmutableArray.Create(Rule);

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            if (CultureTypes.From(start.Compilation) is not { } types)
            {
                return;
            }
            var builder = start.Compilation.GetTypeByMetadataName("System.Text.StringBuilder");
            var writer = start.Compilation.GetTypeByMetadataName("System.IO.TextWriter");
            var console = start.Compilation.GetTypeByMetadataName("System.Console");
            start.RegisterOperationAction(c => AnalyzeAddition(c, types), OperationKind.Binary, OperationKind.CompoundAssignment);
            start.RegisterOperationAction(c =>
            {
                var call = (IInvocationOperation)c.Operation;
                if (Formats(call.TargetMethod, builder, writer, console))
                {
                    foreach (var argument in call.Arguments)
                    {
                        AnalyzeArgument(c, types, argument);
                    }
                }
            }, OperationKind.Invocation);
        });
    }

    private static void AnalyzeAddition(OperationAnalysisContext context, CultureTypes types)
    {
        // Arithmetic and user-defined operators far outnumber string concatenation: both checks are on the result's type.
        switch (context.Operation)
        {
            case IBinaryOperation { OperatorKind: BinaryOperatorKind.Add, Type.SpecialType: SpecialType.System_String } add:
                Judge(context, types, add.LeftOperand);
                Judge(context, types, add.RightOperand);
                break;
            case ICompoundAssignmentOperation { OperatorKind: BinaryOperatorKind.Add, Target.Type.SpecialType: SpecialType.System_String } append:
                Judge(context, types, append.Value);
                break;
        }
    }

    private static bool Formats(IMethodSymbol method, INamedTypeSymbol? builder, INamedTypeSymbol? writer, INamedTypeSymbol? console)
    {
        var type = method.ContainingType;
        if (type.SpecialType == SpecialType.System_String)
        {
            return StringMethods.Contains(method.Name);
        }
        if (SymbolEqualityComparer.Default.Equals(type, builder))
        {
            return BuilderMethods.Contains(method.Name);
        }
        if (!WriterMethods.Contains(method.Name))
        {
            return false;
        }
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (SymbolEqualityComparer.Default.Equals(t, writer) || SymbolEqualityComparer.Default.Equals(t, console))
            {
                return true;
            }
        }
        return false;
    }

    private static void AnalyzeArgument(OperationAnalysisContext context, CultureTypes types, IArgumentOperation argument)
    {
        if (argument.Parameter is not { } parameter)
        {
            return;
        }
        if (Elements(argument.Value) is { } elements)
        {
            foreach (var element in elements)
            {
                Judge(context, types, element);
            }
        }
        else if (parameter.Type is INamedTypeSymbol { OriginalDefinition.SpecialType: SpecialType.System_Collections_Generic_IEnumerable_T } sequence)
        {
            var value = Unconverted(argument.Value);
            if (types.IsCultureSensitive(sequence.TypeArguments[0], format: null))
            {
                Report(context, value, value.Type ?? sequence);
            }
        }
        else if (parameter.Type.SpecialType == SpecialType.System_Object || parameter.Name == "value")
        {
            Judge(context, types, argument.Value);
        }
    }

    /// <summary>The elements of a params argument (an array, or a span's collection in C# 13), else null.</summary>
    private static IEnumerable<IOperation>? Elements(IOperation value) => value switch
    {
        IArrayCreationOperation { IsImplicit: true, Initializer: { } initializer } => initializer.ElementValues,
        ICollectionExpressionOperation { IsImplicit: true } collection => collection.Elements,
        _ => null,
    };

    private static void Judge(OperationAnalysisContext context, CultureTypes types, IOperation operand)
    {
        var value = Unconverted(operand);
        if (types.IsCultureSensitive(value.Type, format: null))
        {
            Report(context, value, value.Type!);
        }
    }

    private static void Report(OperationAnalysisContext context, IOperation value, ITypeSymbol type) =>
        context.ReportDiagnostic(Diagnostic.Create(Rule, value.Syntax.GetLocation(), value.Syntax.ToString(),
            type.ToDisplayString(SymbolDisplayFormat.CSharpShortErrorMessageFormat)));

    private static IOperation Unconverted(IOperation operation)
    {
        while (operation is IConversionOperation { IsImplicit: true } conversion)
        {
            operation = conversion.Operand;
        }
        return operation;
    }
}
