// `make bench`, the exporter's soak: `ebtop serve` (default --top, scraped
// every 5 s like a Prometheus would) under constant name churn, 3,000 new
// distinct command names a minute (test/workloads/names, a fresh prefix each
// round, so pids are reused and no name ever comes back) for an hour by
// default (BENCH_SERVE_SECONDS). Judged: its resident memory in the last
// fifth against the fifth after warm-up (flat within ±10%), and the series
// per metric at every scrape (at most --top + other).
'use strict';

const path = require('path');
const net = require('net');
const L = require('./lib');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** Groups of each metric in one scrape: the largest count, and the total series. */
function seriesOf(text) {
  const groups = new Map();
  let lines = 0;
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    lines++;
    const m = /^(\w+)\{group="((?:[^"\\]|\\.)*)"/.exec(line);
    if (!m) continue;
    if (!groups.has(m[1])) groups.set(m[1], new Set());
    groups.get(m[1]).add(m[2]);
  }
  return { maxGroups: Math.max(0, ...[...groups.values()].map((s) => s.size)), lines };
}

async function soak(cfg) {
  const seconds = cfg.serveSeconds;
  const { FOLD_DEFAULTS } = require(path.join(L.ROOT, 'dist', 'serve', 'metrics.js'));
  const top = FOLD_DEFAULTS.top;
  L.progress(`serve soak: ebtop serve for ${seconds} s, 3,000 new command names a minute`);
  const port = await freePort();
  const srv = L.start(L.EBTOP, ['serve', '--listen', `127.0.0.1:${port}`, '--log', path.join(L.tmp(), 'serve.log')], { sudoEnv: true, label: 'ebtop serve' });
  const url = `http://127.0.0.1:${port}/metrics`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      /* not listening yet */
    }
    if (i > 120 || srv.exitCode !== null) throw new Error(`ebtop serve did not start: ${srv.err}`);
    await L.sleep(500);
  }
  const t0 = Date.now();
  const end = t0 + seconds * 1000;
  let round = 0;
  let names = 0;
  let churnDone = false;
  // churn: 3,000 names of 1 ms each, then the rest of the minute idle
  const churn = (async () => {
    while (Date.now() < end) {
      const started = Date.now();
      const prefix = `k${(round++).toString(36)}x`;
      await L.run(L.WORKLOAD('names'), ['3000', '1', prefix], { label: 'names' });
      names += 3000;
      const rest = Math.min(end - Date.now(), 60_000 - (Date.now() - started));
      if (rest > 0) await L.sleep(rest);
    }
    churnDone = true;
  })();
  const rss = [];
  let maxGroups = 0;
  let maxLines = 0;
  let scrapes = 0;
  while (!churnDone || Date.now() < end) {
    const text = await (await fetch(url)).text();
    const s = seriesOf(text);
    maxGroups = Math.max(maxGroups, s.maxGroups);
    maxLines = Math.max(maxLines, s.lines);
    scrapes++;
    rss.push([(Date.now() - t0) / 1000, L.rssMiB(srv.pid)]);
    if (churnDone && Date.now() >= end) break;
    await L.sleep(5000);
  }
  await churn;
  await srv.stop();
  // warm-up: the first fifth (V8 sizes its heap, the model fills its exited-process table)
  const fifth = seconds / 5;
  const median = (xs) => L.median(xs.filter((x) => x !== null));
  const early = median(rss.filter(([t]) => t >= fifth && t < 2 * fifth).map(([, m]) => m));
  const late = median(rss.filter(([t]) => t >= 4 * fifth).map(([, m]) => m));
  const ratio = late / early;
  const res = { seconds, names, top, scrapes, rssEarlyMiB: early, rssLateMiB: late, rssRatio: ratio, maxGroups, maxLines, rssFlat: Math.abs(ratio - 1) <= 0.1, seriesBounded: maxGroups <= top + 1 };
  L.progress(`serve soak: ${names} names; RSS ${early.toFixed(1)} -> ${late.toFixed(1)} MiB (${((ratio - 1) * 100).toFixed(1)}%); at most ${maxGroups} groups per metric (top ${top} + other), ${maxLines} samples per scrape, ${scrapes} scrapes`);
  return res;
}

module.exports = { soak };
