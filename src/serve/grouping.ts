// What `ebtop serve` groups processes by: the command name (default), the
// user, the cgroup, or a rules file like process-exporter's (a name and a
// regular expression over comm or the command line). Keys are made label
// values here (text.ts labelValue), before grouping.
import { UserError } from '../errors';
import type { ProcessRow } from '../model';
import { labelValue } from './text';

export type GroupBy = 'comm' | 'user' | 'cgroup';
export const GROUP_BY: readonly GroupBy[] = ['comm', 'user', 'cgroup'];

export interface Rule {
  /** the group's name: {comm}, {user}, {cgroup} and $1..$9 (the regex's groups) are filled in */
  name: string;
  field: 'comm' | 'cmdline';
  re: RegExp;
}

/**
 * A rules file: one rule a line, `NAME FIELD REGEX` (FIELD: comm or
 * cmdline; the regex is the rest of the line), `#` comments, blank lines.
 * The first rule that matches names the group; a process no rule matches is
 * not exported (the system totals still count it).
 */
export function parseRules(text: string, file = 'groups file'): Rule[] {
  const rules: Rule[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const m = /^(\S+)\s+(\S+)\s+(.+)$/.exec(line);
    if (!m) throw new UserError(`${file}:${i + 1}: expected NAME FIELD REGEX`);
    const [, name, field, source] = m;
    if (field !== 'comm' && field !== 'cmdline') throw new UserError(`${file}:${i + 1}: field must be comm or cmdline, not ${field}`);
    let re: RegExp;
    try {
      re = new RegExp(source);
    } catch (e) {
      throw new UserError(`${file}:${i + 1}: ${(e as Error).message}`);
    }
    rules.push({ name, field, re });
  });
  if (!rules.length) throw new UserError(`${file}: no rules`);
  return rules;
}

function fill(name: string, r: ProcessRow, m: RegExpExecArray): string {
  return name.replace(/\{(comm|user|cgroup)\}|\$(\d)/g, (_, f: string | undefined, d: string | undefined) => (f ? String(r[f as GroupBy]) : (m[Number(d)] ?? '')));
}

/** The key of a row (null: not exported). */
export function keyOf(by: GroupBy, rules?: readonly Rule[]): (r: ProcessRow) => string | null {
  if (rules) {
    return (r) => {
      for (const rule of rules) {
        const m = rule.re.exec(rule.field === 'comm' ? r.comm : r.cmdline || r.comm);
        if (m) return labelValue(fill(rule.name, r, m));
      }
      return null;
    };
  }
  return (r) => labelValue(r[by]);
}
