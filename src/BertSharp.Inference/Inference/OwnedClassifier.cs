namespace BertSharp.Inference;

/// <summary>The Load of a pipeline that owns the <see cref="TextClassifier"/> it reads (zero-shot classification, reranking).</summary>
internal static class OwnedClassifier
{
    /// <summary>
    /// <paramref name="over"/> of <paramref name="classifier"/>; when it refuses the model, the classifier (and any ONNX session
    /// it opened) is disposed here, since no pipeline exists to dispose it with.
    /// </summary>
    public static T Over<T>(TextClassifier classifier, Func<TextClassifier, T> over)
    {
        try
        {
            return over(classifier);
        }
        catch
        {
            classifier.Dispose();
            throw;
        }
    }
}
