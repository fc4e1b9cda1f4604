// The exposition of a fold's snapshot: the Prometheus text format (0.0.4)
// and OpenMetrics 1.0 when the scraper asks for it. Label values are
// printable only (comm and cmdline are whatever a user made them; ebtop runs
// as root), bounded in length, and escaped as both formats require.
import { printable } from '../format';
import { LAT_LE_NS, OTHER, unattributedName, type Metric, type MetricValues, type Snapshot } from './metrics';

export const TEXT_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Longest label value exported (a command line can be 128 KiB); longer ones are cut. */
export const LABEL_MAX = 128;

/**
 * A group key as a label value: control characters (C0, DEL, C1, bidi) as
 * spaces, at most LABEL_MAX characters, '' as '(none)'. Applied before
 * grouping, so two keys that read the same are one group, never two series
 * with the same labels (a scrape Prometheus would reject).
 */
export function labelValue(key: string): string {
  const p = printable(key);
  const cut = p.length > LABEL_MAX ? p.slice(0, LABEL_MAX) : p;
  return cut === '' ? '(none)' : cut;
}

/** Escaping inside "...": backslash, double quote and newline (both formats). */
function esc(v: string): string {
  return v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

/** HELP text escaping: backslash and newline (text format); OpenMetrics also escapes the quote. */
function escHelp(v: string, om: boolean): string {
  return v.replace(om ? /[\\"\n]/g : /[\\\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

/** v × scale; whole nanoseconds as exact decimal seconds (no binary noise such as 0.028891952000000002). */
function scaled(v: number, scale: number): string {
  if (scale === 1e-9 && Number.isSafeInteger(v) && v >= 0) {
    const s = Math.floor(v / 1e9);
    const frac = String(v - s * 1e9).padStart(9, '0').replace(/0+$/, '');
    return frac ? `${s}.${frac}` : String(s);
  }
  return num(v * scale);
}

function labels(l: [string, string][]): string {
  return l.length ? `{${l.map(([k, v]) => `${k}="${esc(v)}"`).join(',')}}` : '';
}

/** A bucket bound in seconds, as le="..." */
const LE = LAT_LE_NS.map((ns) => num(ns * 1e-9));

interface Family {
  name: string;
  type: string;
  help: string;
  unit: string;
}

function header(out: string[], f: Family, om: boolean): void {
  // OpenMetrics names the family without _total; the samples keep it
  const fam = om && f.type === 'counter' ? f.name.replace(/_total$/, '') : f.name;
  out.push(`# HELP ${fam} ${escHelp(f.help, om)}`);
  out.push(`# TYPE ${fam} ${f.type}`);
  if (om && f.unit) out.push(`# UNIT ${fam} ${f.unit}`);
}

function samples(out: string[], m: Metric, base: [string, string][], v: Float64Array): void {
  if (m.type === 'histogram') {
    let cum = 0;
    for (let i = 0; i < LE.length; i++) {
      cum += v[i];
      out.push(`${m.name}_bucket${labels([...base, ['le', LE[i]]])} ${num(cum)}`);
    }
    cum += v[LE.length];
    out.push(`${m.name}_bucket${labels([...base, ['le', '+Inf']])} ${num(cum)}`);
    out.push(`${m.name}_sum${labels(base)} ${scaled(v[LE.length + 1], m.scale)}`);
    out.push(`${m.name}_count${labels(base)} ${num(cum)}`);
    return;
  }
  if (m.label) {
    for (let i = 0; i < m.label.values.length; i++) out.push(`${m.name}${labels([...base, [m.label.name, m.label.values[i]]])} ${scaled(v[i], m.scale)}`);
  } else out.push(`${m.name}${labels(base)} ${scaled(v[0], m.scale)}`);
}

function metricText(out: string[], mv: MetricValues, om: boolean): void {
  const m = mv.metric;
  header(out, m, om);
  for (const [key, v] of mv.groups) samples(out, m, [['group', key]], v);
  samples(out, m, [['group', OTHER]], mv.other);
  if (mv.unattributed) {
    const twin: Metric = { ...m, name: unattributedName(m), help: `${m.help}: charges with no owner process` };
    header(out, twin, om);
    samples(out, twin, [], mv.unattributed);
  }
}

/** The whole scrape body. */
export function exposition(snap: Snapshot, om: boolean, systemHelp: readonly { name: string; help: string; unit: string; type: string }[]): string {
  const out: string[] = [];
  for (const mv of snap.metrics) if (mv.present) metricText(out, mv, om);
  const byName = new Map<string, Snapshot['system']>();
  for (const s of snap.system) {
    const list = byName.get(s.name) ?? [];
    list.push(s);
    byName.set(s.name, list);
  }
  for (const f of systemHelp) {
    const list = byName.get(f.name);
    if (!list) continue;
    header(out, f, om);
    for (const s of list) out.push(`${f.name}${labels(Object.entries(s.labels ?? {}))} ${num(s.value)}`);
  }
  if (om) out.push('# EOF');
  return out.join('\n') + '\n';
}

/** OpenMetrics when the Accept header names it (Prometheus asks for it first), else the text format. */
export function wantsOpenMetrics(accept: string | undefined): boolean {
  return !!accept && /application\/openmetrics-text/i.test(accept);
}
