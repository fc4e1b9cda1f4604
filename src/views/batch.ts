// top -b style text: a summary line and a table per interval. Every line
// leaves through printable(): rows carry other processes' names and command lines.
import { headerLine, rowLine, sortRows, threadAsRow, type Column } from '../columns';
import { fmtDuration, fmtPct, printable } from '../format';
import type { Interval, ProcessRow } from '../model';

export interface BatchOptions {
  columns: Column[];
  sortBy: Column;
  threads: boolean;
  width: number;
}

export function summaryLine(iv: Interval): string {
  const busy = iv.system.busyNs !== null && iv.intervalNs > 0 ? fmtPct((iv.system.busyNs / (iv.intervalNs * iv.ncpu)) * 100) + '%' : 'n/a';
  const bpfPct = iv.intervalNs > 0 ? fmtPct((iv.system.bpf.runNs / iv.intervalNs) * 100) : '0';
  const t = new Date(iv.wallMs).toTimeString().slice(0, 8);
  return (
    `ebtop - ${t}  ${iv.cumulative ? 'since start' : 'interval'} ${fmtDuration(iv.cumulative ? iv.elapsedNs : iv.intervalNs)}` +
    `  cpus ${iv.ncpu}  busy ${busy}  tasks ${iv.system.tasks}, ${iv.system.threads} thr, ${iv.system.running} running` +
    `  exited ${iv.system.exited}  load ${iv.system.loadavg ? iv.system.loadavg.map((l) => l.toFixed(2)).join(' ') : 'n/a'}` +
    `  bpf ${bpfPct}% of a cpu, ${iv.system.bpf.lost} lost` +
    // over the budget (--budget): units shed in the interval, n/a in it
    (iv.shed?.length ? `  shed ${iv.shed.join(',')}` : '')
  );
}

export function renderBatch(iv: Interval, rows: ProcessRow[], opts: BatchOptions): string {
  const lines = [summaryLine(iv), '', headerLine(opts.columns, opts.width).trimEnd()];
  for (const r of sortRows(rows, opts.sortBy)) {
    lines.push(rowLine(opts.columns, r, opts.width).trimEnd());
    if (opts.threads && r.threadsDetail.length > 1) {
      const threads = r.threadsDetail;
      threads.forEach((t, i) => lines.push(rowLine(opts.columns, threadAsRow(r, t, i === threads.length - 1, false), opts.width).trimEnd()));
    }
  }
  return lines.map(printable).join('\n') + '\n\n';
}
