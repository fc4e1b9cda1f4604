// The PID namespace check: the initial namespace by its fixed inode, anything else refused.
import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors';
import { checkPidNamespace, pidNsInode } from '../../src/pidns';

describe('pid namespace check', () => {
  it('reads the inode of a namespace link', () => {
    expect(pidNsInode('pid:[4026531836]')).toBe(4026531836);
    expect(pidNsInode('net:[4026531840]')).toBeNull();
  });
  it('passes in the initial namespace, refuses in another, says nothing when it cannot tell', () => {
    expect(() => checkPidNamespace(() => 'pid:[4026531836]')).not.toThrow();
    expect(() => checkPidNamespace(() => 'pid:[4026532175]')).toThrow(UserError);
    expect(() => checkPidNamespace(() => { throw new Error('ENOENT'); })).not.toThrow();
  });
});
