import { describe, expect, it } from 'vitest';
import { parseProcStat } from '../../src/procfs';

describe('/proc parsers', () => {
  it('reads /proc/stat idle+iowait in ns', () => {
    const stat = 'cpu  10 0 10 300 5 0 0 0 0 0\ncpu0 5 0 5 100 2 0 0 0 0 0\ncpu1 5 0 5 200 3 0 0 0 0 0\nintr 1\n';
    expect(parseProcStat(stat)).toEqual([102e7, 203e7]);
  });
});
