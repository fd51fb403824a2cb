using BertSharp.Inference;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace BertSharp.Server.Endpoints;

/// <summary><c>POST /v1/qa</c>: extractive question answering over contexts up to a few windows long.</summary>
internal static class QaEndpoint
{
    private sealed record Item(string Question, string Context, QuestionAnsweringOptions Options);

    public static void Map(WebApplication app, ServedModel served, BatcherRegistry batchers, ServerOptions options)
    {
        var qa = served.Qa!;
        // In long: a large window count (as good as "no limit") would overflow to a negative limit that refuses every context.
        var contextLimit = (int)Math.Min((long)served.MaxLength * options.MaxContextWindows, int.MaxValue);
        var batcher = batchers.Create<Item, List<QaAnswer>>("qa", items =>
        {
            var result = new List<QaAnswer>[items.Count];
            foreach (var group in items.Select((item, i) => (item, i)).GroupBy(x => x.item.Options))
            {
                var members = group.ToArray();
                var answers = qa.Answer([.. members.Select(m => (m.item.Question, m.item.Context))], group.Key);
                for (var k = 0; k < members.Length; k++)
                {
                    result[members[k].i] = answers[k];
                }
            }
            return result;
        });
        app.MapPost("/v1/qa", async (QaRequest request, HttpContext context) =>
        {
            var question = RequestChecks.Required(request.Question, "question");
            var text = RequestChecks.Required(request.Context, "context");
            // The pipeline's own rule, checked before queueing: in the pipeline it would fail the whole batch, as a 500.
            if (QuestionAnswering.BlankInput(question, text) is { } blank)
            {
                throw RequestChecks.Empty(blank);
            }
            served.CheckWordPieces(question, "question");
            served.CheckWordPieces(text, "context");
            var topK = RequestChecks.Range(request.TopK, "top_k", RequestChecks.QaDefaultTopK, RequestChecks.MinTopK, RequestChecks.QaMaxTopK);
            var maxAnswer = RequestChecks.Range(request.MaxAnswerLength, "max_answer_length", QuestionAnsweringOptions.DefaultMaxAnswerLength,
                RequestChecks.MinAnswerLength, RequestChecks.MaxAnswerLength);
            served.CheckLength(question, "question", served.MaxLength / 2, 3);
            served.CheckLength(text, "context", contextLimit, 0);
            var window = Math.Min(QuestionAnsweringOptions.DefaultWindow, served.MaxLength);
            // HF's doc_stride, as bert qa takes it (the windowing caps it at half a window's context): a quarter of the window
            // gave a served answer other windows, and so other scores, than the same model's bert qa.
            var o = new QuestionAnsweringOptions(topK, window, QuestionAnsweringOptions.DefaultDocStride, maxAnswer,
                HandleImpossibleAnswer: request.HandleImpossibleAnswer ?? false, BatchSize: options.MaxBatch);
            var result = await batchers.Submit(batcher, [new Item(question, text, o)], context);
            return new QaResponse(result[0]);
        }).WithSummary("Answers (text, score, character span) to a question about a context.").ProducesApiErrors();
    }
}
