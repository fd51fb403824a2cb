using System.Diagnostics;
using System.Text.Json;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Browser;

/// <summary>
/// Runs tests/browser/page.test.mjs once for the class: `bert serve` with a tiny classifier (the same weights recorded
/// as a sentence-pair model, and a regression model), the page in one headless chromium, a typed sentence (and for the sentence-pair model the
/// second field, after the page showed the refusal of one text alone), the label shown checked against the classifier run
/// directly. Each test asserts its own page. Skipped where chromium or playwright-core is not installed
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
        var best = logits.Max();
        var probability = 1 / logits.Sum(l => Math.Exp(l - best));
        var shown = page.GetProperty("shown").GetString()!;
        Assert.Matches(@"^LABEL_\d \(\d+\.\d %\)$", shown);
        Assert.Equal(probability * 100, double.Parse(shown[(shown.IndexOf('(') + 1)..^3], System.Globalization.CultureInfo.InvariantCulture), 0.051);
        Assert.Equal(tokens * tokens, page.GetProperty("heatmapCells").GetInt32());
    }

    [SkippableFact]
    public void Page_of_a_sentence_pair_model_has_a_second_field_and_refuses_one_text()
    {
        var page = pages.Result("pair");
        Assert.True(page.GetProperty("pairShown").GetBoolean());
        Assert.Contains("text_pair", page.GetProperty("refusal").GetString(), StringComparison.Ordinal);
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

    /// <summary>The pages, run together (chromium starts once) when the first test asks.</summary>
    public sealed class Pages : IDisposable
    {
        private readonly TempDir _tmp = TestPaths.TempDir();
        private readonly Lazy<(string? Skip, Dictionary<string, JsonElement> Results, string Output)> _run;

        public Pages() => _run = new(Run);

        /// <summary>The regression model's value for its page's text, from the model run directly.</summary>
        public double RegressionValue { get; private set; }

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

            var single = SaveClassifier("single", pairTask: null);
            var regression = SaveClassifier("regression", pairTask: null, fixtureCase: "regression");
            // Row 3 of the fixture batch: the first test reads HF's logits and attention mask for it.
            const string text = "a tender , heartfelt family drama .";
            // The same weights, recorded as fine-tuned on MRPC (training_args.json): the page must ask for the second text.
            var pair = SaveClassifier("pair", pairTask: "mrpc");
            const string first = "the company said its profit rose .";
            const string second = "profit went up , the company said .";
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
            var cases = _tmp.File("cases.json");
            File.WriteAllText(cases, JsonSerializer.Serialize(new object[]
            {
                new { name = "single", model = single, text, expect = expectSingle, screenshot = _tmp.File("single.png") },
                new { name = "pair", model = pair, text = first, textPair = second, expect = expectPair, screenshot = _tmp.File("pair.png") },
                new { name = "regression", model = regression, text, expect = "score", screenshot = _tmp.File("regression.png") },
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
            Assert.Equal(results.Values.All(r => r.GetProperty("failed").ValueKind == JsonValueKind.Null) && results.Count == 3, node.ExitCode == 0);
            return (null, results, output);
        }

        private string SaveClassifier(string name, string? pairTask, string fixtureCase = "sequence-classification")
        {
            var modelDir = _tmp.File(name);
            var fixture = HfFixture.Dir(fixtureCase);
            using (var model = BertPretrained.Load(null, fixture, out _))
            {
                BertPretrained.Save(model, modelDir, new SaveOptions(TokenizerFrom: fixture));
            }
            if (pairTask is not null)
            {
                File.WriteAllText(Path.Combine(modelDir, "training_args.json"), $$"""{"task": "{{pairTask}}"}""");
            }
            return modelDir;
        }

        public void Dispose() => _tmp.Dispose();
    }
}
