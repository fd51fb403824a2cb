using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using BertSharp.Checkpoints;
using BertSharp.IO;
using TorchSharp;

namespace BertSharp.Training;

/// <summary>
/// <c>trainer_state.json</c> of a checkpoint: where the run is (step, data position, the task's running values), the
/// settings it must be resumed with, and the random state. The model is beside it (config.json, model.safetensors) and so
/// are AdamW's moments (<see cref="OptimizerState"/>).
/// </summary>
public sealed class TrainerState
{
    /// <summary>The file name in a checkpoint directory.</summary>
    public const string FileName = TrainingArgsFile.CheckpointStateFileName;

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        RespectNullableAnnotations = true,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    /// <summary>Optimizer steps done.</summary>
    [JsonRequired]
    public long GlobalStep { get; set; }

    /// <summary>Optimizer steps of the whole run.</summary>
    [JsonRequired]
    public long TotalSteps { get; set; }

    /// <summary>The run's settings (snake_case); a resumed run must have the same (<see cref="CheckResumable"/>).</summary>
    [JsonRequired]
    public JsonObject Settings { get; set; } = [];

    /// <summary>Where the data continues (the data source's own fields, e.g. <c>data_position</c> or <c>epoch</c> and <c>shuffle_state</c>).</summary>
    [JsonRequired]
    public JsonObject Data { get; set; } = [];

    /// <summary>The task's running values (e.g. the best validation metric so far).</summary>
    [JsonRequired]
    public JsonObject Task { get; set; } = [];

    /// <summary>torch's CPU generator (dropout draws from it) as base64, or null when the run re-seeds it every step.</summary>
    public string? TorchRngState { get; set; }

    /// <summary>How the random state is reproduced (for readers of the checkpoint).</summary>
    public string Rng { get; set; } = "";

    /// <summary>Writes the state atomically.</summary>
    public void Save(string path) => AtomicFile.WriteAllText(path, JsonSerializer.Serialize(this, Json) + "\n");

    /// <summary>Reads a state; a missing or malformed file is an error naming it (and the field).</summary>
    public static TrainerState Load(string path)
    {
        if (!File.Exists(path))
        {
            throw new BertSharpException($"{path}: not found; not a checkpoint written by BertSharp's trainer.");
        }
        var state = StrictJson.Read<TrainerState>(path, Json, "the trainer state of a checkpoint");
        // A resumed run would start its step count (and learning-rate schedule) there.
        if (state.GlobalStep < 0 || state.TotalSteps < 0)
        {
            var (field, value) = state.GlobalStep < 0 ? ("global_step", state.GlobalStep) : ("total_steps", state.TotalSteps);
            throw new BertSharpException(Invariant($"{path}: field '{field}': expected an integer >= 0, got {value}."));
        }
        return state;
    }

    /// <summary>
    /// Throws when a resumed run's settings differ from the checkpoint's (the result would not be the same run); the error
    /// names the first differing setting (in the order of <paramref name="current"/>) as its field.
    /// </summary>
    /// <param name="current">The settings of the run that resumes.</param>
    /// <param name="checkpoint">The checkpoint, for messages.</param>
    /// <param name="mayGrow">Numeric settings that may be raised (not lowered), e.g. the steps of a run that is extended.</param>
    /// <param name="free">Settings that may change freely (they do not change the result).</param>
    public void CheckResumable(JsonObject current, string checkpoint, IReadOnlyCollection<string>? mayGrow = null, IReadOnlyCollection<string>? free = null)
    {
        ArgumentNullException.ThrowIfNull(current);
        // In the order of the current settings: their writer puts the options a user sets before those derived from them.
        foreach (var name in current.Select(kv => kv.Key).Union(Settings.Select(kv => kv.Key)))
        {
            if (free?.Contains(name) == true)
            {
                continue;
            }
            var saved = Settings[name]?.ToJsonString() ?? "null";
            var now = current[name]?.ToJsonString() ?? "null";
            if (saved == now)
            {
                continue;
            }
            // A side that is unset (or not a number) has nothing to grow from or to: comparing its NaN said "steps 2000 is
            // below the run's null"; it gets the message of any other change below.
            if (mayGrow?.Contains(name) == true
                && (TrainLog.Number(Settings, name), TrainLog.Number(current, name)) is var (a, b) && !double.IsNaN(a) && !double.IsNaN(b))
            {
                if (b > a)
                {
                    continue;
                }
                throw new BertSharpException(
                    $"{checkpoint}: cannot resume: {BertSharpException.Field(name)} {now} is below the run's {saved}; a resumed run may keep or extend it, not shorten it.");
            }
            if (name == "example_dropout" && now == "true")
            {
                // A data-parallel run always keys dropout by example, so "the same settings" cannot be had on several ranks.
                throw new BertSharpException(
                    $"{checkpoint}: cannot resume: the run was started without {BertSharpException.Field(name)}, and this one uses it (a data-parallel run "
                    + "always does); resume it as one process without it, and start a run that is to continue on several ranks with it.");
            }
            throw new BertSharpException(Changed(checkpoint, name, saved, now, "resume with the same settings"));
        }
    }

    /// <summary>
    /// The one wording of a resume refused for a setting that is not the checkpoint's (fine-tuning's and pre-training's alike):
    /// the checkpoint, the field, the value the checkpoint recorded and the one given, as JSON (<c>null</c>: not given), then
    /// <paramref name="advice"/>.
    /// </summary>
    internal static string Changed(string checkpoint, string name, string saved, string now, string advice)
    {
        // An option left unset is stored as null (or not at all); "was null" read as a value the user gave.
        var was = saved == "null" ? "was not given" : $"was {saved}";
        var isNow = now == "null" ? "is not given" : $"is {now}";
        return $"{checkpoint}: cannot resume: {BertSharpException.Field(name)} {was} in the checkpoint but {isNow} now; {advice}.";
    }

    /// <summary>Captures torch's CPU generator into <see cref="TorchRngState"/>.</summary>
    public void CaptureTorchRng()
    {
        using var state = torch.random.get_rng_state();
        TorchRngState = Convert.ToBase64String(state.data<byte>().ToArray());
    }

    /// <summary>Sets torch's CPU generator to <see cref="TorchRngState"/>.</summary>
    public void RestoreTorchRng(string checkpoint)
    {
        using var state = torch.tensor(TorchRngBytes(checkpoint), dtype: torch.ScalarType.Byte);
        try
        {
            torch.random.set_rng_state(state);
        }
        catch (Exception e) when (e is ExternalException or ArgumentException)
        {
            throw new BertSharpException($"{checkpoint}: torch_rng_state is not a CPU generator state ({e.Message}).", e);
        }
    }

    /// <summary>
    /// Throws unless <see cref="TorchRngState"/> is there and decodes, so a resumed run that needs it is refused before it
    /// prints or writes anything (only torch itself can tell whether the bytes are a generator's state).
    /// </summary>
    internal void CheckTorchRng(string checkpoint) => TorchRngBytes(checkpoint);

    private byte[] TorchRngBytes(string checkpoint)
    {
        if (TorchRngState is null)
        {
            throw new BertSharpException($"{checkpoint}: the trainer state has no torch_rng_state; cannot resume this run exactly.");
        }
        try
        {
            return Convert.FromBase64String(TorchRngState);
        }
        catch (FormatException e)
        {
            throw new BertSharpException($"{checkpoint}: torch_rng_state is not base64 ({e.Message}).", e);
        }
    }
}
