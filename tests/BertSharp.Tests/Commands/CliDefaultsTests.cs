using System.CommandLine;
using BertSharp.Data;
using BertSharp.Data.Pretraining;
using BertSharp.Server;
using BertSharp.Training;

namespace BertSharp.Tests.Commands;

/// <summary>
/// Each default lives in one place (issue 14): a command given no optional flags runs with the library's defaults, which the
/// CLI reads instead of restating.
/// </summary>
public class CliDefaultsTests
{
    private sealed class Parsed(Command command, ParseResult result)
    {
        public T Value<T>(string name) => result.GetValue((Option<T>)command.Options.Single(o => o.Name == name && !o.Hidden))!;
    }

    private static Parsed Parse(string command, params string[] args)
    {
        var root = Cli.Program.BuildRoot();
        Command c = root;
        foreach (var name in command.Split(' '))
        {
            c = c.Subcommands.Single(s => s.Name == name);
        }
        var result = root.Parse([.. command.Split(' '), .. args]);
        Assert.Empty(result.Errors);
        return new Parsed(c, result);
    }

    [Fact]
    public void Pretrain_data_defaults_are_the_libraries()
    {
        var p = Parse("pretrain-data", "--input", "c.txt", "--vocab", "vocab.txt", "--output", "out");
        var library = new PretrainingOptions();
        Assert.Equal(library.MaxSeqLength, p.Value<int>("--max-length"));
        Assert.Equal(library.MaxPredictionsPerSeq, p.Value<int>("--max-predictions-per-seq"));
        Assert.Equal(library.MaskedLmProb, p.Value<double>("--masked-lm-prob"));
        Assert.Equal(library.DupeFactor, p.Value<int>("--dupe-factor"));
        Assert.Equal(library.ShortSeqProb, p.Value<double>("--short-seq-prob"));
        Assert.Equal(library.WholeWordMask, p.Value<bool>("--whole-word-mask"));
        Assert.Equal(library.BalancedNsp, !p.Value<bool>("--google-nsp"));
        Assert.Equal(library.Seed, p.Value<long>("--seed"));
        Assert.Null(p.Value<string?>("--objective")); // then the library's Objective
    }

    // HF BertWordPieceTokenizer.train's min_frequency 2 and limit_alphabet 1000, written out: VocabTrainCommandTests' run stops
    // at its --vocab-size before either is reached, so no test saw another default of these flags.
    [Fact]
    public void Vocab_train_defaults_are_those_of_hf_bert_wordpiece_training()
    {
        var p = Parse("vocab train", "--input", "c.txt", "--vocab-size", "100");
        Assert.Equal(2, p.Value<long>("--min-frequency"));
        Assert.Equal(1000, p.Value<int>("--limit-alphabet"));
        Assert.True(p.Value<bool>("--lowercase"));
        var library = new BertSharp.Tokenization.Training.WordPieceTrainerOptions();
        Assert.Equal((2L, (int?)1000), (library.MinFrequency, library.LimitAlphabet));
    }

    [Fact]
    public void Serve_defaults_are_the_servers()
    {
        var p = Parse("serve", "--model", "m");
        var library = new ServerOptions { ModelDirectory = "m" };
        Assert.Equal(library.Device, p.Value<string>("--device"));
        Assert.Equal(library.MaxBatch, p.Value<int>("--max-batch"));
        Assert.Equal(library.MaxLength, p.Value<int?>("--max-length"));
        Assert.Equal(library.MaxQueue, p.Value<int>("--max-queue"));
        Assert.Equal(library.Timeout, TimeSpan.FromSeconds(p.Value<double>("--timeout")));
        Assert.Equal(library.BatchWindow, TimeSpan.FromMilliseconds(p.Value<double>("--batch-window-ms")));
        Assert.Equal(library.MaxBodyBytes, p.Value<long>("--max-body-bytes"));
        Assert.Equal(library.MaxFillMaskCandidates, p.Value<int>("--max-fill-mask-candidates"));
        Assert.Equal(library.MaxTextsPerRequest, p.Value<int>("--max-texts-per-request"));
        Assert.Equal(library.MaxZeroShotPairs, p.Value<int>("--max-zero-shot-pairs"));
        Assert.Equal(library.MaxAttentionLength, p.Value<int>("--max-attention-length"));
        Assert.Equal(library.MaxContextWindows, p.Value<int>("--max-context-windows"));
    }

    [Fact]
    public void Head_tasks_other_than_qa_default_to_the_standard_task_length()
    {
        Assert.Equal(TaskSpec.StandardMaxLength, HeadFineTuneOptions.DefaultMaxLengthOf(HeadTask.TokenClassification));
        Assert.Equal(TaskSpec.StandardMaxLength, HeadFineTuneOptions.DefaultMaxLengthOf(HeadTask.MultipleChoice));
        Assert.Equal(TaskSpec.StandardMaxLength, TaskSpec.Get("csv", null, null, null, false).DefaultMaxLength);
    }
}
