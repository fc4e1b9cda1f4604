// Entry point: flags, the one place errors become exit codes, and the choice
// of view. User errors print one line and exit 2; nothing leaves a stack trace
// on the terminal.
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { cgroupRows, type CgroupRow } from './cgroups';
import { CgroupResolver } from './cgroupfs';
import { cgroupColumns, COLUMNS, DEFAULT_COLUMNS, column, sourcesFor } from './columns';
import type { ProcessRow } from './model';
import { Collector, describe } from './collector';
import { LoadError } from './loader';
import type { Source } from './probe';
import { UserError } from './errors';
import { createLogger, defaultLogPath, mark, type Logger } from './log';
import { configPath, loadConfig, saveConfig, type Config } from './config';
import { checkPidNamespace } from './pidns';
import { DELAY_RANGE, delayMs } from './delay';
import { BUDGET, BUDGET_RANGE, budgetPct, NEVER_SHED, SHED_ORDER } from './budget';
import { onlineCpuCount } from './procfs';
import { printable } from './format';
import { openAsInvoker, WRITE_NEW } from './invoker';
import { Session } from './session';
import { checkTerminal } from './views/terminal';
import fs from 'node:fs';
import { SUBSYSTEMS } from './subsystems';
import { durationMs, RECORD_DEFAULTS, sizeBytes } from './recording/limits';
import { DEFAULT_LISTEN } from './serve/exporter';

interface Flags {
  /** -d, in ms */
  delay: number;
  /** --budget, % of all CPU (0: none) */
  budget: number;
  iterations?: number;
  pid?: Set<number>;
  threads: boolean;
  cumulative: boolean;
  json: boolean;
  batch: boolean;
  caps: boolean;
  connections: boolean;
  /** --group-by: 'cgroup' (batch: one row per cgroup) */
  groupBy?: string;
  sort: string;
  log: string;
  color: boolean;
  /** --no-<subsystem> sets its name false */
  [subsystem: string]: unknown;
}

const camel = (flag: string) => flag.replace(/-(\w)/g, (_, c: string) => c.toUpperCase());

/** Subsystems switched off with --no-<name>, and hook sources with a subsystem's --no-<switch>. */
function disabledSubsystems(flags: Flags): Set<string> {
  const off = new Set(SUBSYSTEMS.filter((s) => s.optional && flags[s.name] === false).map((s) => s.name));
  for (const s of SUBSYSTEMS) for (const w of s.switches ?? []) if (flags[camel(w.flag)] === false) for (const src of w.sources) off.add(src);
  return off;
}

function positive(name: string) {
  return (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${name} must be a positive number`);
    return n;
  };
}

/** -d: seconds within the bounds the settings file accepts, to ms. */
function delay(v: string): number {
  const ms = delayMs(v);
  if (ms === null) throw new InvalidArgumentError(`delay must be ${DELAY_RANGE}`);
  return ms;
}

/** --budget: a share of all CPU within bounds, else one line and exit 2. */
function budget(v: string): number {
  const pct = budgetPct(v);
  if (pct === null) throw new InvalidArgumentError(`budget must be ${BUDGET_RANGE}`);
  return pct;
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

/** `ebtop offcpu`'s flags. */
interface OffcpuFlags {
  pid: Set<number>;
  duration: number;
  minBlock: number;
  folded: boolean;
  svg?: string;
  top: number;
}

/** `ebtop record`'s flags. */
interface RecordFlags {
  delay: number;
  dir: string;
  retain: number;
  maxSize: number;
  budget: number;
  log?: string;
}

/** `ebtop replay`'s flags. */
interface ReplayFlags {
  at?: string;
  json: boolean;
  from?: string;
  to?: string;
  threads: boolean;
  cumulative: boolean;
  connections: boolean;
  pid?: Set<number>;
  log?: string;
}

/** `ebtop serve`'s flags. */
interface ServeFlags {
  listen: string;
  delay: number;
  budget: number;
  groupBy: 'comm' | 'user' | 'cgroup';
  groups?: string;
  top: number;
  window: number;
  log?: string;
}

/** The subcommand the command line named, if any (commander calls its action during parse). */
let subcommand:
  | { name: 'offcpu'; flags: OffcpuFlags }
  | { name: 'record'; flags: RecordFlags }
  | { name: 'replay'; flags: ReplayFlags; dir: string }
  | { name: 'serve'; flags: ServeFlags }
  | undefined;

function duration(v: string): number {
  const ms = durationMs(v);
  if (ms === null) throw new InvalidArgumentError('expected a duration such as 90s, 10m, 24h or 7d');
  return ms;
}

function size(v: string): number {
  const n = sizeBytes(v);
  if (n === null) throw new InvalidArgumentError('expected a size such as 500M, 2G or 100k');
  return n;
}

export function buildProgram(): Command {
  const program = new Command()
    .name('ebtop')
    .description('htop-style process monitor with exact numbers from kernel events (eBPF)')
    .version((require('../package.json') as { version: string }).version, '-V, --version')
    .addOption(new Option('-d, --delay <seconds>', `refresh interval (${DELAY_RANGE})`).argParser(delay).default(1000, '1'))
    .option('-n, --iterations <count>', 'exit after this many samples', count)
    .option('-p, --pid <pids>', 'only these processes (comma-separated PIDs)', pidList)
    .option('--threads', 'include per-thread detail', false)
    .option('--cumulative', 'totals since ebtop attached instead of per-interval deltas', false)
    .addOption(new Option('--json', 'print one JSON object per interval (NDJSON)').default(false).conflicts('batch'))
    .option('-b, --batch', 'print a text table per interval, like top -b', false)
    .option('--connections', 'with --json: each process\'s TCP connections (addresses, ports, state, bytes, retransmits)', false)
    .option('--caps', 'list every data source: attached / fallback / missing, and why', false)
    .addOption(new Option('--group-by <key>', 'one row per cgroup, its processes summed (exited ones included): --batch rows, the TUI starting in its cgroup view (v); --json always has "cgroups"').choices(['cgroup']))
    .addOption(
      new Option('--budget <pct>', `ebtop's own cost (BPF + its process) held under this % of all CPU by shedding optional sources while above it (${BUDGET_RANGE})`)
        .argParser(budget)
        .default(BUDGET.defaultPct),
    )
    .option('-s, --sort <column>', 'sort column (batch and TUI)', sortKey, 'cpu')
    .option('--log <file>', 'log file (the terminal is never logged to)', defaultLogPath())
    .option('--no-color', 'monochrome TUI (cues bold/underlined); also with NO_COLOR set')
    .exitOverride()
    .configureOutput({ writeErr: () => {} });
  for (const s of SUBSYSTEMS) if (s.optional) program.option(`--no-${s.name}`, `switch the ${s.name} subsystem off: ${s.what}`);
  // Options after `offcpu` are its own (its -p, -d), not the monitor's; without a
  // subcommand the monitor runs (main() checks for stray arguments).
  program.enablePositionalOptions().allowExcessArguments().action(() => {});
  program
    .command('offcpu')
    .description('where the given processes wait, in depth: kernel (and user) stacks of their blocked intervals')
    .requiredOption('-p, --pid <pids>', 'the processes to look at (comma-separated PIDs); nobody else\'s stacks are taken', pidList)
    .option('-d, --duration <seconds>', 'how long to record', positive('duration'), 5)
    .option('--min-block <ms>', 'record blocked intervals at least this long', positive('min-block'), 1)
    .option('--top <count>', 'stacks shown per process', count, 5)
    .option('--folded', 'print folded stacks (frame;frame;frame ns) for flame graph tools instead of the top stacks', false)
    .option('--svg <file>', 'write a flame graph (SVG) to this file')
    .action((flags: OffcpuFlags) => {
      subcommand = { name: 'offcpu', flags };
    });
  program
    .command('record')
    .description('record every interval (all subsystems, exits, connections, wait reasons) to a directory, for ebtop replay; logs, never prints')
    .addOption(new Option('-d, --delay <seconds>', `interval (${DELAY_RANGE})`).argParser(delay).default(1000, '1'))
    .option('-o, --dir <dir>', 'the recording directory', RECORD_DEFAULTS.dir)
    .option('--retain <duration>', 'delete what is older than this (90s, 10m, 24h, 7d)', duration, durationMs(RECORD_DEFAULTS.retain)!)
    .option('--max-size <size>', 'delete the oldest while the directory holds more (500M, 2G)', size, sizeBytes(RECORD_DEFAULTS.maxSize)!)
    .addOption(new Option('--budget <pct>', `as for the monitor (${BUDGET_RANGE})`).argParser(budget).default(BUDGET.defaultPct))
    .option('--log <file>', 'log file (the recorder logs, never prints)')
    .action((flags: RecordFlags) => {
      subcommand = { name: 'record', flags };
    });
  program
    .command('replay')
    .description('the TUI (or --json) on a recording made by ebtop record')
    .argument('[dir]', 'the recording directory', RECORD_DEFAULTS.dir)
    .option('--at <time>', 'start at this moment (03:12, an ISO date, or -10m from the end)')
    .option('--json', 'print the recorded intervals as NDJSON, the live --json schema plus "replay": true', false)
    .option('--from <time>', 'with --json: from this moment (03:12, an ISO date, -10m from the end)')
    .option('--to <time>', 'with --json: up to this moment')
    .option('--threads', 'include per-thread detail (--json)', false)
    .option('--cumulative', 'totals since the replay began instead of per-interval deltas', false)
    .option('--connections', "with --json: each process's TCP connections", false)
    .option('-p, --pid <pids>', 'only these processes (comma-separated PIDs)', pidList)
    .option('--log <file>', 'log file')
    .action((dir: string, flags: ReplayFlags) => {
      subcommand = { name: 'replay', flags, dir };
    });
  program
    .command('serve')
    .description('a Prometheus exporter: /metrics per group of processes (comm, user, cgroup or rules), bounded to the top groups plus other')
    .option('--listen <addr:port>', 'where to listen (loopback by default)', DEFAULT_LISTEN)
    .addOption(new Option('-d, --delay <seconds>', `interval (${DELAY_RANGE})`).argParser(delay).default(1000, '1'))
    .addOption(new Option('--budget <pct>', `as for the monitor (${BUDGET_RANGE})`).argParser(budget).default(BUDGET.defaultPct))
    .addOption(new Option('--group-by <key>', 'group processes by').choices(['comm', 'user', 'cgroup']).default('comm'))
    .option('--groups <file>', 'group by rules instead: NAME FIELD REGEX per line (README)')
    .option('--top <count>', 'groups with series of their own per domain (cpu, wait, disk, net, mem); the rest are other', count, 100)
    .option('--window <seconds>', 'the ranking averages each group\'s activity over this window', positive('window'), 60)
    .option('--log <file>', 'log file (the exporter logs, never prints)')
    .action((flags: ServeFlags) => {
      subcommand = { name: 'serve', flags };
    });
  for (const s of SUBSYSTEMS) for (const w of s.switches ?? []) program.option(`--no-${w.flag}`, w.what);
  return program;
}

/** Every source and its state; where ebtop cannot start, the sources as far as they were found, then the error. */
function printCaps(flags: Flags, log: Logger): void {
  const print = (sources: Source[]) => {
    const rows = sources.map((s) => [s.source, s.state, s.hook, s.why ?? s.what]);
    const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) process.stdout.write(`${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padEnd(w[2])}  ${r[3]}\n`);
  };
  let c: Collector;
  try {
    c = Collector.open({ log, disabled: disabledSubsystems(flags) });
  } catch (e) {
    if (e instanceof LoadError) print(e.sources);
    throw e;
  }
  try {
    print(c.sources);
    // what the budget may shed, in the order used where measured costs tie
    const pct = flags.budget;
    process.stdout.write(`\nbudget: ${pct > 0 ? `${pct}% of all CPU (--budget)` : 'none (--budget 0)'}; over it for ${BUDGET.shedAfter} intervals, the costliest of these is shed, one per step (this order where costs tie):\n`);
    for (const u of SHED_ORDER) {
      const state = c.sheddable([u]).length ? 'sheddable' : 'not attached';
      process.stdout.write(`  ${u.name.padEnd(13)} ${state.padEnd(12)} ${u.sources.join(', ')}${u.gate ? ' + its code inline in sched_switch and the iterator' : ''}\n`);
    }
    process.stdout.write(`never shed: ${NEVER_SHED.join(', ')}, and sources whose state spans events (net.tcp, disk.bio, disk.lat)\n`);
    process.stdout.write(`\ncgroups (v, --json "cgroups", --group-by cgroup): ${new CgroupResolver().h.why}\n`);
  } finally {
    c.close();
  }
}

async function runStream(flags: Flags, log: Logger): Promise<void> {
  const cols = DEFAULT_COLUMNS.map(column);
  // JSON carries every field: every source; a batch table only its columns'.
  const session = new Session({
    log,
    delayMs: flags.delay,
    cumulative: flags.cumulative,
    pids: flags.pid,
    threads: flags.threads,
    sources: flags.json ? undefined : sourcesFor(cols),
    disabled: disabledSubsystems(flags),
    budgetPct: flags.budget,
  });
  const outputs = new Set(flags.connections ? ['connections'] : []);
  // cgroups: always in the JSON; in a batch table with --group-by cgroup
  const cgroups = flags.json || flags.groupBy === 'cgroup' ? new CgroupResolver() : null;
  const groupOf = (rows: ProcessRow[]): CgroupRow[] | undefined => {
    if (!cgroups) return undefined;
    const flat = cgroupRows(rows, cgroups.pathOf(rows), cgroups.nameOf);
    const psi = cgroups.pressure.read(flat.map((c) => c.path));
    for (const c of flat) c.pressure = psi.get(c.path);
    return flat;
  };
  // only the output this mode prints is loaded (start-up: less to compile)
  const { intervalJson } = flags.json ? await import('./views/json') : { intervalJson: null };
  const { renderBatch } = flags.json ? { renderBatch: null } : await import('./views/batch');
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
      const groups = groupOf(rows);
      const text = intervalJson
        ? intervalJson(iv, rows, { threads: flags.threads, flags: outputs, cgroups: groups }) + '\n'
        : groups
          ? renderBatch!(iv, groups, { columns: cgroupColumns(cols), sortBy: column(flags.sort), threads: false, width })
          : renderBatch!(iv, rows, { columns: cols, sortBy: column(flags.sort), threads: flags.threads, width });
      process.stdout.write(text);
      if (--left <= 0) stop(0);
    },
    (e) => {
      log.error({ err: e }, 'sampling failed');
      process.stderr.write(`ebtop: ${printable(describe(e))}\n`);
      stop(1);
    },
  );
}

/**
 * The TUI: settings from the config file (flags given on the command line
 * win), a session attaching every source (the header's system rates and the
 * drill-down need them all), and the view fed by it.
 */
async function runInteractive(program: Command, flags: Flags, log: Logger): Promise<void> {
  checkTerminal(process.stdout); // one line and exit 2 before anything takes the terminal
  const file = configPath();
  const defaults: Config = { columns: [...DEFAULT_COLUMNS], sort: 'cpu', invert: false, tree: false, monochrome: false, delayMs: 1000 };
  const { config, warning } = loadConfig(file, defaults);
  if (program.getOptionValueSource('sort') === 'cli') config.sort = flags.sort;
  if (program.getOptionValueSource('delay') === 'cli') config.delayMs = flags.delay;
  if (flags.color === false || process.env.NO_COLOR) config.monochrome = true;
  const { runTui } = await import('./views/tui');
  mark(log, 'TUI modules loaded');
  const session = new Session({ log, delayMs: config.delayMs, cumulative: flags.cumulative, pids: flags.pid, threads: true, disabled: disabledSubsystems(flags), budgetPct: flags.budget });
  runTui(
    {
      log,
      ncpu: onlineCpuCount(),
      cumulative: flags.cumulative,
      config,
      warning,
      save: (c) => saveConfig(file, c),
      threads: flags.threads,
      cgroups: flags.groupBy === 'cgroup',
      describe,
    },
    session,
  );
  mark(log, 'first frame drawn');
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  let flags: Flags;
  try {
    program.parse(argv);
    flags = program.opts<Flags>();
    if (!subcommand && program.args.length) throw new UserError(`unexpected argument '${program.args[0]}'`);
    if (flags.connections && !flags.json) throw new UserError('--connections is an output of --json');
    if (subcommand?.name === 'replay' && subcommand.flags.connections && !subcommand.flags.json) throw new UserError('--connections is an output of --json');
    // before anything loads: BPF's pids are the initial namespace's (a replay loads nothing: it runs anywhere)
    if (subcommand?.name !== 'replay') checkPidNamespace();
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return; // --help, --version
      fail(e.message.replace(/^error: /, '').replace(/\s*\n\s*/g, ' ')); // a suggestion on its own line joins the one line
    }
    if (e instanceof UserError) fail(e.message);
    throw e;
  }
  let log: Logger;
  try {
    const own = subcommand && 'log' in subcommand.flags ? subcommand.flags.log : undefined;
    log = createLogger(own ?? flags.log, own !== undefined || program.getOptionValueSource('log') === 'cli');
  } catch (e) {
    if (e instanceof UserError) fail(e.message);
    throw e;
  }
  mark(log, 'modules loaded, flags parsed');
  try {
    if (subcommand?.name === 'offcpu') await runOffcpu(subcommand.flags, log);
    else if (subcommand?.name === 'record') await runRecord(subcommand.flags, flags, log);
    else if (subcommand?.name === 'replay') await runReplay(program, subcommand.dir, subcommand.flags, log);
    else if (subcommand?.name === 'serve') await runServe(subcommand.flags, flags, log);
    else if (flags.caps) printCaps(flags, log);
    else if (flags.json || flags.batch) await runStream(flags, log);
    else {
      await runInteractive(program, flags, log);
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

async function runRecord(flags: RecordFlags, top: Flags, log: Logger): Promise<void> {
  const { record } = await import('./recording/recorder');
  await record({ dir: flags.dir, delayMs: flags.delay, retainMs: flags.retain, maxBytes: flags.maxSize, budgetPct: flags.budget, log, disabled: disabledSubsystems(top) });
}

async function runServe(flags: ServeFlags, top: Flags, log: Logger): Promise<void> {
  const { serve, parseListen } = await import('./serve/exporter');
  // a bad --listen is a user error before anything loads
  const at = parseListen(flags.listen);
  if (!at) throw new UserError(`--listen: expected ADDR:PORT, not ${flags.listen}`);
  await serve({ ...at, delayMs: flags.delay, budgetPct: flags.budget, groupBy: flags.groupBy, rulesFile: flags.groups, top: flags.top, windowMs: flags.window * 1000, log, disabled: disabledSubsystems(top) });
}

/** A replay: the recording opened (its frame headers), then --json or the TUI on it. */
async function runReplay(program: Command, dir: string, flags: ReplayFlags, log: Logger): Promise<void> {
  const { Recording, ReplaySource, Replayer, parseTime } = await import('./recording/replay');
  if (!flags.json) checkTerminal(process.stdout);
  const rec = new Recording(dir);
  const endMs = rec.frames[rec.last].wallMs;
  const time = (flag: string, text: string | undefined): number | undefined => {
    if (text === undefined) return undefined;
    const ms = parseTime(text, endMs);
    if (ms === null) throw new UserError(`--${flag}: not a time: ${text} (03:12, -10m, an ISO date)`);
    return ms;
  };
  if (flags.json) {
    const { intervalJson } = await import('./views/json');
    const from = time('from', flags.from ?? flags.at) ?? -Infinity;
    const to = time('to', flags.to) ?? Infinity;
    const player = new Replayer(rec, { cumulative: flags.cumulative, threads: flags.threads });
    const outputs = new Set(flags.connections ? ['connections'] : []);
    // a recording's cgroups are its v2 paths (this host's v1 hierarchies are not its), without pressure (not recorded)
    const cgroups = new CgroupResolver('');
    let stopped = false;
    process.stdout.on('error', () => (stopped = true)); // reader went away (| head)
    for (let i = rec.first; i >= 0 && !stopped; ) {
      const f = rec.frames[i];
      if (f.wallMs > to) break;
      if (f.wallMs >= from) {
        const iv = player.at(i);
        const rows = flags.pid ? iv.processes.filter((r) => flags.pid!.has(r.pid)) : iv.processes;
        const text = intervalJson(iv, rows, { threads: flags.threads, flags: outputs, replay: true, cgroups: cgroupRows(rows, cgroups.pathOf(rows), cgroups.nameOf) }) + '\n';
        if (!process.stdout.write(text)) await new Promise((r) => process.stdout.once('drain', r));
      }
      const next = rec.step(i, 1);
      if (next === i) break;
      i = next;
    }
    return;
  }
  const file = configPath();
  const defaults: Config = { columns: [...DEFAULT_COLUMNS], sort: 'cpu', invert: false, tree: false, monochrome: false, delayMs: 1000 };
  const { config, warning } = loadConfig(file, defaults);
  if (program.opts<Flags>().color === false || process.env.NO_COLOR) config.monochrome = true;
  const { runTui } = await import('./views/tui');
  const source = new ReplaySource(rec, { cumulative: flags.cumulative, threads: true, atMs: time('at', flags.at), pids: flags.pid });
  runTui({ log, ncpu: onlineCpuCount(), cumulative: flags.cumulative, config, warning, save: (c) => saveConfig(file, c), threads: flags.threads, describe }, source);
}

async function runOffcpu(flags: OffcpuFlags, log: Logger): Promise<void> {
  const { capture, folded, symbolize, topReport } = await import('./offcpu');
  const { flameSvg } = await import('./views/flame');
  const pids = [...flags.pid];
  const onRecording = () => process.stderr.write(`ebtop offcpu: recording PID ${pids.join(', ')} for ${flags.duration} s\n`);
  const { records, users } = await capture({ pids, seconds: flags.duration, minBlockMs: flags.minBlock, log, onRecording });
  const stacks = symbolize(records, users);
  if (flags.svg) {
    const title = `Off-CPU time of ${pids.join(', ')}: blocked intervals ≥ ${flags.minBlock} ms over ${flags.duration} s`;
    try {
      // named by the user: written with their rights under sudo (src/invoker.ts)
      const fd = openAsInvoker(flags.svg, WRITE_NEW, 0o644);
      try {
        fs.writeFileSync(fd, flameSvg(stacks, title));
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      throw new UserError(`cannot write ${flags.svg}: ${(e as Error).message}`);
    }
  }
  if (flags.folded) process.stdout.write(folded(stacks));
  else process.stdout.write(topReport(stacks, pids, flags.duration, flags.minBlock, flags.top));
}

function fail(message: string): never {
  process.stderr.write(`ebtop: ${printable(message)}\n`);
  process.exit(2);
}

if (require.main === module) {
  main(process.argv).catch((e) => {
    process.stderr.write(`ebtop: internal error: ${printable(e instanceof Error ? e.message : String(e))} (see the log)\n`);
    process.exit(1);
  });
}
