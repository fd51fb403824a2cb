
namespace BertSharp.Modeling;

/// <summary>
/// The parameter names and shapes a model class would have for a config, computed without building it, so sizes can be
/// checked against a checkpoint (or a budget) before anything is allocated. Libtorch's module constructors allocate on the
/// CPU whatever the default device, so the <c>meta</c> device cannot stand in for this; a test keeps the two in step by
/// comparing with <see cref="BertPreTrainedModel.NamedParameters"/> of real models.
/// </summary>
internal static class ParameterShapes
{
    /// <summary>The most parameters BertSharp builds in one model (BERT-large has 335 M); more is a config error.</summary>
    public const long MaxParameters = 1L << 31;

    /// <summary>Each parameter of <paramref name="architecture"/> once (tied aliases left out), with its shape.</summary>
    public static List<(string Name, long[] Shape)> For(string architecture, BertConfig c) => For(architecture, c, c.NumHiddenLayers);

    private static List<(string Name, long[] Shape)> For(string architecture, BertConfig c, int layers)
    {
        long h = c.HiddenSize, v = c.VocabSize, labels = c.NumLabels;
        var (prefix, pooler) = architecture switch
        {
            nameof(BertModel) => ("", true),
            nameof(BertForMaskedLM) or nameof(BertForTokenClassification) or nameof(BertForQuestionAnswering) => ("bert.", false),
            _ => ("bert.", true),
        };
        var list = new List<(string, long[])>();
        void Linear(string name, long outFeatures, long inFeatures)
        {
            list.Add((name + ".weight", [outFeatures, inFeatures]));
            list.Add((name + ".bias", [outFeatures]));
        }
        void Norm(string name)
        {
            list.Add((name + ".weight", [h]));
            list.Add((name + ".bias", [h]));
        }
        var e = prefix + "embeddings.";
        list.Add((e + "word_embeddings.weight", [v, h]));
        list.Add((e + "position_embeddings.weight", [c.MaxPositionEmbeddings, h]));
        list.Add((e + "token_type_embeddings.weight", [c.TypeVocabSize, h]));
        Norm(e + "LayerNorm");
        for (var i = 0; i < layers; i++)
        {
            var l = Invariant($"{prefix}encoder.layer.{i}.");
            Linear(l + "attention.self.query", h, h);
            Linear(l + "attention.self.key", h, h);
            Linear(l + "attention.self.value", h, h);
            Linear(l + "attention.output.dense", h, h);
            Norm(l + "attention.output.LayerNorm");
            Linear(l + "intermediate.dense", c.IntermediateSize, h);
            Linear(l + "output.dense", h, c.IntermediateSize);
            Norm(l + "output.LayerNorm");
        }
        if (pooler)
        {
            Linear(prefix + "pooler.dense", h, h);
        }
        var mlm = architecture is nameof(BertForPreTraining) or nameof(BertForMaskedLM);
        if (mlm)
        {
            list.Add(("cls.predictions.bias", [v]));
            Linear("cls.predictions.transform.dense", h, h);
            Norm("cls.predictions.transform.LayerNorm");
        }
        switch (architecture)
        {
            case nameof(BertForPreTraining) or nameof(BertForNextSentencePrediction):
                Linear("cls.seq_relationship", 2, h);
                break;
            case nameof(BertForSequenceClassification) or nameof(BertForTokenClassification):
                Linear("classifier", labels, h);
                break;
            case nameof(BertForQuestionAnswering):
                Linear("qa_outputs", 2, h);
                break;
            case nameof(BertForMultipleChoice):
                Linear("classifier", 1, h);
                break;
        }
        return list;
    }

    /// <summary>
    /// The number of parameters without listing every layer (a config may ask for a million), saturating at
    /// <see cref="long.MaxValue"/>.
    /// </summary>
    public static long Count(string architecture, BertConfig c)
    {
        try
        {
            checked
            {
                long Sum(int layers) => For(architecture, c, layers).Sum(p => p.Shape.Aggregate(1L, (a, b) => a * b));
                long outside = Sum(0);
                return outside + (c.NumHiddenLayers * (Sum(1) - outside));
            }
        }
        catch (OverflowException)
        {
            return long.MaxValue;
        }
    }
}
