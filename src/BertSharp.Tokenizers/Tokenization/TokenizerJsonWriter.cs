using System.Text.Json;
using BertSharp.IO;

namespace BertSharp.Tokenization;

/// <summary>Writes an HF <c>tokenizer.json</c> equivalent to what <c>tokenizers</c> saves for a BERT WordPiece tokenizer.</summary>
internal static class TokenizerJsonWriter
{
    public static void Write(BertTokenizer tok, string path) =>
        AtomicFile.Write(path, stream =>
        {
            using var w = new Utf8JsonWriter(stream, new JsonWriterOptions
            {
                Indented = true,
                Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
            });
            w.WriteStartObject();
            w.WriteString("version", "1.0");
            w.WriteNull("truncation");
            w.WriteNull("padding");
            w.WriteStartArray("added_tokens");
            foreach (var token in tok.Specials.All.Distinct().Where(tok.Vocab.Contains).OrderBy(t => tok.Vocab[t]))
            {
                w.WriteStartObject();
                w.WriteNumber("id", tok.Vocab[token]);
                w.WriteString("content", token);
                w.WriteBoolean("single_word", false);
                w.WriteBoolean("lstrip", false);
                w.WriteBoolean("rstrip", false);
                w.WriteBoolean("normalized", false);
                w.WriteBoolean("special", true);
                w.WriteEndObject();
            }
            w.WriteEndArray();

            var n = tok.Normalizer;
            w.WriteStartObject("normalizer");
            w.WriteString("type", "BertNormalizer");
            w.WriteBoolean("clean_text", n.CleanText);
            w.WriteBoolean("handle_chinese_chars", n.HandleChineseChars);
            if (n.StripAccents is bool strip)
            {
                w.WriteBoolean("strip_accents", strip);
            }
            else
            {
                w.WriteNull("strip_accents");
            }
            w.WriteBoolean("lowercase", n.Lowercase);
            w.WriteEndObject();

            w.WriteStartObject("pre_tokenizer");
            w.WriteString("type", "BertPreTokenizer");
            w.WriteEndObject();

            if (tok.ClsId >= 0 && tok.SepId >= 0)
            {
                w.WriteStartObject("post_processor");
                w.WriteString("type", "BertProcessing");
                w.WriteStartArray("sep");
                w.WriteStringValue(tok.Specials.Sep);
                w.WriteNumberValue(tok.SepId);
                w.WriteEndArray();
                w.WriteStartArray("cls");
                w.WriteStringValue(tok.Specials.Cls);
                w.WriteNumberValue(tok.ClsId);
                w.WriteEndArray();
                w.WriteEndObject();
            }
            else
            {
                w.WriteNull("post_processor");
            }

            w.WriteStartObject("decoder");
            w.WriteString("type", "WordPiece");
            w.WriteString("prefix", WordPiece.Prefix);
            w.WriteBoolean("cleanup", tok.DecoderCleanup);
            w.WriteEndObject();

            w.WriteStartObject("model");
            w.WriteString("type", "WordPiece");
            w.WriteString("unk_token", tok.Specials.Unk);
            w.WriteString("continuing_subword_prefix", WordPiece.Prefix);
            w.WriteNumber("max_input_chars_per_word", tok.MaxInputCharsPerWord);
            w.WriteStartObject("vocab");
            for (var id = 0; id < tok.Vocab.Count; id++)
            {
                w.WriteNumber(tok.Vocab[id], id);
            }
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
        });
}
