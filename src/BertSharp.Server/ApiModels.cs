using System.ComponentModel.DataAnnotations;

namespace BertSharp.Server;

#pragma warning disable CA1819 // request/response DTOs: arrays are the JSON shape

/// <summary>Body of <c>POST /v1/embed</c>: <c>text</c> or <c>texts</c>.</summary>
/// <param name="Text">One text.</param>
/// <param name="Texts">Several texts.</param>
/// <param name="Pooling">cls or mean, in any letter case; default: a sentence-transformers model's own (modules.json, its Pooling module's config.json), else cls.</param>
/// <param name="Normalize">Unit L2 norm; default: true when a sentence-transformers model's modules.json has a Normalize module, else false.</param>
public sealed record EmbedRequest(string? Text = null, string[]? Texts = null, string? Pooling = null, bool? Normalize = null);

/// <summary>Embeddings, one per input text.</summary>
public sealed record EmbedResponse(float[][] Embeddings, int Dimension);

/// <summary>Body of <c>POST /v1/ner</c>.</summary>
/// <param name="Text">The text to tag.</param>
/// <param name="Aggregation">none, simple, first, average or max, in any letter case (default: as <c>bert ner</c>, first for a model fine-tuned on first word pieces, else simple).</param>
/// <param name="Stride">Tag a text longer than the model's max length in windows sharing this many word pieces (HF's <c>stride</c>); overlapping entities are merged, the longest (then the highest score) kept. Smaller than max length minus 2; not with aggregation none; the text at most <c>--max-context-windows</c> × max length tokens.</param>
public sealed record NerRequest(string? Text = null, string? Aggregation = null, int? Stride = null);

/// <summary>Entities found; offsets are UTF-16 positions in the text.</summary>
public sealed record NerResponse(IReadOnlyList<BertSharp.Inference.TokenEntity> Entities);

/// <summary>Body of <c>POST /v1/qa</c>.</summary>
/// <param name="Question">The question.</param>
/// <param name="Context">The text holding the answer (several windows long at most; see /health).</param>
/// <param name="TopK">Answers wanted (default 1).</param>
/// <param name="MaxAnswerLength">Longest answer in tokens (default 15).</param>
/// <param name="HandleImpossibleAnswer">Also offer "no answer" (the empty answer at 0-0, scored as HF's pipeline scores it), for a model fine-tuned on SQuAD v2.0 (default false).</param>
// [Range] only describes the field in the OpenAPI document (minimal APIs validate nothing without AddValidation); the endpoint's
// RequestChecks.Range enforces the same constants.
public sealed record QaRequest(string? Question = null, string? Context = null,
    [property: Range(RequestChecks.MinTopK, RequestChecks.QaMaxTopK)] int? TopK = null,
    [property: Range(RequestChecks.MinAnswerLength, RequestChecks.MaxAnswerLength)] int? MaxAnswerLength = null,
    bool? HandleImpossibleAnswer = null);

/// <summary>Answers, best first; offsets are UTF-16 positions in the context.</summary>
public sealed record QaResponse(IReadOnlyList<BertSharp.Inference.QaAnswer> Answers);

/// <summary>Body of <c>POST /v1/attention</c>.</summary>
public sealed record AttentionRequest(string? Text = null);

/// <summary>Attention probabilities <c>attentions[layer][head][query][key]</c> over <c>tokens</c>.</summary>
public sealed record AttentionResponse(IReadOnlyList<string> Tokens, int Layers, int Heads, float[][][][] Attentions);

/// <summary>An error: the HTTP status and what to fix.</summary>
public sealed record ErrorResponse(string Error, int Status);

/// <summary>Body of <c>GET /health</c>.</summary>
/// <param name="Status">"ok".</param>
/// <param name="Model">The model served: its Hub id as given, or its local directory's final name only (not the path).</param>
/// <param name="Architecture">The model class served.</param>
/// <param name="Endpoints">The endpoints this model has.</param>
/// <param name="MaxLength">Longest input in tokens (422 beyond).</param>
/// <param name="MaxBatch">Most inputs per forward pass.</param>
/// <param name="Batching">Micro-batching counters per endpoint.</param>
/// <param name="TextPair">Whether the classifier was fine-tuned on sentence pairs: <c>/v1/classify</c> then needs <c>text_pair</c>.</param>
public sealed record HealthResponse(string Status, string Model, string Architecture, IReadOnlyList<string> Endpoints, int MaxLength, int MaxBatch,
    IReadOnlyDictionary<string, BatcherStats> Batching, bool TextPair);

#pragma warning restore CA1819

/// <summary>Body of <c>POST /v1/classify</c>: <c>text</c> (optionally with <c>text_pair</c>) or <c>texts</c>.</summary>
/// <param name="Text">One text.</param>
/// <param name="TextPair">Second text of a sentence pair (only with <c>text</c>).</param>
/// <param name="Texts">Several texts.</param>
public sealed record ClassifyRequest(string? Text = null, string? TextPair = null, string[]? Texts = null);

/// <summary>A label and its probability (for regression models: the label "score" and the predicted value).</summary>
public sealed record LabelScore(string Label, double Score);

/// <summary>The prediction for one text: the best label and every label's probability, most probable first.</summary>
public sealed record Classification(string Label, double Score, IReadOnlyList<LabelScore> Labels);

/// <summary>One classification per input text.</summary>
public sealed record ClassifyResponse(IReadOnlyList<Classification> Predictions);

/// <summary>Body of <c>POST /v1/fill-mask</c>.</summary>
/// <param name="Text">Text with one or more [MASK] tokens.</param>
/// <param name="TopK">
/// Candidates per mask (default 5; without <c>targets</c> at most 50 and the vocabulary's size; with them, a larger value is
/// capped at their number, as HF caps it).
/// </param>
/// <param name="Targets">
/// Rank only these words, as HF's <c>targets</c> (scores stay the softmax over the whole vocabulary); in the body one word (a
/// string) or several (an array of strings), as HF takes them. A word that is not one vocabulary token is scored by its first
/// word piece, with a warning in the response.
/// </param>
public sealed record FillMaskRequest(string? Text = null, [property: Range(RequestChecks.MinTopK, RequestChecks.FillMaskMaxTopK)] int? TopK = null,
    [property: System.Text.Json.Serialization.JsonConverter(typeof(StringOrStrings))] string[]? Targets = null);

/// <summary>Candidates for each [MASK], in mask order, most probable first.</summary>
/// <param name="Masks">Candidates per mask.</param>
/// <param name="Warnings">One line per target replaced by its first word piece; absent when none was.</param>
public sealed record FillMaskResponse(IReadOnlyList<IReadOnlyList<BertSharp.Inference.FillMaskPrediction>> Masks, IReadOnlyList<string>? Warnings = null);

/// <summary>
/// Body of <c>POST /v1/embeddings</c>, OpenAI's embeddings request (what the OpenAI SDKs, Microsoft.Extensions.AI and Semantic
/// Kernel send).
/// </summary>
/// <param name="Input">One text, or an array of texts (OpenAI's token-id forms are refused: this server takes text).</param>
/// <param name="Model">Required by OpenAI's clients; any value is accepted and the served model answers (the response names it).</param>
/// <param name="EncodingFormat"><c>float</c> (default) or <c>base64</c> (the float32 values' little-endian bytes, base64-encoded).</param>
/// <param name="Dimensions">Keep the first N values of each embedding, re-normalised when the embeddings are normalised (Matryoshka truncation, as OpenAI's v3 models and TEI do).</param>
/// <param name="User">OpenAI's end-user id; ignored.</param>
public sealed record OpenAiEmbeddingsRequest(
    [property: System.Text.Json.Serialization.JsonConverter(typeof(StringOrStrings))] string[]? Input = null,
    string? Model = null, string? EncodingFormat = null, int? Dimensions = null, string? User = null);

/// <summary>OpenAI's embeddings response: one <see cref="OpenAiEmbedding"/> per input, in input order.</summary>
/// <param name="Object">Always <c>list</c>.</param>
/// <param name="Data">The embeddings.</param>
/// <param name="Model">The served model, named as <c>/health</c> names it.</param>
/// <param name="Usage">Tokens the inputs took.</param>
public sealed record OpenAiEmbeddingsResponse(string Object, IReadOnlyList<OpenAiEmbedding> Data, string Model, OpenAiUsage Usage);

/// <summary>One input's embedding.</summary>
/// <param name="Object">Always <c>embedding</c>.</param>
/// <param name="Index">The input's position in the request.</param>
/// <param name="Embedding">An array of numbers [dimensions], or with <c>encoding_format: base64</c> a string of their float32 little-endian bytes.</param>
public sealed record OpenAiEmbedding(string Object, int Index, object Embedding);

/// <summary>Token counts, special tokens included, as the model read the inputs.</summary>
/// <param name="PromptTokens">Tokens of all inputs together.</param>
/// <param name="TotalTokens">The same number (embeddings generate nothing).</param>
public sealed record OpenAiUsage(int PromptTokens, int TotalTokens);

/// <summary>An error of <c>POST /v1/embeddings</c>, in OpenAI's shape, which its clients turn into their exception's message.</summary>
public sealed record OpenAiErrorResponse(OpenAiError Error);

/// <summary>What went wrong, as OpenAI words an error.</summary>
/// <param name="Message">What to fix (the same words as the other endpoints' <see cref="ErrorResponse.Error"/>).</param>
/// <param name="Type"><c>invalid_request_error</c> for a 4xx status, <c>server_error</c> for a 5xx.</param>
/// <param name="Param">The request field at fault, or null.</param>
/// <param name="Code">Always null: OpenAI's codes name conditions of its own service (the HTTP status says the kind of error).</param>
public sealed record OpenAiError(string Message, string Type,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Param,
    [property: System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.Never)] string? Code);

/// <summary>Body of <c>POST /rerank</c>, text-embeddings-inference's rerank request.</summary>
/// <param name="Query">The query each text is scored against (read with it as one pair).</param>
/// <param name="Texts">The texts to rank.</param>
/// <param name="Truncate">Cut a pair longer than the served length (longest-first) instead of answering 422 (default false, as TEI).</param>
/// <param name="RawScores">The model's logit instead of its sigmoid (default false).</param>
/// <param name="ReturnText">Include each text in its result (default false).</param>
/// <param name="TruncationDirection">With <c>truncate</c>: <c>right</c> (default) cuts the end, <c>left</c> the start; in any letter case.</param>
public sealed record RerankRequest(string? Query = null, string[]? Texts = null, bool? Truncate = null, bool? RawScores = null, bool? ReturnText = null,
    string? TruncationDirection = null);

/// <summary>One text's place in a ranking, as TEI answers it (the response is an array of these, most relevant first).</summary>
/// <param name="Index">The text's position in the request's <c>texts</c>.</param>
/// <param name="Text">The text, with <c>return_text</c>; absent otherwise.</param>
/// <param name="Score">Its relevance: the sigmoid of the model's logit, or the logit with <c>raw_scores</c>.</param>
public sealed record Rank(int Index, string? Text, double Score);

/// <summary>Which end of a long pair <c>POST /rerank</c> cuts with <c>truncate</c> (TEI's <c>truncation_direction</c>).</summary>
public enum TruncationDirection
{
    /// <summary>Cut the start, keep the end.</summary>
    Left,

    /// <summary>Cut the end, keep the start (the default).</summary>
    Right,
}

#pragma warning disable CA1819 // request DTOs: arrays are the JSON shape

/// <summary>Body of <c>POST /zero-shot</c>: HF's Inference API request for zero-shot-classification.</summary>
/// <param name="Inputs">One text (answered with one result) or an array of texts (answered with an array of results, in order).</param>
/// <param name="Parameters">The candidate labels and how to score them.</param>
public sealed record ZeroShotRequest(
    [property: System.Text.Json.Serialization.JsonConverter(typeof(StringOrStrings))] string[]? Inputs = null,
    ZeroShotParameters? Parameters = null);

/// <summary>The <c>parameters</c> of a <see cref="ZeroShotRequest"/>, as HF's zero-shot-classification pipeline takes them.</summary>
/// <param name="CandidateLabels">The labels: an array, or one string of labels separated by commas (each trimmed, empty ones dropped, as HF splits it).</param>
/// <param name="MultiLabel">Score each label on its own, so several can be true (default false: the scores of a text sum to 1).</param>
/// <param name="HypothesisTemplate">The hypothesis each label becomes, with <c>{}</c> where the label goes (default <c>This example is {}.</c>).</param>
public sealed record ZeroShotParameters(
    [property: System.Text.Json.Serialization.JsonConverter(typeof(StringOrStrings))] string[]? CandidateLabels = null,
    bool? MultiLabel = null, string? HypothesisTemplate = null);

#pragma warning restore CA1819
