// Times HuggingFace tokenizers (npm tokenizers@0.23.2, Rust core) on the same texts as `bert bench tokenize`.
// Usage: node hf_tokenize.js VOCAB INPUT [lowercase=true] [rounds=3]; thread count from RAYON_NUM_THREADS.
// Prints one JSON line like `bert bench tokenize` (cpu_seconds: CPU time of the whole process during the round). Encoding runs as encodeBatch (one call into Rust per round, so the
// JS<->Rust crossing is paid once, not per text): the most favourable way to run HF from Node.
const { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer, bertProcessing } = require('tokenizers');
const fs = require('fs');
const zlib = require('zlib');

function readTexts(path) {
  // As `bert bench tokenize` (TextCorpus): any other file was read as lines, a .tsv or .jsonl file's columns and braces with them.
  const csv = /\.csv(\.gz)?$/i.test(path);
  if (!csv && !/\.txt(\.gz)?$/i.test(path)) throw new Error(`${path}: expected a .txt file (one text per line) or a .csv file with a header, optionally gzipped (.txt.gz, .csv.gz).`);
  let data = fs.readFileSync(path);
  if (/\.gz$/i.test(path)) data = zlib.gunzipSync(data);
  const text = data.toString('utf8');
  if (!csv) return text.split(/\r?\n/).filter((l) => l.length > 0);
  // RFC 4180: fields quoted when they hold ',' '"' or newlines, '"' doubled inside quotes.
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { row.push(field.replace(/\r$/, '')); rows.push(row); row = []; field = ''; }
    else field += c;
  }
  if (field.length > 0 || row.length > 0) { row.push(field); rows.push(row); }
  const header = rows.shift();
  let col = header.indexOf('review');
  if (col < 0) col = header.indexOf('text');
  if (col < 0) throw new Error(`${path}: no 'review' or 'text' column`);
  return rows.filter((r) => r.length > col).map((r) => r[col]);
}

(async () => {
  const [, , vocab, input, lowerArg = 'true', roundsArg = '3'] = process.argv;
  const lowercase = lowerArg === 'true';
  const model = await WordPiece.fromFile(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 });
  const tok = new Tokenizer(model);
  tok.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: lowercase, lowercase }));
  tok.setPreTokenizer(bertPreTokenizer());
  tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  tok.setPostProcessor(bertProcessing(['[SEP]', tok.tokenToId('[SEP]')], ['[CLS]', tok.tokenToId('[CLS]')]));
  const texts = readTexts(input);
  await tok.encodeBatch(texts.slice(0, 2000)); // warm-up
  let best = Infinity, bestCpu = Infinity, tokens = 0;
  for (let r = 0; r < Number(roundsArg); r++) {
    const c0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const encodings = await tok.encodeBatch(texts);
    const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(c0);
    best = Math.min(best, seconds);
    bestCpu = Math.min(bestCpu, (cpu.user + cpu.system) / 1e6);
    tokens = encodings.reduce((n, e) => n + e.getLength(), 0);
  }
  const threads = Number(process.env.RAYON_NUM_THREADS || require('os').cpus().length);
  console.log(JSON.stringify({ texts: texts.length, tokens, seconds: Number(best.toFixed(4)), tokens_per_second: Math.round(tokens / best), threads,
    cpu_seconds: Number(bestCpu.toFixed(4)), tokens_per_cpu_second: Math.round(tokens / bestCpu) }));
})();
