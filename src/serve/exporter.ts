// `ebtop serve`: a session with every source attached (like --json), each
// interval's processes grouped (grouping.ts) and folded into bounded
// monotonic counters (metrics.ts), served as /metrics over plain node:http
// (text.ts). Loopback by default: the numbers name what runs on the machine.
import fs from 'node:fs';
import http from 'node:http';
import { UserError } from '../errors';
import { groupRows } from '../groups';
import { openAsInvoker } from '../invoker';
import type { Logger } from '../log';
import { Session } from '../session';
import { keyOf, parseRules, type GroupBy } from './grouping';
import { Fold, SYSTEM_METRICS, systemIn } from './metrics';
import { exposition, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, wantsOpenMetrics } from './text';

/** Not seen in any exporter's documentation or code searched (README "ebtop serve"): 9100-9999 is full, new ones start at 10000. */
export const DEFAULT_PORT = 10071;
export const DEFAULT_LISTEN = `127.0.0.1:${DEFAULT_PORT}`;

export interface ServeOptions {
  host: string;
  port: number;
  delayMs: number;
  budgetPct: number;
  groupBy: GroupBy;
  /** a rules file (grouping.ts parseRules) */
  rulesFile?: string;
  top: number;
  windowMs: number;
  log: Logger;
  disabled?: ReadonlySet<string>;
}

/** ADDR:PORT, [v6]:PORT or :PORT (loopback) -> host and port, or null. */
export function parseListen(v: string): { host: string; port: number } | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(v);
  if (!m) return null;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return null;
  return { host: m[1] ?? (m[2] || '127.0.0.1'), port };
}

/** The rules file, read with the invoking user's rights (root must not read a file for them they could not). */
function readRules(file: string): ReturnType<typeof parseRules> {
  let text: string;
  try {
    const fd = openAsInvoker(file, fs.constants.O_RDONLY);
    try {
      text = fs.readFileSync(fd, 'utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch (e) {
    throw new UserError(`cannot read ${file}: ${(e as Error).message}`);
  }
  return parseRules(text, file);
}

/** Runs until SIGINT/SIGTERM. */
export async function serve(o: ServeOptions): Promise<void> {
  const { log } = o;
  const rules = o.rulesFile ? readRules(o.rulesFile) : undefined;
  const key = keyOf(o.groupBy, rules);
  const fold = new Fold({ top: o.top, windowNs: o.windowMs * 1e6 });
  // rendered at most once per interval and format
  let cache: { text?: string; om?: string } = {};
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/metrics') {
      const om = wantsOpenMetrics(req.headers.accept);
      const body = om ? (cache.om ??= exposition(fold.snapshot(), true, SYSTEM_METRICS)) : (cache.text ??= exposition(fold.snapshot(), false, SYSTEM_METRICS));
      res.writeHead(200, { 'Content-Type': om ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    if (url === '/') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end('ebtop serve: metrics at /metrics\n');
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => reject(new UserError(`cannot listen on ${o.host}:${o.port}: ${e.code ?? e.message}`)));
    server.listen(o.port, o.host, () => resolve());
  });
  let session: Session | undefined;
  try {
    session = new Session({ log, delayMs: o.delayMs, cumulative: false, budgetPct: o.budgetPct, disabled: o.disabled });
    const s = session;
    let failed: unknown;
    const done = new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
      s.start(
        (iv, rows) => {
          const selfNs = (s.selfCpuPct / 100) * iv.intervalNs;
          fold.add(groupRows(rows, key), systemIn(iv, selfNs, s.costPct));
          cache = {};
        },
        (e) => {
          failed = e;
          resolve();
        },
      );
    });
    log.info({ listen: `${o.host}:${o.port}`, groupBy: rules ? o.rulesFile : o.groupBy, top: o.top, windowMs: o.windowMs }, 'serving');
    await done;
    if (failed) throw failed;
  } finally {
    session?.stop();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
