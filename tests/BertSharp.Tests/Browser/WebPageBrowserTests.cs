using System.Diagnostics;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;

namespace BertSharp.Tests.Browser;

/// <summary>
/// Runs tests/browser/page.test.mjs: `bert serve` with a tiny classifier, the page in headless chromium, a typed sentence
/// (and for a sentence-pair model the second field, after the page showed the refusal of one text alone), the label shown
/// checked against the classifier run directly. Skipped where chromium or playwright-core is not installed
/// (tests/browser/setup.sh installs both).
/// </summary>
public sealed class WebPageBrowserTests
{
    private static readonly string BrowserDir = Path.Combine(TestPaths.RepoRoot, "tests", "browser");

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableFact]
    public void Page_shows_the_predicted_label_and_an_attention_map()
    {
        using var tmp = TestPaths.TempDir();
        var modelDir = SaveClassifier(tmp, pairTask: null);
        const string text = "a tender , heartfelt family drama .";
        string expected;
        using (var classifier = TextClassifier.Load(modelDir, "cpu", 64))
        {
            expected = classifier.Predict(text).Label;
        }
        RunPage(tmp, modelDir, expected, "--text", text);
    }

    [Trait(SlowFirstOrderer.Category, SlowFirstOrderer.Slow)]
    [SkippableFact]
    public void Page_of_a_sentence_pair_model_has_a_second_field_and_refuses_one_text()
    {
        using var tmp = TestPaths.TempDir();
        // The same weights, recorded as fine-tuned on MRPC (training_args.json): the page must ask for the second text.
        var modelDir = SaveClassifier(tmp, pairTask: "mrpc");
        const string text = "the company said its profit rose .";
        const string pair = "profit went up , the company said .";
        string expected;
        using (var classifier = TextClassifier.Load(modelDir, "cpu", 64))
        {
            Assert.True(classifier.PairInput);
            expected = classifier.Predict(text, pair).Label;
        }
        RunPage(tmp, modelDir, expected, "--text", text, "--text-pair", pair);
    }

    private static string SaveClassifier(TempDir tmp, string? pairTask)
    {
        var modelDir = tmp.File("model");
        var fixture = HfFixture.Dir("sequence-classification");
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

    private static void RunPage(TempDir tmp, string modelDir, string expected, params string[] inputs)
    {
        var chromium = new[] { Environment.GetEnvironmentVariable("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser" }
            .FirstOrDefault(p => p is not null && File.Exists(p));
        Skip.If(chromium is null, "chromium is not installed (tests/browser/setup.sh installs it)");
        Skip.IfNot(Directory.Exists(Path.Combine(BrowserDir, "node_modules", "playwright-core")), "playwright-core is not installed (run tests/browser/setup.sh)");
        Skip.If(FindOnPath("node") is null, "node is not installed");

        var bert = typeof(Cli.Program).Assembly.Location;
        var screenshot = tmp.File("page.png");
        var psi = new ProcessStartInfo("node")
        {
            WorkingDirectory = BrowserDir,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        string[] args = ["page.test.mjs", "--bert", $"dotnet {bert}", "--model", modelDir, .. inputs, "--expect", expected, "--screenshot", screenshot];
        foreach (var a in args)
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
        Assert.True(node.ExitCode == 0, $"exit {node.ExitCode}: {stdout.Result} {stderr.Result}");
        Assert.Contains("PASS", stdout.Result, StringComparison.Ordinal);
        var png = File.ReadAllBytes(screenshot);
        Assert.True(png.Length > 1000);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    private static string? FindOnPath(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, name)).FirstOrDefault(File.Exists);
}
