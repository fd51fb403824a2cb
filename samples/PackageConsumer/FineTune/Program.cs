// Fine-tunes a tiny BERT from scratch on the 24 bundled sentences (data/train.csv) with the BertSharp packages and predicts
// two new ones:
//   dotnet run --project FineTune -- OUTPUT_DIR
// Prints the validation metrics (on the training sentences: a model this small should fit them) and one JSON line per
// prediction. Everything it writes goes under OUTPUT_DIR: vocab.txt, config.json and the fine-tuned model in model/.
using System.Text.Json;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tokenization;
using BertSharp.Tokenization.Training;
using BertSharp.Training;

var output = Path.GetFullPath(args.Length > 0 ? args[0] : "runs/package-consumer");
Directory.CreateDirectory(output);
var data = Path.Combine(AppContext.BaseDirectory, "data", "train.csv");

// 1. A WordPiece vocabulary learned from the sentences themselves (BertSharp.Tokenizers).
var texts = File.ReadLines(data).Skip(1).Select(line => line[..line.LastIndexOf(',')]);
var counts = WordCounter.CountBertWords(texts, new NormalizerOptions());
var trained = new WordPieceTrainer(new WordPieceTrainerOptions { VocabSize = 200, MinFrequency = 1 }).Train(counts);
var vocabPath = Path.Combine(output, "vocab.txt");
new Vocabulary(trained.Tokens).Save(vocabPath);

// 2. A tiny configuration (BertSharp): 2 layers, hidden size 32.
var configPath = Path.Combine(output, "config.json");
new BertConfig
{
    VocabSize = trained.Tokens.Count, HiddenSize = 32, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 64,
    MaxPositionEmbeddings = 64,
}.Save(configPath);

// 3. Fine-tuning (BertSharp.Training): the data doubles as validation set, so that the metrics show the fit.
var modelDir = Path.Combine(output, "model");
var result = FineTuner.Run(new FineTuneOptions
{
    Task = TaskSpec.Get("csv"),
    Training = new TrainingOptions
    {
        DataPath = data, EvalDataPath = data, OutputDir = modelDir, Overwrite = true,
        ConfigPreset = configPath, VocabPath = vocabPath, Epochs = 30, BatchSize = 8, LearningRate = 2e-3, MaxLength = 16,
        Device = "cpu", Seed = 7,
    },
});
var metrics = result.FinalValidation!;
Console.WriteLine($"validation accuracy {metrics.Get("accuracy"):F4} loss {metrics.Get("loss"):F4} after {result.StepLosses.Count} steps");

// 4. Prediction (BertSharp.Inference) from the saved model directory.
using var classifier = TextClassifier.Load(modelDir, device: "cpu");
foreach (var text in new[] { "a wonderful story , i loved it", "a boring film , i hated it" })
{
    var p = classifier.Predict(text);
    Console.WriteLine(JsonSerializer.Serialize(new { text, label = p.Label, score = p.Score, probabilities = p.Probabilities }));
}
return 0;
