// `ebtop serve` without a kernel: the fold (monotonic counters, top-N and
// other, eviction folding into other, churn of 3,000 names bounded), the
// exposition (promtool check metrics clean, escaping, OpenMetrics), the
// rules file, and the names the dashboard and the README use.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseListen } from '../../src/serve/exporter';
import { keyOf, parseRules } from '../../src/serve/grouping';
import { allSampleNames, Fold, METRICS, OTHER, SYSTEM_METRICS, type GroupIn, type SystemIn } from '../../src/serve/metrics';
import { exposition, labelValue, LABEL_MAX } from '../../src/serve/text';
import type { ProcessRow } from '../../src/model';
import { SCHEMA } from '../../src/subsystems';
import { CPU } from '../../src/subsystems/cpu';
import { DISK, LATENCY } from '../../src/subsystems/disk';

const ROOT = path.resolve(__dirname, '..', '..');
const S = 1e9;

/** A group whose interval used `cpuNs` of CPU (and `diskBytes` read). */
function g(key: string, cpuNs: number, diskBytes = 0, rss = 0): GroupIn {
  const delta = new Float64Array(SCHEMA.slots);
  delta[CPU.at.oncpu_ns] = cpuNs;
  delta[DISK.at.read_bytes] = diskBytes;
  return { key, delta, members: [], live: 1, rssBytes: rss, threads: 1 };
}

function sys(over: Partial<SystemIn> = {}): SystemIn {
  return {
    intervalNs: S, busyNs: 0, idleNs: 0, forks: 0, execs: 0, exited: 0, bpfRunNs: 0, bpfEvents: 0, lost: 0, lostThreads: 0,
    unattributed: new Float64Array(SCHEMA.slots), selfNs: 0, costPct: 0, shed: [], avail: new Set(SCHEMA.groups.map((x) => x.name)), ...over,
  };
}

/** Each group's ebtop_cpu_seconds_total (raw ns) and other's. */
function cpu(f: Fold): { groups: Map<string, number>; other: number; sum: number } {
  const mv = f.snapshot().metrics.find((m) => m.metric.name === 'ebtop_cpu_seconds_total')!;
  const groups = new Map(mv.groups.map(([k, v]) => [k, v[0]]));
  const other = mv.other[0];
  return { groups, other, sum: [...groups.values()].reduce((a, b) => a + b, other) };
}

describe('the fold', () => {
  it('counters add up every interval, exited-and-gone groups included; nothing is lost while there is room', () => {
    const f = new Fold({ top: 10, windowNs: 60 * S });
    f.add([g('a', 100), g('b', 5)], sys());
    f.add([g('a', 50)], sys()); // b gone: its counter stays
    f.add([g('a', 1), g('b', 7), g('c', 3)], sys());
    const c = cpu(f);
    expect(Object.fromEntries(c.groups)).toEqual({ a: 151, b: 12, c: 3 });
    expect(c.other).toBe(0);
  });

  it('top N: newcomers beyond it go to other; a clearly faster newcomer displaces the slowest, whose totals fold into other; no counter nor the sum goes backwards', () => {
    const f = new Fold({ top: 2, windowNs: 10 * S });
    let prev = new Map<string, number>();
    let prevOther = 0;
    let prevSum = 0;
    let total = 0;
    const step = (groups: GroupIn[]) => {
      f.add(groups, sys());
      total += groups.reduce((n, x) => n + x.delta[CPU.at.oncpu_ns], 0);
      const c = cpu(f);
      for (const [k, v] of c.groups) if (prev.has(k)) expect(v).toBeGreaterThanOrEqual(prev.get(k)!);
      expect(c.other).toBeGreaterThanOrEqual(prevOther);
      expect(c.sum).toBeGreaterThanOrEqual(prevSum);
      expect(c.sum).toBe(total);
      expect(c.groups.size).toBeLessThanOrEqual(2);
      prev = c.groups;
      prevOther = c.other;
      prevSum = c.sum;
      return c;
    };
    step([g('a', 1000), g('b', 500)]);
    // c is no faster than 1.25 x b: other
    let c = step([g('a', 1000), g('b', 500), g('c', 600)]);
    expect([...c.groups.keys()]).toEqual(['a', 'b']);
    expect(c.other).toBe(600);
    // d is: b (the slowest) leaves, its 1000 into other (and its 500 of this
    // interval), d counts from its first interval
    c = step([g('a', 1000), g('b', 500), g('d', 5000)]);
    expect([...c.groups.keys()]).toEqual(['a', 'd']);
    expect(c.groups.get('d')).toBe(5000);
    expect(c.other).toBe(600 + 1000 + 500);
    // b, slower than everyone now: in other
    c = step([g('a', 1000), g('b', 10), g('d', 5000)]);
    expect(c.other).toBe(2110);
    expect(f.snapshot().system.find((s) => s.name === 'ebtop_group_evictions_total' && s.labels?.domain === 'cpu')!.value).toBe(1);
  });

  it('a group named like the bucket counts in the bucket', () => {
    const f = new Fold({ top: 5, windowNs: 60 * S });
    f.add([g(OTHER, 42), g('a', 1)], sys());
    const c = cpu(f);
    expect([...c.groups.keys()]).toEqual(['a']);
    expect(c.other).toBe(42);
  });

  it('3,000 distinct names a minute: state bounded by top per domain, every nanosecond still in some counter', () => {
    const top = 100;
    const f = new Fold({ top, windowNs: 60 * S });
    let total = 0;
    let names = 0;
    let n = 0;
    for (let sec = 0; sec < 180; sec++) {
      const groups = [g('steady', 500_000_000)];
      for (let i = 0; i < 50; i++) groups.push(g(`name${n++}`, 3_000_000 + (n % 7) * 1000));
      total += groups.reduce((a, x) => a + x.delta[CPU.at.oncpu_ns], 0);
      names += groups.slice(1).reduce((a, x) => a + x.delta[CPU.at.oncpu_ns], 0);
      f.add(groups, sys());
      expect(f.tracked()).toBeLessThanOrEqual(top * 5);
      const c = cpu(f);
      expect(c.groups.size).toBeLessThanOrEqual(top);
      expect(c.sum).toBe(total);
    }
    const c = cpu(f);
    expect(c.groups.has('steady')).toBe(true);
    expect(c.groups.get('steady')).toBe(180 * 500_000_000);
    // 9,000 names through 100 places: nearly all their CPU is in other
    expect(c.other).toBeGreaterThan(names * 0.95);
    expect(c.other).toBeLessThanOrEqual(names);
  });

  it('groups with no process left retire after retireNs, their totals into other', () => {
    const f = new Fold({ top: 5, windowNs: 2 * S, retireNs: 3 * S });
    f.add([g('gone', 10), g('stays', 1)], sys());
    for (let i = 0; i < 3; i++) f.add([g('stays', 1)], sys());
    expect(cpu(f).groups.has('gone')).toBe(true);
    f.add([g('stays', 1)], sys());
    const c = cpu(f);
    expect(c.groups.has('gone')).toBe(false);
    expect(c.other).toBe(10);
  });

  it('gauges: the top now, the rest summed in other (not folded: a gauge is not a sum over time)', () => {
    const f = new Fold({ top: 1, windowNs: 60 * S });
    f.add([g('big', 0, 0, 1000), g('small', 0, 0, 10), g('tiny', 0, 0, 1)], sys());
    const mv = f.snapshot().metrics.find((m) => m.metric.name === 'ebtop_resident_memory_bytes')!;
    expect(mv.groups).toEqual([['big', Float64Array.of(1000)]]);
    expect(mv.other[0]).toBe(11);
    f.add([g('big', 0, 0, 900)], sys());
    const mv2 = f.snapshot().metrics.find((m) => m.metric.name === 'ebtop_resident_memory_bytes')!;
    expect(mv2.other[0]).toBe(0);
  });

  it('latency: kernel buckets land in the exported bucket whose bound holds them; count = +Inf bucket', () => {
    const f = new Fold({ top: 5, windowNs: 60 * S });
    const x = g('io', 0, 4096);
    const lat = (LATENCY.at as Record<string, number>).lat;
    x.delta[lat + 0] = 3; // < 1 us
    x.delta[lat + 127] = 2; // open-ended: +Inf only
    x.delta[LATENCY.at.lat_sum_ns] = 5e9;
    f.add([x], sys());
    const text = exposition(f.snapshot(), false, SYSTEM_METRICS);
    expect(text).toContain('ebtop_disk_io_latency_seconds_bucket{group="io",le="0.000016384"} 3');
    expect(text).toContain('ebtop_disk_io_latency_seconds_bucket{group="io",le="4.294967296"} 3');
    expect(text).toContain('ebtop_disk_io_latency_seconds_bucket{group="io",le="+Inf"} 5');
    expect(text).toContain('ebtop_disk_io_latency_seconds_count{group="io"} 5');
    expect(text).toContain('ebtop_disk_io_latency_seconds_sum{group="io"} 5');
  });
});

const EVIL = ['\x1b]0;PWN\x07x', 'quote"back\\slash', 'new\nline', '\u202eevil', 'x'.repeat(500), ''];

function folded(): Fold {
  const f = new Fold({ top: 10, windowNs: 60 * S });
  const groups = EVIL.map((k, i) => g(labelValue(k), 1e6 * (i + 1), 4096 * i, 1 << 20));
  f.add(groups, sys({ busyNs: 2e9, idleNs: 1e9 }));
  return f;
}

describe('the exposition', () => {
  it('label values: printable, bounded, escaped; the same after sanitising is one group', () => {
    expect(labelValue('\x1b]0;PWN\x07x')).toBe(' ]0;PWN x');
    expect(labelValue('x'.repeat(500))).toHaveLength(LABEL_MAX);
    expect(labelValue('')).toBe('(none)');
    const text = exposition(folded().snapshot(), false, SYSTEM_METRICS);
    expect(text).not.toMatch(/[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]/);
    expect(text).toContain('group="quote\\"back\\\\slash"');
    expect(text).toContain('group="new line"');
  });

  it('promtool check metrics: clean', (ctx) => {
    if (spawnSync('promtool', ['--version']).status !== 0) {
      if (process.env.EBTOP_REQUIRE_BPF === '1') throw new Error('promtool missing (apt-get install prometheus)');
      ctx.skip();
    }
    const text = exposition(folded().snapshot(), false, SYSTEM_METRICS);
    const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
    // it does fail: a counter without _total is reported
    const bad = spawnSync('promtool', ['check', 'metrics'], { input: '# HELP x_seconds x\n# TYPE x_seconds counter\nx_seconds 1\n', encoding: 'utf8' });
    expect(bad.status).not.toBe(0);
  });

  it('OpenMetrics: families without _total, units declared, # EOF last; every sample name declared', () => {
    const text = exposition(folded().snapshot(), true, SYSTEM_METRICS);
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE ebtop_cpu_seconds counter\n# UNIT ebtop_cpu_seconds seconds\n');
    expect(text).toContain('ebtop_cpu_seconds_total{group="other"} 0');
    const families = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const name = /^[a-z_]+/.exec(line)![0];
      expect(families.has(name.replace(/_(total|bucket|sum|count)$/, '')) || families.has(name), line).toBe(true);
    }
    for (const m of text.matchAll(/^# UNIT (\S+) (\S+)$/gm)) expect(m[1].endsWith(`_${m[2]}`)).toBe(true);
  });

  it('seconds are exact decimal ns', () => {
    const f = new Fold({ top: 1, windowNs: S });
    f.add([g('a', 28_891_952)], sys());
    expect(exposition(f.snapshot(), false, SYSTEM_METRICS)).toContain('ebtop_cpu_seconds_total{group="a"} 0.028891952\n');
  });
});

describe('grouping', () => {
  const row = (comm: string, cmdline: string, user = 'root') => ({ comm, cmdline, user, cgroup: 'x.service' }) as ProcessRow;
  it('rules: first match names the group, $1 and {comm} filled, no match not exported', () => {
    const rules = parseRules('# c\n\npg-$1 cmdline ^postgres: (\\w+)\n{comm} comm ^ng\n');
    const k = keyOf('comm', rules);
    expect(k(row('postgres', 'postgres: checkpointer '))).toBe('pg-checkpointer');
    expect(k(row('nginx', '/usr/sbin/nginx'))).toBe('nginx');
    expect(k(row('bash', 'bash'))).toBeNull();
    expect(keyOf('user')(row('a', 'a', 'alice'))).toBe('alice');
    expect(keyOf('cgroup')(row('a', 'a'))).toBe('x.service');
    expect(() => parseRules('x comm (')).toThrow(/1:/);
    expect(() => parseRules('x argv a')).toThrow(/comm or cmdline/);
  });
  it('--listen', () => {
    expect(parseListen('127.0.0.1:10071')).toEqual({ host: '127.0.0.1', port: 10071 });
    expect(parseListen('[::1]:9')).toEqual({ host: '::1', port: 9 });
    expect(parseListen(':10071')).toEqual({ host: '127.0.0.1', port: 10071 });
    expect(parseListen('nope')).toBeNull();
    expect(parseListen('1.2.3.4:70000')).toBeNull();
  });
});

describe('names used elsewhere exist in the declared table', () => {
  const names = allSampleNames();
  it('the Grafana dashboard (docs/grafana/ebtop.json) queries only exported metrics', () => {
    const dash = JSON.parse(fs.readFileSync(path.join(ROOT, 'docs', 'grafana', 'ebtop.json'), 'utf8')) as { panels: { targets: { expr: string }[] }[]; templating: { list: { query: string }[] } };
    const exprs = [...dash.panels.flatMap((p) => p.targets.map((t) => t.expr)), ...dash.templating.list.map((v) => v.query)];
    const used = new Set(exprs.flatMap((e) => [...e.matchAll(/\bebtop_\w+/g)].map((m) => m[0])));
    expect(used.size).toBeGreaterThan(10);
    for (const n of used) expect(names.has(n), n).toBe(true);
    // each family of the table is on the dashboard
    for (const m of METRICS.filter((x) => x.domain !== 'mem' || x.name === 'ebtop_resident_memory_bytes')) {
      if (['ebtop_context_switches_total', 'ebtop_migrations_total', 'ebtop_process_exits_total', 'ebtop_steal_seconds_total'].includes(m.name)) continue;
      expect([...used].some((u) => u.startsWith(m.name)), m.name).toBe(true);
    }
  });
  it("the README's metric list is the table's", () => {
    const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const start = readme.indexOf('### ebtop serve');
    const section = readme.slice(start, readme.indexOf('\n### ', start + 5));
    const listed = new Set([...section.matchAll(/^\| `(ebtop_\w+)`/gm)].map((m) => m[1]));
    const declared = [...METRICS.map((m) => m.name), ...SYSTEM_METRICS.map((m) => m.name)];
    expect([...listed].sort()).toEqual([...declared].sort());
    for (const n of section.matchAll(/\bebtop_\w+/g)) expect(names.has(n[0]) || names.has(`${n[0]}_count`), n[0]).toBe(true);
  });
});
