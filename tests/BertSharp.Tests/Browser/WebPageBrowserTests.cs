using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using BertSharp.Checkpoints;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Server;
using BertSharp.Tests.Inference;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Browser;

/// <summary>
/// Runs tests/browser/page.test.mjs once for the class: `bert serve` with a tiny classifier (a sentence-pair model made of
/// the pretraining fixture's next-sentence head, and a regression model), the page in one headless chromium, a typed sentence (and for the sentence-pair model the
/// second field, after the page showed the refusal of one text alone with a blank second field), the label shown checked against the classifier run
/// directly; and a masked-LM model's page with fill-mask targets typed, its candidates checked against the pipeline run
/// directly; and a cross-encoder's page with a query and texts typed into its rerank fields, the ranking checked against the
/// model run directly and HF's logits; and an NLI model's page with labels, a template and multi-label typed into its zero-shot
/// fields, the bars checked against ZeroShotClassifier run directly. Each test asserts its own page. Skipped where chromium or playwright-core is not installed
/// (tests/browser/setup.sh installs both).
/// </summary>
[Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
public sealed class WebPageBrowserTests(WebPageBrowserTests.Pages pages) : IClassFixture<WebPageBrowserTests.Pages>
{
    private static readonly string BrowserDir = Path.Combine(TestPaths.RepoRoot, "tests", "browser");

    [SkippableFact]
    public void Page_shows_the_predicted_label_and_an_attention_map()
    {
        var page = pages.Result("single");
        Assert.False(page.GetProperty("pairShown").GetBoolean(), "the second text field is shown for a one-text model");
        // Three labels: no relevance score, so no /rerank and no rerank fields.
        Assert.False(page.GetProperty("rerankShown").GetBoolean(), "the rerank fields are shown for a three-label classifier");
        // Labels LABEL_0..2: no entailment label, so no /zero-shot and no zero-shot fields.
        Assert.False(page.GetProperty("zeroShotShown").GetBoolean(), "the zero-shot fields are shown for a classifier without an entailment label");
        // The page's text is row 3 of the fixture batch: HF's logits give the probability shown, its attention mask the
        // tokens, whose every pair is a cell of the map.
        var refs = HfFixture.Tensors("sequence-classification");
        double[] logits;
        long tokens;
        try
        {
            logits = [.. refs["out.logits"][3].data<float>().Select(l => (double)l)];
            tokens = refs["in.attention_mask"][3].sum().item<long>();
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
        AssertShowsSoftmaxOf(logits, page.GetProperty("shown").GetString()!);
        Assert.Equal(tokens * tokens, page.GetProperty("heatmapCells").GetInt32());
    }

    [SkippableFact]
    public void Page_of_a_sentence_pair_model_has_a_second_field_and_refuses_one_text()
    {
        var page = pages.Result("pair");
        Assert.True(page.GetProperty("pairShown").GetBoolean());
        Assert.False(page.GetProperty("rerankShown").GetBoolean(), "the rerank fields are shown for a two-label classifier");
        // With one text typed and only blanks in the second field, the page sends no text_pair, so the server's refusal of one
        // text alone says why the second text is needed (an empty text_pair was refused only as an empty field). U+0085 alone
        // is blank to the server, not to JavaScript's trim(): the page sent it and showed "'text_pair' must not be empty.".
        Assert.Equal(Enumerable.Repeat("this model was fine-tuned on sentence pairs (task mrpc): give 'text' and 'text_pair'; one text alone is not what it learned to judge.", 2),
            page.GetProperty("refusals").EnumerateArray().Select(r => r.GetString()));
        // The page's pair is row 0 of the pretraining fixture's pair batch, whose next-sentence head, times 64, the model's
        // classifier is: its logits are 64 times HF's.
        var refs = HfFixture.Tensors("pretraining");
        double[] logits;
        try
        {
            logits = [.. refs["pair.out.seq_relationship_logits"][0].data<float>().Select(l => Pages.NextSentenceScale * (double)l)];
        }
        finally
        {
            HfFixture.DisposeAll(refs);
        }
        AssertShowsSoftmaxOf(logits, page.GetProperty("shown").GetString()!);
    }

    // The page decided "blank" with trim(), and the OpenAPI schema's pattern was ECMA-262's \S: both disagree with the server's
    // string.IsNullOrWhiteSpace on U+0085 and U+FEFF. Each pattern is checked against char.IsWhiteSpace over every UTF-16 unit
    // (.NET's regex reads their spelled-out class as JavaScript does), and the schema's must be the page's class negated, so
    // that the two cannot drift apart.
    [Fact]
    public void Page_and_api_schema_decide_blank_as_the_server_does()
    {
        var script = File.ReadAllText(Path.Combine(TestPaths.RepoRoot, "src", "BertSharp.Server", "wwwroot", "app.js"));
        var pattern = Regex.Match(script, @"const BLANK = /\^\[(?<c>[^\n]*)\]\*\$/;");
        Assert.True(pattern.Success, "app.js has no BLANK pattern of the form /^[...]*$/");
        var blank = new Regex($"^[{pattern.Groups["c"].Value}]*$", RegexOptions.ECMAScript);
        var notBlank = new Regex(ApiSchema.NotBlank, RegexOptions.ECMAScript);
        var units = Enumerable.Range(0, char.MaxValue + 1).Select(c => ((char)c).ToString()).ToList();
        Assert.Empty(units.Where(c => blank.IsMatch(c) != string.IsNullOrWhiteSpace(c)).Select(c => $"U+{(int)c[0]:X4}"));
        Assert.Empty(units.Where(c => notBlank.IsMatch(c) == string.IsNullOrWhiteSpace(c)).Select(c => $"U+{(int)c[0]:X4}"));
        Assert.Equal(ApiSchema.NotBlank, $"[^{pattern.Groups["c"].Value}]");
        Assert.Matches(blank, "");
        Assert.DoesNotMatch(blank, " a ");
        Assert.Matches(notBlank, " a ");
    }

    /// <summary>The page shows the most likely label of <paramref name="logits"/> and its softmax probability, to the 0.1 % shown.</summary>
    private static void AssertShowsSoftmaxOf(double[] logits, string shown)
    {
        var best = logits.Max();
        var probability = 1 / logits.Sum(l => Math.Exp(l - best));
        Assert.Matches($@"^LABEL_{Array.IndexOf(logits, best)} \(\d+\.\d %\)$", shown);
        Assert.Equal(probability * 100, double.Parse(shown[(shown.IndexOf('(') + 1)..^3], System.Globalization.CultureInfo.InvariantCulture), 0.051);
    }

    [SkippableFact]
    public void Page_of_a_regression_model_shows_its_value_not_a_percentage()
    {
        var page = pages.Result("regression");
        // It showed "score (-3.7 %)" and a bar for the value -0.037.
        var shown = page.GetProperty("shown").GetString()!;
        Assert.Matches(@"^score -?\d+\.\d{4}$", shown);
        Assert.Equal(pages.RegressionValue, double.Parse(shown["score ".Length..], System.Globalization.CultureInfo.InvariantCulture), 4);
    }

    [SkippableFact]
    public void Page_of_a_masked_lm_ranks_only_the_typed_targets()
    {
        var page = pages.Result("fill-mask");
        Assert.True(page.GetProperty("targetsShown").GetBoolean());
        // Typed "dog, cat  sat loved": four words, split at the comma and the spaces; "loved" is no token of the fixture's
        // vocabulary, so its first word piece "love" is ranked in its place. HF caps top_k at the targets ("if top_k >
        // target_ids.shape[0]: top_k = target_ids.shape[0]"), so the default 5 shows exactly the four, and only them, ordered
        // by their probability over the whole vocabulary (the pipeline run directly, in FillMaskTargetsTests checked against
        // the model's full softmax).
        var shown = page.GetProperty("candidates").EnumerateArray().Select(c => c.GetString()!).ToArray();
        Assert.Equal(["cat", "dog", "love", "sat"], shown.Order(StringComparer.Ordinal));
        Assert.Equal(pages.FillMaskExpected, shown);
        // The response's warning about "loved" is on the page, under the candidates.
        var warning = Assert.Single(page.GetProperty("warnings").EnumerateArray()).GetString()!;
        Assert.StartsWith("warning: target 'loved' is not a token of the model's vocabulary; its first word piece 'love' (of love ##", warning, StringComparison.Ordinal);
        Assert.Equal(["warning: " + Assert.Single(pages.FillMaskWarnings)], [warning]);
    }

    [SkippableFact]
    public void Page_of_a_cross_encoder_ranks_the_typed_texts_by_relevance()
    {
        var page = pages.Result("rerank");
        Assert.True(page.GetProperty("rerankShown").GetBoolean());
        // Texts the server refuses are refused on the page as the other panels' errors are, with no ranking: the second line
        // keeps no word piece, so the server names it.
        Assert.Equal("'texts[1]': no word pieces (only characters the tokenizer drops, such as control or zero-width ones); expected text.",
            page.GetProperty("refusal").GetString());
        // The typed texts were the fixture pairs' second texts, one per line with blank lines between them (skipped, not sent
        // as empty texts); each line shown is "score — text", most relevant first, the score the sigmoid of the model's logit.
        var shown = page.GetProperty("ranks").EnumerateArray().Select(r => r.GetString()!.Split(" — ", 2)).ToList();
        var pairs = CrossEncoderFixture.Pairs;
        var expected = pages.RerankLogits.Select((l, i) => (Text: pairs[i].Pair, Score: CrossEncoderFixture.Sigmoid(l))).OrderByDescending(r => r.Score).ToList();
        Assert.Equal(expected.Select(r => r.Text), shown.Select(s => s[1]));
        Assert.Equal(expected.Select(r => r.Score), shown.Select(s => double.Parse(s[0], System.Globalization.CultureInfo.InvariantCulture)),
            new ToleranceComparer(0.00005 + 1e-6));
        // The query is the first pair's text, so that text's logit is HF's (the others' queries differ from HF's pairs).
        Assert.Equal(CrossEncoderFixture.HfLogits()[0], pages.RerankLogits[0], 1e-3);
    }

    [SkippableFact]
    public void Page_of_an_nli_model_shows_the_typed_labels_as_bars_sorted_by_score()
    {
        var page = pages.Result("zero-shot");
        Assert.True(page.GetProperty("zeroShotShown").GetBoolean());
        Assert.False(page.GetProperty("rerankShown").GetBoolean(), "the rerank fields are shown for a three-label NLI model");
        // Labels the server refuses are refused on the page as the other panels' errors are, with no bars.
        Assert.Equal("parameters.candidate_labels[2]: \"film\" is given twice; expected each label once.", page.GetProperty("refusal").GetString());
        // Each bar is a label and its score to three decimals, most likely first: the library's multi-label scores of the
        // typed text, labels and template.
        var bars = page.GetProperty("zeroShotBars").EnumerateArray().Select(b => (Label: b[0].GetString()!, Value: b[1].GetString()!)).ToList();
        var expected = pages.ZeroShotExpected!;
        Assert.Equal(expected.Labels, bars.Select(b => b.Label));
        Assert.Equal(expected.Scores.Select(s => s.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture)), bars.Select(b => b.Value));
        Assert.True(Math.Abs(expected.Scores.Sum() - 1) > 1e-3, "multi-label scores that sum to 1 cannot tell the checkbox from the default");
    }

    private sealed class ToleranceComparer(double tolerance) : IEqualityComparer<double>
    {
        public bool Equals(double x, double y) => Math.Abs(x - y) <= tolerance;

        public int GetHashCode(double obj) => 0;
    }

    /// <summary>The pages, run together (chromium starts once) when the first test asks.</summary>
    public sealed class Pages : IDisposable
    {
        private readonly TempDir _tmp = TestPaths.TempDir();
        private TempDir? _nli;
        private readonly Lazy<(string? Skip, Dictionary<string, JsonElement> Results, string Output)> _run;

        public Pages() => _run = new(Run);

        /// <summary>The cross-encoder's logit of its page's query with each fixture pair's second text, from the model run directly.</summary>
        public IReadOnlyList<double> RerankLogits { get; private set; } = [];

        /// <summary>The NLI page's typed text, labels and template scored multi-label by the library directly.</summary>
        public ZeroShotResult? ZeroShotExpected { get; private set; }

        /// <summary>The regression model's value for its page's text, from the model run directly.</summary>
        public double RegressionValue { get; private set; }

        /// <summary>The words typed into the fill-mask page's targets field (as "dog, cat  sat loved").</summary>
        public static readonly string[] TypedTargets = ["dog", "cat", "sat", "loved"];

        /// <summary>The fill-mask page's candidates for its first mask with those targets, from the pipeline run directly.</summary>
        public IReadOnlyList<string> FillMaskExpected { get; private set; } = [];

        /// <summary>The warnings of those targets (a word replaced by its first word piece), from the pipeline run directly.</summary>
        public IReadOnlyList<string> FillMaskWarnings { get; private set; } = [];

        /// <summary>
        /// The page's record for case <paramref name="name"/> after checking that it passed (its label is the classifier's,
        /// the screenshot is a PNG); skips the calling test where the browser tools are missing.
        /// </summary>
        public JsonElement Result(string name)
        {
            var (skip, results, output) = _run.Value;
            Skip.If(skip is not null, skip);
            Assert.True(results.TryGetValue(name, out var page), $"no result for page {name}: {output}");
            Assert.True(page.GetProperty("failed").ValueKind == JsonValueKind.Null, $"page {name}: {page.GetProperty("failed")}\n{output}");
            var png = File.ReadAllBytes(page.GetProperty("screenshot").GetString()!);
            Assert.True(png.Length > 1000);
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
            return page;
        }

        private (string? Skip, Dictionary<string, JsonElement> Results, string Output) Run()
        {
            var chromium = new[] { Environment.GetEnvironmentVariable("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" }
                .FirstOrDefault(p => p is not null && File.Exists(p));
            if (chromium is null)
            {
                return ("chromium is not installed (tests/browser/setup.sh installs it)", [], "");
            }
            if (!Directory.Exists(Path.Combine(BrowserDir, "node_modules", "playwright-core")))
            {
                return ("playwright-core is not installed (run tests/browser/setup.sh)", [], "");
            }
            if (TestScripts.FindOnPath("node") is null)
            {
                return ("node is not installed", [], "");
            }

            var single = SaveClassifier("single");
            var regression = SaveClassifier("regression", fixtureCase: "regression");
            // Row 3 of the fixture batch: the first test reads HF's logits and attention mask for it.
            const string text = "a tender , heartfelt family drama .";
            // Recorded as fine-tuned on MRPC (training_args.json): the page must ask for the second text. Row 0 of the
            // pretraining fixture's pair batch: the second test reads HF's next-sentence logits for it.
            var pair = SaveNextSentenceClassifier("pair");
            const string first = "The cat sat.";
            const string second = "It was happy.";
            string expectSingle, expectPair;
            using (var classifier = TextClassifier.Load(single, "cpu", 64))
            {
                expectSingle = classifier.Predict(text).Label;
            }
            using (var classifier = TextClassifier.Load(pair, "cpu", 64))
            {
                Assert.True(classifier.PairInput);
                expectPair = classifier.Predict(first, second).Label;
            }
            using (var classifier = TextClassifier.Load(regression, "cpu", 64))
            {
                RegressionValue = classifier.Predict(text).Score;
            }
            // A masked-LM model for the fill-mask targets field: the fixture directory itself, nothing to save.
            var maskedLm = HfFixture.Dir("pretraining");
            const string masked = "the [MASK] sat on the mat .";
            using (var fill = FillMask.Load(maskedLm, "cpu"))
            {
                var targets = FillMaskTargets.Resolve(fill.Tokenizer, TypedTargets);
                FillMaskExpected = [.. fill.Predict(masked, 5, targets)[0].Select(c => c.Token)];
                FillMaskWarnings = targets.Warnings;
            }
            // A one-label cross-encoder: the page shows its rerank fields; the query is the first fixture pair's text.
            var crossEncoder = CrossEncoderFixture.Create(Directory.CreateDirectory(_tmp.File("rerank")).FullName);
            var rerankQuery = CrossEncoderFixture.Pairs[0].Text;
            string[] rerankTexts = [.. CrossEncoderFixture.Pairs.Select(p => p.Pair)];
            using (var reranker = CrossEncoder.Load(crossEncoder, "cpu"))
            {
                RerankLogits = reranker.Predict([.. rerankTexts.Select(t => (rerankQuery, t))], rawScores: true);
            }
            var rerankExpected = rerankTexts.Select((t, i) => (t, RerankLogits[i])).OrderByDescending(r => r.Item2).Select(r => r.t).ToArray();
            // A three-label NLI model: the page shows its zero-shot fields; the labels typed with spaces around the commas.
            var nli = CrossEncoderFixture.Nli("contradiction", "neutral", "entailment");
            _nli = nli;
            const string zeroShotText = "the cat sat on the table .";
            const string zeroShotTemplate = "It is about {}.";
            using (var zs = ZeroShotClassifier.Load(nli.Path, "cpu"))
            {
                ZeroShotExpected = zs.Classify(zeroShotText, ["music", "film", "school", "drama"], zeroShotTemplate, multiLabel: true);
            }
            var cases = _tmp.File("cases.json");
            File.WriteAllText(cases, JsonSerializer.Serialize(new object[]
            {
                new { name = "single", model = single, text, expect = expectSingle, screenshot = _tmp.File("single.png") },
                new { name = "pair", model = pair, text = first, textPair = second, expect = expectPair, screenshot = _tmp.File("pair.png") },
                new { name = "regression", model = regression, text, expect = "score", screenshot = _tmp.File("regression.png") },
                new
                {
                    name = "rerank", model = crossEncoder, text = rerankQuery, rerankQuery, rerankTexts, rerankRefused = new[] { rerankTexts[0], "\u200b\u0007" },
                    expect = rerankExpected, screenshot = _tmp.File("rerank.png"),
                },
                new
                {
                    name = "zero-shot", model = nli.Path, text = zeroShotText, zeroShotLabels = "music , film,school, drama", zeroShotTemplate,
                    zeroShotMultiLabel = true, zeroShotRefused = "music, film, film", expect = ZeroShotExpected.Labels, screenshot = _tmp.File("zero-shot.png"),
                },
                new { name = "fill-mask", model = maskedLm, text = masked, targets = "dog, cat  sat loved", expect = FillMaskExpected, warnings = FillMaskWarnings.Select(w => "warning: " + w), screenshot = _tmp.File("fill-mask.png") },
            }));

            var bert = typeof(Cli.Program).Assembly.Location;
            var psi = new ProcessStartInfo("node") { WorkingDirectory = BrowserDir, RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var a in new[] { "page.test.mjs", "--bert", $"dotnet {bert}", "--cases", cases })
            {
                psi.ArgumentList.Add(a);
            }
            psi.Environment["CHROMIUM"] = chromium;
            using var node = Process.Start(psi)!;
            var stdout = node.StandardOutput.ReadToEndAsync();
            var stderr = node.StandardError.ReadToEndAsync();
            if (!node.WaitForExit(TimeSpan.FromMinutes(3)))
            {
                node.Kill(entireProcessTree: true);
                Assert.Fail("the browser test did not finish in 3 minutes");
            }
            var output = $"exit {node.ExitCode}: {stdout.Result} {stderr.Result}";
            var results = stdout.Result.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(l => l.StartsWith('{'))
                .Select(l => JsonDocument.Parse(l).RootElement.Clone())
                .ToDictionary(e => e.GetProperty("case").GetString()!);
            // The script's verdict agrees with the pages' records.
            Assert.Equal(results.Values.All(r => r.GetProperty("failed").ValueKind == JsonValueKind.Null) && results.Count == 6, node.ExitCode == 0);
            return (null, results, output);
        }

        private string SaveClassifier(string name, string fixtureCase = "sequence-classification")
        {
            var modelDir = _tmp.File(name);
            var fixture = HfFixture.Dir(fixtureCase);
            using (var model = BertPretrained.Load(null, fixture, out _))
            {
                BertPretrained.Save(model, modelDir, new SaveOptions(TokenizerFrom: fixture));
            }
            return modelDir;
        }

        /// <summary>
        /// What the next-sentence head is multiplied by in the pair page's classifier: HF's logits for the pair differ by
        /// 0.02, which puts every probability within 0.5 % of 50 %, where the page's 0.1 % tells little apart; a power of
        /// two multiplies each weight, and so each logit, exactly.
        /// </summary>
        public const double NextSentenceScale = 64;

        /// <summary>
        /// The pretraining fixture's encoder and next-sentence head (times <see cref="NextSentenceScale"/>) as a two-label
        /// sequence classifier fine-tuned on MRPC: BertForSequenceClassification's classifier over the pooler is the layer
        /// cls.seq_relationship is, so its logits of a pair are HF's next-sentence logits times the scale.
        /// </summary>
        private string SaveNextSentenceClassifier(string name)
        {
            var modelDir = _tmp.File(name);
            var fixture = HfFixture.Dir("pretraining");
            Directory.CreateDirectory(modelDir);
            var weights = HfFixture.Tensors("pretraining", "model.safetensors");
            try
            {
                const string head = "cls.seq_relationship.";
                foreach (var part in new[] { head + "weight", head + "bias" })
                {
                    weights[part].mul_(StableScalars.Of(NextSentenceScale));
                }
                SafeTensors.Save(Path.Combine(modelDir, "model.safetensors"), weights.Where(kv => !kv.Key.StartsWith("cls.predictions.", StringComparison.Ordinal))
                    .ToDictionary(kv => kv.Key.StartsWith(head, StringComparison.Ordinal) ? "classifier." + kv.Key[head.Length..] : kv.Key, kv => kv.Value));
            }
            finally
            {
                HfFixture.DisposeAll(weights);
            }
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(fixture, "config.json")))!.AsObject();
            config["architectures"] = new JsonArray("BertForSequenceClassification");
            config["id2label"] = new JsonObject { ["0"] = "LABEL_0", ["1"] = "LABEL_1" };
            config["label2id"] = new JsonObject { ["LABEL_0"] = 0, ["LABEL_1"] = 1 };
            File.WriteAllText(Path.Combine(modelDir, "config.json"), config.ToJsonString());
            foreach (var file in new[] { "vocab.txt", "tokenizer_config.json", "special_tokens_map.json" })
            {
                File.Copy(Path.Combine(fixture, file), Path.Combine(modelDir, file));
            }
            File.WriteAllText(Path.Combine(modelDir, "training_args.json"), """{"task": "mrpc"}""");
            return modelDir;
        }

        public void Dispose()
        {
            _nli?.Dispose();
            _tmp.Dispose();
        }
    }
}
