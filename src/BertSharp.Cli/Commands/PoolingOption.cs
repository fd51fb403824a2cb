using System.CommandLine;
using BertSharp.Inference;

namespace BertSharp.Cli.Commands;

/// <summary>The <c>--pooling</c> of <c>bert embed</c> and <c>bert search</c>.</summary>
internal static class PoolingOption
{
    /// <summary>The pooling given on the command line; null when not given, so that the model's own can be the default.</summary>
    public static Pooling? Value(ParseResult p, Option<string?> pooling) => p.GetValue(pooling) switch
    {
        null => null,
        "mean" => Pooling.Mean,
        _ => Pooling.Cls,
    };
}
