// Entry point: flags, the one place errors become exit codes, and the choice
// of view. User errors print one line and exit 2; nothing leaves a stack trace
// on the terminal.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { COLUMNS, DEFAULT_COLUMNS, column, sourcesFor } from './columns';
import { Collector, describe } from './collector';
import { UserError } from './errors';
import { createLogger, defaultLogPath, type Logger } from './log';
import { Session } from './session';
import { SUBSYSTEMS } from './subsystems';
import { intervalJson } from './views/json';
import { renderBatch } from './views/batch';

interface Flags {
  delay: number;
  iterations?: number;
  pid?: Set<number>;
  threads: boolean;
  cumulative: boolean;
  json: boolean;
  batch: boolean;
  caps: boolean;
  connections: boolean;
  sort: string;
  log: string;
  /** --no-<subsystem> sets its name false */
  [subsystem: string]: unknown;
}

/** Subsystems switched off with --no-<name>. */
function disabledSubsystems(flags: Flags): Set<string> {
  return new Set(SUBSYSTEMS.filter((s) => s.optional && flags[s.name] === false).map((s) => s.name));
}

function positive(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

function count(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive whole number');
  return n;
}

function pidList(v: string): Set<number> {
  const pids = v.split(',').map((s) => s.trim());
  if (!pids.length || pids.some((p) => !/^\d+$/.test(p))) throw new InvalidArgumentError('expected PID[,PID...]');
  return new Set(pids.map(Number));
}

function sortKey(v: string): string {
  if (!COLUMNS.some((c) => c.id === v)) throw new InvalidArgumentError(`expected one of ${COLUMNS.map((c) => c.id).join(', ')}`);
  return v;
}

export function buildProgram(): Command {
  const program = new Command()
    .name('ebtop')
    .description('htop-style process monitor with exact numbers from kernel events (eBPF)')
    .version((require('../package.json') as { version: string }).version, '-V, --version')
    .option('-d, --delay <seconds>', 'refresh interval in seconds', positive('delay'), 1)
    .option('-n, --iterations <count>', 'exit after this many samples', count)
    .option('-p, --pid <pids>', 'only these processes (comma-separated PIDs)', pidList)
    .option('--threads', 'include per-thread detail', false)
    .option('--cumulative', 'totals since ebtop attached instead of per-interval deltas', false)
    .addOption(new Option('--json', 'print one JSON object per interval (NDJSON)').default(false).conflicts('batch'))
    .option('-b, --batch', 'print a text table per interval, like top -b', false)
    .option('--connections', 'with --json: each process\'s TCP connections (addresses, ports, state, bytes, retransmits)', false)
    .option('--caps', 'list every data source: attached / fallback / missing, and why', false)
    .option('-s, --sort <column>', 'sort column (batch and TUI)', sortKey, 'cpu')
    .option('--log <file>', 'log file (the terminal is never logged to)', defaultLogPath())
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  for (const s of SUBSYSTEMS) if (s.optional) program.option(`--no-${s.name}`, `switch the ${s.name} subsystem off: ${s.what}`);
  return program;
}

function printCaps(flags: Flags, log: Logger): void {
  const c = Collector.open({ log, disabled: disabledSubsystems(flags) });
  try {
    const rows = c.sources.map((s) => [s.source, s.state, s.hook, s.why ?? s.what]);
    const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) process.stdout.write(`${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padEnd(w[2])}  ${r[3]}\n`);
  } finally {
    c.close();
  }
}

function runStream(flags: Flags, log: Logger): void {
  const cols = DEFAULT_COLUMNS.map(column);
  // JSON carries every field: every source; a batch table only its columns'.
  const session = new Session({
    log,
    delayMs: flags.delay * 1000,
    cumulative: flags.cumulative,
    pids: flags.pid,
    threads: flags.threads,
    sources: flags.json ? undefined : sourcesFor(cols),
    disabled: disabledSubsystems(flags),
  });
  const outputs = new Set(flags.connections ? ['connections'] : []);
  // like top -b: the terminal's width, else $COLUMNS, else wide enough for long command lines
  const width = process.stdout.columns || Number(process.env.COLUMNS) || 512;
  let left = flags.iterations ?? Infinity;
  const stop = (code: number) => {
    session.stop();
    process.exitCode = code;
  };
  process.on('SIGINT', () => stop(0));
  process.on('SIGTERM', () => stop(0));
  process.stdout.on('error', () => stop(0)); // reader went away (| head)
  session.start(
    (iv, rows) => {
      const text = flags.json
        ? intervalJson(iv, rows, { threads: flags.threads, flags: outputs }) + '\n'
        : renderBatch(iv, rows, { columns: cols, sortBy: column(flags.sort), threads: flags.threads, width });
      process.stdout.write(text);
      if (--left <= 0) stop(0);
    },
    (e) => {
      log.error({ err: e }, 'sampling failed');
      process.stderr.write(`ebtop: ${describe(e)}\n`);
      stop(1);
    },
  );
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  let flags: Flags;
  try {
    program.parse(argv);
    flags = program.opts<Flags>();
    if (program.args.length) throw new UserError(`unexpected argument '${program.args[0]}'`);
    if (flags.connections && !flags.json) throw new UserError('--connections is an output of --json');
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return; // --help, --version
      fail(e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')); // a suggestion on its own line joins the one line
    }
    if (e instanceof UserError) fail(e.message);
    throw e;
  }
  const log = createLogger(flags.log);
  try {
    if (flags.caps) printCaps(flags, log);
    else if (flags.json || flags.batch) runStream(flags, log);
    else {
      const { runTui } = await import('./views/tui');
      runTui({ log, delayMs: flags.delay * 1000, cumulative: flags.cumulative, pids: flags.pid, sort: flags.sort, threads: flags.threads, disabled: disabledSubsystems(flags) });
    }
  } catch (e) {
    if (e instanceof UserError) {
      log.error(e.message);
      fail(e.message);
    }
    log.fatal({ err: e }, 'crash');
    throw e;
  }
}

function fail(message: string): never {
  process.stderr.write(`ebtop: ${message}\n`);
  process.exit(2);
}

if (require.main === module) {
  main(process.argv).catch((e) => {
    process.stderr.write(`ebtop: internal error: ${e instanceof Error ? e.message : String(e)} (see the log)\n`);
    process.exit(1);
  });
}
