using BertSharp.Inference;
using BertSharp.Runtime;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Inference;

/// <summary>
/// What the library's <see cref="TextClassifier"/> learns from training_args.json, and the backend record's bounds: a
/// QA pass found the library silent where <c>bert evaluate</c> spoke (the fine-tuned max_length) and accepting what the
/// CLI refused (a negative ONNX Runtime thread count).
/// </summary>
public sealed class ClassifierTrainingArgsTests
{
    [Fact]
    public void FineTunedMaxLength_is_the_recorded_max_length_and_MaxLength_keeps_its_default()
    {
        using var tmp = TestPaths.TempDir();
        HfFixture.CopyCase("sequence-classification", tmp.Path);
        int defaultLength;
        using (var unknown = TextClassifier.Load(tmp.Path, "cpu"))
        {
            Assert.Null(unknown.FineTunedMaxLength);
            defaultLength = unknown.MaxLength;
        }
        File.WriteAllText(Path.Combine(tmp.Path, "training_args.json"), """{"task": "sst2", "max_length": 32, "truncation_side": "tail"}""");
        using (var classifier = TextClassifier.Load(tmp.Path, "cpu"))
        {
            Assert.Equal(32, classifier.FineTunedMaxLength);
            Assert.Equal(defaultLength, classifier.MaxLength);
            Assert.NotEqual(32, classifier.MaxLength);
            // The same one read of the file gives the task and the side.
            Assert.Equal("sst2", classifier.FineTunedTask!.Name);
            Assert.Equal(TruncationSide.Tail, classifier.TruncationSide);
        }
        // Loaded again at the recorded length, as the property's doc says, the classifier reads inputs as validation did.
        using var asValidated = TextClassifier.Load(tmp.Path, "cpu", maxLength: 32);
        Assert.Equal(32, asValidated.MaxLength);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MaxValue)]
    public void InferenceBackend_refuses_thread_counts_the_cli_refuses(int threads)
    {
        var e = Assert.Throws<BertSharpException>(() => new InferenceBackend("model.onnx", threads));
        Assert.Equal([FormattableString.Invariant($"threads {threads}: expected 0..{ThreadCount.Max} (at most 4 × the {Environment.ProcessorCount} processors; 0: one per core).")],
            [e.Message]);
        Assert.Equal(["threads"], e.Fields);
        Assert.Throws<BertSharpException>(() => InferenceBackend.Torch with { Threads = threads });
        Assert.Throws<BertSharpException>(() => InferenceBackend.Parse("onnxruntime", ".", null, threads));
    }

    [Fact]
    public void InferenceBackend_takes_zero_and_four_threads_per_processor()
    {
        Assert.Equal(0, new InferenceBackend("model.onnx").Threads);
        Assert.Equal(4 * Environment.ProcessorCount, new InferenceBackend("model.onnx", 4 * Environment.ProcessorCount).Threads);
        Assert.Equal(1, (InferenceBackend.Torch with { Threads = 1 }).Threads);
    }
}
