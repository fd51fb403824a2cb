// Times HuggingFace tokenizers (npm tokenizers@0.23.2, Rust core) on the same texts as `bert bench tokenize`.
// Usage: node hf_tokenize.js VOCAB INPUT [lowercase=true] [rounds=3]; thread count from RAYON_NUM_THREADS.
// Prints one JSON line like `bert bench tokenize` (cpu_seconds: CPU time of the whole process during the round). Encoding runs as encodeBatch (one call into Rust per round, so the
// JS<->Rust crossing is paid once, not per text): the most favourable way to run HF from Node.
// Bad input ends it with one line on stderr and exit code 2, as `bert` does (anything else: exit 70).
const fs = require('fs');
const zlib = require('zlib');

/** A fault of the input files, not of this script. */
class InputError extends Error {}

// char.IsWhiteSpace's set (String.IsNullOrWhiteSpace in TextCorpus): JS's \s adds U+FEFF and lacks U+0085, and a line that
// one peer skipped and the other timed would make the token counts differ.
const blank = /^[\t\n\v\f\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;

function readTexts(path) {
  // As `bert bench tokenize` (TextCorpus): any other file was read as lines, a .tsv or .jsonl file's columns and braces with them.
  const csv = /\.csv(\.gz)?$/i.test(path);
  if (!csv && !/\.txt(\.gz)?$/i.test(path)) throw new InputError(`${path}: expected a .txt file (one text per line) or a .csv file with a header, optionally gzipped (.txt.gz, .csv.gz).`);
  let data;
  try {
    data = fs.readFileSync(path);
    if (/\.gz$/i.test(path)) data = zlib.gunzipSync(data);
  } catch (e) {
    throw new InputError(`${path}: cannot read it (${e.code || e.message}).`);
  }
  const text = data.toString('utf8');
  if (!csv) {
    const lines = text.split(/\r?\n/);
    if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    const texts = lines.filter((l) => !blank.test(l));
    if (texts.length === 0) throw new InputError(lines.length === 0 ? `${path}: empty file; expected one text per line.` : `${path}: no texts, only blank lines; expected one text per line.`);
    return texts;
  }
  // RFC 4180: fields quoted when they hold ',' '"' or newlines, '"' doubled inside quotes. Each row keeps the line it starts
  // on for messages; an empty line is no row, as in TextCorpus's reader.
  const rows = [];
  let row = [], field = '', quoted = false, wasQuoted = false, line = 1, start = 1;
  const endRow = () => {
    if (row.length > 0 || field.length > 0 || wasQuoted) { row.push(field); row.line = start; rows.push(row); }
    row = []; field = ''; wasQuoted = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') { field += '"'; i++; } else quoted = false;
      } else field += c;
    } else if (c === '"') { quoted = true; wasQuoted = true; }
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n') { field = field.replace(/\r$/, ''); endRow(); start = line; }
    else field += c;
  }
  endRow();
  const header = (rows.shift() || []).map((h) => h.trim());
  if (header.length === 0) throw new InputError(`${path}: empty CSV file; expected a header line.`);
  let col = header.indexOf('review');
  if (col < 0) col = header.indexOf('text');
  if (col < 0) throw new InputError(`${path}: expected a column 'review' or 'text' in the header; it has ${header.join(',')}.`);
  const name = header[col];
  // As TextCorpus: a short row and a blank text are faults of the file (the first was dropped here and the second timed as
  // [CLS] [SEP]), so both peers time the same texts or neither runs.
  const texts = rows.map((r) => {
    if (r.length <= col) throw new InputError(`${path} line ${r.line}: missing field '${name}' (the row has ${r.length} field${r.length === 1 ? '' : 's'}, expected ${header.length}).`);
    if (blank.test(r[col])) throw new InputError(`${path} line ${r.line}: field '${name}' is empty; expected text.`);
    return r[col];
  });
  if (texts.length === 0) throw new InputError(`${path}: no rows after the header; expected one text per row.`);
  return texts;
}

async function main() {
  const [, , vocab, input, lowerArg = 'true', roundsArg = '3'] = process.argv;
  if (!vocab || !input) throw new InputError('usage: node hf_tokenize.js VOCAB INPUT [lowercase=true] [rounds=3]');
  const lowercase = lowerArg === 'true';
  // Read first: bad input is refused without the npm package, which only bench/tokenize.sh installs.
  const texts = readTexts(input);
  let tokenizers;
  try {
    tokenizers = require('tokenizers');
  } catch (e) {
    throw new InputError(`npm tokenizers is not installed (${e.code}); bench/tokenize.sh installs tokenizers@0.23.2 into bench/.hf and runs this with NODE_PATH=bench/.hf/node_modules.`);
  }
  const { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer, bertProcessing } = tokenizers;
  const model = await WordPiece.fromFile(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 });
  const tok = new Tokenizer(model);
  tok.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: lowercase, lowercase }));
  tok.setPreTokenizer(bertPreTokenizer());
  tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  tok.setPostProcessor(bertProcessing(['[SEP]', tok.tokenToId('[SEP]')], ['[CLS]', tok.tokenToId('[CLS]')]));
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
}

// An uncaught error ended Node with a stack trace and exit code 1, which bench/tokenize.sh passed on as it was.
main().catch((e) => {
  const message = String(e && e.message ? e.message : e).replace(/\s*\n\s*/g, ' ');
  process.stderr.write(e instanceof InputError ? `error: ${message}\n` : `error: internal error: ${message}\n`);
  process.exitCode = e instanceof InputError ? 2 : 70;
});
