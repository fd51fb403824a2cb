using System.Security.Cryptography;
using System.Text.Json.Nodes;
using BertSharp.Distributed;
using BertSharp.Evaluation;
using BertSharp.Inference;
using BertSharp.Modeling;
using BertSharp.Tokenization;

namespace BertSharp.Training;

/// <summary>
/// What a resumed fine-tuning must share with its checkpoint (<see cref="TrainerState.Settings"/>, and the model's
/// config.json), for sequence classification and the task heads alike, and the checks that it does.
/// </summary>
internal static class ResumeSettings
{
    private const string DataSha = "data_sha256";
    private const string EvalDataSha = "eval_data_sha256";

    // SHA-256 of each tokenizer file by name: a vocabulary edited in place keeps its path and can keep its size (vocab_size).
    private const string TokenizerSha = "tokenizer_sha256";

    // The model directory as a full path: "model" keeps the spelling given, which another spelling of the same directory
    // changes and a relative path given from another working directory does not.
    private const string ModelPath = "model_path";

    // The lower-casing the tokenizer resolved to and where it was decided: a model from scratch takes it from the
    // tokenizer_config.json or tokenizer.json beside its vocabulary, which are not hashed, and "lowercase" records only
    // what was asked (null when the files decide).
    private const string Lowercasing = "lowercasing";

    // Settings that a run derives from the others: compared last, so that a refusal names the option that was changed
    // (--grad-accum, not the total_steps it changed).
    private static readonly string[] Derived = ["train_examples", "validation_examples", "warmup_steps", "total_steps"];

    // Recorded since checkpoints held them: a checkpoint without one still resumes, unchecked on it.
    private static readonly string[] RecordedLater = ["max_train_examples", "max_eval_examples", "warmup_ratio", ModelPath, DataSha, EvalDataSha];

    /// <summary>
    /// The training arguments, the options that shaped the data and the schedule, the number of examples they gave and
    /// the contents of the data and tokenizer files (<paramref name="fingerprints"/>, <see cref="Fingerprints"/>), derived settings last.
    /// </summary>
    public static JsonObject Of(JsonObject args, TrainingOptions t, int trainExamples, int validationExamples, JsonObject fingerprints)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(fingerprints);
        var s = new JsonObject();
        foreach (var (k, v) in args.Where(kv => !Derived.Contains(kv.Key)))
        {
            s[k] = v?.DeepClone();
        }
        s["max_train_examples"] = t.MaxTrainExamples;
        s["max_eval_examples"] = t.MaxEvalExamples;
        s["warmup_ratio"] = t.WarmupRatio;
        s[ModelPath] = t.ModelDir is not null && Directory.Exists(t.ModelDir) ? Path.TrimEndingDirectorySeparator(Path.GetFullPath(t.ModelDir)) : null;
        foreach (var (k, v) in fingerprints)
        {
            s[k] = v?.DeepClone();
        }
        s["train_examples"] = trainExamples;
        s["validation_examples"] = validationExamples;
        s["warmup_steps"] = args["warmup_steps"]?.DeepClone();
        s["total_steps"] = args["total_steps"]?.DeepClone();
        return s;
    }

    /// <summary>
    /// SHA-256 of the training and validation files and of the tokenizer files <paramref name="source"/> was read from (those
    /// of its model directory that the tokenizer reads, <see cref="BertTokenizer.DirectoryFiles"/>, or the vocabulary of a
    /// model from scratch): a file edited in place keeps its path, a data file can keep its example count and a vocabulary its
    /// size; a file the tokenizer does not read is not the run's, and an edit of it is no reason to refuse the resume. With
    /// them the lower-casing the tokenizer resolved to (<see cref="ModelSource.Lowercasing"/>) and where it was decided.
    /// </summary>
    public static JsonObject Fingerprints(TrainingOptions t, ModelSource source)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(source);
        var tokenizer = new JsonObject();
        IEnumerable<string> files = source.ModelDir is { } dir
            ? BertTokenizer.DirectoryFiles(f => File.Exists(Path.Combine(dir, f))).Select(f => Path.Combine(dir, f))
            : [t.VocabPath!];
        foreach (var file in files)
        {
            tokenizer[Path.GetFileName(file)] = Sha256(file);
        }
        return new JsonObject
        {
            [DataSha] = Sha256(t.DataPath),
            [EvalDataSha] = t.EvalDataPath is null ? null : Sha256(t.EvalDataPath),
            [TokenizerSha] = tokenizer,
            [Lowercasing] = source.Lowercasing is { } d ? new JsonObject { ["lowercase"] = d.Lowercase, ["source"] = d.Source } : null,
        };
    }

    /// <summary>
    /// On rank 0 of <paramref name="communicator"/> (and in one process), the run's settings (<paramref name="settings"/>,
    /// made by <see cref="Of"/>) checked against a resumed checkpoint's (<paramref name="state"/>, <see cref="Check"/>); on
    /// the other ranks an empty object. Called inside the caller's <see cref="Rank0Work"/>, whose end has the other ranks
    /// wait for that check (and fail with it).
    /// </summary>
    /// <param name="communicator">The data-parallel group.</param>
    /// <param name="settings">Makes the settings; called on rank 0 alone.</param>
    /// <param name="state">The checkpoint's state when the run resumes, else null.</param>
    /// <param name="checkpoint">The checkpoint directory when the run resumes, else null.</param>
    /// <param name="t">The run's settings.</param>
    public static JsonObject CheckedByRank0(ICommunicator communicator, Func<JsonObject> settings, TrainerState? state, string? checkpoint, TrainingOptions t)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(settings);
        // The settings count the validation examples and hash the validation file, which only rank 0 reads (it alone
        // validates), and hashing the data and tokenizer files again on every rank would only repeat its work: rank 0 alone
        // writes them into checkpoints, and its refusal of a resume stops the job.
        var s = new JsonObject();
        if (communicator.IsWriter())
        {
            s = settings();
            if (state is not null)
            {
                Check(state, s, checkpoint!, t);
            }
        }
        return s;
    }

    /// <summary>
    /// Throws when <paramref name="settings"/> are not the checkpoint's: a data file whose contents changed is named as such,
    /// any other difference by the first differing option (<see cref="TrainerState.CheckResumable"/>).
    /// </summary>
    public static void Check(TrainerState state, JsonObject settings, string checkpoint, TrainingOptions t)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(t);
        foreach (var (key, field, path) in new[] { (DataSha, "data", t.DataPath), (EvalDataSha, "eval_data", t.EvalDataPath) })
        {
            var (was, now) = (Text(state.Settings[key]), Text(settings[key]));
            // Another path, or validation data added or dropped, is a changed setting, named below.
            if (was is null || now is null || was == now || state.Settings[field]?.ToJsonString() != settings[field]?.ToJsonString())
            {
                continue;
            }
            throw new BertSharpException(
                $"{checkpoint}: cannot resume: {BertSharpException.Field(field)} {path} has changed since the run started (sha256 {Short(was)} then, {Short(now)} now); "
                + "resume with the data the run started with, or start a new run.");
        }
        var (startedFrom, model) = (Text(state.Settings[ModelPath]), Text(settings[ModelPath]));
        if (startedFrom is not null && model is not null && startedFrom != model)
        {
            throw new BertSharpException(
                $"{checkpoint}: cannot resume: {BertSharpException.Field("model")} {t.ModelDir} is {model}, but the run started from {startedFrom}; resume with the same model.");
        }
        var sameModel = startedFrom is not null && startedFrom == model;
        // Another model or vocabulary is a changed setting, named below; the same one with other files is refused here.
        if ((sameModel || Same(state.Settings, settings, "model")) && Same(state.Settings, settings, "vocab"))
        {
            CheckTokenizer(state.Settings[TokenizerSha] as JsonObject, settings[TokenizerSha] as JsonObject, checkpoint, t);
        }
        var free = RecordedLater.Where(k => !state.Settings.ContainsKey(k)).Append(TokenizerSha).Append(Lowercasing).ToList();
        if (sameModel)
        {
            free.Add("model");
        }
        // The schedule depends on the warmup steps alone, whichever option gave them: the same steps by warmup_steps instead
        // of warmup_ratio train the same run (an old checkpoint, which does not record the ratio, resumed so and a new one
        // was refused). A difference names the option this run sets them with, after the settings they derive from.
        free.AddRange(["warmup_ratio", "warmup_steps", SeqevalMode.ModeKey, SeqevalMode.SchemeKey, .. LrSchedulerRecord.Keys]);
        // HF derives eval_strategy from eval_steps here ("steps" exactly when --eval-steps is given): a difference is named
        // by the flag, which eval_steps is compared as.
        free.Add("eval_strategy");
        // Where checkpoints are written changes nothing a run computes, as pre-training's save_every.
        free.Add("save_steps");
        // The validation batches change the validation loss a little, nothing the run trains (and checkpoints before it was
        // recorded validated at the training batch size).
        free.Add(TrainingArgs.EvalBatchSizeKey);
        // Earlier versions wrote the seed as a string ("42"); the same seed as a number is the same run.
        if (Text(state.Settings["seed"]) is { } oldSeed && oldSeed == settings["seed"]?.ToJsonString())
        {
            free.Add("seed");
        }
        state.CheckResumable(settings, checkpoint, free: free);
        CheckNerMode(state.Settings, settings, checkpoint);
        // After the settings: a changed lowercase, vocab or model is named as such, not as the lower-casing it changed.
        CheckLowercasing(state.Settings[Lowercasing], settings[Lowercasing], checkpoint);
        CheckWarmup(state.Settings["warmup_steps"], settings["warmup_steps"], checkpoint, t);
        LrSchedulerRecord.Check(state.Settings, settings, checkpoint);
    }

    private static void CheckTokenizer(JsonObject? saved, JsonObject? current, string checkpoint, TrainingOptions t)
    {
        if (saved is null || current is null)
        {
            return;
        }
        // A checkpoint written before only the files the tokenizer reads were hashed holds the others too (special_tokens_map.json).
        var read = t.ModelDir is null ? saved.Select(kv => kv.Key) : BertTokenizer.DirectoryFiles(saved.ContainsKey);
        foreach (var name in read.Union(current.Select(kv => kv.Key)))
        {
            var (was, now) = (Text(saved[name]), Text(current[name]));
            if (was == now)
            {
                continue;
            }
            var file = t.ModelDir is { } dir ? $"{name} in {BertSharpException.Field("model")} {dir}" : $"{BertSharpException.Field("vocab")} {t.VocabPath}";
            throw new BertSharpException(
                $"{checkpoint}: cannot resume: {file} has changed since the run started ({Hash(was)} then, {Hash(now)} now); "
                + "resume with the tokenizer the run started with, or start a new run.");
        }
    }

    private static void CheckLowercasing(JsonNode? saved, JsonNode? current, string checkpoint)
    {
        // A checkpoint written before the lower-casing was recorded resumes unchecked on it.
        if (Decision(saved) is not { } was || Decision(current) is not { } now || was.Lowercase == now.Lowercase)
        {
            return;
        }
        throw new BertSharpException(
            $"{checkpoint}: cannot resume: the run started with {was}, and this one has {now}; resume with the tokenizer the run started with, or start a new run.");
    }

    // A run records seqeval's mode only when strict (a checkpoint of the default mode from before it was recorded resumes as
    // it did): an absent one is the default mode, and is named so rather than as an option not given.
    private static void CheckNerMode(JsonObject saved, JsonObject current, string checkpoint)
    {
        foreach (var (key, absent) in new[] { (SeqevalMode.ModeKey, "default"), (SeqevalMode.SchemeKey, "none") })
        {
            var (was, now) = (saved[key]?.ToJsonString() ?? $"\"{absent}\"", current[key]?.ToJsonString() ?? $"\"{absent}\"");
            if (was != now)
            {
                throw new BertSharpException(
                    $"{checkpoint}: cannot resume: {BertSharpException.Field(key)} was {was} in the checkpoint but is {now} now; resume with the same settings.");
            }
        }
    }

    private static LowercaseDecision? Decision(JsonNode? node) =>
        node?["lowercase"] is JsonValue v && v.TryGetValue<bool>(out var lowercase) && Text(node["source"]) is { } from ? new LowercaseDecision(lowercase, from) : null;

    private static string Hash(string? sha) => sha is null ? "absent" : "sha256 " + Short(sha);

    private static bool Same(JsonObject a, JsonObject b, string key) => a[key]?.ToJsonString() == b[key]?.ToJsonString();

    private static void CheckWarmup(JsonNode? saved, JsonNode? current, string checkpoint, TrainingOptions t)
    {
        var (was, now) = (saved?.ToJsonString() ?? "null", current?.ToJsonString() ?? "null");
        if (was == now)
        {
            return;
        }
        var setBy = (t.WarmupRatio, t.WarmupSteps) switch
        {
            ({ } ratio, _) => $"{BertSharpException.Field("warmup_ratio")} {ratio.ToString(System.Globalization.CultureInfo.InvariantCulture)} gives {now}",
            (_, not null) => $"{BertSharpException.Field("warmup_steps")} is {now}",
            _ => $"with neither {BertSharpException.Field("warmup_steps")} nor {BertSharpException.Field("warmup_ratio")} given it is {now}",
        };
        throw new BertSharpException(
            $"{checkpoint}: cannot resume: the run warms up for {was} step(s) in the checkpoint, but {setBy} now; resume with the same warmup.");
    }

    /// <summary>
    /// Reads the checkpoint's config.json and throws, naming the file and the first differing field, when it is not the
    /// config this run builds (<paramref name="expected"/>: its model, from <paramref name="origin"/>, with the task's labels);
    /// gives the checkpoint's config.
    /// </summary>
    /// <remarks>
    /// Settings name the model by its path only: a model directory or config file changed in place (another size, other
    /// labels or label order, other dropout) resumed into weights and a head that no longer fit the run, silently where the
    /// shapes still matched.
    /// </remarks>
    public static BertConfig CheckConfig(BertConfig expected, string checkpoint, string origin)
    {
        ArgumentNullException.ThrowIfNull(expected);
        ArgumentNullException.ThrowIfNull(checkpoint);
        var path = Path.Combine(checkpoint, "config.json");
        var saved = BertConfig.Load(path);
        var (was, now) = (Comparable(saved), Comparable(expected));
        foreach (var key in was.Select(kv => kv.Key).Union(now.Select(kv => kv.Key)))
        {
            var (a, b) = (was[key]?.ToJsonString() ?? "null", now[key]?.ToJsonString() ?? "null");
            if (a != b)
            {
                throw new BertSharpException(
                    $"{path}: cannot resume: {key} is {a} there but {b} in the model this run builds from {origin} and its data; "
                    + "resume with the model and data the run started with, or start a new run.");
            }
        }
        return saved;
    }

    // Saving sets these (the class saved and its weights' dtype); they do not change what the run trains.
    private static JsonObject Comparable(BertConfig config)
    {
        var o = JsonNode.Parse(config.ToJson())!.AsObject();
        o.Remove("architectures");
        o.Remove("torch_dtype");
        return o;
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    private static string Short(string sha) => sha.Length > 12 ? sha[..12] + "…" : sha;

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
