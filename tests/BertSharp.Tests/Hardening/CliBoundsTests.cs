using BertSharp.Cli.Commands;
using BertSharp.Tests.Infrastructure;
using BertSharp.Tests.Modeling;
using BertSharp.Tests.Tokenization;
using BertSharp.Tokenization;

namespace BertSharp.Tests.Hardening;

/// <summary>
/// Bounds and one-line errors for values the parser accepts but the commands cannot use: huge thread counts and lengths,
/// empty paths, parse errors, paths under a file. Each is refused before any work with exit 2 and one stderr line naming the flag.
/// </summary>
[Collection(SerialCollection.Name)]
[Trait(SerialCollection.TraitName, SerialCollection.TraitValue)]
public class CliBoundsTests
{
    private static string Vocab => TokenizationFixtures.VocabPath("bert-base-uncased");

    private static string Classifier => HfFixture.Dir("sequence-classification");

    private static readonly int MaxThreads = 4 * Environment.ProcessorCount;

    private static string InputFile(TempDir tmp)
    {
        File.WriteAllText(tmp.File("in.txt"), "The cat sat on the mat.\n");
        return tmp.File("in.txt");
    }

    [Fact]
    public void Thread_counts_are_bounded_by_four_per_processor()
    {
        Assert.Equal(MaxThreads, CommonOptions.MaxThreads);
        Assert.Equal(MaxThreads, CommonOptions.CheckThreads(MaxThreads));
        Assert.Equal(1, CommonOptions.CheckThreads(1));
        Assert.Equal(0, CommonOptions.CheckThreads(0, "--ort-threads", zeroIsDefault: true));
        Assert.Throws<BertSharpException>(() => CommonOptions.CheckThreads(0));
        Assert.Throws<BertSharpException>(() => CommonOptions.CheckThreads(-1, "--ort-threads", zeroIsDefault: true));
        var e = Assert.Throws<BertSharpException>(() => CommonOptions.CheckThreads(MaxThreads + 1, "--ort-threads", zeroIsDefault: true));
        Assert.StartsWith($"--ort-threads {MaxThreads + 1}: expected 0..{MaxThreads} ", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("predict", "--threads", "100000")]
    [InlineData("predict", "--threads", "max+1")]
    [InlineData("predict", "--ort-threads", "max+1")]
    [InlineData("embed", "--threads", "max+1")]
    [InlineData("pretrain-data", "--threads", "max+1")]
    [InlineData("vocab", "--threads", "max+1")]
    [InlineData("bench", "--threads", "1,max+1")]
    [InlineData("export-onnx", "--threads", "max+1")]
    public void Too_many_threads_are_refused_naming_the_flag(string command, string flag, string value)
    {
        using var tmp = TestPaths.TempDir();
        value = value.Replace("max+1", (MaxThreads + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        var n = value.Split(',')[^1];
        string[] args = command switch
        {
            "predict" => ["predict", "--model", Classifier, "--text", "a fine film", flag, value],
            "embed" => ["embed", "--model", Classifier, "--input", InputFile(tmp), "--output", tmp.File("out.jsonl"), flag, value],
            "pretrain-data" => ["pretrain-data", "--input", InputFile(tmp), "--vocab", Vocab, "--output", tmp.File("out"), flag, value],
            "vocab" => ["vocab", "train", "--input", InputFile(tmp), "--vocab-size", "100", "--output", tmp.File("vocab.txt"), flag, value],
            "bench" => ["bench", "tokenize", "--vocab", Vocab, "--input", InputFile(tmp), flag, value],
            _ => ["export-onnx", Classifier, tmp.File("m.onnx"), flag, value],
        };
        CliRunner.Run(args).AssertOneLineError($"{flag} {n}: expected ", $"..{MaxThreads} ");
        Assert.DoesNotContain(Directory.GetFileSystemEntries(tmp.Path), f => Path.GetFileName(f) != "in.txt");
    }

    [Theory]
    [InlineData("--bucket-mb", "1e-9", "error: --bucket-mb 1E-09: expected a finite number of MiB, at least one byte (1/1048576).")]
    [InlineData("--bucket-mb", "Infinity", "error: --bucket-mb Infinity: expected a finite number of MiB, at least one byte (1/1048576).")]
    [InlineData("--bucket-mb", "0", "error: --bucket-mb 0: expected a finite number of MiB, at least one byte (1/1048576).")]
    [InlineData("--steps", "0", "error: --steps 0: expected at least 1.")]
    [InlineData("--config", "huge", "error: --config huge: expected a size preset (tiny, mini, small, medium, base, large).")]
    public void Bench_allreduce_names_the_flag_out_of_range(string flag, string value, string expected)
    {
        // Checked before it asks for ranks: a bucket under one byte was an internal error (DataParallel's bucketBytes 0),
        // an infinite one libtorch's "can't allocate memory" with a native stack trace, and an unknown preset came from every
        // rank without the flag's name.
        string[] args = flag == "--config" ? ["bench", "allreduce", flag, value] : ["bench", "allreduce", "--config", "tiny", flag, value];
        var line = CliRunner.Run(args).AssertOneLineError();
        Assert.Equal(expected, line);
    }

    [Fact]
    public void Bench_allreduce_outside_a_launch_says_how_to_run_it()
    {
        // Valid flags in a process that no launcher started: the ranks of the tests that run it never take this path, and
        // without the check it ended in an internal error (a LocalCommunicator cast to MpiCommunicator).
        var line = CliRunner.Run("bench", "allreduce", "--config", "tiny", "--steps", "1").AssertOneLineError();
        Assert.Equal("error: bench allreduce measures communication between ranks; run it as 'bert launch --nproc 2 -- bench allreduce'.", line);
    }

    [Theory]
    [InlineData("10", "1", "error: --steps 10: expected at least 11 (the first 10 % of the steps are the warm-up, at least two steps).")]
    [InlineData("20", "15", "error: --sample-every 15: leaves 1 RSS sample(s) after the first 10 % of the 20 steps; the drift needs at least two (lower --sample-every or raise --steps).")]
    [InlineData("20", "0", "error: --sample-every 0: expected at least 1.")]
    public void Bench_pretrain_memory_refuses_a_sampling_that_cannot_measure_drift_before_training(string steps, string every, string expected)
    {
        // The data directory does not exist: the check comes first. Too few samples were found after training all the steps
        // (step 1 and 15 of 20 sampled, only 15 after the first 10 %), and --sample-every 0 sampled every step. Under 11 steps
        // the warm-up (their tenth, rounded up) is step 1 alone.
        using var tmp = TestPaths.TempDir();
        var line = CliRunner.Run("bench", "pretrain-memory", "--data", tmp.File("no-data"), "--vocab", Vocab, "--steps", steps, "--sample-every", every)
            .AssertOneLineError();
        Assert.Equal(expected, line);
    }

    [Theory]
    [InlineData("finetune --output", "error: --output: empty value; expected a path.")]
    [InlineData("convert --output", "error: --output: empty value; expected a path.")]
    [InlineData("convert output", "error: output: empty value; expected a path.")]
    [InlineData("evaluate --output", "error: --output: empty value; expected a path.")]
    [InlineData("evaluate --data", "error: --data: empty value; expected a path.")]
    [InlineData("predict --input", "error: --input: empty value; expected a path.")]
    [InlineData("predict --model", "error: --model: empty value; expected a model directory or Hub id.")]
    [InlineData("fill-mask --text", "error: --text: empty value; expected a text.")]
    public void Empty_values_are_refused_naming_the_option(string where, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var data = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
        var (command, flag) = (where.Split(' ')[0], where.Split(' ')[1]);
        foreach (var empty in new[] { "", "  " })
        {
            var args = command switch
            {
                "finetune" => new List<string> { "finetune", "--task", "sst2", "--data", data, "--model", Classifier, "--output", tmp.File("run") },
                "convert" when flag == "output" => ["convert", Classifier, tmp.File("out")],
                "convert" => ["convert", "--model", Classifier, "--output", tmp.File("out")],
                "evaluate" => ["evaluate", "--model", Classifier, "--task", "sst2", "--data", data, "--output", tmp.File("m.json")],
                "predict" => ["predict", "--model", Classifier, "--input", InputFile(tmp), "--output", tmp.File("out.jsonl")],
                _ => ["fill-mask", "--model", Classifier, "--text", "a [MASK] film"],
            };
            if (flag == "output")
            {
                args[^1] = empty;
            }
            else
            {
                args[args.IndexOf(flag) + 1] = empty;
            }
            Assert.Equal(expected, CliRunner.Run([.. args]).AssertOneLineError());
            Assert.DoesNotContain(Directory.GetFileSystemEntries(tmp.Path), f => Path.GetFileName(f) != "in.txt");
        }
    }

    [Fact]
    public void Commands_with_their_own_empty_text_message_keep_it()
    {
        Assert.Equal("error: --text: empty; give the text to classify.", CliRunner.Run("predict", "--model", Classifier, "--text", "").AssertOneLineError());
        Assert.Equal("error: qa: the question must not be empty.",
            CliRunner.Run("qa", "--model", Classifier, "--question", " ", "--context", "c").AssertOneLineError());
        Assert.Equal("error: qa: the context must not be empty.",
            CliRunner.Run("qa", "--model", Classifier, "--question", "q", "--context", " ").AssertOneLineError());
    }

    // A zero-width space is no whitespace to string.IsNullOrWhiteSpace, but the tokenizer drops it: qa printed no answer,
    // ner no entity and nsp the probability of [CLS] [SEP] [SEP], each with exit 0.
    [Theory]
    [InlineData("ner", "token-classification", "--text")]
    [InlineData("qa", "question-answering", "--question")]
    [InlineData("qa", "question-answering", "--context")]
    [InlineData("nsp", "pretraining", "--text-pair")]
    public void A_text_the_tokenizer_keeps_nothing_of_is_refused_naming_its_flag(string command, string caseName, string flag)
    {
        List<string> args = command switch
        {
            "ner" => ["ner", "--text", "the cat"],
            "qa" => ["qa", "--question", "where?", "--context", "the mat"],
            _ => ["nsp", "--text", "the cat", "--text-pair", "sat down"],
        };
        args[args.IndexOf(flag) + 1] = "\u200b\u0007";
        args.AddRange(["--model", HfFixture.Dir(caseName)]);
        Assert.Equal($"error: {flag}: no word pieces (only characters the tokenizer drops, such as control or zero-width ones); expected text.",
            CliRunner.Run([.. args]).AssertOneLineError());
    }

    [Theory]
    [InlineData("finetune --epochs 0.5", "error: --epochs 0.5: expected a whole number.")]
    [InlineData("finetune --seed -1", "error: --seed -1: expected a whole number, 0 or more.")]
    [InlineData("finetune --lr inf", "error: --lr inf: expected a number.")]
    [InlineData("finetune --batch-size 99999999999", "error: --batch-size 99999999999: expected a whole number no larger than 2147483647.")]
    [InlineData("finetune --batch-size -99999999999", "error: --batch-size -99999999999: expected a whole number no smaller than -2147483648.")]
    [InlineData("finetune --epochs 0.5 --bogus", "error: --epochs 0.5: expected a whole number.")]
    [InlineData("finetune --lowercase maybe", "error: --lowercase maybe: expected true or false.")]
    [InlineData("embed --pooling max", "error: --pooling max: expected one of cls, mean.")]
    [InlineData("ner --aggregation SIMPLE", "error: --aggregation SIMPLE: expected one of none, simple, first, average, max.")]
    [InlineData("export-onnx --architecture BertForSequence",
        "error: --architecture BertForSequence: expected one of BertModel, BertForPreTraining, BertForMaskedLM, BertForNextSentencePrediction, " +
        "BertForSequenceClassification, BertForTokenClassification, BertForQuestionAnswering, BertForMultipleChoice.")]
    [InlineData("predict --bogus", "error: --bogus: unrecognized command or argument (see 'bert predict --help').")]
    [InlineData("frob", "error: frob: unrecognized command or argument (see 'bert --help').")]
    // A learner's typo, and the HF names the tutorials pass: the option meant is named.
    [InlineData("finetune --epoch 2", "error: --epoch: unrecognized command or argument; did you mean --epochs? (see 'bert finetune --help').")]
    [InlineData("finetune --learning_rate 2e-5", "error: --learning_rate: unrecognized command or argument; did you mean --lr? (see 'bert finetune --help').")]
    [InlineData("finetune --num_train_epochs 3", "error: --num_train_epochs: unrecognized command or argument; did you mean --epochs? (see 'bert finetune --help').")]
    [InlineData("finetune --max_seq_length 64", "error: --max_seq_length: unrecognized command or argument; did you mean --max-length? (see 'bert finetune --help').")]
    [InlineData("finetune --eval_data x", "error: --eval_data: unrecognized command or argument; did you mean --eval-data? (see 'bert finetune --help').")]
    [InlineData("evaluate --max-exmples 5", "error: --max-exmples: unrecognized command or argument; did you mean --max-examples? (see 'bert evaluate --help').")]
    [InlineData("bench tokenize --input x", "error: --vocab: required (see 'bert bench tokenize --help').")]
    [InlineData("vocab", "error: vocab: expected a command: train (see 'bert vocab --help').")]
    [InlineData("data stats --task cola", "error: <file>: required: a data file in the task's format (.gz is decompressed) (see 'bert data stats --help').")]
    public void Parse_errors_are_one_line_naming_the_flag_with_exit_2(string commandLine, string expected)
    {
        var r = CliRunner.Run(commandLine.Split(' '));
        Assert.Equal(expected, r.AssertOneLineError());
        Assert.DoesNotContain("System.", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void No_command_is_one_line_pointing_at_the_help() =>
        Assert.Equal("error: no command given; 'bert --help' lists them.", CliRunner.Run().AssertOneLineError());

    [Theory]
    [InlineData("--padding max_length --pad-length 2000000000",
        "error: --pad-length 2000000000: expected a padded length of at most 1048576 (the most positions a BERT model may have).")]
    [InlineData("--padding max_length --pad-length 1048577",
        "error: --pad-length 1048577: expected a padded length of at most 1048576 (the most positions a BERT model may have).")]
    [InlineData("--padding max_length --max-length 2000000000",
        "error: --max-length 2000000000: expected a padded length of at most 1048576 (the most positions a BERT model may have).")]
    [InlineData("--padding max_length --pad-length 1048576 --pad-to-multiple-of 1000000",
        "error: --pad-length 1048576: expected a padded length of at most 1048576 after rounding up to a multiple of 1000000 (the most positions a BERT model may have).")]
    [InlineData("--padding longest --pad-to-multiple-of 2000000000",
        "error: --pad-to-multiple-of 2000000000: expected 1..1048576 (the most positions a BERT model may have).")]
    public void Tokenize_refuses_padded_lengths_no_model_takes(string flags, string expected)
    {
        using var tmp = TestPaths.TempDir();
        var r = CliRunner.Run(["tokenize", "--vocab", Vocab, "--input", InputFile(tmp), "--output", tmp.File("out.jsonl"), .. flags.Split(' ')]);
        Assert.Equal(expected, r.AssertOneLineError());
        Assert.False(File.Exists(tmp.File("out.jsonl")));
    }

    [Fact]
    public void Tokenize_refuses_a_longest_padding_that_rounds_up_past_the_most_positions()
    {
        // Fixed padding is bounded from its flags; padding to the longest knows its length only after encoding, and used to
        // write it whatever it was. 524,288 words "a" + [CLS] + [SEP] = 524,290 tokens, rounded up to 2 × 524,289 = 1,048,578.
        const string expected = "error: --padding longest (the longest encoding has 524290 tokens): expected a padded length of at most 1048576 after rounding up to a multiple of 524289 (the most positions a BERT model may have).";
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("in.txt"), "short\n" + string.Join(' ', Enumerable.Repeat("a", 524_288)) + "\n");
        string[] args = ["tokenize", "--vocab", Vocab, "--input", tmp.File("in.txt"), "--padding", "longest", "--pad-to-multiple-of", "524289"];
        var toFile = CliRunner.Run([.. args, "--output", tmp.File("out.jsonl")]);
        Assert.Equal(expected, toFile.AssertOneLineError());
        Assert.False(File.Exists(tmp.File("out.jsonl")));
        // To stdout nothing is written before the refusal either (AssertOneLineError: stdout empty).
        Assert.Equal(expected, CliRunner.Run(args).AssertOneLineError());
    }

    [Fact]
    public void Tokenize_encodes_fewer_lines_at_once_when_fixed_padding_is_long()
    {
        // 2^22 padded tokens per chunk, at most 8192 lines: 512 → 8192, 100,000 → 41, 1,048,576 → 4.
        Assert.Equal(8192, Cli.Commands.TokenizeCommand.ChunkFor(new EncodeOptions { Padding = PaddingStrategy.MaxLength, PaddingLength = 512 }));
        Assert.Equal(41, Cli.Commands.TokenizeCommand.ChunkFor(new EncodeOptions { Padding = PaddingStrategy.MaxLength, PaddingLength = 100_000 }));
        Assert.Equal(4, Cli.Commands.TokenizeCommand.ChunkFor(new EncodeOptions { Padding = PaddingStrategy.MaxLength, MaxLength = 1 << 20 }));
        // 1000 rounded up to a multiple of 1024 → 1024 → 4096 lines.
        Assert.Equal(4096, Cli.Commands.TokenizeCommand.ChunkFor(new EncodeOptions { Padding = PaddingStrategy.MaxLength, PaddingLength = 1000, PadToMultipleOf = 1024 }));
        Assert.Equal(8192, Cli.Commands.TokenizeCommand.ChunkFor(new EncodeOptions { MaxLength = 1 << 20 }));
    }

    [Fact]
    public void Tokenize_pads_to_the_longest_accepted_length()
    {
        using var tmp = TestPaths.TempDir();
        var r = CliRunner.Run("tokenize", "--vocab", Vocab, "--input", InputFile(tmp), "--output", tmp.File("out.jsonl"), "--padding", "max_length", "--pad-length", "1048576");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadLines(tmp.File("out.jsonl")).Single());
        Assert.Equal(1 << 20, json.RootElement.GetProperty("ids").GetArrayLength());
    }

    [Fact]
    public void A_batch_larger_than_the_data_is_one_batch_per_epoch()
    {
        int[] lengths = [5, 3, 9, 4, 7, 2, 8, 6];
        // 8 examples: ceil(8 / int.MaxValue) = 1 batch; 3 per batch: 3 batches, all accumulated into ceil(3 / int.MaxValue) = 1 step.
        var whole = new BertSharp.Training.EpochPlan(lengths, int.MaxValue, 1, bucketByLength: true, seed: 42);
        Assert.Equal((1, 1), (whole.BatchesPerEpoch, whole.StepsPerEpoch));
        var accumulated = new BertSharp.Training.EpochPlan(lengths, 3, int.MaxValue, bucketByLength: true, seed: 42);
        Assert.Equal((3, 1), (accumulated.BatchesPerEpoch, accumulated.StepsPerEpoch));
        // The same batches as a batch of exactly the data (the bucketing window was batchSize × 50, which overflowed).
        var huge = BertSharp.Data.Batching.Plan(lengths, int.MaxValue, new BertSharp.Data.DeterministicRandom(7), bucketByLength: true);
        var exact = BertSharp.Data.Batching.Plan(lengths, lengths.Length, new BertSharp.Data.DeterministicRandom(7), bucketByLength: true);
        Assert.Equal(exact, huge);
        // One window holds all 8, sorted by length (2, 3, 4, 5, 6, 7, 8, 9), whatever the shuffle.
        Assert.Equal(new[] { 5, 1, 3, 0, 7, 4, 6, 2 }, Assert.Single(huge));
    }

    [Fact]
    public void Finetune_with_a_batch_size_of_int_max_trains_one_step_per_epoch()
    {
        using var tmp = TestPaths.TempDir();
        var r = CliRunner.Run("finetune", "--task", "sst2", "--data", Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv"), "--model", Classifier,
            "--output", tmp.File("run"), "--batch-size", "2147483647", "--epochs", "2", "--device", "cpu");
        Assert.True(r.ExitCode == 0, r.StdErr);
        // 9 lines: a header and 8 examples, 1 held out for validation; 7 in one batch: 1 step per epoch, 2 in all.
        using var start = System.Text.Json.JsonDocument.Parse(File.ReadLines(Path.Combine(tmp.File("run"), "train_log.jsonl")).First());
        Assert.Equal(7, start.RootElement.GetProperty("train_examples").GetInt32());
        Assert.Equal(2, start.RootElement.GetProperty("total_steps").GetInt32());
    }

    [Fact]
    public void Qa_refuses_a_context_file_with_invalid_utf8_naming_the_line()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllBytes(tmp.File("ctx.txt"), [.. "fine\nstill fine\ngood "u8, 0xFF, .. " movie\n"u8]);
        Assert.Equal($"error: {tmp.File("ctx.txt")} line 3: invalid UTF-8 byte sequence (the file must be UTF-8 text).",
            CliRunner.Run("qa", "--model", Classifier, "--question", "what?", "--context-file", tmp.File("ctx.txt")).AssertOneLineError());
    }

    [Fact]
    public void A_whole_text_file_keeps_its_line_terminators_and_drops_the_bom()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllBytes(tmp.File("ctx.txt"), [0xEF, 0xBB, 0xBF, .. "a\r\nb\nc"u8]);
        Assert.Equal("a\r\nb\nc", BertSharp.IO.TextLines.ReadAllText(tmp.File("ctx.txt"), "a QA context"));
    }

    [Fact]
    public void Unwritable_outputs_are_refused_naming_the_flag_before_anything_is_loaded()
    {
        using var tmp = TestPaths.TempDir();
        var data = Path.Combine(TestPaths.Fixtures, "data", "sst2_train.tsv");
        Directory.CreateDirectory(tmp.File("dir"));
        File.WriteAllText(tmp.File("afile.txt"), "x");
        var afile = tmp.File("afile.txt");
        Assert.Equal($"error: --output {tmp.File("dir")}: is a directory; expected a file path.",
            CliRunner.Run("evaluate", "--model", Classifier, "--task", "sst2", "--data", data, "--output", tmp.File("dir")).AssertOneLineError());
        Assert.Equal($"error: --output {afile}/x.jsonl: afile.txt is a file, not a directory; expected a path inside a directory.",
            CliRunner.Run("predict", "--model", Classifier, "--input", InputFile(tmp), "--output", afile + "/x.jsonl").AssertOneLineError());
        // A model that does not exist: the output is refused first, so nothing was loaded.
        Assert.Equal($"error: --output {afile}/sub/run: afile.txt is a file, not a directory; expected a path inside a directory.",
            CliRunner.Run("finetune", "--task", "sst2", "--data", data, "--model", tmp.File("no-model"), "--output", afile + "/sub/run").AssertOneLineError());
        Assert.Equal($"error: output {afile}: is a file; expected a directory (new, empty, or written by bert).",
            CliRunner.Run("convert", Classifier, afile).AssertOneLineError());
        // A link is named as typed (flag and value, not the library's full path), not by where it points; one that ends nowhere
        // was called a file (File.Exists is true for it).
        Directory.CreateSymbolicLink(tmp.File("gone"), "nowhere");
        Assert.Equal($"error: output {tmp.Path}/./gone: a symbolic link to {tmp.File("nowhere")}, which does not exist; expected a link to a directory.",
            CliRunner.Run("convert", Classifier, tmp.Path + "/./gone").AssertOneLineError());
        Directory.CreateDirectory(tmp.File("mine"));
        File.WriteAllText(tmp.File("mine/notes.txt"), "keep");
        Directory.CreateSymbolicLink(tmp.File("linked"), "mine");
        Assert.StartsWith($"error: --output {tmp.Path}/./linked: not empty and not written by bert (it holds notes.txt);",
            CliRunner.Run("convert", "--model", Classifier, "--output", tmp.Path + "/./linked").AssertOneLineError(), StringComparison.Ordinal);
        Assert.Equal($"error: --plot {tmp.File("dir")}: is a directory; expected a file path.",
            CliRunner.Run("embed", "--model", Classifier, "--input", InputFile(tmp), "--output", tmp.File("e.jsonl"), "--plot", tmp.File("dir")).AssertOneLineError());
        // The embeddings used to replace the input they were computed from.
        File.WriteAllText(tmp.File("in.jsonl"), "{\"text\": \"hello\"}\n");
        Assert.Equal($"error: --output {tmp.File("in.jsonl")}: is also the --input file; expected another path (writing would replace the input).",
            CliRunner.Run("embed", "--model", Classifier, "--input", tmp.File("in.jsonl"), "--output", tmp.File("in.jsonl")).AssertOneLineError());
        Assert.Equal("{\"text\": \"hello\"}\n", File.ReadAllText(tmp.File("in.jsonl")));
        File.Delete(tmp.File("in.jsonl"));
        Assert.Equal(["afile.txt", "dir", "gone", "in.txt", "linked", "mine"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Empty(Directory.GetFileSystemEntries(tmp.File("dir")));
    }

    // The system refuses these only when they are written: .NET's error named the temp sibling ("/proc/.x.png.353300d3.tmp:
    // not found"), and embed had already written (and announced) its embeddings file when the plot failed.
    [Fact]
    public void Outputs_the_system_refuses_are_named_by_their_flag_and_nothing_is_written()
    {
        using var tmp = TestPaths.TempDir();
        File.WriteAllText(tmp.File("in.txt"), "The cat sat on the mat.\nA dog barked.\n");
        Assert.Equal("error: --plot /proc/x.png: cannot be written (no such file or directory).",
            CliRunner.Run("embed", "--model", Classifier, "--input", tmp.File("in.txt"), "--output", tmp.File("e.jsonl"), "--plot", "/proc/x.png").AssertOneLineError());
        Assert.Equal("error: --output /proc/sub/e.jsonl: cannot be written (no such file or directory).",
            CliRunner.Run("embed", "--model", Classifier, "--input", tmp.File("in.txt"), "--output", "/proc/sub/e.jsonl", "--plot", tmp.File("x.png")).AssertOneLineError());
        Assert.Equal("error: --output /proc/t.jsonl: cannot be written (no such file or directory).",
            CliRunner.Run("tokenize", "--vocab", Path.Combine(Classifier, "vocab.txt"), "--input", tmp.File("in.txt"), "--output", "/proc/t.jsonl").AssertOneLineError());
        Assert.Equal(["in.txt"], Directory.GetFileSystemEntries(tmp.Path).Select(Path.GetFileName));
    }
}
