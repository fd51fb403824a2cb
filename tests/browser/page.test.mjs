// Browser test of the `bert serve` web page: starts the server on a free port with the given model, opens the page in
// headless Debian chromium, types a sentence, runs it, checks the predicted label and the attention heatmap, and saves a
// screenshot. Exit code 0 = pass; failures print one line starting with "FAIL".
//
// node page.test.mjs --bert "<command to run bert>" --model DIR --text "..." [--text-pair "..."] --expect LABEL --screenshot out.png
// With --text-pair the model must be a sentence-pair model: the page must show the second field, and the test first runs
// the first text alone and expects the server's refusal on the page.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";

const args = Object.fromEntries(process.argv.slice(2).reduce((pairs, a, i, all) => (a.startsWith("--") ? [...pairs, [a.slice(2), all[i + 1]]] : pairs), []));
for (const key of ["bert", "model", "text", "expect", "screenshot"]) {
  if (!args[key]) {
    console.error(`FAIL missing --${key}`);
    process.exit(2);
  }
}
const browserPath = process.env.CHROMIUM ?? ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find(existsSync);
if (!browserPath) {
  console.error("FAIL no chromium found (set CHROMIUM or apt-get install chromium)");
  process.exit(2);
}

function startServer() {
  const [cmd, ...pre] = args.bert.split(" ");
  const child = spawn(cmd, [...pre, "serve", "--model", args.model, "--port", "0", "--device", "cpu"], { stdio: ["ignore", "pipe", "pipe"] });
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`server did not start in 60 s: ${out}`)), 60000);
    const onData = (d) => {
      out += d;
      const m = out.match(/serving .* on (http:\/\/[^\s,]+)/);
      if (m) {
        clearTimeout(timer);
        resolve({ child, url: m[1] });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`server exited with ${code}: ${out}`)));
  });
}

const { child, url } = await startServer();
let browser;
let failed = null;
try {
  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ["--no-sandbox", "--disable-gpu"] });
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  await page.goto(url + "/");
  await page.waitForSelector("body[data-state=ready]");
  const pairShown = await page.isVisible("#text-pair");
  if (Boolean(args["text-pair"]) !== pairShown) throw new Error(`second text field ${pairShown ? "shown" : "hidden"} for this model`);
  await page.fill("#text", args.text);
  let refusal = null;
  if (args["text-pair"]) {
    await page.click("#run");
    await page.waitForSelector("body[data-state=done]");
    refusal = (await page.textContent("#error")).trim();
    if (!refusal.includes("text_pair")) throw new Error(`one text alone on a pair model: page shows "${refusal}", expected the server's refusal`);
    await page.evaluate(() => { document.body.dataset.state = "ready"; });
    await page.fill("#text-pair", args["text-pair"]);
  }
  await page.click("#run");
  await page.waitForSelector("body[data-state=done]");
  await page.waitForSelector("#top-label:not(:empty)");
  const shown = (await page.textContent("#top-label")).trim();
  const bars = await page.$$eval(".bar-row .bar-label", (els) => els.map((e) => e.textContent));
  const cells = await page.$$eval("#heatmap td", (els) => els.length);
  await page.selectOption("#layer", "1");
  await page.selectOption("#head", "2");
  await page.screenshot({ path: args.screenshot, fullPage: true });
  if (!shown.startsWith(args.expect + " ")) failed = `label shown "${shown}", expected ${args.expect}`;
  else if (bars[0] !== args.expect) failed = `first bar is ${bars[0]}, expected ${args.expect}`;
  else if (cells === 0) failed = "no attention heatmap";
  console.log(JSON.stringify({ url, shown, bars, heatmapCells: cells, pairShown, refusal, screenshot: args.screenshot }));
} catch (e) {
  failed = e.message.split("\n")[0];
} finally {
  await browser?.close();
  child.kill("SIGTERM");
}
if (failed) {
  console.error("FAIL " + failed);
  process.exit(1);
}
console.log("PASS");
