using BertSharp.Tokenization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace BertSharp.Server.Endpoints;

/// <summary>
/// <c>POST /rerank</c>: text-embeddings-inference's rerank API over a cross-encoder (a one-label sequence classifier); the
/// response is TEI's bare array of ranks, most relevant first.
/// </summary>
internal static class RerankEndpoint
{
    public const string Path = "/rerank";

    public static void Map(WebApplication app, ServedModel served, BatcherRegistry batchers, ServerOptions options)
    {
        var reranker = served.Reranker!;
        // Pairs of several requests share a forward pass; each keeps its request's side and score kind.
        var batcher = batchers.Create<(string Query, string Text, TruncationSide Side, bool Raw), double>("rerank", inputs =>
        {
            var scores = new double[inputs.Count];
            foreach (var group in inputs.Select((x, i) => (x, i)).GroupBy(g => (g.x.Side, g.x.Raw)))
            {
                var members = group.ToList();
                IReadOnlyList<double> groupScores;
                lock (served.Model)
                {
                    groupScores = reranker.Scores([.. members.Select(m => (m.x.Query, m.x.Text))], group.Key.Raw, options.MaxBatch, group.Key.Side);
                }
                for (var k = 0; k < members.Count; k++)
                {
                    scores[members[k].i] = groupScores[k];
                }
            }
            return scores;
        });
        app.MapPost(Path, async (RerankRequest request, HttpContext context) =>
        {
            var query = RequestChecks.Text(request.Query, "query");
            served.CheckWordPieces(query, "query");
            var texts = RequestChecks.Texts(request.Texts ?? throw new ApiException(400, "'texts' is required: a non-empty array of strings."), "texts",
                ApiSchema.MaxTexts(options));
            var side = RequestChecks.Choice(request.TruncationDirection, "truncation_direction", TruncationDirection.Right) == TruncationDirection.Left
                ? TruncationSide.Tail
                : TruncationSide.Head;
            for (var i = 0; i < texts.Count; i++)
            {
                served.CheckWordPieces(texts[i], $"texts[{i}]");
                // TEI refuses a long input unless truncate is set; the pair is counted together, as the model reads it.
                if (request.Truncate != true)
                {
                    served.CheckLength(query + " " + texts[i], $"texts[{i}]", specialTokens: 3, pairField: "query");
                }
            }
            var raw = request.RawScores == true;
            var scores = await batchers.Submit(batcher, [.. texts.Select(t => (query, t, side, raw))], context);
            // Stable: equal scores keep the texts' order.
            return scores.Select((s, i) => new Rank(i, request.ReturnText == true ? texts[i] : null, s)).OrderByDescending(r => r.Score).ToArray();
        }).WithSummary("Rank texts by their relevance to a query with a cross-encoder (text-embeddings-inference's /rerank).").ProducesApiErrors();
    }
}
