// Browser test of the `bert serve` web page: for each case, starts the server on a free port with the case's model, opens
// the page in headless Debian chromium (launched once for all cases: it is the costly part), types a sentence, runs it,
// checks the predicted label and the attention heatmap, and saves a screenshot. Prints one JSON line per case (its
// "failed" field is null when it passed), then PASS, or FAIL with the first failure; exit code 0 = every case passed.
//
// node page.test.mjs --bert "<command to run bert>" --cases cases.json
//   cases.json: [{ "name": ..., "model": DIR, "text": ..., "textPair": ... (optional), "expect": LABEL, "screenshot": out.png }]
// node page.test.mjs --bert "<command to run bert>" --model DIR --text "..." [--text-pair "..."] --expect LABEL --screenshot out.png
// With a text pair the model must be a sentence-pair model: the page must show the second field, and the test first runs
// the first text with only blanks in the second field (spaces and a tab, then U+0085) and expects the server's refusal of
// one text alone on the page for each. A case with "targets" is a masked-LM model's: the words are typed into the fill-mask
// targets field and "expect" is the list of tokens the first mask must show, in order (no label or bars are checked), and
// "warnings" the lines the page must show under them. A case with "rerankQuery" is a cross-encoder's: the query and
// "rerankTexts" (one per line, a blank line between each two) are typed into the rerank fields and "expect" is the list of
// texts the page must rank, in order; with "rerankRefused" (texts one per line) it first runs those and records the refusal
// the page shows. A case with "zeroShotLabels" is an NLI model's: the labels (comma-separated), "zeroShotTemplate" and
// "zeroShotMultiLabel" are typed into the zero-shot fields and "expect" is the list of labels the page must show, in order;
// with "zeroShotRefused" (labels the server refuses) it first runs those and records the refusal the page shows. Every case
// records whether the rerank fields ("rerankShown") and the zero-shot fields ("zeroShotShown") were shown.
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { basename, resolve as resolvePath } from "node:path";
import { chromium } from "playwright-core";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
function fail(message) {
  console.error("FAIL " + message);
  process.exit(2);
}
if (!args.bert) fail("missing --bert");
const cases = args.cases
  ? JSON.parse(readFileSync(args.cases, "utf8"))
  : [{ name: "page", model: args.model, text: args.text, textPair: args["text-pair"], expect: args.expect, screenshot: args.screenshot }];
for (const c of cases) {
  for (const key of ["name", "model", "text", "expect", "screenshot"]) {
    if (!c[key]) fail(`case ${c.name ?? "?"}: missing ${key}`);
  }
}
const browserPath = process.env.CHROMIUM ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);
if (!browserPath) fail("no chromium found (set CHROMIUM or apt-get install chromium)");

function startServer(model) {
  const [cmd, ...pre] = args.bert.split(" ");
  const child = spawn(cmd, [...pre, "serve", "--model", model, "--port", "0", "--device", "cpu"], { stdio: ["ignore", "pipe", "pipe"] });
  const ready = new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s: ${out}`)), 60000);
    const onData = (d) => {
      out += d;
      const m = out.match(/serving .* on (http:\/\/[^\s,]+)/);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
  ready.catch(() => {}); // awaited later, when its case runs; a server that dies first must not crash the script now
  return { child, ready };
}

// One case on its own page; returns what the page showed and the failure, if any.
async function runCase(browser, c, url) {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  try {
    await page.goto(url + "/");
    await page.waitForSelector("body[data-state=ready]");
    // The tab names the model as /health does: a directory (as here) by its final name, a Hub id as given.
    const title = await page.title();
    const modelName = existsSync(c.model) ? basename(resolvePath(c.model)) : c.model;
    if (title !== `${modelName} · BertSharp`) throw new Error(`page title "${title}", expected "${modelName} · BertSharp"`);
    const pairShown = await page.isVisible("#text-pair");
    if (Boolean(c.textPair) !== pairShown) throw new Error(`second text field ${pairShown ? "shown" : "hidden"} for this model`);
    const rerankShown = await page.isVisible("#rerank-query");
    const zeroShotShown = await page.isVisible("#zero-shot-labels");
    await page.fill("#text", c.text);
    if (c.targets) return { rerankShown, zeroShotShown, ...(await runFillMask(page, c, pairShown)) };
    if (c.rerankQuery) return { rerankShown, zeroShotShown, ...(await runRerank(page, c, rerankShown)) };
    if (c.zeroShotLabels) return { rerankShown, zeroShotShown, ...(await runZeroShot(page, c, zeroShotShown)) };
    let refusals = null;
    if (c.textPair) {
      // Blanks by the server's test: U+0085 alone is white space to .NET, not to JavaScript's trim().
      refusals = [];
      for (const blank of [" \t ", "\u0085"]) {
        await page.fill("#text-pair", blank);
        await page.click("#run");
        await page.waitForSelector("body[data-state=done]");
        const refusal = (await page.textContent("#error")).trim();
        refusals.push(refusal);
        if (!refusal.includes("text_pair")) throw new Error(`one text alone on a pair model: page shows "${refusal}", expected the server's refusal`);
        await page.evaluate(() => { document.body.dataset.state = "ready"; });
      }
      await page.fill("#text-pair", c.textPair);
    }
    await page.click("#run");
    await page.waitForSelector("body[data-state=done]");
    await page.waitForSelector("#top-label:not(:empty)");
    const shown = (await page.textContent("#top-label")).trim();
    const bars = await page.$$eval(".bar-row .bar-label", (els) => els.map((e) => e.textContent));
    const cells = await page.$$eval("#heatmap td", (els) => els.length);
    await page.selectOption("#layer", "1");
    await page.selectOption("#head", "2");
    await page.screenshot({ path: c.screenshot, fullPage: true });
    let failed = null;
    if (!shown.startsWith(c.expect + " ")) failed = `label shown "${shown}", expected ${c.expect}`;
    else if (bars[0] !== c.expect) failed = `first bar is ${bars[0]}, expected ${c.expect}`;
    else if (cells === 0) failed = "no attention heatmap";
    return { shown, bars, heatmapCells: cells, pairShown, rerankShown, zeroShotShown, refusals, failed };
  } finally {
    await page.close();
  }
}

// A masked-LM case: the targets typed, the candidates the page lists for the first mask (the token before each " — ").
async function runFillMask(page, c, pairShown) {
  const targetsShown = await page.isVisible("#targets");
  if (!targetsShown) throw new Error("no fill-mask targets field for a masked-LM model");
  await page.fill("#targets", c.targets);
  await page.click("#run");
  await page.waitForSelector("body[data-state=done]");
  await page.waitForSelector("#masks li");
  const candidates = await page.$$eval("#masks .mask:first-child li", (els) => els.map((e) => e.textContent.split(" — ")[0]));
  const warnings = (await page.isVisible("#fill-mask-warnings"))
    ? await page.$$eval("#fill-mask-warnings p", (els) => els.map((e) => e.textContent))
    : [];
  const error = (await page.textContent("#error")).trim();
  await page.screenshot({ path: c.screenshot, fullPage: true });
  let failed = null;
  if (await page.isVisible("#error")) failed = `page shows the error "${error}"`;
  else if (JSON.stringify(candidates) !== JSON.stringify(c.expect)) failed = `candidates shown ${JSON.stringify(candidates)}, expected ${JSON.stringify(c.expect)}`;
  else if (JSON.stringify(warnings) !== JSON.stringify(c.warnings || [])) failed = `warnings shown ${JSON.stringify(warnings)}, expected ${JSON.stringify(c.warnings || [])}`;
  return { candidates, warnings, targetsShown, pairShown, failed };
}

// A cross-encoder case: the ranked texts the page lists (each line "score — text"), after the refusal of "rerankRefused", if any.
async function runRerank(page, c, rerankShown) {
  if (!rerankShown) throw new Error("no rerank fields for a cross-encoder");
  await page.fill("#rerank-query", c.rerankQuery);
  let refusal = null;
  if (c.rerankRefused) {
    await page.fill("#rerank-texts", c.rerankRefused.join("\n"));
    await page.click("#run");
    await page.waitForSelector("body[data-state=done]");
    if (!(await page.isVisible("#error"))) throw new Error("texts the server refuses: the page shows no error");
    refusal = (await page.textContent("#error")).trim();
    if (await page.isVisible("#rerank")) throw new Error("texts the server refuses: the page shows a ranking");
    await page.evaluate(() => { document.body.dataset.state = "ready"; });
  }
  await page.fill("#rerank-texts", c.rerankTexts.join("\n \n"));
  await page.click("#run");
  await page.waitForSelector("body[data-state=done]");
  await page.waitForSelector("#ranks li");
  const ranks = await page.$$eval("#ranks li", (els) => els.map((e) => e.textContent));
  const error = (await page.textContent("#error")).trim();
  await page.screenshot({ path: c.screenshot, fullPage: true });
  const texts = ranks.map((r) => r.slice(r.indexOf(" — ") + " — ".length));
  let failed = null;
  if (await page.isVisible("#error")) failed = `page shows the error "${error}"`;
  else if (JSON.stringify(texts) !== JSON.stringify(c.expect)) failed = `texts ranked ${JSON.stringify(texts)}, expected ${JSON.stringify(c.expect)}`;
  return { ranks, refusal, failed };
}

// An NLI model's case: the label bars the page shows (label and value of each), after the refusal of "zeroShotRefused", if any.
async function runZeroShot(page, c, zeroShotShown) {
  if (!zeroShotShown) throw new Error("no zero-shot fields for an NLI model");
  await page.fill("#zero-shot-template", c.zeroShotTemplate);
  await page.setChecked("#zero-shot-multi-label", Boolean(c.zeroShotMultiLabel));
  let refusal = null;
  if (c.zeroShotRefused) {
    await page.fill("#zero-shot-labels", c.zeroShotRefused);
    await page.click("#run");
    await page.waitForSelector("body[data-state=done]");
    if (!(await page.isVisible("#error"))) throw new Error("labels the server refuses: the page shows no error");
    refusal = (await page.textContent("#error")).trim();
    if (await page.isVisible("#zero-shot")) throw new Error("labels the server refuses: the page shows label bars");
    await page.evaluate(() => { document.body.dataset.state = "ready"; });
  }
  await page.fill("#zero-shot-labels", c.zeroShotLabels);
  await page.click("#run");
  await page.waitForSelector("body[data-state=done]");
  await page.waitForSelector("#zero-shot:not([hidden]) .bar-row");
  const bars = await page.$$eval("#zero-shot .bar-row", (rows) => rows.map((r) => [r.querySelector(".bar-label").textContent, r.querySelector(".bar-value").textContent]));
  const error = (await page.textContent("#error")).trim();
  await page.screenshot({ path: c.screenshot, fullPage: true });
  let failed = null;
  if (await page.isVisible("#error")) failed = `page shows the error "${error}"`;
  else if (JSON.stringify(bars.map((b) => b[0])) !== JSON.stringify(c.expect)) failed = `labels shown ${JSON.stringify(bars.map((b) => b[0]))}, expected ${JSON.stringify(c.expect)}`;
  return { zeroShotBars: bars, refusal, failed };
}

// The servers start together (each loads its model while chromium starts); the cases then run one after another.
const servers = cases.map((c) => startServer(c.model));
let browser;
let firstFailure = null;
try {
  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  for (const [i, c] of cases.entries()) {
    let result;
    try {
      const url = await servers[i].ready;
      result = { url, ...(await runCase(browser, c, url)) };
    } catch (e) {
      result = { failed: e.message.split("\n")[0] };
    }
    console.log(JSON.stringify({ case: c.name, screenshot: c.screenshot, ...result }));
    firstFailure ??= result.failed && `${c.name}: ${result.failed}`;
  }
} catch (e) {
  firstFailure ??= e.message.split("\n")[0];
} finally {
  await browser?.close();
  for (const s of servers) s.child.kill("SIGTERM");
}
if (firstFailure) {
  console.error("FAIL " + firstFailure);
  process.exit(1);
}
console.log("PASS");
