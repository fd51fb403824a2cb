namespace BertSharp.Inference;

/// <summary>
/// The pooling and normalisation one embedding run uses, and where each came from: what the user gave, else what a
/// sentence-transformers model declares (<see cref="SentenceTransformerModules"/>), else the command's own default.
/// </summary>
internal sealed record EmbeddingChoice(Pooling Pooling, string PoolingFrom, bool Normalize, string NormalizeFrom)
{
    /// <param name="modules">The model's sentence-transformers modules; null for a plain HF model.</param>
    /// <param name="pooling">The pooling given explicitly; null when not given.</param>
    /// <param name="poolingGiven">How the plan names an explicit pooling (<c>--pooling</c>, <c>'pooling'</c>).</param>
    /// <param name="normalize">The normalisation given explicitly; null when not given.</param>
    /// <param name="normalizeGiven">How the plan names an explicit normalisation.</param>
    /// <param name="fallbackPooling">The pooling without either.</param>
    /// <param name="fallbackNormalize">The normalisation without either.</param>
    /// <param name="publicNames">Name the model's files relative to it in an error (a server's clients are not told its paths).</param>
    public static EmbeddingChoice Resolve(SentenceTransformerModules? modules, Pooling? pooling, string poolingGiven, bool? normalize,
        string normalizeGiven, Pooling fallbackPooling, bool fallbackNormalize, bool publicNames = false)
    {
        // An explicit pooling is the way round a mode BertSharp does not compute: the declared one is only read without it.
        var (p, pFrom) = pooling is { } given ? (given, poolingGiven)
            : modules?.DeclaredPooling($"give {poolingGiven} cls or mean to choose one", publicNames) is { } declared ? (declared, modules.PoolingShown!)
            : (fallbackPooling, "default");
        var (n, nFrom) = normalize is { } on ? (on, normalizeGiven)
            : modules is { Normalize: true } ? (true, SentenceTransformerModules.FileName + " Normalize")
            : (fallbackNormalize, "default");
        return new EmbeddingChoice(p, pFrom, n, nFrom);
    }

    /// <summary>The plan's pooling: <c>pooling: mean (1_Pooling/config.json)</c>.</summary>
    public string PoolingLine => $"pooling: {Pooling.ToString().ToLowerInvariant()} ({PoolingFrom})";

    /// <summary>The plan's normalisation: <c>normalize: true (modules.json Normalize)</c>.</summary>
    public string NormalizeLine => $"normalize: {(Normalize ? "true" : "false")} ({NormalizeFrom})";
}
