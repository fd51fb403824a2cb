
namespace BertSharp.Inference;

/// <summary>One corpus text found for a query.</summary>
/// <param name="Index">Position of the text in the corpus (0-based).</param>
/// <param name="Text">The corpus text.</param>
/// <param name="Score">Cosine similarity between the query's and the text's embeddings, in [-1, 1].</param>
public sealed record SearchHit(int Index, string Text, double Score);

/// <summary>
/// Nearest-neighbour sentences: a corpus embedded once (<see cref="FeatureExtraction"/>, by default mean pooling as
/// sentence-transformers models are trained), queries ranked by cosine similarity, exhaustively (exact, no index structure:
/// a few hundred thousand 384-dimensional vectors search in milliseconds).
/// </summary>
public sealed class SemanticSearch
{
    private readonly float[][] _unit;

    /// <summary>A search over <paramref name="corpus"/> whose embeddings are <paramref name="embeddings"/> (any scale; they are normalised here).</summary>
    /// <param name="corpus">The texts.</param>
    /// <param name="embeddings">One vector per text [corpus, dimension]: all of one length, finite values.</param>
    /// <exception cref="ArgumentException">A count, a length or a value of <paramref name="embeddings"/> is not as described.</exception>
    public SemanticSearch(IReadOnlyList<string> corpus, IReadOnlyList<float[]> embeddings)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        ArgumentNullException.ThrowIfNull(embeddings);
        if (corpus.Count != embeddings.Count)
        {
            throw new ArgumentException(Invariant($"{corpus.Count} texts but {embeddings.Count} embeddings; expected one per text."), nameof(embeddings));
        }
        for (var i = 0; i < embeddings.Count; i++)
        {
            // A null entry was a NullReferenceException, and a NaN or infinite value a NaN score, outside the [-1, 1] of
            // SearchHit.Score, ranked below every other text.
            var e = embeddings[i] ?? throw new ArgumentException(Invariant($"embeddings[{i}] is null; expected a vector."), nameof(embeddings));
            if (e.Length != embeddings[0].Length)
            {
                throw new ArgumentException(Invariant($"embeddings[{i}] has {e.Length} values but embeddings[0] has {embeddings[0].Length}; expected vectors of one length."), nameof(embeddings));
            }
            RequireFinite(e, Invariant($"embeddings[{i}]"), nameof(embeddings));
        }
        Corpus = corpus;
        _unit = [.. embeddings.Select(Unit)];
    }

    /// <summary>Embeds <paramref name="corpus"/> with <paramref name="pipeline"/> (mean pooling unless <paramref name="options"/> says otherwise).</summary>
    public static SemanticSearch Build(FeatureExtraction pipeline, IReadOnlyList<string> corpus, FeatureExtractionOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(pipeline);
        ArgumentNullException.ThrowIfNull(corpus);
        var o = options ?? new FeatureExtractionOptions(Pooling.Mean, Normalize: true);
        return new SemanticSearch(corpus, pipeline.Embed(corpus, o)) { Pipeline = pipeline, Options = o };
    }

    /// <summary>The searched texts, in order.</summary>
    public IReadOnlyList<string> Corpus { get; }

    /// <summary>The pipeline that embedded the corpus and embeds queries (null when built from given embeddings).</summary>
    public FeatureExtraction? Pipeline { get; private init; }

    /// <summary>How the corpus was embedded (queries are embedded the same way).</summary>
    public FeatureExtractionOptions? Options { get; private init; }

    /// <summary>The <paramref name="topK"/> corpus texts most similar to <paramref name="query"/>, best first (ties: corpus order).</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="topK"/> is below 1 (checked before the query is embedded).</exception>
    public IReadOnlyList<SearchHit> Search(string query, int topK = 5)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        if (Pipeline is null || Options is null)
        {
            throw new InvalidOperationException("this search was built from embeddings; pass the query's embedding to Search(float[], int).");
        }
        return Search(Pipeline.Embed([query], Options)[0], topK);
    }

    /// <summary>The <paramref name="topK"/> corpus texts whose embeddings are most similar (cosine) to <paramref name="query"/>, best first.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="topK"/> is below 1.</exception>
    public IReadOnlyList<SearchHit> Search(float[] query, int topK = 5)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        if (_unit.Length > 0 && query.Length != _unit[0].Length)
        {
            throw new ArgumentException(Invariant($"query of dimension {query.Length}, corpus of dimension {_unit[0].Length}; expected the same."), nameof(query));
        }
        RequireFinite(query, "query", nameof(query));
        var q = Unit(query);
        var scores = new double[_unit.Length];
        for (var i = 0; i < _unit.Length; i++)
        {
            double dot = 0;
            var v = _unit[i];
            for (var k = 0; k < v.Length; k++)
            {
                dot += (double)q[k] * v[k];
            }
            scores[i] = dot;
        }
        return [.. Enumerable.Range(0, scores.Length).OrderByDescending(i => scores[i]).ThenBy(i => i).Take(topK)
            .Select(i => new SearchHit(i, Corpus[i], scores[i]))];
    }

    private static void RequireFinite(float[] v, string what, string parameter)
    {
        var bad = Array.FindIndex(v, x => !float.IsFinite(x));
        if (bad >= 0)
        {
            throw new ArgumentException(Invariant($"{what}[{bad}] is {v[bad]}; expected finite values."), parameter);
        }
    }

    private static float[] Unit(float[] v)
    {
        double norm = 0;
        foreach (var x in v)
        {
            norm += (double)x * x;
        }
        var scale = 1.0 / Math.Max(Math.Sqrt(norm), 1e-12);
        return [.. v.Select(x => (float)(x * scale))];
    }
}
