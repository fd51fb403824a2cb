using BertSharp.Tokenization;

namespace BertSharp.Inference;

/// <summary>One window of a text: its encoding (offsets in the whole text) and raw logits [tokens][num_labels].</summary>
internal sealed record TokenWindow(BertEncoding Encoding, float[][] Logits);
