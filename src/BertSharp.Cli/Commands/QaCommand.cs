using System.CommandLine;
using System.Text.Json;
using BertSharp.IO;
using BertSharp.Inference;
using BertSharp.Modeling;

namespace BertSharp.Cli.Commands;

/// <summary><c>bert qa</c>: extractive answers from a context of any length.</summary>
internal static class QaCommand
{
    public static Command Create()
    {
        var model = CommonOptions.ModelOption("A BertForQuestionAnswering model directory or Hub id.");
        var question = new Option<string>("--question") { Description = "The question.", Required = true };
        var context = new Option<string?>("--context") { Description = "The context text." };
        var contextFile = new Option<string?>("--context-file") { Description = "A UTF-8 file holding the context." };
        var topK = CommonOptions.TopK("Answers to print, best first.", 1);
        var maxAnswer = CommonOptions.MaxAnswerLength(QuestionAnsweringOptions.DefaultMaxAnswerLength);
        var stride = CommonOptions.DocStride();
        var maxLength = CommonOptions.MaxLength($"For qa: tokens per window (default min({QuestionAnsweringOptions.DefaultWindow}, the trained length)).",
            longer: "a longer context is read in overlapping windows, never truncated");
        var impossible = new Option<bool>("--handle-impossible-answer")
        {
            Description = "Also offer \"no answer\" (an empty answer at 0-0, scored P(start=[CLS]) × P(end=[CLS]), the smallest over windows), " +
                          "as HF's pipeline handle_impossible_answer: for a model fine-tuned on SQuAD v2.0.",
        };
        var device = CommonOptions.Device();
        var threads = CommonOptions.Threads();
        var cmd = new Command("qa", "Answer a question from a context (long contexts are read in overlapping windows); prints JSON lines.")
        {
            model, question, context, contextFile, topK, maxAnswer, stride, impossible, maxLength, device, threads,
        };
        cmd.SetAction(p =>
        {
            CommonOptions.ApplyThreads(p, threads);
            var text = (p.GetValue(context), p.GetValue(contextFile)) switch
            {
                ({ } c, null) => c,
                (null, { } f) => TextLines.ReadAllText(CliInput.ExistingFile("--context-file", f), "a --context-file"),
                _ => throw new BertSharpException("qa: give exactly one of --context \"...\" or --context-file FILE."),
            };
            // The library's rule, checked before the model is loaded.
            if (QuestionAnswering.BlankInput(p.GetValue(question), text) is { } blank)
            {
                throw new BertSharpException($"qa: the {blank} must not be empty.");
            }
            using var pipe = QuestionAnswering.Load(p.GetValue(model)!, p.GetValue(device)!);
            WordPieces.Require(pipe.Tokenizer, p.GetValue(question)!, "--question");
            WordPieces.Require(pipe.Tokenizer, text, p.GetValue(contextFile) is { } file ? $"--context-file {file}" : "--context");
            var length = ModelLength.Resolve(pipe.Model.Config, pipe.Tokenizer, p.GetValue(maxLength), p.GetValue(model)!, preferred: QuestionAnsweringOptions.DefaultWindow);
            if (length.Warning is { } w)
            {
                CliErrors.Warn(w);
            }
            var options = new QuestionAnsweringOptions(p.GetValue(topK), length.Length, p.GetValue(stride), p.GetValue(maxAnswer), p.GetValue(impossible));
            foreach (var a in pipe.Answer([(p.GetValue(question)!, text)], options)[0])
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(a, CliJson.Options));
            }
            return 0;
        });
        return cmd;
    }
}
