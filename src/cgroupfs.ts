// What the cgroup view and the JSON's "cgroups" read from the system, and
// only while they are shown or asked for: each process's v1 path on a hybrid
// host (/proc/<pid>/cgroup), the container runtimes' state files for names,
// and each shown cgroup's pressure files. src/cgroups.ts turns these into
// names, keys and rows without I/O.
//
// Everything here is read as root from paths other users may name (container
// and unit names, delegated subtrees): nothing is written, no symlink is
// followed (state files are read only when they and their directory are
// root-owned regular files / directories that only root can write; cgroupfs
// has no symlinks), and every name reaches a screen through printable().
import fs from 'node:fs';
import {
  cgroupName,
  containerOf,
  hierarchies,
  identifyingPath,
  parentPath,
  podOf,
  pressureOver,
  procCgroupPath,
  PSI_RESOURCES,
  parsePressure,
  type ContainerNames,
  type Hierarchies,
  type Pressure,
  type PressureTotals,
} from './cgroups';
import type { ProcessRow } from './model';
import { readProcText as readText } from './procread';

/** A file or directory only root can change: root-owned, not group/other-writable, not a symlink. */
function rootOnly(path: string, dir: boolean): boolean {
  try {
    const st = fs.lstatSync(path);
    return st.uid === 0 && (st.mode & 0o022) === 0 && (dir ? st.isDirectory() : st.isFile());
  } catch {
    return false;
  }
}

function readRootFile(path: string, max = 4 << 20): string | null {
  const dir = path.slice(0, path.lastIndexOf('/'));
  if (!rootOnly(dir, true) || !rootOnly(path, false)) return null;
  try {
    const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      const buf = Buffer.alloc(Math.min(max, fs.fstatSync(fd).size));
      const n = fs.readSync(fd, buf, 0, buf.length, 0);
      return buf.subarray(0, n).toString('utf8');
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}

function listRootDir(dir: string): string[] {
  if (!rootOnly(dir, true)) return [];
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

/**
 * Container and pod names from the runtimes' state, read again for an
 * unknown id at most every 10 s:
 *  - docker: /var/lib/docker/containers/<id>/config.v2.json ("Name");
 *  - podman (rootful): /var/lib/containers/storage/overlay-containers/containers.json ("names");
 *  - Kubernetes (containerd, CRI-O): the kubelet's log links
 *    /var/log/containers/<pod>_<namespace>_<container>-<id>.log (names
 *    only: the links are not followed) and /var/log/pods/<namespace>_<pod>_<uid>.
 */
export class ContainerState implements ContainerNames {
  readonly containers = new Map<string, string>();
  readonly pods = new Map<string, { namespace: string; name: string }>();
  private readAt = -Infinity;
  private readonly docker = new Set<string>();

  constructor(private readonly root = '') {}

  /** Called for a path about to be named: reads again if it names something unknown. */
  want(path: string): void {
    const c = containerOf(path);
    const pod = podOf(path);
    const unknown = (c && !this.containers.has(c.id)) || (pod && !this.pods.has(pod.uid));
    if (c?.runtime === 'docker' && !this.docker.has(c.id)) {
      this.docker.add(c.id);
      const cfg = readRootFile(`${this.root}/var/lib/docker/containers/${c.id}/config.v2.json`);
      const name = cfg ? (/"Name":"\/?([^"]*)"/.exec(cfg)?.[1] ?? null) : null;
      if (name) this.containers.set(c.id, name);
    }
    if (!unknown || performance.now() - this.readAt < 10_000) return;
    this.readAt = performance.now();
    const podman = readRootFile(`${this.root}/var/lib/containers/storage/overlay-containers/containers.json`);
    if (podman) {
      try {
        for (const e of JSON.parse(podman) as { id?: string; names?: string[] }[]) if (e.id && e.names?.[0]) this.containers.set(e.id, e.names[0]);
      } catch {
        /* being rewritten: next time */
      }
    }
    for (const f of listRootDir(`${this.root}/var/log/containers`)) {
      const m = /^([^_]+)_([^_]+)_(.+)-([0-9a-f]{64})\.log$/.exec(f);
      if (m) this.containers.set(m[4], m[3]);
    }
    for (const f of listRootDir(`${this.root}/var/log/pods`)) {
      const m = /^([^_]+)_([^_]+)_([0-9a-f-]{36})$/.exec(f);
      if (m) this.pods.set(m[3], { namespace: m[1], name: m[2] });
    }
  }
}

/**
 * Each process's path in the chosen v1 hierarchy (hybrid hosts), from
 * /proc/<pid>/cgroup: read once per process and exec (a runtime places its
 * process before exec), and for an exited process never read, its parent's
 * (a child starts in its parent's cgroup).
 */
export class V1Paths {
  private byProc = new Map<string, { path: string | null; seen: number }>();
  private tick = 0;

  constructor(private readonly controllers: string) {}

  path(r: ProcessRow, byPid: Map<number, ProcessRow>): string | null {
    const key = `${r.pid}:${r.startNs}:${r.comm}`;
    let e = this.byProc.get(key);
    if (!e) {
      let path: string | null = null;
      if (!r.exited) path = procCgroupPath(readText(`/proc/${r.pid}/cgroup`) ?? '', this.controllers);
      if (path === null) {
        const parent = byPid.get(r.ppid);
        path = parent && parent !== r && !parent.exited ? procCgroupPath(readText(`/proc/${parent.pid}/cgroup`) ?? '', this.controllers) : null;
      }
      this.byProc.set(key, (e = { path, seen: this.tick }));
    }
    e.seen = this.tick;
    return e.path;
  }

  /** Once per refresh: forget processes not asked about for a minute of refreshes. */
  sweep(): void {
    this.tick++;
    if (this.tick % 64) return;
    for (const [k, e] of this.byProc) if (this.tick - e.seen > 64) this.byProc.delete(k);
  }
}

/** PSI per cgroup over each interval, for the v2 paths asked about: the last totals per path, read again each refresh. */
export class PressureReader {
  private last = new Map<string, { atNs: number; t: (PressureTotals | null)[] }>();

  constructor(private readonly v2Mount: string | null) {}

  /**
   * Once per interval, for the paths shown or asked for: each one's pressure
   * since the last call that read it (null: a v1 group, which has no
   * pressure files, or a path not read the time before). Paths not asked for
   * are forgotten: shown again later, they start over.
   */
  read(paths: Iterable<string>): Map<string, Pressure | null> {
    const out = new Map<string, Pressure | null>();
    const next = new Map<string, { atNs: number; t: (PressureTotals | null)[] }>();
    for (const path of paths) {
      if (!this.v2Mount || path.includes(':/') || out.has(path)) {
        out.set(path, null);
        continue;
      }
      // the root's totals are the system's (/proc/pressure): the root cgroup has no files of its own
      const atNs = Number(process.hrtime.bigint());
      const t = PSI_RESOURCES.map((res) => parsePressure(readText(path === '/' ? `/proc/pressure/${res}` : `${this.v2Mount}${path}/${res}.pressure`)));
      const before = this.last.get(path);
      next.set(path, { atNs, t });
      const span = before ? atNs - before.atNs : 0;
      out.set(path, { cpu: pressureOver(before?.t[0], t[0], span), memory: pressureOver(before?.t[1], t[1], span), io: pressureOver(before?.t[2], t[2], span) });
    }
    this.last = next;
    return out;
  }
}

/** The host's hierarchies (mountinfo read once) and, per process, the path that identifies its group. */
export class CgroupResolver {
  readonly h: Hierarchies;
  readonly names = new ContainerState();
  readonly pressure: PressureReader;
  private readonly v1: V1Paths | null;
  private nameCache = new Map<string, string>();

  constructor(mountinfo = readText('/proc/self/mountinfo') ?? '') {
    this.h = hierarchies(mountinfo);
    this.v1 = this.h.v1 ? new V1Paths(this.h.v1.controllers) : null;
    this.pressure = new PressureReader(this.h.v2);
  }

  /**
   * A key function for this interval's rows: v2 path, or the v1 one where
   * that identifies the group (hybrid hosts); '' for a process whose cgroup
   * could not be named (removed before it was looked up): a group of its
   * own, so that the cgroups still add up to the processes.
   */
  pathOf(rows: readonly ProcessRow[]): (r: ProcessRow) => string {
    this.v1?.sweep();
    const v1 = this.v1;
    if (!v1) return (r) => r.cgroupPath;
    const byPid = new Map<number, ProcessRow>();
    for (const r of rows) if (!byPid.has(r.pid) || !r.exited) byPid.set(r.pid, r);
    const ctl = this.h.v1!.controllers;
    return (r) => {
      const v1Path = v1.path(r, byPid);
      if (!r.cgroupPath) return v1Path ? `${ctl}:${v1Path}` : '';
      return identifyingPath(r.cgroupPath, v1Path, ctl);
    };
  }

  nameOf = (path: string): string => {
    let n = this.nameCache.get(path);
    if (n === undefined) {
      this.names.want(path);
      n = cgroupName(path, this.names);
      // unnamed containers stay uncached: their name may be readable later
      if (this.nameCache.size > 4096) this.nameCache.clear();
      if (n.includes('(') || !containerOf(path)) this.nameCache.set(path, n);
    }
    return n;
  };
}

/** Every path of `flat` and its ancestors: what the tree view shows. */
export function withAncestors(paths: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const p of paths) {
    for (let up: string | null = p; up !== null && !out.has(up); up = parentPath(up)) out.add(up);
  }
  return out;
}
