using System.Text.Json;
using BertSharp.Checkpoints;
using BertSharp.Checkpoints.Onnx;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Distributed;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Server;
using BertSharp.Tests.Training;
using TorchSharp;

namespace BertSharp.Tests.Checkpoints.Hub;

/// <summary>
/// Every entry point that takes "a model directory or Hub id", given the id of an HF fixture served by the fake Hub, answers
/// as it does given the fixture's directory: a loader that took the id for a directory (the pipelines' tokenizer did) fails
/// or answers differently here. Serial: the environment names the Hub cache, and fine-tuning draws from torch's generator.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public sealed class HubIdEntryPointTests(HubIdEntryPointTests.ServedFixtures served) : IClassFixture<HubIdEntryPointTests.ServedFixtures>
{
    /// <summary>The HF fixture cases, each downloaded once from one fake Hub as <c>org/CASE</c> into one cache.</summary>
    public sealed class ServedFixtures : IDisposable
    {
        public static readonly string[] Cases =
            ["sequence-classification", "masked-lm", "pretraining", "token-classification", "question-answering", "multiple-choice", "base-model"];

        // Fixtures with the settings a BertSharp fine-tuning records beside the weights, which change how the model answers
        // (a null content removes the file).
        private static readonly (string Name, string From, (string File, string? Content)[] Files)[] Tuned =
        [
            ("ner-first", "token-classification", [(TrainingArgsFile.FileName, """{"task": "ner", "label_all_tokens": false, "ner_mode": "strict", "ner_scheme": "IOB2"}""")]),
            ("cls-short", "sequence-classification", [(TrainingArgsFile.FileName, """{"max_length": 6}""")]),
            // Trained on 32 of its 64 positions: a longer max_length is allowed with a warning that names the model.
            ("cls-trained-32", "sequence-classification", [("tokenizer_config.json", """{"do_lower_case": true, "model_max_length": 32}""")]),
            // Weights without a tokenizer: pre-training refuses it for want of the vocab.txt its data was built with.
            ("pretraining-no-vocab", "pretraining", [("vocab.txt", null), ("tokenizer_config.json", null), ("special_tokens_map.json", null)]),
        ];

        public TempDir Cache { get; } = TestPaths.TempDir();

        private readonly TempDir _local = TestPaths.TempDir();

        public ServedFixtures()
        {
            using var hub = new FakeHub();
            var options = new HubOptions { Endpoint = hub.Endpoint, CacheDir = Cache.Path, ReadTimeout = TimeSpan.FromSeconds(20) };
            using var client = new HubClient(options);
            foreach (var (name, from, files) in Tuned)
            {
                TestPaths.CopyTree(HfDir(from), Path.Combine(_local.Path, name));
                foreach (var (file, content) in files)
                {
                    var path = Path.Combine(_local.Path, name, file);
                    if (content is null)
                    {
                        File.Delete(path);
                    }
                    else
                    {
                        File.WriteAllText(path, content);
                    }
                }
            }
            foreach (var name in Cases.Concat(Tuned.Select(t => t.Name)))
            {
                var dir = Dir(name);
                hub.AddRepo("org/" + name, [.. Directory.GetFiles(dir).Where(f => Path.GetFileName(f) != "reference.safetensors")
                    .Select(f => (Path.GetFileName(f), File.ReadAllBytes(f), f.EndsWith(".safetensors", StringComparison.Ordinal)))]);
                client.DownloadModel("org/" + name);
            }
        }

        /// <summary>Until disposed, Hub ids resolve offline from this cache, as a user's second run would.</summary>
        internal EnvScope Offline() => new(("HF_HUB_OFFLINE", "1"), ("HF_HUB_CACHE", Cache.Path), ("HF_HOME", null));

        /// <summary>The local directory of a fixture served as <c>org/NAME</c>.</summary>
        public string Dir(string name) => Tuned.Any(t => t.Name == name) ? Path.Combine(_local.Path, name) : HfDir(name);

        public void Dispose()
        {
            Cache.Dispose();
            _local.Dispose();
        }
    }

    private static string HfDir(string fixture) => Path.Combine(TestPaths.Fixtures, "hf_bert", fixture);

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private static string Logits(BertForSequenceClassification model)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        model.eval();
        var ids = torch.tensor(new long[] { 101, 7, 42, 300, 102 }).reshape(1, -1);
        return Json(model.Forward(new BertInput(ids)).Logits.data<float>().ToArray());
    }

    // What each entry point answers for a model: a row fails when the Hub id does not load, or loads something else.
    private static readonly Dictionary<string, (string Fixture, Func<string, TempDir, string> Answer)> Rows = new()
    {
        ["BertPretrained.Load"] = ("sequence-classification", (m, _) => { using var model = BertPretrained.Load<BertForSequenceClassification>(m); return Logits(model); }),
        ["BertPretrained.LoadConfig"] = ("token-classification", (m, _) => BertPretrained.LoadConfig(m).ToJson()),
        ["ClassifierCheckpoint.Load"] = ("sequence-classification", (m, _) =>
        {
            var (model, tokenizer, labels) = ClassifierCheckpoint.Load(m);
            using (model)
            {
                return Logits(model) + tokenizer.Vocab.Count + Json(labels.Labels);
            }
        }),
        // The config's origin is said as typed: the fixture's path, or the id's config.json, never the snapshot in the cache.
        ["ClassifierCheckpoint.Describe"] = ("sequence-classification", (m, _) =>
        {
            var source = ClassifierCheckpoint.Describe(m, null, null, null);
            return source.Config.ToJson() + source.Tokenizer.Vocab.Count + source.ConfigOrigin.Replace(m, "MODEL", StringComparison.Ordinal);
        }),
        ["TextClassifier.Load"] = ("sequence-classification", (m, _) => { using var c = TextClassifier.Load(m, "cpu"); return Json(c.Predict([("hello world", null), ("a b c", "d e")])); }),
        ["FeatureExtraction.Load"] = ("base-model", (m, _) => { using var p = FeatureExtraction.Load(m, "cpu"); return Json(p.Embed(["hello world", "the movie"])); }),
        ["FillMask.Load"] = ("masked-lm", (m, _) => { using var p = FillMask.Load(m, "cpu"); return Json(p.Predict("the [MASK] was good .", topK: 3)); }),
        ["NextSentence.Load"] = ("pretraining", (m, _) => { using var p = NextSentence.Load(m, "cpu"); return Json(p.Predict("the movie", "was good")); }),
        ["TokenClassification.Load"] = ("token-classification", (m, _) =>
        {
            using var p = TokenClassification.Load(m, "cpu");
            return Json(p.Predict(["laura smith joined reuters in vienna"], ignoreLabels: [])) + p.DefaultAggregation;
        }),
        // A fine-tuned model's recorded settings: first-piece aggregation, strict seqeval, its validation's length.
        ["TokenClassification.Load fine-tuned"] = ("ner-first", (m, _) =>
        {
            using var p = TokenClassification.Load(m, "cpu");
            return Json(p.Predict(["laura smith joined reuters in vienna"], ignoreLabels: [])) + p.DefaultAggregation;
        }),
        ["TokenClassification.DefaultAggregationFor"] = ("ner-first", (m, _) => TokenClassification.DefaultAggregationFor(m).ToString()),
        ["SeqevalMode.Trained"] = ("ner-first", (m, _) => BertSharp.Evaluation.SeqevalMode.Trained(m).ToString()!),
        ["TextClassifier.Load fine-tuned"] = ("cls-short", (m, _) =>
        {
            using var c = TextClassifier.Load(m, "cpu");
            using var validated = TextClassifier.Load(m, "cpu", c.FineTunedMaxLength);
            return c.FineTunedMaxLength + Json(validated.Predict([("hello world and a much longer text than six pieces", null)]));
        }),
        ["TextClassifier.Load past its trained length"] = ("cls-trained-32", (m, _) =>
        {
            using var c = TextClassifier.Load(m, "cpu", 48);
            return c.Length.Warning!.Replace(m, "MODEL", StringComparison.Ordinal);
        }),
        ["QuestionAnswering.Load"] = ("question-answering", (m, _) =>
        {
            using var p = QuestionAnswering.Load(m, "cpu");
            return Json(p.Answer([("who joined ?", "laura smith joined reuters in vienna .")]));
        }),
        ["MultipleChoice.Load"] = ("multiple-choice", (m, _) =>
        {
            using var p = MultipleChoice.Load(m, "cpu");
            return Json(p.Predict([("the chef cracks two eggs", ["he whisks them", "he flies"])]));
        }),
        ["SemanticSearch.Build"] = ("base-model", (m, _) =>
        {
            using var p = FeatureExtraction.Load(m, "cpu");
            var search = SemanticSearch.Build(p, ["the movie was good", "a cat sat", "rain today"]);
            return Json(search.Search("a good film", 2));
        }),
        // The trainer's own checks after loading the model: its vocab.txt, named as typed (the id's, not the snapshot's).
        ["PretrainingTrainer.Run without vocab.txt"] = ("pretraining-no-vocab", (m, tmp) =>
        {
            var refusal = PretrainingRefusal(m, PretrainingData(tmp, Path.Combine(HfDir("pretraining"), "vocab.txt")), tmp);
            Assert.StartsWith("MODEL/vocab.txt: not found;", refusal, StringComparison.Ordinal);
            return refusal;
        }),
        ["PretrainingTrainer.Run on data of another vocabulary"] = ("pretraining", (m, tmp) =>
        {
            // The model's vocabulary with one token more: another SHA-256 than the data's manifest records.
            var vocab = Path.Combine(tmp.Path, "vocab.txt");
            File.WriteAllLines(vocab, [.. File.ReadLines(Path.Combine(HfDir("pretraining"), "vocab.txt")), "zzzextra"]);
            var refusal = PretrainingRefusal(m, PretrainingData(tmp, vocab), tmp);
            Assert.StartsWith("MODEL/vocab.txt: vocabulary does not match the data in ", refusal, StringComparison.Ordinal);
            return refusal;
        }),
        // The load report said before the first step names the model as typed too.
        ["PretrainingTrainer.Run's load report"] = ("pretraining", (m, tmp) =>
        {
            var notices = new List<string>();
            var trainer = new BertSharp.Training.Pretraining.PretrainingTrainer(
                new BertSharp.Training.Pretraining.PretrainingTrainerOptions { Steps = 1, BatchSize = 4, EvalEvery = 0, Device = "cpu", Seed = 7 })
            {
                OnNotice = notices.Add,
            };
            trainer.Run(PretrainingData(tmp, Path.Combine(HfDir("pretraining"), "vocab.txt")), Fresh(tmp, "run"),
                new BertSharp.Training.Pretraining.PretrainingModelSource(ModelDirectory: m), resume: false);
            var report = Assert.Single(notices).Replace(m, "MODEL", StringComparison.Ordinal);
            Assert.StartsWith("model: MODEL", report, StringComparison.Ordinal);
            return report;
        }),
        ["OnnxExport.Export"] = ("masked-lm", (m, tmp) =>
        {
            var path = Path.Combine(tmp.Path, Guid.NewGuid().ToString("N") + ".onnx");
            OnnxExport.Export(m, path);
            return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(path)));
        }),
    };

    private static readonly string Sst2 = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");

    /// <summary>Pre-training data of 60 SST-2 sentences built with <paramref name="vocab"/> in <paramref name="tmp"/> (once per folder).</summary>
    private static string PretrainingData(TempDir tmp, string vocab)
    {
        var data = Path.Combine(tmp.Path, "data");
        if (!Directory.Exists(data))
        {
            var corpus = Path.Combine(tmp.Path, "corpus.txt");
            // Six documents of ten sentences (a blank line ends each), for next-sentence pairs across documents.
            var sentences = File.ReadLines(Path.Combine(TestPaths.RepoRoot, "samples", "sst2", "train-sentences.tsv")).Skip(1).Take(60)
                .Select((l, i) => l.Split('\t')[0].Trim() + (i % 10 == 9 ? "\n" : ""));
            File.WriteAllLines(corpus, sentences);
            var made = CliRunner.Run("pretrain-data", "--input", corpus, "--vocab", vocab, "--output", data, "--max-length", "32", "--seed", "1");
            Assert.True(made.ExitCode == 0, made.StdErr);
        }
        return data;
    }

    // The refusal of a pre-training run that starts from the model, before any step: one line, the model said as MODEL.
    private static string PretrainingRefusal(string model, string data, TempDir tmp)
    {
        var options = new BertSharp.Training.Pretraining.PretrainingTrainerOptions { Steps = 2, BatchSize = 4, EvalEvery = 0, Device = "cpu" };
        var output = Path.Combine(tmp.Path, "run");
        var refusal = Assert.ThrowsAny<BertSharpException>(() => new BertSharp.Training.Pretraining.PretrainingTrainer(options)
            .Run(data, output, new BertSharp.Training.Pretraining.PretrainingModelSource(ModelDirectory: model), resume: false)).Message;
        Assert.DoesNotContain('\n', refusal);
        Assert.DoesNotContain("models--", refusal, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output), "a refused run left its output");
        return refusal.Replace(model, "MODEL", StringComparison.Ordinal);
    }

    private const string Squad = """
        {"version": "v1.1", "data": [{"paragraphs": [{"context": "laura smith joined reuters in vienna .",
          "qas": [{"id": "q1", "question": "who joined ?", "answers": [{"text": "laura smith", "answer_start": 0}]}]}]}]}
        """;

    // The CLI in-process: its stdout with the model as typed (a directory or the id) said as MODEL, then the named files.
    private static string Cli(string model, string[] args, params string[] outputs)
    {
        var r = CliRunner.Run([.. args.Select(a => a == "MODEL" ? model : a)]);
        Assert.True(r.ExitCode == 0, r.StdErr);
        return r.StdOut.Replace(model, "MODEL", StringComparison.Ordinal)
            + string.Concat(outputs.Select(f => Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(f)))));
    }

    // An output of the run in its own scratch folder (said as TMP when the answers are compared).
    private static string Fresh(TempDir tmp, string name)
    {
        Directory.CreateDirectory(Path.Combine(tmp.Path, "out"));
        return Path.Combine(tmp.Path, "out", name);
    }

    private static readonly Dictionary<string, (string Fixture, Func<string, TempDir, string> Answer)> CliRows = new()
    {
        ["bert inspect"] = ("pretraining", (m, _) => Cli(m, ["inspect", "--model", "MODEL", "--no-tree"])),
        ["bert convert"] = ("pretraining", (m, tmp) =>
        {
            var outDir = Fresh(tmp, "out");
            return Cli(m, ["convert", "--model", "MODEL", "--output", outDir])
                + Cli(m, ["inspect", "--model", outDir, "--no-tree"]);
        }),
        ["bert export-onnx"] = ("sequence-classification", (m, tmp) =>
        {
            var onnx = Fresh(tmp, "m.onnx");
            return Cli(m, ["export-onnx", "MODEL", onnx], onnx);
        }),
        ["bert predict"] = ("sequence-classification", (m, _) => Cli(m, ["predict", "--model", "MODEL", "--text", "hello world"])),
        ["bert fill-mask"] = ("masked-lm", (m, _) => Cli(m, ["fill-mask", "--model", "MODEL", "--text", "the [MASK] was good ."])),
        ["bert nsp"] = ("pretraining", (m, _) => Cli(m, ["nsp", "--model", "MODEL", "--text", "the movie", "--text-pair", "was good"])),
        ["bert ner"] = ("token-classification", (m, _) => Cli(m, ["ner", "--model", "MODEL", "--text", "laura smith joined reuters in vienna"])),
        ["bert qa"] = ("question-answering", (m, _) => Cli(m, ["qa", "--model", "MODEL", "--question", "who joined ?", "--context", "laura smith joined reuters in vienna ."])),
        ["bert search"] = ("base-model", (m, tmp) =>
        {
            var corpus = Path.Combine(tmp.Path, "corpus.txt");
            File.WriteAllLines(corpus, ["the movie was good", "a cat sat", "rain today"]);
            return Cli(m, ["search", "--model", "MODEL", "--corpus", corpus, "--query", "a good film", "--top-k", "2"]);
        }),
        ["bert embed"] = ("base-model", (m, tmp) =>
        {
            var input = Path.Combine(tmp.Path, "in.txt");
            File.WriteAllLines(input, ["the movie was good", "a cat sat"]);
            var output = Fresh(tmp, "e.jsonl");
            return Cli(m, ["embed", "--model", "MODEL", "--input", input, "--output", output], output);
        }),
        ["bert data stats"] = ("base-model", (m, _) => Cli(m, ["data", "stats", Sst2, "--task", "sst2", "--model", "MODEL"])),
        ["bert evaluate"] = ("question-answering", (m, tmp) =>
        {
            var data = Path.Combine(tmp.Path, "dev.json");
            File.WriteAllText(data, Squad);
            var metrics = Fresh(tmp, "m.json");
            return Cli(m, ["evaluate", "--model", "MODEL", "--task", "squad", "--data", data, "--output", metrics]);
        }),
        // Seeded: the new head and the shuffle draw the same numbers in both runs.
        ["bert finetune"] = ("base-model", (m, tmp) =>
        {
            var outDir = Fresh(tmp, "run");
            Cli(m, ["finetune", "--task", "sst2", "--data", Sst2, "--model", "MODEL", "--output", outDir, "--epochs", "1", "--batch-size", "8",
                "--max-length", "16", "--seed", "7", "--eval-data", Sst2]);
            // The card names a Hub id as the base model, a directory not (the rest of it is the same, but for the path).
            ModelCardChecks.AssertBaseModel(outDir, m, m.StartsWith("org/", StringComparison.Ordinal));
            return Cli(m, ["predict", "--model", outDir, "--text", "hello world"], Path.Combine(outDir, "model.safetensors"));
        }),
        ["bert finetune --task squad"] = ("base-model", (m, tmp) =>
        {
            var data = Path.Combine(tmp.Path, "train.json");
            File.WriteAllText(data, Squad);
            var outDir = Fresh(tmp, "run");
            Cli(m, ["finetune", "--task", "squad", "--data", data, "--eval-data", data, "--model", "MODEL", "--output", outDir, "--epochs", "1",
                "--max-length", "32", "--seed", "7"]);
            return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(outDir, "model.safetensors"))));
        }),
        ["bert pretrain --model"] = ("pretraining", (m, tmp) =>
        {
            var data = PretrainingData(tmp, Path.Combine(HfDir("pretraining"), "vocab.txt"));
            var outDir = Fresh(tmp, "run");
            Cli(m, ["pretrain", "--data", data, "--model", "MODEL", "--output", outDir, "--steps", "2", "--batch-size", "4", "--seed", "7", "--save-every", "1"]);
            // The run records the model as typed, and a resume that names it again continues.
            var state = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(outDir, "checkpoint-2", "trainer_state.json")))!;
            var recorded = state["settings"]!["source"]!["model"]!.GetValue<string>();
            Cli(m, ["pretrain", "--data", data, "--model", "MODEL", "--output", outDir, "--resume", "--steps", "3"]);
            // Continued pre-training's card, written again with the longer run's final/, names a Hub id as its base model.
            ModelCardChecks.AssertBaseModel(Path.Combine(outDir, "final"), m, m.StartsWith("org/", StringComparison.Ordinal));
            return recorded.Replace(m, "MODEL", StringComparison.Ordinal)
                + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(File.ReadAllBytes(Path.Combine(outDir, "final", "model.safetensors"))));
        }),
    };

    public static TheoryData<string> RowNames => [.. Rows.Keys, .. CliRows.Keys];

    [Theory]
    [MemberData(nameof(RowNames))]
    public void An_entry_point_given_a_hub_id_answers_as_given_the_directory(string row)
    {
        var (fixture, answer) = Rows.TryGetValue(row, out var library) ? library : CliRows[row];
        using var dirTmp = TestPaths.TempDir();
        var fromDir = answer(served.Dir(fixture), dirTmp).Replace(dirTmp.Path, "TMP", StringComparison.Ordinal);
        using var env = served.Offline();
        using var hubTmp = TestPaths.TempDir();
        var fromHub = answer("org/" + fixture, hubTmp).Replace(hubTmp.Path, "TMP", StringComparison.Ordinal);
        Assert.Equal(fromDir, fromHub);
    }

    // The server of an id answers as the directory's (a classification; a tagger trained on first pieces, whose default
    // aggregation comes from the id's training_args.json) and /health, which the web page shows, names the id as given and a
    // directory by its final name only.
    [Fact]
    public async Task The_server_given_a_hub_id_answers_as_given_the_directory_and_names_the_id()
    {
        static async Task<string> Answers(string model, string shown, string path, object body)
        {
            await using var host = await ServerHost.StartOn(model);
            var (status, answer) = await host.Post(path, body);
            Assert.True(status == 200, answer?.ToJsonString());
            var health = await host.Health();
            Assert.Equal(shown, (string?)health["model"]);
            health.AsObject().Remove("model");
            return answer!.ToJsonString() + health.ToJsonString();
        }
        static async Task<string> Both(Func<string, string> dir, Func<string, string> shown) =>
            await Answers(dir("sequence-classification"), shown("sequence-classification"), "/v1/classify", new { text = "hello world" })
            + await Answers(dir("ner-first"), shown("ner-first"), "/v1/ner", new { text = "laura smith joined reuters in vienna" });
        // The fixtures' directories end in the fixture's name.
        var fromDir = await Both(served.Dir, name => name);
        using var env = served.Offline();
        var fromHub = await Both(name => "org/" + name, name => "org/" + name);
        Assert.Contains("\"entities\":[{", fromDir, StringComparison.Ordinal);
        Assert.Equal(fromDir, fromHub);
    }

    // A refusal names the model as typed: the fixture's directory, or the id, never the snapshot in the cache it resolved to.
    [Fact]
    public void Onnx_export_and_backend_refusals_name_a_hub_model_by_the_id_typed()
    {
        using var tmp = TestPaths.TempDir();
        var multipleChoice = Path.Combine(tmp.Path, "mc.onnx");
        OnnxExport.Export(HfDir("multiple-choice"), multipleChoice);
        string Refusals(string prefix)
        {
            var model = prefix + "base-model";
            var export = Assert.Throws<BertSharpException>(() =>
                OnnxExport.Export(model, Path.Combine(tmp.Path, "x.onnx"), architecture: nameof(BertForSequenceClassification)));
            var classifier = prefix + "sequence-classification";
            var backend = Assert.Throws<BertSharpException>(() => TextClassifier.Load(classifier, new InferenceBackend(multipleChoice)));
            return export.Message.Replace(model, "MODEL", StringComparison.Ordinal) + "\n"
                + backend.Message.Replace(classifier, "MODEL", StringComparison.Ordinal);
        }
        var fromDir = Refusals(HfDir("") + "/");
        using var env = served.Offline();
        var fromHub = Refusals("org/");
        Assert.StartsWith("MODEL: the checkpoint lacks classifier.", fromDir, StringComparison.Ordinal);
        Assert.Contains("a sequence classifier's graph for MODEL.", fromDir, StringComparison.Ordinal);
        Assert.Equal(fromDir, fromHub);
    }

    // Evaluate's default output is beside a model directory; for a Hub id it is under the current directory, never in the
    // Hub cache (shared downloads that a cache clean-up removes), and the metrics name the model by the id (its full path
    // named a directory under the current one that does not exist). A head task (SQuAD) and a sequence classifier, which
    // evaluate writes apart. Serial: the test changes the process's current directory.
    [Fact]
    public void Evaluate_without_output_writes_a_hub_models_metrics_under_the_current_directory_not_in_the_cache()
    {
        using var tmp = TestPaths.TempDir();
        var data = Path.Combine(tmp.Path, "dev.json");
        File.WriteAllText(data, Squad);
        var labelled = Path.Combine(tmp.Path, "dev.tsv");
        File.WriteAllLines(labelled, ["sentence\tlabel", "hello world\t1", "a bad film\t0"]);
        using var env = served.Offline();
        var before = Directory.GetFileSystemEntries(served.Cache.Path, "*", SearchOption.AllDirectories).Order().ToList();
        var cwd = Environment.CurrentDirectory;
        Environment.CurrentDirectory = tmp.Path;
        try
        {
            foreach (var (model, args, task) in new[]
            {
                ("org/question-answering", new[] { "--task", "squad", "--data", data }, "squad"),
                ("org/sequence-classification", new[] { "--task", "tsv", "--data", labelled, "--text-column", "sentence" }, "tsv"),
            })
            {
                var r = CliRunner.Run(["evaluate", "--model", model, .. args]);
                Assert.True(r.ExitCode == 0, r.StdErr);
                var name = "dev";
                var folder = model.Replace("/", "--", StringComparison.Ordinal);
                var metrics = Path.Combine(tmp.Path, "eval", folder, name + ".metrics.json");
                Assert.True(File.Exists(metrics), r.StdOut);
                Assert.Contains($"wrote eval/{folder}/{name}.metrics.json", r.StdOut, StringComparison.Ordinal);
                var written = JsonDocument.Parse(File.ReadAllText(metrics)).RootElement;
                Assert.Equal(task, written.GetProperty("task").GetString());
                Assert.Equal(model, written.GetProperty("model").GetString());
            }
        }
        finally
        {
            Environment.CurrentDirectory = cwd;
        }
        Assert.Equal(before, Directory.GetFileSystemEntries(served.Cache.Path, "*", SearchOption.AllDirectories).Order().ToList());
    }

    // ONNX Runtime's default graph is model.onnx in the model's directory; a Hub id has none (its download fetches no graph),
    // and the refusal named a path under the current directory that nothing would ever write.
    [Fact]
    public void The_onnx_backend_of_a_hub_model_asks_for_its_graph_instead_of_naming_a_path_under_the_current_directory()
    {
        using var tmp = TestPaths.TempDir();
        var input = Path.Combine(tmp.Path, "in.txt");
        File.WriteAllLines(input, ["hello world"]);
        var output = Path.Combine(tmp.Path, "e.jsonl");
        using var env = served.Offline();
        foreach (var args in new[] { new[] { "predict", "--text", "hello world" }, ["embed", "--input", input, "--output", output] })
        {
            var r = CliRunner.Run([.. args, "--model", "org/sequence-classification", "--backend", "onnxruntime"]);
            Assert.Equal(2, r.ExitCode);
            Assert.Equal("error: --onnx: expected with --backend onnxruntime for the Hub model org/sequence-classification, which has no model.onnx " +
                "of its own; write one with 'bert export-onnx MODEL OUT.onnx' and name it.", r.StdErr.Trim());
        }
        Assert.Equal([input], Directory.GetFileSystemEntries(tmp.Path));
    }

    // Each command the rows above load by Hub id says so in its --model help (one said "A model directory." only).
    [Fact]
    public void Each_command_that_loads_a_hub_id_says_so_in_its_model_help()
    {
        foreach (var command in CliRows.Keys.Select(k => k["bert ".Length..].Split(" --")[0]).Append("serve").Distinct())
        {
            var help = CliRunner.Run([.. command.Split(' '), "--help"]);
            var line = help.StdOut.Split('\n').Single(l => l.TrimStart().StartsWith("--model ", StringComparison.Ordinal));
            Assert.True(line.Contains("Hub id", StringComparison.Ordinal), $"bert {command}: {line.Trim()}");
        }
    }
}
