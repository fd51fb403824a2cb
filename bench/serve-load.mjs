// Closed-loop load generator for `bert serve`: CLIENTS concurrent clients each send REQUESTS requests one after another
// (keep-alive, loopback), cycling through the given texts. Prints one JSON line: requests, errors, seconds, requests/s and
// latency percentiles in ms.
//
// node serve-load.mjs URL PATH TEXTS_FILE CLIENTS REQUESTS
import { readFileSync } from "node:fs";

const [url, path, textsFile, clients, perClient] = process.argv.slice(2);
const texts = readFileSync(textsFile, "utf8").split("\n").filter((t) => t.trim());
const latencies = [];
let errors = 0;

async function client(id) {
  for (let i = 0; i < Number(perClient); i++) {
    const text = texts[(id * 7919 + i) % texts.length];
    const start = performance.now();
    const response = await fetch(url + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text }) });
    await response.arrayBuffer();
    latencies.push(performance.now() - start);
    if (!response.ok) errors++;
  }
}

// One warm-up request so the first forward pass (allocations, JIT) is not measured.
await fetch(url + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ text: texts[0] }) }).then((r) => r.arrayBuffer());
const t0 = performance.now();
await Promise.all(Array.from({ length: Number(clients) }, (_, id) => client(id)));
const seconds = (performance.now() - t0) / 1000;
latencies.sort((a, b) => a - b);
const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
console.log(JSON.stringify({
  requests: latencies.length, errors, seconds: +seconds.toFixed(2), rps: +(latencies.length / seconds).toFixed(1),
  p50_ms: +pct(50).toFixed(1), p99_ms: +pct(99).toFixed(1),
}));
