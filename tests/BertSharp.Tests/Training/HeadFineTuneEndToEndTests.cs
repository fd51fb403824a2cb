using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using BertSharp.Data;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Training;

namespace BertSharp.Tests.Training;

/// <summary>
/// Whole fine-tuning runs of the task heads on small data generated here (there are no public NER / QA / SWAG sets on these
/// machines): a model with the fixtures' tiny config trained from scratch must learn the generated pattern well above
/// chance, and the CLI round trip <c>finetune</c> → <c>evaluate</c> → <c>ner</c> / <c>qa</c> / <c>predict</c> must agree
/// with what the run recorded.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class HeadFineTuneEndToEndTests
{
    private static readonly string Config = Path.Combine(TestPaths.Fixtures, "hf_bert", "token-classification", "config.json");
    private static readonly string Vocab = Path.Combine(TestPaths.Fixtures, "hf_bert", "token-classification", "vocab.txt");

    // Words of the 512-token fixture vocabulary.
    private static readonly string[] People = ["john", "kim", "steven", "herman", "audrey"];
    private static readonly string[] Places = ["york", "bangor", "county", "district"];
    private static readonly string[] Filler = ["the", "cat", "dog", "sat", "was", "happy", "with", "and", "he", "she", "said", "to", "of", "book", "table", "house", "music", "on"];

    // Names the fixture vocabulary splits into several word pieces (the generated sentences' words are one piece each), so that
    // --label-all-tokens has pieces past the first to label.
    private static readonly Dictionary<string, (string Word, string[] Pieces)> Longer = new(StringComparer.Ordinal)
    {
        ["john"] = ("johnson", ["john", "##s", "##on"]), ["steven"] = ("stevenson", ["steven", "##s", "##on"]), ["herman"] = ("hermann", ["herman", "##n"]),
        ["audrey"] = ("audreys", ["audrey", "##s"]), ["bangor"] = ("bangors", ["bangor", "##s"]), ["york"] = ("yorker", ["york", "##er"]),
        ["district"] = ("districts", ["district", "##s"]),
    };

    internal static string[] Common(string model) =>
        ["--config", Config, "--vocab", Vocab, "--lr", "2e-3", "--batch-size", "8", "--device", "cpu", "--seed", "7", "--output", model];

    private static JsonNode Json(string path) => JsonNode.Parse(File.ReadAllText(path))!;

    /// <summary>Sentences of filler words with one or two people (one or two words) and a place, tagged IOB2.</summary>
    internal static List<(string[] Words, string[] Tags)> NerSentences(int count, int seed)
    {
        var rng = new Random(seed);
        var result = new List<(string[], string[])>();
        for (var n = 0; n < count; n++)
        {
            var words = new List<string>();
            var tags = new List<string>();
            void Fill(int k)
            {
                for (var i = 0; i < k; i++)
                {
                    words.Add(Filler[rng.Next(Filler.Length)]);
                    tags.Add("O");
                }
            }
            Fill(rng.Next(1, 4));
            words.Add(People[rng.Next(People.Length)]);
            tags.Add("B-PER");
            if (rng.Next(2) == 0)
            {
                words.Add(People[rng.Next(People.Length)]);
                tags.Add("I-PER");
            }
            Fill(rng.Next(1, 4));
            words.Add(Places[rng.Next(Places.Length)]);
            tags.Add("B-LOC");
            Fill(rng.Next(0, 3));
            result.Add(([.. words], [.. tags]));
        }
        return result;
    }

    internal static void WriteConll(string path, IEnumerable<(string[] Words, string[] Tags)> sentences)
    {
        var sb = new StringBuilder("-DOCSTART- -X- -X- O\n\n");
        foreach (var (w, t) in sentences)
        {
            for (var i = 0; i < w.Length; i++)
            {
                sb.Append(CultureInfo.InvariantCulture, $"{w[i]} NN O {t[i]}\n");
            }
            sb.Append('\n');
        }
        File.WriteAllText(path, sb.ToString());
    }

    private static void WriteJsonLines(string path, IEnumerable<(string[] Words, string[] Tags)> sentences) =>
        File.WriteAllLines(path, sentences.Select(s => new JsonObject
        {
            ["tokens"] = new JsonArray([.. s.Words.Select(w => (JsonNode)w)]),
            ["ner_tags"] = new JsonArray([.. s.Tags.Select(t => (JsonNode)t)]),
        }.ToJsonString()));

    [Fact]
    public void Ner_learns_generated_entities_and_round_trips_through_evaluate_and_ner()
    {
        using var tmp = TestPaths.TempDir();
        var train = tmp.File("train.conll");
        var dev = tmp.File("dev.jsonl");
        WriteConll(train, NerSentences(96, 1));
        WriteJsonLines(dev, NerSentences(24, 2));
        var model = tmp.File("ner");
        var run = CliRunner.Run(["finetune", "--task", "ner", "--data", train, "--eval-data", dev, "--epochs", "6", .. Common(model)]);
        Assert.True(run.ExitCode == 0, run.StdErr + run.StdOut);
        Assert.Equal(["epoch", "train loss", "val loss", "val acc", "val f1", "elapsed", "ex/s"], EpochTableTests.Cells(run.StdOut.Split('\n')[0]));
        Assert.Contains("labels: the first word piece of each word", run.StdErr, StringComparison.Ordinal);
        // Every type predicted and in the data: no precision or recall is undefined.
        Assert.DoesNotContain("undefined", run.StdErr, StringComparison.Ordinal);
        var config = Json(Path.Combine(model, "config.json"));
        Assert.Equal("BertForTokenClassification", (string)config["architectures"]![0]!);
        Assert.Equal(["B-LOC", "B-PER", "I-PER", "O"], Enumerable.Range(0, 4).Select(i => (string)config["id2label"]![i.ToString(CultureInfo.InvariantCulture)]!));
        var saved = Json(Path.Combine(model, "metrics.json"))["metrics"]!;
        // Chance entity F1 is near 0 (an entity must match in type, start and end).
        Assert.True((double)saved["f1"]! > 0.8, $"entity F1 {(double)saved["f1"]!}");
        Assert.True((double)saved["PER_f1"]! > 0.7 && (double)saved["LOC_f1"]! > 0.7, saved.ToJsonString());
        Assert.Equal(24 * 2, (int)(double)saved["LOC_number"]! + (int)(double)saved["PER_number"]!);
        // loss.png has the validation loss of each epoch at its last step, as a classification's has (96 sentences in
        // batches of 8: 12 steps an epoch).
        var epochs = TrainLog.Read(Path.Combine(model, TrainLog.FileName)).Where(e => TrainLog.TypeOf(e) == "epoch").ToList();
        LossPlotChecks.AssertAPointPerValidation(model, "ner", evalSteps: null, [12, 24, 36, 48, 60, 72],
            [.. epochs.Select(e => (double)e["validation"]!["loss"]!)]);

        // evaluate reloads the weights and reproduces the validation metrics; the task comes from training_args.json. In the
        // run's validation batches: the loss, HF's eval_loss, weighs each batch's labelled-token mean by its sentences.
        var metrics = tmp.File("eval.json");
        var eval = CliRunner.Run("evaluate", "--model", model, "--data", dev, "--batch-size", "8", "--output", metrics);
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        var evaluated = Json(metrics)["metrics"]!;
        foreach (var k in new[] { "f1", "precision", "recall", "accuracy", "loss" })
        {
            Assert.Equal((double)saved[k]!, (double)evaluated[k]!, 1e-9);
        }
        // Both files carry the predicted entity counts, the same for the same weights and data.
        Assert.Equal(Json(Path.Combine(model, "metrics.json"))["predicted_entities"]!.ToJsonString(), Json(metrics)["predicted_entities"]!.ToJsonString());

        // A model trained on first pieces only is read with HF's "first" aggregation unless told otherwise: by bert ner, the
        // library and the server alike.
        Assert.Equal(AggregationStrategy.First, TokenClassification.DefaultAggregationFor(model));
        Assert.Equal(AggregationStrategy.Simple, TokenClassification.DefaultAggregationFor(Path.Combine(TestPaths.Fixtures, "hf_bert", "token-classification")));
        using (var served = BertSharp.Server.ServedModel.Load(model, "cpu", maxLength: null))
        {
            Assert.Equal(AggregationStrategy.First, served.Ner!.DefaultAggregation);
        }
        // ner tags a new sentence with the learned pattern.
        const string sentence = "the cat sat with john and kim in bangor";
        var ner = CliRunner.Run("ner", "--model", model, "--text", sentence);
        Assert.True(ner.ExitCode == 0, ner.StdErr);
        var entities = ner.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        Assert.Contains(entities, e => (string)e["entity"]! == "LOC" && (string)e["word"]! == "bangor");
        Assert.Contains(entities, e => (string)e["entity"]! == "PER" && ((string)e["word"]!).Contains("john", StringComparison.Ordinal));
        using (var pipe = TokenClassification.Load(model, "cpu"))
        {
            var byDefault = pipe.Predict([sentence])[0];
            Assert.Equal(pipe.Predict([sentence], AggregationStrategy.First)[0].Select(e => (e.Entity, e.Word)), byDefault.Select(e => (e.Entity, e.Word)));
            Assert.Equal(entities.Select(e => ((string)e["entity"]!, (string)e["word"]!)), byDefault.Select(e => (e.Entity, e.Word)));
        }

        // Validation data whose only LOC is a filler word, which the model never tags LOC: bert finetune says the LOC precision
        // is undefined, as bert evaluate does (it said nothing, and LOC's 0 read as every LOC wrong). A tiny step keeps the weights.
        var noPlace = tmp.File("no-place.conll");
        WriteConll(noPlace, [(["the", "cat", "sat", "with", "john"], ["O", "O", "O", "O", "B-PER"]), (["kim", "was", "happy", "on", "the", "table"], ["B-PER", "O", "O", "O", "O", "B-LOC"])]);
        var further = CliRunner.Run("finetune", "--task", "ner", "--model", model, "--data", train, "--max-train-examples", "8", "--eval-data", noPlace,
            "--freeze-encoder", "--lr", "1e-9", "--epochs", "1", "--batch-size", "8", "--device", "cpu", "--output", tmp.File("further"));
        Assert.True(further.ExitCode == 0, further.StdErr + further.StdOut);
        Assert.Contains("warning: the final model's validation: undefined (a zero denominator), counted as 0 as seqeval's zero_division default: "
            + "the precision of 'LOC' (the model predicted no entity of that type); their f1 is 0 as well.\n", further.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Ner_validates_in_batches_of_the_eval_batch_size_as_bert_evaluate_does_with_that_batch_size()
    {
        using var tmp = TestPaths.TempDir();
        var train = tmp.File("train.conll");
        var dev = tmp.File("dev.conll");
        WriteConll(train, NerSentences(8, 1));
        WriteConll(dev, NerSentences(5, 2));
        var model = tmp.File("ner");
        var run = CliRunner.Run(["finetune", "--task", "ner", "--data", train, "--eval-data", dev, "--epochs", "1", "--eval-batch-size", "2", .. Common(model)]);
        Assert.True(run.ExitCode == 0, run.StdErr + run.StdOut);
        Assert.Equal((8, 2), ((int)Json(Path.Combine(model, "training_args.json"))["batch_size"]!, (int)Json(Path.Combine(model, "training_args.json"))["per_device_eval_batch_size"]!));
        Assert.Contains("\n- train_batch_size: 8\n- eval_batch_size: 2\n", File.ReadAllText(Path.Combine(model, "README.md")), StringComparison.Ordinal);
        var validated = (double)Json(Path.Combine(model, "metrics.json"))["metrics"]!["loss"]!;

        // eval_loss weighs each batch's mean over its labelled tokens by its sentences: the 5 sentences in batches of 2 give
        // the run's number, in one batch of 8 another.
        double Evaluated(int batchSize)
        {
            var output = tmp.File("eval" + batchSize.ToString(CultureInfo.InvariantCulture) + ".json");
            var eval = CliRunner.Run("evaluate", "--model", model, "--data", dev, "--batch-size", batchSize.ToString(CultureInfo.InvariantCulture), "--output", output);
            Assert.True(eval.ExitCode == 0, eval.StdErr);
            return (double)Json(output)["metrics"]!["loss"]!;
        }
        Assert.Equal(validated, Evaluated(2), 1e-9);
        Assert.True(Math.Abs(validated - Evaluated(8)) > 1e-6);
    }

    [Fact]
    public void Ner_with_no_bucketing_validates_in_file_order_as_hf_and_evaluate_follows_the_recorded_setting()
    {
        using var tmp = TestPaths.TempDir();
        // A head that gives every token p(B-PER) = 3/4, p(O) = 1/4 whatever the encoder says: the loss is a function of the
        // tags and of which sentences share a batch. The tags are the data's (sorted), so fine-tuning keeps this head.
        var start = tmp.File("start");
        var config = BertConfig.Load(Config);
        config.Id2Label = new SortedDictionary<int, string> { [0] = "B-PER", [1] = "O" };
        using (var m = BertPretrained.Create<BertForTokenClassification>(config))
        {
            using (TorchSharp.torch.no_grad())
            {
                var parameters = m.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
                parameters["classifier.weight"].zero_();
                parameters["classifier.bias"].copy_(TorchSharp.torch.tensor(new[] { (float)Math.Log(3), 0f }));
            }
            BertPretrained.Save(m, start, new SaveOptions(TokenizerFrom: Path.GetDirectoryName(Config)));
        }
        // One word piece per word: 3, 6 and 4 tokens. In file order, batches of 2 are {0, 1} and {2}; by length {0, 2} and {1}.
        var dev = tmp.File("dev.conll");
        WriteConll(dev, [(["john"], ["B-PER"]), (["the", "cat", "the", "cat"], ["O", "O", "O", "O"]), (["kim", "the"], ["B-PER", "O"])]);
        double per = Math.Log(4.0 / 3), o = Math.Log(4);
        var inFileOrder = ((2 * ((per + (4 * o)) / 5)) + ((per + o) / 2)) / 3;
        var byLength = ((2 * (((2 * per) + o) / 3)) + o) / 3;
        Assert.True(Math.Abs(inFileOrder - byLength) > 0.1);

        // A step of 1e-9 leaves the head's losses as they were to well under 1e-6.
        var model = tmp.File("ner");
        var run = CliRunner.Run("finetune", "--task", "ner", "--model", start, "--data", dev, "--eval-data", dev, "--no-bucketing", "--epochs", "1",
            "--batch-size", "3", "--eval-batch-size", "2", "--freeze-encoder", "--lr", "1e-9", "--device", "cpu", "--output", model);
        Assert.True(run.ExitCode == 0, run.StdErr + run.StdOut);
        Assert.False((bool)Json(Path.Combine(model, "training_args.json"))["bucket_by_length"]!);
        Assert.Equal(inFileOrder, (double)Json(Path.Combine(model, "metrics.json"))["metrics"]!["loss"]!, 1e-6);

        // evaluate batches as the model's fine-tuning validated: in file order for this one, by length for one without the setting.
        double Evaluated(string m, string name)
        {
            var output = tmp.File(name);
            var eval = CliRunner.Run("evaluate", "--model", m, "--data", dev, "--batch-size", "2", "--output", output);
            Assert.True(eval.ExitCode == 0, eval.StdErr);
            return (double)Json(output)["metrics"]!["loss"]!;
        }
        Assert.Equal(inFileOrder, Evaluated(model, "fine-tuned.json"), 1e-6);
        Assert.Equal(byLength, Evaluated(start, "start.json"), 1e-6);
    }

    [Fact]
    public void Ner_label_all_tokens_and_freezing_are_recorded_and_applied()
    {
        using var tmp = TestPaths.TempDir();
        // JSON lines with integer tags (the HF datasets layout) and the tag names in id order.
        string[] tags = ["B-LOC", "B-PER", "I-PER", "O"];
        var train = tmp.File("train.jsonl");
        // 8 sentences: one batch, so the first step's loss is over all of them.
        var sentences = NerSentences(8, 3).Select(s => (Words: s.Words.Select(w => Longer.TryGetValue(w, out var l) ? l.Word : w).ToArray(), s.Tags)).ToList();
        File.WriteAllLines(train, sentences.Select(s => new JsonObject
        {
            ["tokens"] = new JsonArray([.. s.Words.Select(w => (JsonNode)w)]),
            ["ner_tags"] = new JsonArray([.. s.Tags.Select(t => (JsonNode)Array.IndexOf(tags, t))]),
        }.ToJsonString()));
        var frozen = tmp.File("fro\u202ezen");
        // Validated (on its own data) in seqeval's strict IOB2 mode, which the plan says and training_args.json and metrics.json record.
        var run = CliRunner.Run(["finetune", "--task", "ner", "--data", train, "--labels", string.Join(',', tags), "--epochs", "1", "--freeze-encoder",
            "--label-all-tokens", "--eval-data", train, "--ner-mode", "strict", "--ner-scheme", "IOB2", .. Common(frozen)]);
        Assert.True(run.ExitCode == 0, run.StdErr + run.StdOut);
        // The output's path is shown as data in the closing lines: U+202E reversed the rest of each.
        Assert.Contains($"\nsaved {tmp.File("fro\\u202ezen")}", run.StdOut, StringComparison.Ordinal);
        Assert.Contains($"\nnext: bert evaluate --model $'{tmp.File("fro\\u202ezen")}' --data FILE  |  bert ner --model $'{tmp.File("fro\\u202ezen")}' --text", run.StdOut, StringComparison.Ordinal);
        Assert.Contains("frozen: the whole encoder", run.StdErr, StringComparison.Ordinal);
        Assert.Contains("validation: seqeval's strict mode, IOB2 scheme", run.StdErr, StringComparison.Ordinal);
        var args = Json(Path.Combine(frozen, "training_args.json"));
        Assert.True((bool)args["label_all_tokens"]!);
        Assert.True((bool)args["freeze_encoder"]!);
        Assert.Equal(("strict", "IOB2"), ((string)args["ner_mode"]!, (string)args["ner_scheme"]!));
        var metrics = Json(Path.Combine(frozen, "metrics.json"));
        Assert.Equal(("strict", "IOB2"), ((string)metrics["ner_mode"]!, (string)metrics["ner_scheme"]!));
        // Only the head moved: the encoder equals a fresh model of the same seed (the run starts from torch's seed).
        using var trained = BertPretrained.Load<BertForTokenClassification>(frozen);
        TorchSharp.torch.manual_seed(7);
        var source = BertSharp.Inference.ClassifierCheckpoint.Describe(null, Config, Vocab, null);
        var cfg = source.Config.Clone();
        cfg.Id2Label = new SortedDictionary<int, string> { [0] = "B-LOC", [1] = "B-PER", [2] = "I-PER", [3] = "O" };
        using var fresh = BertPretrained.Create<BertForTokenClassification>(cfg);
        var before = fresh.NamedParameters().ToDictionary(p => p.Name, p => p.Param);
        foreach (var (name, p) in trained.NamedParameters())
        {
            var same = p.equal(before[name]).all().item<bool>();
            Assert.True(name.StartsWith("bert.", StringComparison.Ordinal) ? same : !same, $"{name}: {(same ? "unchanged" : "changed")}");
        }
        // Every piece of a word is labelled (a B- tag's later pieces with its I- tag, as HF's b_to_i_label; B-LOC has no I-LOC and
        // keeps its own): the first step's loss is the fresh model's on those labels, with the ids written out from vocab.txt.
        var vocab = File.ReadAllLines(Vocab).Select((token, id) => (token, id)).ToDictionary(p => p.token, p => (long)p.id, StringComparer.Ordinal);
        var rows = sentences.Select(s =>
        {
            List<long> ids = [vocab["[CLS]"]], labels = [-100];
            foreach (var (word, tag) in s.Words.Zip(s.Tags))
            {
                var pieces = Longer.Values.FirstOrDefault(l => l.Word == word).Pieces ?? [word];
                var continuation = tag == "B-PER" ? "I-PER" : tag;
                ids.AddRange(pieces.Select(p => vocab[p]));
                labels.AddRange(pieces.Select((_, i) => (long)Array.IndexOf(tags, i == 0 ? tag : continuation)));
            }
            return (Ids: (List<long>)[.. ids, vocab["[SEP]"]], Labels: (List<long>)[.. labels, -100]);
        }).ToList();
        Assert.True(rows.Sum(r => r.Ids.Count) > sentences.Sum(s => s.Words.Length + 2), "no word of several pieces");
        var width = rows.Max(r => r.Ids.Count);
        long[] Padded(Func<(List<long> Ids, List<long> Labels), IEnumerable<long>> row, long pad) =>
            [.. rows.SelectMany(r => row(r).Concat(Enumerable.Repeat(pad, width - r.Ids.Count)))];
        using (var scope = TorchSharp.torch.NewDisposeScope())
        {
            var input = new BertInput(TorchSharp.torch.tensor(Padded(r => r.Ids, 0), [rows.Count, width]),
                TorchSharp.torch.tensor(Padded(r => r.Ids.Select(_ => 1L), 0), [rows.Count, width]));
            var expected = fresh.Forward(input, TorchSharp.torch.tensor(Padded(r => r.Labels, -100), [rows.Count, width])).Loss!.item<float>();
            var step1 = TrainLog.Read(Path.Combine(frozen, "train_log.jsonl")).First(e => TrainLog.TypeOf(e) == "train");
            Assert.Equal(1, TrainLog.StepOf(step1));
            Assert.Equal(expected, TrainLog.Number(step1, "loss"), 1e-5);
            // The validation data (the same sentences) are labelled on every piece too: metrics.json's loss is the saved
            // model's over those labels.
            var validation = trained.Forward(input, TorchSharp.torch.tensor(Padded(r => r.Labels, -100), [rows.Count, width])).Loss!.item<float>();
            Assert.Equal(validation, (double)metrics["metrics"]!["loss"]!, 1e-5);
        }

        var layers = CliRunner.Run(["finetune", "--task", "ner", "--data", train, "--labels", string.Join(',', tags), "--epochs", "1", "--freeze-layers", "3",
            .. Common(tmp.File("x"))]);
        Assert.Equal(2, layers.ExitCode);
        Assert.Contains("--freeze-layers 3: expected 0…2 (the model has 2 layers)", layers.StdErr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(tmp.File("x")));
    }

    /// <summary>Contexts of filler words with a person somewhere ("who was happy?"); unanswerable ones have none.</summary>
    internal static List<SquadExample> QaExamples(int count, int seed, double impossibleShare)
    {
        var rng = new Random(seed);
        var result = new List<SquadExample>();
        for (var n = 0; n < count; n++)
        {
            var words = Enumerable.Range(0, rng.Next(6, 14)).Select(_ => Filler[rng.Next(Filler.Length)]).ToList();
            var answers = new List<SquadAnswer>();
            if (rng.NextDouble() >= impossibleShare)
            {
                var at = rng.Next(words.Count);
                var person = People[rng.Next(People.Length)];
                words.Insert(at, person);
                answers.Add(new SquadAnswer(person, string.Join(' ', words.Take(at)).Length + (at == 0 ? 0 : 1)));
            }
            result.Add(new SquadExample($"q{seed}-{n}", "who was happy ?", string.Join(' ', words), answers));
        }
        return result;
    }

    [Fact]
    public void Squad_validates_at_the_steps_a_ratio_of_eval_steps_resolves_to()
    {
        using var tmp = TestPaths.TempDir();
        var train = tmp.File("train.json");
        var dev = tmp.File("dev.json");
        File.WriteAllText(train, SquadData.ToJson(QaExamples(16, 1, 0)));
        File.WriteAllText(dev, SquadData.ToJson(QaExamples(4, 2, 0)));
        var model = tmp.File("qa");
        // 16 one-window questions in batches of 8 for 3 epochs: 6 steps, validated every ceil(6 × 0.5) = 3 (a loss-free
        // validation: SQuAD's reports exact and f1 only).
        var run = CliRunner.Run(["finetune", "--task", "squad", "--data", train, "--eval-data", dev, "--epochs", "3", "--max-length", "32", "--eval-steps", "0.5",
            .. Common(model)]);
        Assert.True(run.ExitCode == 0, run.StdErr + run.StdOut);
        var args = Json(Path.Combine(model, "training_args.json"));
        Assert.Equal((6L, 3L, 0L), ((long)args["total_steps"]!, (long)args["eval_steps"]!, (long)args["save_steps"]!));
        var log = TrainLog.Read(Path.Combine(model, TrainLog.FileName));
        Assert.Equal([3L, 6L], log.Where(e => TrainLog.TypeOf(e) == "eval").Select(TrainLog.StepOf));
        // HF's fractional epochs of the validations: 1.5 and 3 of the 2-step epochs.
        Assert.Equal([1.5, 3.0], log.Where(e => TrainLog.TypeOf(e) == "eval").Select(e => TrainLog.Number(e, "epoch")));
    }

    [Fact]
    public void Squad_v2_learns_answers_and_no_answers_and_round_trips_through_evaluate_and_qa()
    {
        using var tmp = TestPaths.TempDir();
        var train = tmp.File("train.json");
        var dev = tmp.File("dev.json");
        File.WriteAllText(train, SquadData.ToJson(QaExamples(96, 1, 0.3)));
        File.WriteAllText(dev, SquadData.ToJson(QaExamples(32, 2, 0.3)));
        var model = tmp.File("qa");
        var run = CliRunner.Run(["finetune", "--task", "squad", "--data", train, "--eval-data", dev, "--epochs", "8", "--max-length", "32", .. Common(model)]);
        Assert.True(run.ExitCode == 0, run.StdErr + run.StdOut);
        Assert.Contains("SQuAD v2.0: 96 questions", run.StdErr, StringComparison.Ordinal);
        // The v2.0 scores of both kinds of question (the dev data hold both), and no loss or accuracy, which SQuAD's validation has none of.
        Assert.Equal(["epoch", "train loss", "val exact", "val f1", "HasAns_f1", "NoAns_f1", "elapsed", "ex/s"], EpochTableTests.Cells(run.StdOut.Split('\n')[0]));
        Assert.DoesNotContain("n/a", run.StdOut, StringComparison.Ordinal);
        // 32-token windows leave at most 28 context tokens, so the default stride of 128 shares at most 14 of them.
        Assert.Contains("(doc stride 128, capped at half of each window's context: at most 14)", run.StdErr, StringComparison.Ordinal);
        var saved = Json(Path.Combine(model, "metrics.json"))["metrics"]!;
        // Chance: a random span of ~10 context tokens, and "no answer" for ~30 % of the questions.
        Assert.True((double)saved["best_f1"]! > 80, saved.ToJsonString());
        Assert.True((double)saved["HasAns_exact"]! > 60, saved.ToJsonString());
        Assert.NotNull(saved["best_f1_thresh"]);
        // Every metric --save-best may name for squad is one that v2.0 validation with both kinds of question reports.
        Assert.All(HeadFineTuner.MetricNames(HeadTask.QuestionAnswering), m => Assert.NotNull(saved[m]));

        // evaluate reloads the weights and reproduces the run's scores; the threshold option decides "no answer".
        var metrics = tmp.File("eval.metrics.json");
        var eval = CliRunner.Run("evaluate", "--model", model, "--data", dev, "--output", metrics);
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        var evaluated = Json(metrics)["metrics"]!;
        foreach (var k in new[] { "exact", "f1", "HasAns_exact", "NoAns_exact", "best_f1", "best_exact" })
        {
            Assert.Equal((double)saved[k]!, (double)evaluated[k]!);
        }
        Assert.Equal((double)saved["best_f1_thresh"]!, (double)evaluated["best_f1_thresh"]!, 1e-9);
        double At(string threshold)
        {
            var path = tmp.File($"at{threshold}.metrics.json");
            var r = CliRunner.Run("evaluate", "--model", model, "--data", dev, "--output", path, "--null-score-diff-threshold", threshold);
            Assert.True(r.ExitCode == 0, r.StdErr);
            return (double)Json(path)["metrics"]!["NoAns_exact"]!;
        }
        // Every question answered with its best span: an unanswerable one is right only when that span normalises to "" ("the").
        Assert.True(At("1e9") < (double)saved["NoAns_exact"]!, $"NoAns_exact {(double)saved["NoAns_exact"]!}");
        Assert.Equal(100.0, At("-1e9")); // none answered
        var predictions = Json(tmp.File("eval.predictions.json")).AsObject();
        Assert.Equal(32, predictions.Count);
        Assert.True(File.Exists(tmp.File("eval.null_odds.json")));
        // Each file evaluate wrote is named on stdout (docs/tasks.md lists all three).
        Assert.Contains($"wrote {tmp.File("eval.predictions.json")}", eval.StdOut, StringComparison.Ordinal);
        Assert.Contains($"wrote {tmp.File("eval.null_odds.json")}", eval.StdOut, StringComparison.Ordinal);

        // qa answers a new question with the learned pattern.
        var qa = CliRunner.Run("qa", "--model", model, "--question", "who was happy ?", "--context", "the dog sat on the table with audrey and the cat");
        Assert.True(qa.ExitCode == 0, qa.StdErr);
        Assert.Equal("audrey", (string)JsonNode.Parse(qa.StdOut.Split('\n')[0])!["answer"]!);
    }

    [Fact]
    public void A_bad_validation_file_on_rank_0_ends_every_rank_of_a_data_parallel_head_run()
    {
        // As for sequence classification (FineTuneEndToEndTests): rank 0 alone reads it, and its error reaches every rank.
        using var tmp = TestPaths.TempDir();
        var train = tmp.File("train.conll");
        WriteConll(train, NerSentences(8, 1));
        var dev = tmp.File("dev.conll");
        File.WriteAllText(dev, "john\n");
        HeadFineTuneOptions Options() => new()
        {
            Task = HeadTask.TokenClassification,
            Training = new() { DataPath = train, EvalDataPath = dev, OutputDir = tmp.File("o"), ConfigPreset = Config, VocabPath = Vocab, Device = "cpu" },
        };
        var rank0 = new Distributed.AgreeingRank(0, 2);
        Assert.StartsWith(dev, Assert.Throws<BertSharpException>(() => HeadFineTuner.Run(Options(), communicator: rank0)).Message, StringComparison.Ordinal);
        Assert.Equal([false], rank0.Arrivals);
        var rank1 = new Distributed.AgreeingRank(1, 2, failedRank: 0);
        var other = Assert.Throws<BertSharp.Distributed.RankFailedException>(() => HeadFineTuner.Run(Options(), communicator: rank1));
        Assert.StartsWith("rank 0 of 2 failed during reading the data and checking the run's settings;", other.Message, StringComparison.Ordinal);
        Assert.Equal([true], rank1.Arrivals);
        Assert.False(Directory.Exists(tmp.File("o")));
    }

    [Fact]
    public void Squad_v1_learns_spans_with_the_library_api()
    {
        using var tmp = TestPaths.TempDir();
        var train = tmp.File("train.json");
        File.WriteAllText(train, SquadData.ToJson(QaExamples(64, 3, 0)));
        var dev = tmp.File("dev.json");
        File.WriteAllText(dev, SquadData.ToJson(QaExamples(24, 4, 0)));
        var result = HeadFineTuner.Run(new HeadFineTuneOptions
        {
            Task = HeadTask.QuestionAnswering,
            Training = new()
            {
                DataPath = train, EvalDataPath = dev, OutputDir = tmp.File("qa"), ConfigPreset = Config, VocabPath = Vocab,
                LearningRate = 2e-3, BatchSize = 8, Epochs = 6, MaxLength = 32, Device = "cpu", Seed = 7,
            },
        });
        var v = result.FinalValidation!.Values;
        Assert.False(v.ContainsKey("best_f1"), "v1.1 reports exact and f1 only");
        Assert.True(v["exact"] > 60, $"exact {v["exact"]}");
        Assert.Equal(6 * 8, result.StepLosses.Count);
        Assert.True(result.StepLosses.Skip(40).Average() < result.StepLosses.Take(8).Average() / 2, "the loss fell");
    }

    /// <summary>Questions whose right ending mentions being happy; the other endings do not.</summary>
    internal static string SwagCsv(int count, int seed)
    {
        var rng = new Random(seed);
        var sb = new StringBuilder("video-id,sent1,sent2,ending0,ending1,ending2,ending3,label\n");
        string Words(int k) => string.Join(' ', Enumerable.Range(0, k).Select(_ => Filler[rng.Next(6, Filler.Length)]));
        for (var n = 0; n < count; n++)
        {
            var label = rng.Next(4);
            var endings = Enumerable.Range(0, 4).Select(i => i == label ? $"was happy {Words(2)}" : $"was {Words(3)}").ToArray();
            sb.Append(CultureInfo.InvariantCulture, $"v{n},{Words(5)},he,{string.Join(',', endings)},{label}\n");
        }
        return sb.ToString();
    }

    [Fact]
    public void Swag_learns_the_right_ending_and_round_trips_through_evaluate_and_predict()
    {
        using var tmp = TestPaths.TempDir();
        var train = tmp.File("train.csv");
        var dev = tmp.File("dev.csv");
        File.WriteAllText(train, SwagCsv(96, 1));
        File.WriteAllText(dev, SwagCsv(32, 2));
        var model = tmp.File("swag");
        var run = CliRunner.Run(["finetune", "--task", "swag", "--data", train, "--eval-data", dev, "--epochs", "6", "--freeze-layers", "1", .. Common(model)]);
        Assert.True(run.ExitCode == 0, run.StdErr + run.StdOut);
        Assert.Contains("frozen: the embeddings and the first 1 encoder layer(s)", run.StdErr, StringComparison.Ordinal);
        Assert.Equal(["epoch", "train loss", "val loss", "val acc", "elapsed", "ex/s"], EpochTableTests.Cells(run.StdOut.Split('\n')[0]));
        var saved = Json(Path.Combine(model, "metrics.json"))["metrics"]!;
        Assert.True((double)saved["accuracy"]! > 0.75, $"accuracy {(double)saved["accuracy"]!} (chance 0.25)");
        // Every metric --save-best may name for swag is one its validation reports.
        Assert.All(HeadFineTuner.MultipleChoiceMetricNames, m => Assert.NotNull(saved[m]));

        var metrics = tmp.File("eval.json");
        var eval = CliRunner.Run("evaluate", "--model", model, "--data", dev, "--output", metrics);
        Assert.True(eval.ExitCode == 0, eval.StdErr);
        Assert.Equal((double)saved["accuracy"]!, (double)Json(metrics)["metrics"]!["accuracy"]!);

        // predict over the file agrees with evaluate's accuracy; --text with --choice picks the happy ending.
        var out1 = tmp.File("pr\u202eed.jsonl");
        var pred = CliRunner.Run("predict", "--model", model, "--input", dev, "--output", out1);
        Assert.True(pred.ExitCode == 0, pred.StdErr);
        // The output's path is shown as data: U+202E reversed the rest of the line.
        Assert.EndsWith($" predictions to {tmp.File("pr\\u202eed.jsonl")}", pred.StdOut.TrimEnd(), StringComparison.Ordinal);
        var labels = SwagData.Read(dev).Select(e => e.Label).ToList();
        var chosen = File.ReadAllLines(out1).Select(l => (int?)(int)JsonNode.Parse(l)!["choice"]!).ToList();
        Assert.Equal((double)saved["accuracy"]!, chosen.Zip(labels, (c, l) => c == l ? 1.0 : 0.0).Average());
        var single = CliRunner.Run("predict", "--model", model, "--text", "the cat sat with the dog", "--choice", "he was book table", "--choice", "he was happy\u001b[31m\nhouse");
        Assert.True(single.ExitCode == 0, single.StdErr);
        // The tokenizer drops the escape and reads the line break as a space; the answer shows the choice as data, on one line.
        Assert.StartsWith("choice 1: he was happy\\x1b[31m house (", single.StdOut, StringComparison.Ordinal);
    }

    // A sentence cut at max_length loses its last words' tags: the plan warns in the words evaluate and ner use; it said only
    // "N examples reach the maximum length (truncated)" at the end of its first line.
    [Fact]
    public void Ner_plan_warns_of_sentences_cut_at_the_maximum_length()
    {
        using var tmp = TestPaths.TempDir();
        var train = tmp.File("train.conll");
        // The generated words are one piece each; johnson is three (john ##s ##on), of which the cut keeps the first: the
        // sentence is cut though no word is cut off, and it was not counted. The longest was not named. The warning said "the
        // words after that were not read", untrue of johnson, which loses only ##s ##on: it speaks of tokens.
        var sentences = NerSentences(8, 3);
        sentences.Add((["the", "cat", "sat", "johnson"], ["O", "O", "O", "B-PER"]));
        WriteConll(train, sentences);
        var run = CliRunner.Run(["finetune", "--task", "ner", "--data", train, "--epochs", "1", "--stop-after", "1", "--max-length", "6", .. Common(tmp.File("ner"))]);
        Assert.True(run.ExitCode == 0, run.StdErr + run.StdOut);
        var lengths = sentences.Select(s => s.Words.Length + 2).ToList();
        lengths[^1] = 8;
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"\nwarning: {lengths.Count(n => n > 6)} of 9 inputs are longer than 6 tokens (longest {lengths.Max()}) and were truncated to 6; the tokens after that were not read (--max-length sets the limit).\n"),
            "\n" + run.StdErr.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        // Said once: a note of the plan also counted the sentences that lost a word, as 'longer than 6 tokens'.
        Assert.DoesNotContain("longer than 6", run.StdOut + run.StdErr.Replace("inputs are longer than 6", "", StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_input_is_one_line_exit_2_and_no_output()
    {
        using var tmp = TestPaths.TempDir();
        var bad = tmp.File("bad.conll");
        File.WriteAllText(bad, "John B-PER\nsat O\nlonely\n");
        var squad = tmp.File("s.json");
        File.WriteAllText(squad, SquadData.ToJson(QaExamples(4, 1, 0)));
        var swag = tmp.File("s.csv");
        File.WriteAllText(swag, "sent1,sent2,ending0,ending1,label\nx,y,a,b,\n");
        var iobes = tmp.File("iobes.conll");
        File.WriteAllText(iobes, "John S-PER\nsat O\n");
        var output = tmp.File("out");
        (string[] Args, string Message)[] cases =
        [
            // seqeval's strict mode raises on a tag outside its scheme: here before training, naming the file and the tag.
            (["finetune", "--task", "ner", "--data", iobes, "--ner-mode", "strict", "--ner-scheme", "IOB2"],
                $"error: {iobes}: tag 'S-PER' is not a tag of the IOB2 scheme, whose tags are B-TYPE, I-TYPE and O."),
            (["finetune", "--task", "ner", "--data", iobes, "--ner-mode", "strict"], "--ner-mode strict: give the scheme with --ner-scheme"),
            (["finetune", "--task", "squad", "--data", squad, "--ner-mode", "default"], "--ner-mode default: only for token classification, not for squad."),
            // A tag list was ignored for the other heads without a word; a list that is no tag list is refused as misplaced.
            (["finetune", "--task", "squad", "--data", squad, "--labels", "O"], "--labels O: only for token classification, not for squad."),
            // The other settings of one head were ignored by the others without a word.
            (["finetune", "--task", "ner", "--data", bad, "--doc-stride", "64"], "--doc-stride 64: only for question answering, not for ner."),
            (["finetune", "--task", "sst2", "--data", squad, "--ner-scheme", "IOB2"], "--ner-scheme: only for the ner task, not for --task sst2."),
            (["finetune", "--task", "ner", "--data", bad], $"{bad} line 3: 'lonely' has one field"),
            (["finetune", "--task", "swag", "--data", swag], $"{swag} line 2: empty label"),
            (["finetune", "--task", "squad", "--data", squad, "--val-size", "2"], "--val-size: not available for --task squad"),
            (["finetune", "--task", "squad", "--data", squad, "--resume"], "nothing to --resume"),
            (["finetune", "--task", "squad", "--data", squad, "--freeze-encoder", "--freeze-layers", "1"], "give one or the other"),
            (["finetune", "--task", "sst2", "--data", squad, "--label-all-tokens"], "--label-all-tokens: only for the ner task, not for --task sst2."),
            (["finetune", "--task", "ner", "--data", bad, "--eval-batch-size", "0"], "--eval-batch-size 0: expected a positive number."),
        ];
        foreach (var (args, message) in cases)
        {
            var r = CliRunner.Run([.. args, .. Common(output)]);
            Assert.True(r.ExitCode == 2, $"{string.Join(' ', args)}: exit {r.ExitCode}: {r.StdErr}");
            Assert.Contains(message, r.StdErr, StringComparison.Ordinal);
            Assert.Single(r.StdErr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
            Assert.False(Directory.Exists(output), "no output for bad input");
        }
        // evaluate refuses them by the same rule, before the model is read.
        CliRunner.Run("evaluate", "--task", "swag", "--model", output, "--data", swag, "--max-answer-length", "5")
            .AssertOneLineError("--max-answer-length 5: only for question answering, not for swag.");
    }
}
