// cgroups as people know them, pure (no I/O: the readers in src/procfs.ts
// hand this module file contents and directory listings). Three jobs:
//  - a cgroup path to a name people recognise: systemd units, container ids
//    of docker / containerd / podman / CRI-O shortened to 12 (with the
//    container's name where the runtime's state said it), Kubernetes pods;
//  - which hierarchy identifies a process's group on a hybrid host (cgroup
//    v1 controllers beside v2), from /proc/<pid>/cgroup and mountinfo;
//  - cgroup rows: processes grouped by cgroup (src/groups.ts: members
//    combined by the schema's rules, exited members included) and the tree of
//    the hierarchy, each node's family the sum of its subtree, as the kernel's
//    own cgroup files count (cpu.stat of a parent includes its children).
import { groupRows, type GroupRow } from './groups';
import type { ProcessRow } from './model';
import { SCHEMA } from './subsystems';
import { combineInto } from './subsystems/schema';

/** What the runtimes' state files said (procfs.ts ContainerState reads them): container id -> name, pod uid -> namespace/name. */
export interface ContainerNames {
  containers: ReadonlyMap<string, string>;
  pods: ReadonlyMap<string, { namespace: string; name: string }>;
}

export const NO_NAMES: ContainerNames = { containers: new Map(), pods: new Map() };

const ID = '[0-9a-f]{64}';
/** a leaf naming a container: runtime prefix (or none: cgroupfs drivers use the bare id) and the id */
const CONTAINER_LEAF: [RegExp, string][] = [
  [new RegExp(`^docker-(${ID})\\.scope$`), 'docker'],
  [new RegExp(`^cri-containerd-(${ID})\\.scope$`), 'containerd'],
  [new RegExp(`^nerdctl-(${ID})\\.scope$`), 'containerd'],
  [new RegExp(`^crio-conmon-(${ID})\\.scope$`), 'crio-conmon'],
  [new RegExp(`^crio-(${ID})(?:\\.scope)?$`), 'crio'],
  [new RegExp(`^libpod-conmon-(${ID})\\.scope$`), 'podman-conmon'],
  [new RegExp(`^libpod-(${ID})(?:\\.scope)?$`), 'podman'],
];
/** cgroupfs drivers: the runtime is the parent directory, the leaf the bare id */
const CGROUPFS_PARENT: Record<string, string> = { docker: 'docker', libpod_parent: 'podman', 'system.slice': 'containerd', default: 'containerd', 'k8s.io': 'containerd', moby: 'docker' };

export const shortId = (id: string) => id.slice(0, 12);

/** A container found in a path: the runtime and its full id. */
export function containerOf(path: string): { runtime: string; id: string } | null {
  const parts = path.split('/').filter(Boolean);
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i];
    for (const [re, runtime] of CONTAINER_LEAF) {
      const m = re.exec(p);
      if (m) return { runtime, id: m[1] };
    }
    if (new RegExp(`^${ID}$`).test(p)) {
      const parent = parts[i - 1] ?? '';
      const pod = /^pod[0-9a-f_-]{36}$/.test(parent);
      return { runtime: pod ? 'container' : CGROUPFS_PARENT[parent] ?? 'container', id: p };
    }
  }
  return null;
}

/** A Kubernetes pod in a kubepods path: its uid (dashes) and QoS class. */
export function podOf(path: string): { uid: string; qos: string } | null {
  if (!/(^|\/)kubepods/.test(path)) return null;
  const m = /(?:^|[/-])pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?(?:\/|$)/.exec(path);
  if (!m) return null;
  const qos = /kubepods[-/](besteffort|burstable)/.exec(path)?.[1] ?? 'guaranteed';
  return { uid: m[1].replace(/_/g, '-'), qos };
}

/**
 * The name shown for a cgroup path (v2 "/system.slice/nginx.service", or a
 * v1 one behind its controller, "memory:/docker/<id>"): a pod's container as
 * "pod ns/name container (runtime id12)", a container as "name (runtime
 * id12)" or "runtime id12", a systemd unit by its unit name, else the last
 * part of the path. Not yet printable: callers print through printable().
 */
export function cgroupName(fullPath: string, known: ContainerNames = NO_NAMES): string {
  const colon = fullPath.indexOf(':/');
  const path = colon >= 0 ? fullPath.slice(colon + 1) : fullPath;
  // '': a cgroup removed before its id was named (its processes still count, under "?")
  if (path === '') return '?';
  if (path === '/') return colon >= 0 ? fullPath.slice(0, colon + 2) : '/';
  const leaf = path.slice(path.lastIndexOf('/') + 1);
  const c = containerOf(path);
  // a container is named only by the cgroup that is it, not by its sub-cgroups' parents
  const own = c && leaf.includes(c.id) ? c : null;
  const pod = podOf(path);
  if (pod) {
    const meta = known.pods.get(pod.uid);
    const podName = meta ? `${meta.namespace}/${meta.name}` : pod.uid;
    if (own) {
      const cname = known.containers.get(own.id);
      return `pod ${podName} ${cname ? `${cname} ` : ''}(${own.runtime} ${shortId(own.id)})`;
    }
    if (/pod[0-9a-f]{8}[-_]/.test(leaf)) return `pod ${podName} (${pod.qos})`;
  }
  if (own) {
    const cname = known.containers.get(own.id);
    return cname ? `${cname} (${own.runtime} ${shortId(own.id)})` : `${own.runtime} ${shortId(own.id)}`;
  }
  // a systemd unit is its own name (nginx.service, user@1000.service, session-3.scope); anything else its last part
  return leaf;
}

/** The parent of a path ("/a/b" -> "/a", "memory:/a" -> "memory:/"), null for a root. */
export function parentPath(fullPath: string): string | null {
  const colon = fullPath.indexOf(':/');
  const head = colon >= 0 ? fullPath.slice(0, colon + 1) : '';
  const path = colon >= 0 ? fullPath.slice(colon + 1) : fullPath;
  if (path === '/' || path === '') return null;
  const i = path.lastIndexOf('/');
  return head + (i <= 0 ? '/' : path.slice(0, i));
}

// ------------------------------------------------------------ hierarchies

/** A cgroup v1 hierarchy mounted on this host. */
export interface V1Hierarchy {
  /** its controllers as /proc/<pid>/cgroup names them ("memory", "cpu,cpuacct", "name=systemd") */
  controllers: string;
  mount: string;
}

export interface Hierarchies {
  /** where cgroup v2 is mounted, or null */
  v2: string | null;
  /** 'v2': only v2; 'hybrid': v1 controllers beside v2; 'v1': no v2 */
  mode: 'v2' | 'hybrid' | 'v1';
  /** the v1 hierarchy that identifies groups where the v2 path does not (hybrid, v1), or null */
  v1: V1Hierarchy | null;
  /** the choice, for --caps */
  why: string;
}

/** The v1 hierarchies a runtime using v1 only puts its groups in, best first: memory and cpu are what runtimes limit. */
const V1_PREFERENCE = ['memory', 'cpu', 'cpuacct', 'pids', 'blkio', 'cpuset', 'devices', 'freezer'];

/** From /proc/self/mountinfo: v2's mount and the v1 hierarchies; which one identifies groups beside v2 and why. */
export function hierarchies(mountinfo: string): Hierarchies {
  let v2: string | null = null;
  const v1: V1Hierarchy[] = [];
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const f = line.slice(0, dash).split(' ');
    const [fstype, , opts] = line.slice(dash + 3).split(' ');
    const mount = f[4]?.replace(/\\040/g, ' ');
    if (fstype === 'cgroup2') v2 ??= mount;
    else if (fstype === 'cgroup') {
      const ctl = (opts ?? '').split(',').filter((o) => V1_PREFERENCE.includes(o) || o.startsWith('name=') || ['hugetlb', 'net_cls', 'net_prio', 'perf_event', 'rdma', 'misc'].includes(o));
      if (ctl.length) v1.push({ controllers: ctl.join(','), mount });
    }
  }
  const rank = (h: V1Hierarchy) => {
    const i = V1_PREFERENCE.findIndex((c) => h.controllers.split(',').includes(c));
    return i < 0 ? 99 : i;
  };
  // name=systemd mirrors the unified tree (systemd keeps both): it never tells more than v2
  const pick = v1.filter((h) => !h.controllers.startsWith('name=')).sort((a, b) => rank(a) - rank(b))[0] ?? null;
  if (!v1.length) return { v2, mode: 'v2', v1: null, why: v2 ? `cgroup v2 only (${v2}): every group is a v2 path` : 'no cgroup hierarchy mounted' };
  if (!v2) return { v2, mode: 'v1', v1: pick, why: pick ? `cgroup v1 only: groups by the ${pick.controllers} hierarchy (${pick.mount}), what runtimes limit` : 'no usable cgroup hierarchy' };
  return {
    v2,
    mode: 'hybrid',
    v1: pick,
    why: pick
      ? `hybrid (v2 at ${v2}, ${v1.length} v1 hierarchies): a process is grouped by its v2 path, or by its v1 ${pick.controllers} path (${pick.mount}) where the v2 path is the root or the v1 path names a container or pod the v2 one does not (a runtime using v1 only leaves its processes where their parent was in v2)`
      : `hybrid (v2 at ${v2}) without a v1 controller hierarchy: v2 paths`,
  };
}

/** The path of `controllers`' hierarchy (and of v2: "0::") in a /proc/<pid>/cgroup text. */
export function procCgroupPath(text: string, controllers: string | null): string | null {
  for (const line of text.split('\n')) {
    const a = line.indexOf(':');
    const b = line.indexOf(':', a + 1);
    if (a < 0 || b < 0) continue;
    const ctl = line.slice(a + 1, b);
    if (controllers === null ? line.startsWith('0::') : ctl === controllers) return line.slice(b + 1);
  }
  return null;
}

/**
 * Which path identifies a process's group on a hybrid host: its v2 path,
 * unless the v2 path says nothing (the root) or its v1 path in the chosen
 * hierarchy names a container or pod the v2 path does not (a runtime that
 * places its containers only in v1 controllers leaves them where their
 * parent was in v2: the root, or the runtime's own service). A v1 path equal
 * to the v2 one or an ancestor of it says no more than v2.
 */
export function identifyingPath(v2Path: string, v1Path: string | null, v1Controllers: string | null): string {
  if (!v1Path || !v1Controllers || v1Path === '/') return v2Path;
  if (v1Path === v2Path || v2Path.startsWith(`${v1Path}/`)) return v2Path;
  const names = (p: string) => containerOf(p)?.id ?? podOf(p)?.uid ?? null;
  if (v2Path === '/' || (names(v1Path) !== null && names(v1Path) !== names(v2Path))) return `${v1Controllers}:${v1Path}`;
  return v2Path;
}

// ------------------------------------------------------------ pressure (PSI)

/** PSI totals of one resource (µs stalled since boot): some / full tasks stalled. */
export interface PressureTotals {
  someUs: number;
  fullUs: number | null;
}

/** A `cpu.pressure` / `memory.pressure` / `io.pressure` file's totals, or null when unreadable. */
export function parsePressure(text: string | null): PressureTotals | null {
  if (!text) return null;
  const some = /^some .*total=(\d+)/m.exec(text);
  if (!some) return null;
  const full = /^full .*total=(\d+)/m.exec(text);
  return { someUs: Number(some[1]), fullUs: full ? Number(full[1]) : null };
}

export const PSI_RESOURCES = ['cpu', 'memory', 'io'] as const;
export type PsiResource = (typeof PSI_RESOURCES)[number];
/** Over the interval: % of the wall time some (and all) of the group's tasks were stalled on each resource; null: no file, or not read before. */
export type Pressure = Record<PsiResource, { somePct: number; fullPct: number | null } | null>;

/** The share stalled between two readings `spanNs` apart. */
export function pressureOver(before: PressureTotals | null | undefined, after: PressureTotals | null, spanNs: number): { somePct: number; fullPct: number | null } | null {
  if (!before || !after || spanNs <= 0) return null;
  const pct = (a: number, b: number) => Math.max(0, Math.min(100, ((a - b) * 1e3 * 100) / spanNs));
  return { somePct: pct(after.someUs, before.someUs), fullPct: after.fullUs === null || before.fullUs === null ? null : pct(after.fullUs, before.fullUs) };
}

// ------------------------------------------------------------ rows

/** A cgroup as a row of the table: the columns render it like a process (PID: its live processes; CMD: its name). */
export interface CgroupRow extends ProcessRow {
  /** its path ("/system.slice/nginx.service", or "memory:/docker/<id>" for a v1 one) */
  path: string;
  name: string;
  /** the processes grouped directly in it (exited ones of the interval included) */
  members: ProcessRow[];
  /** the processes of its subtree, itself included */
  processes: number;
  /** PSI over the interval, where read (only for cgroups shown or asked for) */
  pressure?: Pressure | null;
}

export interface CgroupNode {
  row: CgroupRow;
  kids: CgroupNode[];
}

/** Sum of members' per-process extras by subsystem (numbers only: a NetProc's open connections, its segments sent). */
function mergeExt(members: ProcessRow[]): Record<string, unknown> {
  const out: Record<string, Record<string, number>> = {};
  for (const r of members) {
    const ext = r.ext;
    if (!ext) continue;
    for (const name in ext) {
      const e = ext[name] as Record<string, unknown> | undefined;
      if (!e || typeof e !== 'object') continue;
      const o = (out[name] ??= {});
      for (const k in e) {
        const x = e[k];
        if (typeof x === 'number') o[k] = (o[k] ?? 0) + x;
      }
    }
  }
  return out;
}

function makeRow(path: string, name: string, members: ProcessRow[], g: GroupRow | null, like: ProcessRow | undefined): CgroupRow {
  const v = g ? g.v : new Float64Array(SCHEMA.slots);
  return {
    pid: g?.live ?? 0,
    ppid: 0,
    uid: 0,
    user: '',
    comm: name,
    cmdline: name,
    threads: g?.threads ?? 0,
    state: '',
    kthread: false,
    exited: false,
    rssBytes: g?.rssBytes ?? 0,
    memPct: members.reduce((s, r) => s + (r.exited ? 0 : r.memPct), 0),
    cgroup: name,
    cgroupPath: path,
    v,
    delta: g ? g.delta : new Float64Array(SCHEMA.slots),
    spanNs: like?.spanNs ?? 0,
    avail: like?.avail ?? new Set(),
    totals: like?.totals ?? false,
    ext: mergeExt(members),
    startNs: 0,
    source: 'bpf',
    exitCode: null,
    late: false,
    threadsDetail: [],
    deadKids: null,
    path,
    name,
    members,
    processes: members.length,
  };
}

/** One row per cgroup holding processes this interval (flat view): its own members' sums. */
export function cgroupRows(rows: readonly ProcessRow[], pathOf: (r: ProcessRow) => string | null, nameOf: (path: string) => string): CgroupRow[] {
  return groupRows(rows, pathOf).map((g) => makeRow(g.key, nameOf(g.key), g.members, g, g.members[0]));
}

/**
 * The hierarchy of the cgroups holding processes, with their ancestors: each
 * node's row is its subtree's sum (its own members and every descendant's,
 * exited ones included), as the kernel's files for that cgroup count.
 */
export function cgroupForest(flat: readonly CgroupRow[], nameOf: (path: string) => string): CgroupNode[] {
  const nodes = new Map<string, CgroupNode>();
  const like = flat[0]?.members[0];
  const nodeOf = (path: string): CgroupNode => {
    let n = nodes.get(path);
    if (n) return n;
    n = { row: makeRow(path, nameOf(path), [], null, like), kids: [] };
    nodes.set(path, n);
    const up = parentPath(path);
    if (up !== null) nodeOf(up).kids.push(n);
    return n;
  };
  for (const r of flat) {
    const n = nodeOf(r.path);
    // the node's own members; its sums start as theirs
    n.row = { ...r, v: r.v.slice(), delta: r.delta.slice(), ext: Object.fromEntries(Object.entries(r.ext).map(([k, e]) => [k, { ...(e as object) }])) };
  }
  const roots = [...nodes.values()].filter((n) => parentPath(n.row.path) === null);
  const roll = (n: CgroupNode): void => {
    for (const k of n.kids) {
      roll(k);
      combineInto(SCHEMA, n.row.v, k.row.v);
      combineInto(SCHEMA, n.row.delta, k.row.delta);
      n.row.pid += k.row.pid;
      n.row.threads += k.row.threads;
      n.row.rssBytes += k.row.rssBytes;
      n.row.memPct += k.row.memPct;
      n.row.processes += k.row.processes;
      for (const [name, e] of Object.entries(k.row.ext)) {
        const o = ((n.row.ext[name] as Record<string, number> | undefined) ??= {} as Record<string, number>);
        for (const [key, x] of Object.entries(e as Record<string, number>)) o[key] = (o[key] ?? 0) + x;
      }
    }
  };
  for (const r of roots) roll(r);
  return roots;
}
