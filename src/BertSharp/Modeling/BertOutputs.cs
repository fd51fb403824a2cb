using static TorchSharp.torch;

namespace BertSharp.Modeling;

/// <summary>Inputs of one BERT forward pass. Ids, masks and segment ids are int64.</summary>
/// <param name="InputIds">Token ids [batch, seq] (multiple choice: [batch, choices, seq]).</param>
/// <param name="AttentionMask">1 for real tokens, 0 for padding, same shape as <paramref name="InputIds"/>; null = all ones.</param>
/// <param name="TokenTypeIds">Segment ids (0 first sentence, 1 second), same shape; null = all zeros.</param>
/// <param name="PositionIds">Position ids, same shape; null = 0..seq-1.</param>
public sealed record BertInput(Tensor InputIds, Tensor? AttentionMask = null, Tensor? TokenTypeIds = null, Tensor? PositionIds = null);

/// <summary>Output of <see cref="BertModel"/>.</summary>
/// <param name="LastHiddenState">Encoder output [batch, seq, hidden].</param>
/// <param name="PoolerOutput">tanh(dense(first token)) [batch, hidden]; null when the model has no pooler.</param>
/// <param name="HiddenStates">When requested: embedding output then every layer's output, each [batch, seq, hidden] (layers + 1 entries).</param>
/// <param name="Attentions">When requested: each layer's softmax attention probabilities [batch, heads, seq, seq].</param>
public sealed record BertModelOutput(
    Tensor LastHiddenState,
    Tensor? PoolerOutput,
    IReadOnlyList<Tensor>? HiddenStates = null,
    IReadOnlyList<Tensor>? Attentions = null);

/// <summary>Output of <see cref="BertForPreTraining"/>.</summary>
/// <param name="PredictionLogits">MLM logits [batch, seq, vocab], or [labelled positions, vocab] when the forward pass ran the head at labelled positions only.</param>
/// <param name="SeqRelationshipLogits">NSP logits [batch, 2] (0 = IsNext).</param>
/// <param name="Loss">MLM + NSP loss (scalar) when both label sets were given.</param>
/// <param name="MlmLoss">MLM cross-entropy over labels != -100 (scalar) when MLM labels were given.</param>
/// <param name="NspLoss">NSP cross-entropy (scalar) when NSP labels were given.</param>
/// <param name="Bert">The encoder's outputs.</param>
public sealed record BertForPreTrainingOutput(
    Tensor PredictionLogits, Tensor SeqRelationshipLogits, Tensor? Loss, Tensor? MlmLoss, Tensor? NspLoss, BertModelOutput Bert);

/// <summary>Output of <see cref="BertForMaskedLM"/>.</summary>
/// <param name="Logits">
/// MLM logits [batch, seq, vocab]; with <c>logitsAtLabelledPositionsOnly: true</c> and labels, [labelled positions, vocab]
/// (the positions whose label is not -100, in row-major order).
/// </param>
/// <param name="Loss">Cross-entropy over labels != -100 (scalar) when labels were given.</param>
/// <param name="Bert">The encoder's outputs (no pooler).</param>
public sealed record MaskedLMOutput(Tensor Logits, Tensor? Loss, BertModelOutput Bert);

/// <summary>Output of the classification heads (sequence, token, next-sentence, multiple choice).</summary>
/// <param name="Logits">
/// Sequence: [batch, num_labels]; token: [batch, seq, num_labels]; next sentence: [batch, 2]; multiple choice: [batch, choices].
/// </param>
/// <param name="Loss">The head's loss (scalar) when labels were given.</param>
/// <param name="Bert">The encoder's outputs (multiple choice: choices flattened into the batch).</param>
public sealed record ClassifierOutput(Tensor Logits, Tensor? Loss, BertModelOutput Bert);

/// <summary>Output of <see cref="BertForQuestionAnswering"/>.</summary>
/// <param name="StartLogits">Answer-start logits [batch, seq].</param>
/// <param name="EndLogits">Answer-end logits [batch, seq].</param>
/// <param name="Loss">
/// (CE(start) + CE(end)) / 2 (scalar) when positions were given; as HF, a position ≥ seq is ignored and a negative one counts as
/// position 0.
/// </param>
/// <param name="Bert">The encoder's outputs (no pooler).</param>
public sealed record QuestionAnsweringOutput(Tensor StartLogits, Tensor EndLogits, Tensor? Loss, BertModelOutput Bert);
