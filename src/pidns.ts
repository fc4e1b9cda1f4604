// ebtop must run in the initial PID namespace: BPF reports every pid as the
// initial namespace numbers it, so in another namespace the table's pids would
// be other processes' (and a signal would go to the wrong one).
//
// The test is the inode of /proc/self/ns/pid: the kernel gives the initial PID
// namespace the fixed inode PROC_PID_INIT_INO (0xEFFFFFFC, include/linux/proc_ns.h).
// /proc/self/status's NSpid is not enough: it lists pids from the namespace of
// the /proc mount down, so with a /proc mounted inside the namespace (any
// container, `unshare --mount-proc`) it has one field, as in the initial one.
// Nor is comparing with /proc/1/ns/pid: in a namespace with its own /proc, pid 1
// is that namespace's init.
import fs from 'node:fs';
import { UserError } from './errors';

const PROC_PID_INIT_INO = 0xeffffffc;

/** The inode in a `pid:[N]` namespace link, or null. */
export function pidNsInode(link: string): number | null {
  const m = /^pid:\[(\d+)\]$/.exec(link);
  return m ? Number(m[1]) : null;
}

/** Throws a UserError outside the initial PID namespace; says nothing when it cannot tell (no /proc: ebtop fails later, on its own). */
export function checkPidNamespace(link: () => string = () => fs.readlinkSync('/proc/self/ns/pid')): void {
  let ino: number | null;
  try {
    ino = pidNsInode(link());
  } catch {
    return;
  }
  if (ino !== null && ino !== PROC_PID_INIT_INO) {
    throw new UserError('runs only in the initial PID namespace (BPF sees the host\'s pids, not this namespace\'s): run it on the host, or in a container with the host\'s PID namespace (--pid=host)');
  }
}
