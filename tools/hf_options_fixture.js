// Writes tests/fixtures/tokenization/hf-options.json: HF tokenizers@0.23.2 encodings of bert-base-uncased under truncation
// strategies, strides, overflow, truncation side, padding (side, fixed length, pad_to_multiple_of) and batch padding,
// plus decodes. node tools/hf_options_fixture.js VOCAB OUT (npm install tokenizers@0.23.2).
const { Tokenizer, WordPiece, bertNormalizer, bertPreTokenizer, bertProcessing, wordPieceDecoder } = require('tokenizers');
const fs = require('fs');
const A = 'The cat sat on the [MASK].';
const B = 'It was happy.';
const C = "I don't think this movie was as good as the critics said; the acting was wooden, the plot predictable and the ending far too long.";
const D = "Hello, y'all! How are you 😁 ? naïve café résumé 東京 unaffable";
const cases = [];
for (const [t, p] of [[A, B], [B, A], [C, D], [D, C], [C, null], [D, null]]) {
  for (const strategy of ['LongestFirst', 'OnlyFirst', 'OnlySecond']) {
    for (const [max, stride] of [[10, 0], [20, 2], [30, 5], [3, 0], [6, 0]]) {
      cases.push({ text: t, text_pair: p, max_length: max, strategy, stride, padding: null, side: 'right' });
    }
  }
}
for (const side of ['right', 'left']) {
  cases.push({ text: B, text_pair: null, max_length: 12, strategy: null, stride: 0, padding: 'max_length', side });
  cases.push({ text: C, text_pair: B, max_length: 16, strategy: 'OnlyFirst', stride: 3, padding: 'max_length', side });
  cases.push({ text: C, text_pair: null, max_length: 16, strategy: 'LongestFirst', stride: 4, padding: 'longest', side });
}
// Truncation from the left (HF truncation_side / TruncationDirection::Left).
for (const [t, p] of [[A, B], [B, A], [C, D], [C, null], [D, null], [B, null]]) {
  for (const strategy of ['LongestFirst', 'OnlyFirst', 'OnlySecond']) {
    // (HF aborts the process when a stride reaches the room left for a text, so strides stay small for pairs.)
    for (const [max, stride] of p === null ? [[10, 0], [20, 2], [30, 5], [6, 0], [9, 3]] : [[10, 0], [20, 2], [30, 5], [6, 0]]) {
      cases.push({ text: t, text_pair: p, max_length: max, strategy, stride, padding: null, side: 'right', truncation_side: 'left' });
    }
  }
}
// Padding to a fixed length other than max_length, and pad_to_multiple_of, on both sides, with and without truncation.
for (const side of ['right', 'left']) {
  cases.push({ text: B, text_pair: null, max_length: null, strategy: null, stride: 0, padding: 'max_length', pad_length: 12, side });
  cases.push({ text: C, text_pair: B, max_length: 16, strategy: 'LongestFirst', stride: 0, padding: 'max_length', pad_length: 24, side });
  cases.push({ text: C, text_pair: null, max_length: 16, strategy: 'LongestFirst', stride: 4, padding: 'max_length', pad_length: 20, side, truncation_side: 'left' });
  cases.push({ text: B, text_pair: null, max_length: 12, strategy: null, stride: 0, padding: 'max_length', pad_to_multiple_of: 8, side });
  cases.push({ text: B, text_pair: null, max_length: null, strategy: null, stride: 0, padding: 'longest', pad_to_multiple_of: 8, side });
  cases.push({ text: C, text_pair: B, max_length: 16, strategy: 'OnlyFirst', stride: 3, padding: 'max_length', pad_to_multiple_of: 5, side });
  cases.push({ text: C, text_pair: null, max_length: 16, strategy: 'LongestFirst', stride: 4, padding: 'longest', pad_to_multiple_of: 7, side });
  cases.push({ text: A, text_pair: B, max_length: null, strategy: null, stride: 0, padding: 'max_length', pad_length: 13, pad_to_multiple_of: 4, side });
}
// Batches: padding to the longest of the batch, rounded up to a multiple.
const batches = [];
for (const [padding, multiple, padLength] of [['longest', null, null], ['longest', 8, null], ['longest', 5, null], ['max_length', 8, 10]]) {
  for (const side of ['right', 'left']) {
    batches.push({ inputs: [[A, null], [B, null], [C, null], [D, null]], padding, pad_to_multiple_of: multiple, pad_length: padLength, side });
  }
}
function dump(e) {
  return { ids: e.getIds(), type_ids: e.getTypeIds(), attention_mask: e.getAttentionMask(), special_tokens_mask: e.getSpecialTokensMask(),
    offsets: e.getOffsets(), word_ids: e.getWordIds().map((w) => (w === null || w === undefined ? -1 : w)),
    overflowing: e.getOverflowing().map(dump) };
}
(async () => {
  const [, , vocab, out] = process.argv;
  const model = await WordPiece.fromFile(vocab, { unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100 });
  const tok = new Tokenizer(model);
  tok.setNormalizer(bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true }));
  tok.setPreTokenizer(bertPreTokenizer());
  tok.addSpecialTokens(['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']);
  tok.setPostProcessor(bertProcessing(['[SEP]', tok.tokenToId('[SEP]')], ['[CLS]', tok.tokenToId('[CLS]')]));
  tok.setDecoder(wordPieceDecoder('##', true));
  const results = [];
  function configure(c) {
    if (c.strategy) tok.setTruncation(c.max_length, { strategy: c.strategy, stride: c.stride, direction: c.truncation_side || 'right' });
    else tok.disableTruncation();
    const multiple = c.pad_to_multiple_of ? { padToMultipleOf: c.pad_to_multiple_of } : {};
    if (c.padding === 'max_length') tok.setPadding({ maxLength: c.pad_length || c.max_length, direction: c.side, ...multiple });
    else if (c.padding === 'longest') tok.setPadding({ direction: c.side, ...multiple });
    else tok.disablePadding();
  }
  for (const c of cases) {
    configure(c);
    try {
      const e = c.text_pair === null ? await tok.encode(c.text) : await tok.encode(c.text, c.text_pair);
      results.push({ ...c, expected: dump(e) });
    } catch (err) {
      results.push({ ...c, error: String(err.message || err).split('\n')[0] });
    }
  }
  const batchResults = [];
  for (const b of batches) {
    configure(b);
    const encs = await tok.encodeBatch(b.inputs.map(([t, p]) => (p === null ? t : [t, p])));
    batchResults.push({ ...b, expected: encs.map(dump) });
  }
  tok.disableTruncation();
  tok.disablePadding();
  const decodes = [];
  for (const t of [A, B, C, D, "don't do not it's I'm we've you're , . ? !"]) {
    const ids = (await tok.encode(t)).getIds();
    decodes.push({ ids, skip: await tok.decode(ids, true), keep: await tok.decode(ids, false) });
  }
  fs.writeFileSync(out, JSON.stringify({ cases: results, batches: batchResults, decodes }));
  console.log(results.length, 'cases,', results.filter((r) => r.error).length, 'errors');
})();
