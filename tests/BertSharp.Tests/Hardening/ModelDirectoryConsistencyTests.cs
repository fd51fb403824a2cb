using System.Text.Json.Nodes;
using BertSharp.Checkpoints;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Hardening;

/// <summary>
/// A model directory whose files disagree with each other (tokenizer against config.json, weights against the command's
/// task) is refused when it is loaded, with one line naming the file, instead of failing inside libtorch or running a head
/// it does not have.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class ModelDirectoryConsistencyTests
{

    /// <summary>A copy of an HF fixture case (vocab_size 512, vocab.txt of 512 tokens) to break.</summary>
    private static string CopyCase(TempDir tmp, string caseName)
    {
        var dir = tmp.File(caseName);
        TestPaths.CopyTree(HfFixture.Dir(caseName), dir);
        return dir;
    }

    [Fact]
    public void A_vocab_txt_longer_than_vocab_size_is_refused_before_any_text_reaches_the_model()
    {
        using var tmp = TestPaths.TempDir();
        var dir = CopyCase(tmp, "sequence-classification");
        File.AppendAllLines(Path.Combine(dir, "vocab.txt"), Enumerable.Range(0, 500).Select(i => "extra" + i));
        // 512 + 500 tokens: "extra499" is id 1011, past the 512-row embedding matrix.
        const string expected = "1012 tokens (ids up to 1011), but config.json vocab_size is 512";
        CliRunner.Run("predict", "--model", dir, "--text", "extra499").AssertOneLineError(Path.Combine(dir, "vocab.txt") + ": " + expected);
        File.WriteAllText(tmp.File("in.txt"), "extra499\n");
        CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("out.jsonl")).AssertOneLineError(Path.Combine(dir, "vocab.txt") + ": " + expected);
        var e = Assert.Throws<BertSharpException>(() => BertPretrained.LoadTokenizer(dir, BertPretrained.LoadConfig(dir)));
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_vocab_txt_without_sep_is_refused_at_load_naming_the_file()
    {
        // Each command failed only at its first text, with the encoder's advice to leave the special tokens out and no file named.
        using var tmp = TestPaths.TempDir();
        var dir = CopyCase(tmp, "sequence-classification");
        var vocab = Path.Combine(dir, "vocab.txt");
        File.WriteAllLines(vocab, File.ReadAllLines(vocab).Select(t => t == "[SEP]" ? "sep" : t));
        var expected = vocab + ": the vocabulary has no [SEP] token; a BERT model reads every input as [CLS] text [SEP], so it cannot be run with this vocabulary.";
        Assert.Equal("error: " + expected, CliRunner.Run("predict", "--model", dir, "--text", "hello").AssertOneLineError());
        File.WriteAllText(tmp.File("in.txt"), "hello\n");
        Assert.Equal("error: " + expected, CliRunner.Run("embed", "--model", dir, "--input", tmp.File("in.txt"), "--output", tmp.File("out.jsonl")).AssertOneLineError());
        Assert.False(File.Exists(tmp.File("out.jsonl")));
    }

    [Fact]
    public void A_tokenizer_json_with_the_id_vocab_size_is_refused_naming_tokenizer_json()
    {
        using var tmp = TestPaths.TempDir();
        var dir = CopyCase(tmp, "token-classification");
        var tok = BertTokenizer.FromDirectory(dir);
        Assert.Equal(512, tok.Vocab.Count);
        // One token more: its id is 512 == vocab_size, one past the last embedding row (511).
        new BertTokenizer(new Vocabulary([.. tok.Vocab.Tokens, "extra"]), tok.Normalizer, tok.Specials).Save(dir);
        Assert.Equal(513, BertTokenizer.FromDirectory(dir).Vocab.Count);
        CliRunner.Run("ner", "--model", dir, "--text", "extra").AssertOneLineError(Path.Combine(dir, "tokenizer.json") + ": 513 tokens (ids up to 512), but config.json vocab_size is 512");
    }

    [Fact]
    public void Pipeline_constructors_refuse_a_tokenizer_with_more_tokens_than_the_models_vocab_size()
    {
        var dir = HfFixture.Dir("masked-lm");
        var tok = BertTokenizer.FromDirectory(dir);
        // One token more: its id is 512 == vocab_size, one past the last embedding row (511).
        var bigger = new BertTokenizer(new Vocabulary([.. tok.Vocab.Tokens, "extra"]), tok.Normalizer, tok.Specials);
        using var model = BertPretrained.Load<BertForMaskedLM>(dir);
        const string expected = "tokenizer: 513 tokens (ids up to 512), but the model's vocab_size is 512; the model has embeddings for ids 0..511 only.";
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => new FillMask(model, bigger)).Message);
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => new FeatureExtraction(model, bigger)).Message);
        Assert.Equal(expected, Assert.Throws<BertSharpException>(() => new AttentionMaps(model, bigger)).Message);
        // Exactly vocab_size tokens is the model's own tokenizer.
        using var fillMask = new FillMask(model, tok);
        Assert.Equal(3, fillMask.Predict("hello [MASK]", topK: 3)[0].Count);
    }

    [Fact]
    public void Ner_and_evaluate_refuse_a_sequence_classifier_as_predict_refuses_a_token_classifier()
    {
        using var tmp = TestPaths.TempDir();
        // Its classifier.* has the shape of a 3-tag token-classification head: only config.json's architectures tells them apart.
        var classifier = HfFixture.Dir("sequence-classification");
        var expected = Path.Combine(classifier, "config.json") + ": architectures is BertForSequenceClassification; expected {0} " +
                       "(a sequence classifier: run it with 'bert predict').";
        CliRunner.Run("ner", "--model", classifier, "--text", "hello world").AssertOneLineError(string.Format(expected, "BertForTokenClassification"));
        File.WriteAllText(tmp.File("tags.txt"), "hello O\nworld O\n");
        var metrics = tmp.File("m.json");
        CliRunner.Run("evaluate", "--model", classifier, "--task", "ner", "--data", tmp.File("tags.txt"), "--output", metrics).AssertOneLineError(string.Format(expected, "BertForTokenClassification"));
        CliRunner.Run("evaluate", "--model", classifier, "--task", "swag", "--data", tmp.File("tags.txt"), "--output", metrics).AssertOneLineError(string.Format(expected, "BertForMultipleChoice"));
        CliRunner.Run("evaluate", "--model", classifier, "--task", "squad", "--data", tmp.File("tags.txt"), "--output", metrics).AssertOneLineError(string.Format(expected, "BertForQuestionAnswering"));
        Assert.False(File.Exists(metrics));
        var tagger = HfFixture.Dir("token-classification");
        CliRunner.Run("predict", "--model", tagger, "--text", "hello world").AssertOneLineError(Path.Combine(tagger, "config.json") + ": architectures is BertForTokenClassification; expected BertForSequenceClassification (a token classifier: run it with 'bert ner').");
        // The library names its own pipeline, not the command.
        Assert.Equal(Path.Combine(tagger, "config.json") + ": architectures is BertForTokenClassification; expected BertForSequenceClassification (a token classifier: run it with TokenClassification).",
            Assert.Throws<BertSharpException>(() => TextClassifier.Load(tagger)).Message);
        // The right model still runs.
        Assert.Equal(0, CliRunner.Run("ner", "--model", tagger, "--text", "hello world").ExitCode);
    }

    [Fact]
    public void An_unfinished_run_given_as_the_model_is_named_as_such_with_its_newest_checkpoint()
    {
        using var tmp = TestPaths.TempDir();
        // What a fine-tuning stopped by Ctrl-C leaves: checkpoints, no model yet. predict said "runs/x/config.json: config file
        // not found" and evaluate "--task: required (runs/x has no training_args.json naming its task)".
        var run = tmp.File("run");
        TestPaths.CopyTree(HfFixture.Dir("sequence-classification"), Path.Combine(run, "checkpoint-2"));
        TestPaths.CopyTree(HfFixture.Dir("sequence-classification"), Path.Combine(run, "checkpoint-10"));
        Directory.CreateDirectory(Path.Combine(run, "checkpoint-12"));   // a checkpoint being written: no config.json yet
        var expected = run + ": an unfinished training run, not a model yet (no config.json; its newest checkpoint is checkpoint-10); " +
                       "finish the run with --resume, or use that checkpoint's directory as the model.";
        CliRunner.Run("predict", "--model", run, "--text", "hello world").AssertOneLineError(expected);
        File.WriteAllText(tmp.File("dev.tsv"), "sentence\tlabel\nhello world\t1\ngood bye\t0\n");
        var metrics = tmp.File("m.json");
        CliRunner.Run("evaluate", "--model", run, "--data", tmp.File("dev.tsv"), "--output", metrics).AssertOneLineError(expected);
        CliRunner.Run("evaluate", "--model", run, "--task", "sst2", "--data", tmp.File("dev.tsv"), "--output", metrics).AssertOneLineError(expected);
        Assert.False(File.Exists(metrics));
        // The checkpoint it names is a model.
        Assert.Equal(0, CliRunner.Run("predict", "--model", Path.Combine(run, "checkpoint-10"), "--text", "hello world").ExitCode);
    }

    [Fact]
    public void A_fine_tuning_checkpoint_given_as_the_model_is_evaluated_and_predicted_with_its_runs_task_and_settings()
    {
        using var tmp = TestPaths.TempDir();
        // A --save-steps checkpoint has no training_args.json (written with the final model only): evaluate asked for --task
        // ("run/checkpoint-2 has no training_args.json naming its task") and predict --input read the CSV as column 'text'.
        // Columns other than the defaults make a lookup that does not find the run's settings fail.
        var data = tmp.File("train.csv");
        File.WriteAllText(data, "review,stars\n\"Great movie, loved it\",pos\nTerrible plot,neg\nA fine film,pos\nDull and long,neg\n");
        var run = tmp.File("run");
        var finetune = CliRunner.Run("finetune", "--task", "csv", "--text-column", "review", "--label-column", "stars", "--data", data, "--output", run,
            "--config", "tiny", "--vocab", Path.Combine(HfFixture.Dir("sequence-classification"), "vocab.txt"), "--epochs", "2", "--batch-size", "2",
            "--max-length", "24", "--device", "cpu", "--save-steps", "1", "--stop-after", "2");
        Assert.True(finetune.ExitCode == 0, finetune.StdErr);
        var checkpoint = Path.Combine(run, "checkpoint-2");
        Assert.False(File.Exists(Path.Combine(checkpoint, TrainingArgsFile.FileName)));
        var task = TextClassifier.TrainedTask(checkpoint);
        Assert.Equal(("csv", "review", "stars"), (task?.Name, task?.TextColumn, task?.LabelColumn));
        Assert.Equal(24, TrainingArgsFile.Int(TrainingArgsFile.Read(checkpoint), "max_length"));
        var metrics = tmp.File("m.json");
        var evaluate = CliRunner.Run("evaluate", "--model", checkpoint, "--data", data, "--output", metrics);
        Assert.True(evaluate.ExitCode == 0, evaluate.StdErr);
        Assert.Equal(4, JsonNode.Parse(File.ReadAllText(metrics))!["examples"]!.GetValue<int>());
        var predictions = tmp.File("p.jsonl");
        var predict = CliRunner.Run("predict", "--model", checkpoint, "--input", data, "--output", predictions);
        Assert.True(predict.ExitCode == 0, predict.StdErr);
        Assert.Equal(4, File.ReadAllLines(predictions).Length);
        // A checkpoint whose settings name no task (a pre-training run's) is asked for --task, naming both places looked in.
        var pretrained = CopyCase(tmp, "sequence-classification");
        File.WriteAllText(Path.Combine(pretrained, "trainer_state.json"), "{\"global_step\": 2, \"settings\": {\"max_length\": 24}}\n");
        CliRunner.Run("evaluate", "--model", pretrained, "--data", data, "--output", metrics + "2").AssertOneLineError(
            $"--task: required ({pretrained} has no training_args.json or a trainer_state.json whose settings name its task); one of imdb, cola, sst2, mrpc, csv, tsv, jsonl.");
    }

    [Fact]
    public void A_head_models_run_given_to_predict_input_or_evaluate_task_is_named_as_that_model_not_as_an_unknown_task_flag()
    {
        using var tmp = TestPaths.TempDir();
        // What 'bert finetune --task ner' leaves: its training_args.json names the task ner, which is no text-classification task.
        // A learner's predict --input and evaluate --task sst2 on it said "--task ner: unknown task", a flag never given.
        var tagger = CopyCase(tmp, "token-classification");
        File.WriteAllText(Path.Combine(tagger, TrainingArgsFile.FileName), "{\"task\": \"ner\"}\n");
        File.WriteAllText(tmp.File("dev.tsv"), "sentence\tlabel\nhello world\t1\ngood bye\t0\n");
        var expected = Path.Combine(tagger, "config.json") + ": architectures is BertForTokenClassification; expected BertForSequenceClassification (a token classifier: run it with 'bert ner').";
        var output = tmp.File("out.jsonl");
        CliRunner.Run("predict", "--model", tagger, "--input", tmp.File("dev.tsv"), "--output", output).AssertOneLineError(expected);
        CliRunner.Run("predict", "--model", tagger, "--input", tmp.File("dev.tsv"), "--task", "sst2", "--output", output).AssertOneLineError(expected);
        Assert.False(File.Exists(output));
        var metrics = tmp.File("m.json");
        CliRunner.Run("evaluate", "--model", tagger, "--task", "sst2", "--data", tmp.File("dev.tsv"), "--output", metrics).AssertOneLineError(expected);
        Assert.False(File.Exists(metrics));
        // Without config.json's architectures to name, the recorded task is named where it was read.
        var bare = tmp.File("bare");
        Directory.CreateDirectory(bare);
        File.WriteAllText(Path.Combine(bare, TrainingArgsFile.FileName), "{\"task\": \"squad\"}\n");
        Assert.Equal(Path.Combine(bare, TrainingArgsFile.FileName) + ": task is squad, not a text-classification task; expected one of imdb, cola, sst2, mrpc, csv, tsv, jsonl.",
            Assert.Throws<BertSharpException>(() => TextClassifier.TrainedTask(bare)).Message);
    }

    [Fact]
    public void A_config_json_with_a_duplicate_key_is_an_exit_2_error_in_every_command()
    {
        using var tmp = TestPaths.TempDir();
        var dir = CopyCase(tmp, "sequence-classification");
        var config = Path.Combine(dir, "config.json");
        File.WriteAllText(config, File.ReadAllText(config).TrimEnd().TrimEnd('}') + ", \"hidden_size\": 64}");
        var expected = config + ": duplicate key 'hidden_size'.";
        CliRunner.Run("predict", "--model", dir, "--text", "hello").AssertOneLineError(expected);
        CliRunner.Run("inspect", dir).AssertOneLineError(expected);
        File.WriteAllText(tmp.File("train.tsv"), "sentence\tlabel\nhello there\t1\nnot this\t0\n");
        CliRunner.Run("finetune", "--task", "sst2", "--data", tmp.File("train.tsv"), "--val-size", "0", "--config", config,
            "--vocab", Path.Combine(dir, "vocab.txt"), "--output", tmp.File("m"), "--epochs", "1").AssertOneLineError(expected);
        Assert.False(Directory.Exists(tmp.File("m")));
    }

    [Fact]
    public void A_tokenizer_json_of_another_shape_or_with_a_duplicate_key_is_an_exit_2_error()
    {
        using var tmp = TestPaths.TempDir();
        var dir = CopyCase(tmp, "sequence-classification");
        var json = Path.Combine(dir, "tokenizer.json");
        File.WriteAllText(json, "[]");
        CliRunner.Run("predict", "--model", dir, "--text", "hello").AssertOneLineError(json + ": expected a JSON object.");
        File.WriteAllText(json, """{"model": "WordPiece"}""");
        CliRunner.Run("predict", "--model", dir, "--text", "hello").AssertOneLineError(json + ": model: expected an object, got \"WordPiece\".");
        File.WriteAllText(json, """{"model": {"type": 1, "vocab": {"[UNK]": 0}}}""");
        CliRunner.Run("predict", "--model", dir, "--text", "hello").AssertOneLineError(json + ": model.type: expected a string, got 1.");
        File.WriteAllText(json, """{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 1, "[UNK]": 2}}}""");
        CliRunner.Run("predict", "--model", dir, "--text", "hello").AssertOneLineError(json + ": duplicate key 'model.vocab.[UNK]'.");
        File.WriteAllText(json, """{"model": {"type": "WordPiece", "vocab": {"[UNK]": 0}}, "post_processor": {"type": "BertProcessing", "cls": "[CLS]"}}""");
        CliRunner.Run("predict", "--model", dir, "--text", "hello").AssertOneLineError(json + ": post_processor: not the shape HF's BertProcessing has");
    }

    [Fact]
    public void A_training_args_json_with_a_duplicate_key_is_refused()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File(TrainingArgsFile.FileName), """{"task": "sst2", "truncation_side": "head", "truncation_side": "tail"}""");
        var e = Assert.Throws<BertSharpException>(() => TrainingArgsFile.Read(tmp.Path));
        Assert.Equal(tmp.File(TrainingArgsFile.FileName) + ": duplicate key 'truncation_side'.", e.Message);
    }

    [Fact]
    public void A_squad_answer_start_that_is_not_a_number_is_an_exit_2_error()
    {
        using var tmp = TestPaths.TempDir();
        var squad = tmp.File("dev.json");
        File.WriteAllText(squad, """
            {"version": "1.1", "data": [{"paragraphs": [{"context": "Anna lives in Paris.",
              "qas": [{"id": "q1", "question": "Where?", "answers": [{"text": "Paris", "answer_start": "14"}]}]}]}]}
            """);
        var model = HfFixture.Dir("question-answering");
        const string expected = "question q1: answer_start: expected an integer (a character offset ≥ 0), got \"14\".";
        CliRunner.Run("evaluate", "--model", model, "--task", "squad", "--data", squad, "--output", tmp.File("m.json")).AssertOneLineError(squad + ": " + expected);
        CliRunner.Run("finetune", "--task", "squad", "--data", squad, "--model", model, "--output", tmp.File("ft"), "--epochs", "1").AssertOneLineError(squad + ": " + expected);
        File.WriteAllText(squad, """{"data": [{"paragraphs": [{"context": "x", "qas": ["q1"]}]}]}""");
        CliRunner.Run("evaluate", "--model", model, "--task", "squad", "--data", squad, "--output", tmp.File("m.json")).AssertOneLineError(squad + ": an entry of \"qas\" is \"q1\"; expected a question object");
    }

    [Fact]
    public void A_classifier_whose_id2label_repeats_a_name_is_refused_naming_config_json()
    {
        using var tmp = TestPaths.TempDir();
        var dir = CopyCase(tmp, "sequence-classification");
        var path = Path.Combine(dir, "config.json");
        File.WriteAllText(path, File.ReadAllText(path).Replace("\"2\": \"LABEL_2\"", "\"2\": \"LABEL_0\"", StringComparison.Ordinal));
        // It said only "duplicate label names: LABEL_0, LABEL_1, LABEL_0.", naming no class (HF loads it and answers with two classes of one name).
        CliRunner.Run("predict", "--model", dir, "--text", "a fine film")
            .AssertOneLineError($"{path}: field 'id2label': classes \"0\" and \"2\" are both named \"LABEL_0\"; expected each label once, in id order.");
        // A tagger's entities named the repeated tag whichever class the model chose (evaluate refused the model, ner did not).
        var tagger = CopyCase(tmp, "token-classification");
        var taggerConfig = Path.Combine(tagger, "config.json");
        File.WriteAllText(taggerConfig, File.ReadAllText(taggerConfig).Replace("\"3\": \"LABEL_3\"", "\"3\": \"LABEL_1\"", StringComparison.Ordinal));
        var refusal = $"{taggerConfig}: field 'id2label': classes \"1\" and \"3\" are both named \"LABEL_1\"; expected each tag once, in id order.";
        CliRunner.Run("ner", "--model", tagger, "--text", "a fine film").AssertOneLineError(refusal);
        Assert.Equal(refusal, Assert.Throws<BertSharpException>(() => BertSharp.Server.ServedModel.Load(tagger, "cpu", maxLength: null)).Message);
    }

    // run_glue.py on a CSV of integer labels writes id2label {"0": -1, ...} as JSON numbers: the model did not load.
    [Fact]
    public void A_classifier_with_numeric_label_names_predicts_them_as_written()
    {
        using var tmp = TestPaths.TempDir();
        var dir = CopyCase(tmp, "sequence-classification");
        var path = Path.Combine(dir, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        config["id2label"] = new JsonObject { ["0"] = -1, ["1"] = 0, ["2"] = 1 };
        config["label2id"] = new JsonObject { ["-1"] = 0, ["0"] = 1, ["1"] = 2 };
        File.WriteAllText(path, config.ToJsonString());
        using var classifier = TextClassifier.Load(dir, "cpu");
        Assert.Equal(["-1", "0", "1"], classifier.Labels.Labels);
        var p = Assert.Single(classifier.Predict([("a fine film", null)]));
        Assert.Equal(classifier.Labels.Labels[p.LabelId], p.Label);
    }

    [Fact]
    public void A_vocabulary_up_to_vocab_size_still_loads()
    {
        using var tmp = TestPaths.TempDir();
        var dir = CopyCase(tmp, "sequence-classification");
        var config = BertPretrained.LoadConfig(dir);
        Assert.Equal(512, BertPretrained.LoadTokenizer(dir, config).Vocab.Count);
        // HF pads vocab_size past the vocabulary (e.g. to a multiple of 64): fewer tokens than rows is fine.
        config.VocabSize = 1024;
        Assert.Equal(512, BertPretrained.LoadTokenizer(dir, config).Vocab.Count);
    }
}
