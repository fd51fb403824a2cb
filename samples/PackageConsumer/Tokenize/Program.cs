// Tokenizes each argument after the vocabulary, or each line of a text file (--file, .gz read decompressed), with
// BertSharp.Tokenizers alone and prints one JSON line per text:
//   dotnet run --project Tokenize -- ../../samples/vocab/bert-base-uncased-vocab.txt "Hello, world!"
//   dotnet run --project Tokenize -- ../../samples/vocab/bert-base-uncased-vocab.txt --file ../../samples/corpus/imdb_unsup_sample.txt.gz
using System.Text.Json;
using BertSharp;
using BertSharp.IO;
using BertSharp.Tokenization;

if (args.Length < 2 || (args[1] == "--file" && args.Length != 3))
{
    Console.Error.WriteLine("usage: Tokenize VOCAB.txt TEXT [TEXT...] | Tokenize VOCAB.txt --file TEXT.txt[.gz]");
    return 2;
}
try
{
    var tokenizer = BertTokenizer.FromVocabFile(args[0], lowercase: true);
    // A .gz cut short is an error here, not a shorter file: the package turns on the runtime's strict gzip validation in
    // this app's build (see bin/.../Tokenize.runtimeconfig.json).
    var texts = args[1] == "--file" ? TextLines.Read(args[2]) : args.Skip(1);
    foreach (var text in texts)
    {
        var encoding = tokenizer.Encode(text, options: new EncodeOptions { MaxLength = 32 });
        Console.WriteLine(JsonSerializer.Serialize(new { text, tokens = encoding.Tokens, ids = encoding.Ids }));
    }
}
catch (BertSharpException e)
{
    Console.Error.WriteLine("error: " + e.Message);
    return 1;
}
return 0;
