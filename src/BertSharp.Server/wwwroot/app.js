"use strict";
// The page asks /health which endpoints the loaded model has and shows a panel for each; everything else is plain fetch.
const $ = (id) => document.getElementById(id);
let endpoints = [];
let attention = null;
let pairInput = false;

// Blank as the server decides it (.NET's char.IsWhiteSpace), not as trim() does: JavaScript's white space leaves out U+0085,
// which the server refuses as an empty field, and holds U+FEFF, which the server takes as text. The OpenAPI schema's
// ApiSchema.NotBlank is this class negated (a test holds the two together).
const BLANK = /^[\t-\r \u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]*$/;
const isBlank = (text) => BLANK.test(text);
// The targets field's separators: commas and the same blanks, so that no word the server would call blank is sent as a target.
const TARGET_SEPARATORS = new RegExp(`[,${BLANK.source.slice("^[".length, -"]*$".length)}]+`);
// The words of the targets field, or null when it has none (the whole vocabulary is ranked).
function targetWords() {
  const words = $("targets").value.split(TARGET_SEPARATORS).filter((w) => w !== "");
  return words.length ? words : null;
}

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const json = await response.json();
  if (!response.ok) throw new Error(json.error || `HTTP ${response.status}`);
  return json;
}

function el(tag, props = {}, children = []) {
  const e = document.createElement(tag);
  Object.assign(e, props);
  for (const c of children) e.append(c);
  return e;
}

// One row of label bars per (label, score), in the order given; a regression value gets no bar and four decimals.
function labelBars(labels, regression) {
  return labels.map((l) =>
    el("div", { className: "bar-row" }, [
      el("span", { className: "bar-label", textContent: l.label }),
      el("div", { className: "bar" }, regression ? [] : [el("div", { style: `width:${Math.max(0, Math.min(1, l.score)) * 100}%` })]),
      el("span", { className: "bar-value", textContent: l.score.toFixed(regression ? 4 : 3) }),
    ]));
}

function showClassification(prediction) {
  // A regression model answers one value (the label "score"), not a probability: it was shown as "score (-3.7 %)" with a bar.
  const regression = prediction.labels.length === 1;
  $("top-label").textContent = regression
    ? `${prediction.label} ${prediction.score.toFixed(4)}`
    : `${prediction.label} (${(prediction.score * 100).toFixed(1)} %)`;
  $("labels").replaceChildren(...labelBars(prediction.labels, regression));
  $("classify").hidden = false;
}

// result: HF's {sequence, labels, scores}, the labels already sorted by score, most likely first.
function showZeroShot(result) {
  $("zero-shot-labels-shown").replaceChildren(...labelBars(result.labels.map((label, i) => ({ label, score: result.scores[i] })), false));
  $("zero-shot").hidden = false;
}

// warnings: the response's lines about targets it did not rank as typed (a word of several pieces scored by its first), or
// undefined when there are none; without them a user read those scores as the whole word's.
function showMasks(masks, warnings) {
  $("masks").replaceChildren(...masks.map((candidates, i) =>
    el("div", { className: "mask" }, [
      el("strong", { textContent: `[MASK] #${i + 1}` }),
      el("ol", {}, candidates.map((c) => el("li", { textContent: `${c.token} — ${c.score.toFixed(3)} — ${c.sequence}` }))),
    ])));
  $("fill-mask-warnings").replaceChildren(...(warnings || []).map((w) => el("p", { textContent: `warning: ${w}` })));
  $("fill-mask-warnings").hidden = !warnings || warnings.length === 0;
  $("fill-mask").hidden = false;
}

function showEntities(text, entities) {
  const parts = [];
  let at = 0;
  for (const e of entities) {
    if (e.start < at) continue;
    parts.push(text.slice(at, e.start));
    parts.push(el("span", { className: "entity", title: e.score.toFixed(3) }, [text.slice(e.start, e.end), el("small", { textContent: e.entity })]));
    at = e.end;
  }
  parts.push(text.slice(at));
  $("entities").replaceChildren(...parts);
  $("ner").hidden = false;
}

// The lines of the rerank texts field that hold text: a blank line between candidates is no candidate (the server would refuse
// it as an empty text), as `bert rerank --input` skips the blank lines of a .txt file.
function rerankTexts() {
  return $("rerank-texts").value.split(/\r\n|\r|\n/).filter((line) => !isBlank(line));
}

// ranks: TEI's array, most relevant first, each with the text (the request asks for return_text).
function showRanks(ranks) {
  $("ranks").replaceChildren(...ranks.map((r) => el("li", { textContent: `${r.score.toFixed(4)} — ${r.text}` })));
  $("rerank").hidden = false;
}

function showAnswers(answers) {
  $("answers").replaceChildren(...answers.map((a) => el("li", { textContent: `${a.answer} (${a.score.toFixed(3)})` })));
  $("qa").hidden = false;
}

function fillSelect(select, count, prefix) {
  const keep = Math.min(Number(select.value) || 0, count - 1);
  select.replaceChildren(...Array.from({ length: count }, (_, i) => el("option", { value: String(i), textContent: `${prefix} ${i + 1}` })));
  select.value = String(keep);
}

function drawHeatmap() {
  if (!attention) return;
  const weights = attention.attentions[Number($("layer").value)][Number($("head").value)];
  const tokens = attention.tokens;
  // Colour relative to the strongest weight of this head, so that flat heads are still readable.
  const top = Math.max(1e-6, ...weights.flat());
  const head = el("thead", {}, [el("tr", {}, [el("th"), ...tokens.map((t) => el("th", { textContent: t }))])]);
  const body = el("tbody", {}, weights.map((row, q) =>
    el("tr", {}, [el("th", { textContent: tokens[q] }), ...row.map((w, k) =>
      el("td", { title: `${tokens[q]} → ${tokens[k]}: ${w.toFixed(3)}`, style: `background: rgba(47,128,237,${(w / top).toFixed(3)})` }))])));
  $("heatmap").replaceChildren(el("table", {}, [head, body]));
}

async function run() {
  const text = $("text").value;
  $("error").hidden = true;
  $("run").disabled = true;
  const jobs = [];
  try {
    if (endpoints.includes("/v1/classify")) {
      // A sentence-pair model judges the second text against the first. A blank second box is no second text: sent as an
      // empty text_pair it was refused as an empty field, while the server's refusal of one text alone says why a pair is needed.
      const pair = pairInput ? $("text-pair").value : "";
      const body = isBlank(pair) ? { text } : { text, text_pair: pair };
      jobs.push(post("/v1/classify", body).then((r) => showClassification(r.predictions[0])));
    }
    if (endpoints.includes("/v1/fill-mask") && text.includes("[MASK]")) {
      const targets = targetWords();
      jobs.push(post("/v1/fill-mask", targets ? { text, targets } : { text }).then((r) => showMasks(r.masks, r.warnings)));
    }
    if (endpoints.includes("/v1/ner")) jobs.push(post("/v1/ner", { text }).then((r) => showEntities(text, r.entities)));
    if (endpoints.includes("/v1/qa") && !isBlank($("question").value)) {
      jobs.push(post("/v1/qa", { question: $("question").value, context: text, top_k: 3 }).then((r) => showAnswers(r.answers)));
    }
    if (endpoints.includes("/rerank") && !isBlank($("rerank-query").value)) {
      // The texts as typed, blank ones dropped: an empty list is sent too, so that the server's refusal says what is missing.
      jobs.push(post("/rerank", { query: $("rerank-query").value, texts: rerankTexts(), return_text: true }).then(showRanks));
    }
    if (endpoints.includes("/zero-shot") && !isBlank($("zero-shot-labels").value)) {
      // The labels as typed, one string: the server splits it at its commas as HF does, and names what it refuses.
      $("zero-shot").hidden = true;
      const parameters = {
        candidate_labels: $("zero-shot-labels").value,
        multi_label: $("zero-shot-multi-label").checked,
        hypothesis_template: $("zero-shot-template").value,
      };
      jobs.push(post("/zero-shot", { inputs: text, parameters }).then(showZeroShot));
    }
    jobs.push(post("/v1/attention", { text }).then((r) => {
      attention = r;
      fillSelect($("layer"), r.layers, "layer");
      fillSelect($("head"), r.heads, "head");
      drawHeatmap();
      $("attention").hidden = false;
    }));
    const results = await Promise.allSettled(jobs);
    const failed = results.filter((r) => r.status === "rejected").map((r) => r.reason.message);
    if (failed.length) {
      $("error").textContent = failed.join(" · ");
      $("error").hidden = false;
    }
  } finally {
    $("run").disabled = false;
    document.body.dataset.state = "done";
  }
}

async function init() {
  try {
    const health = await (await fetch("/health")).json();
    endpoints = health.endpoints;
    pairInput = health.text_pair === true;
    // The model as /health names it (a Hub id, or a directory's final name): several servers open in tabs are told apart by it.
    document.title = `${health.model} · BertSharp`;
    $("model").textContent = `${health.model} · ${health.architecture}${pairInput ? " (sentence pairs)" : ""} · max ${health.max_length} tokens · ${endpoints.join(", ")}`;
    $("qa-inputs").hidden = !endpoints.includes("/v1/qa");
    $("fill-mask-inputs").hidden = !endpoints.includes("/v1/fill-mask");
    $("pair-inputs").hidden = !pairInput;
    $("rerank-inputs").hidden = !endpoints.includes("/rerank");
    $("zero-shot-inputs").hidden = !endpoints.includes("/zero-shot");
  } catch (e) {
    $("model").textContent = `cannot reach the server: ${e.message}`;
  }
  $("run").addEventListener("click", run);
  $("layer").addEventListener("change", drawHeatmap);
  $("head").addEventListener("change", drawHeatmap);
  document.body.dataset.state = "ready";
}

init();
