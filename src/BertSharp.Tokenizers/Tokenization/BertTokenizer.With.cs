namespace BertSharp.Tokenization;

public sealed partial class BertTokenizer
{
    /// <summary>
    /// The same tokenizer with another <see cref="ModelMaxLength"/> (what <see cref="Save"/> writes as <c>model_max_length</c>:
    /// the longest input the model was trained on).
    /// </summary>
    public BertTokenizer WithModelMaxLength(int? modelMaxLength) =>
        modelMaxLength == ModelMaxLength
            ? this
            : new BertTokenizer(Vocab, Normalizer, Specials, MaxInputCharsPerWord, modelMaxLength) { DecoderCleanup = DecoderCleanup };
}
