// Whether this terminal can hold the interactive view: checked before
// anything takes the terminal over (and before blessed is even loaded).
import { UserError } from '../errors';

export const MIN_WIDTH = 80;
export const MIN_HEIGHT = 24;

/** Throws a UserError when the terminal cannot hold the view. */
export function checkTerminal(out: { isTTY?: boolean; columns?: number; rows?: number }): void {
  if (!out.isTTY) throw new UserError('the interactive view needs a terminal; use --batch or --json');
  const w = out.columns ?? 0;
  const h = out.rows ?? 0;
  if (w < MIN_WIDTH || h < MIN_HEIGHT) throw new UserError(`terminal too small (${w}x${h}); need at least ${MIN_WIDTH}x${MIN_HEIGHT}`);
}
