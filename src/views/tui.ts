import type { Logger } from '../log';
export interface TuiOptions { log: Logger; delayMs: number; cumulative: boolean; pids?: Set<number>; sort: string; threads: boolean }
export function runTui(_opts: TuiOptions): void {
  throw new Error('TUI not built yet');
}
