using System.Globalization;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;

namespace BertSharp.Modeling;

/// <summary>
/// The module tree of a model as PyTorch's <c>print(model)</c> writes it: each child as <c>(name): Class(...)</c>, leaf layers
/// with their sizes, and runs of identical numbered children (the encoder layers) folded into <c>(0-11): 12 x BertLayer(...)</c>.
/// </summary>
public static class ModuleTree
{
    /// <summary>The tree of <paramref name="model"/>, lines joined by '\n'.</summary>
    public static string Render(torch.nn.Module model)
    {
        ArgumentNullException.ThrowIfNull(model);
        return Render(model, 0);
    }

    private static string Render(torch.nn.Module module, int indent)
    {
        var children = module.named_children().ToList();
        if (children.Count == 0)
        {
            return Leaf(module);
        }
        var pad = new string(' ', indent + 2);
        var sb = new StringBuilder();
        sb.Append(TypeName(module)).Append("(\n");
        var rendered = children.Select(c => (c.name, Text: Render(c.module, indent + 2))).ToList();
        for (var i = 0; i < rendered.Count;)
        {
            // Numbered siblings with the same text are one line, as PyTorch folds repeated layers.
            var j = i;
            while (j + 1 < rendered.Count && rendered[j + 1].Text == rendered[i].Text && IsIndex(rendered[i].name) && IsIndex(rendered[j + 1].name))
            {
                j++;
            }
            var name = j > i ? $"{rendered[i].name}-{rendered[j].name}" : rendered[i].name;
            var text = j > i ? Invariant($"{j - i + 1} x {rendered[i].Text}") : rendered[i].Text;
            sb.Append(pad).Append('(').Append(name).Append("): ").Append(text).Append('\n');
            i = j + 1;
        }
        sb.Append(new string(' ', indent)).Append(')');
        return sb.ToString();
    }

    private static bool IsIndex(string name) => name.Length > 0 && name.All(char.IsAsciiDigit);

    private static string Leaf(torch.nn.Module module)
    {
        var inv = CultureInfo.InvariantCulture;
        return module switch
        {
            Linear l => string.Create(inv, $"Linear(in_features={l.in_features}, out_features={l.out_features}, bias={(l.bias is null ? "False" : "True")})"),
            Embedding e => string.Create(inv, $"Embedding({e.weight!.shape[0]}, {e.weight.shape[1]})"),
            LayerNorm n => string.Create(inv, $"LayerNorm(({n.weight!.shape[0]},), eps={PythonFloat(n.eps)}, elementwise_affine=True)"),
            Dropout d => string.Create(inv, $"Dropout(p={PythonFloat(d.p)}, inplace=False)"),
            _ => TypeName(module) + "()",
        };
    }

    // ModuleList`1 → ModuleList: generic arity is not part of the class name PyTorch shows.
    private static string TypeName(torch.nn.Module module)
    {
        var name = module.GetType().Name;
        var tick = name.IndexOf('`', StringComparison.Ordinal);
        return tick < 0 ? name : name[..tick];
    }

    /// <summary>A float as Python's repr writes it: 0.0, 0.1, 1e-12.</summary>
    internal static string PythonFloat(double value)
    {
        if (value == Math.Floor(value) && Math.Abs(value) < 1e16)
        {
            return value.ToString("0.0", CultureInfo.InvariantCulture);
        }
        var r = value.ToString("R", CultureInfo.InvariantCulture);
        // .NET writes 1e16 and larger in full where Python's repr turns to an exponent (from 1e+16 on).
        if (Math.Abs(value) >= 1e16 && !r.Contains('E', StringComparison.Ordinal))
        {
            var sign = value < 0 ? "-" : "";
            var whole = r.TrimStart('-');
            var digits = whole.TrimEnd('0');
            var mantissa = digits.Length == 1 ? digits : digits[..1] + "." + digits[1..];
            return string.Create(CultureInfo.InvariantCulture, $"{sign}{mantissa}e+{whole.Length - 1}");
        }
        return r.Replace("E", "e", StringComparison.Ordinal);
    }
}
