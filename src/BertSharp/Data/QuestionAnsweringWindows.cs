namespace BertSharp.Data;

/// <summary>
/// How extractive QA reads a context longer than the model's window — HF's defaults, the one place both QA fine-tuning
/// (BertSharp.Training) and the QA pipeline (BertSharp.Inference) take them from.
/// </summary>
public static class QuestionAnsweringWindows
{
    /// <summary>HF's <c>max_seq_len</c> / run_qa's <c>max_seq_length</c>: tokens per window, when the model allows it.</summary>
    public const int DefaultWindow = 384;

    /// <summary>HF's <c>doc_stride</c>: context tokens shared by consecutive windows.</summary>
    public const int DefaultDocStride = 128;
}
