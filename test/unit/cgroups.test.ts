// cgroup paths to names (one test per naming scheme, with a path of that
// shape), the hierarchy chosen on a hybrid host, pressure over an interval,
// and cgroup rows: sums of their members (exited included), the tree's
// subtree sums, the view's lines, the v key, and the JSON entry.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cgroupForest, cgroupName, cgroupRows, hierarchies, identifyingPath, parentPath, parsePressure, pressureOver, procCgroupPath, type CgroupRow } from '../../src/cgroups';
import { ContainerState, withAncestors } from '../../src/cgroupfs';
import { cgroupColumns, column, rowLine } from '../../src/columns';
import type { Interval, ProcessRow } from '../../src/model';
import { SCHEMA, SUBSYSTEMS } from '../../src/subsystems';
import { cgroupJson } from '../../src/views/json';
import { reduce, type UiState } from '../../src/views/keys';
import { buildCgroupLines, initialState } from '../../src/views/viewstate';

const ID = 'e3e2af9ec42e0896c5e67f5cea15d302e3e2af9ec42e0896c5e67f5cea15d302';
const ID2 = '4128099ae921367525350a637d3616d84128099ae921367525350a637d3616d8';
const POD = '6f1c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f';

describe('cgroup names', () => {
  it('systemd units: services, templated units, scopes, slices', () => {
    expect(cgroupName('/system.slice/nginx.service')).toBe('nginx.service');
    expect(cgroupName('/user.slice/user-1000.slice/user@1000.service')).toBe('user@1000.service');
    expect(cgroupName('/user.slice/user-1000.slice/session-3.scope')).toBe('session-3.scope');
    expect(cgroupName('/system.slice')).toBe('system.slice');
    expect(cgroupName('/')).toBe('/');
    expect(cgroupName('')).toBe('?');
  });

  it('docker: systemd driver (docker-<id>.scope) and cgroupfs driver (/docker/<id>), name from its state', () => {
    expect(cgroupName(`/system.slice/docker-${ID}.scope`)).toBe('docker e3e2af9ec42e');
    expect(cgroupName(`/docker/${ID}`)).toBe('docker e3e2af9ec42e');
    const known = { containers: new Map([[ID, 'web']]), pods: new Map() };
    expect(cgroupName(`/system.slice/docker-${ID}.scope`, known)).toBe('web (docker e3e2af9ec42e)');
    // a v1 path (hybrid hosts) behind its controller
    expect(cgroupName(`memory:/docker/${ID}`, known)).toBe('web (docker e3e2af9ec42e)');
    expect(cgroupName('memory:/')).toBe('memory:/');
  });

  it('containerd (nerdctl, its default namespace) and podman (libpod, conmon)', () => {
    expect(cgroupName(`/system.slice/nerdctl-${ID}.scope`)).toBe('containerd e3e2af9ec42e');
    expect(cgroupName(`/default/${ID}`)).toBe('containerd e3e2af9ec42e');
    expect(cgroupName(`/machine.slice/libpod-${ID}.scope`)).toBe('podman e3e2af9ec42e');
    expect(cgroupName(`/machine.slice/libpod-conmon-${ID}.scope`)).toBe('podman-conmon e3e2af9ec42e');
    expect(cgroupName(`/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-${ID}.scope/container`)).toBe('container');
  });

  it('CRI-O and Kubernetes: pod and container from a kubepods path (systemd and cgroupfs drivers), names from the kubelet', () => {
    const u = POD.replace(/-/g, '_');
    const sysd = `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${u}.slice`;
    expect(cgroupName(sysd)).toBe(`pod ${POD} (burstable)`);
    expect(cgroupName(`${sysd}/crio-${ID}.scope`)).toBe(`pod ${POD} (crio e3e2af9ec42e)`);
    expect(cgroupName(`${sysd}/cri-containerd-${ID}.scope`)).toBe(`pod ${POD} (containerd e3e2af9ec42e)`);
    const known = { containers: new Map([[ID, 'app']]), pods: new Map([[POD, { namespace: 'shop', name: 'cart-7d9' }]]) };
    expect(cgroupName(`${sysd}/crio-${ID}.scope`, known)).toBe('pod shop/cart-7d9 app (crio e3e2af9ec42e)');
    expect(cgroupName(`/kubepods/pod${POD}`, known)).toBe('pod shop/cart-7d9 (guaranteed)');
    expect(cgroupName(`/kubepods/besteffort/pod${POD}/${ID}`, known)).toBe('pod shop/cart-7d9 app (container e3e2af9ec42e)');
  });

  it('reads names only from root-only state: docker config, the kubelet\'s log links (not followed), nothing from a writable directory', () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-cg-'));
    try {
      const mk = (d: string, mode = 0o755) => fs.mkdirSync(path.join(root, d), { recursive: true, mode });
      mk(`var/lib/docker/containers/${ID}`);
      fs.writeFileSync(path.join(root, `var/lib/docker/containers/${ID}/config.v2.json`), '{"ID":"x","Name":"/web"}', { mode: 0o600 });
      mk('var/log/containers');
      fs.symlinkSync('/etc/shadow', path.join(root, `var/log/containers/cart-7d9_shop_app-${ID2}.log`));
      mk('var/log/pods');
      mk(`var/log/pods/shop_cart-7d9_${POD}`);
      const s = new ContainerState(root);
      s.want(`/docker/${ID}`);
      s.want(`/kubepods/pod${POD}/${ID2}`);
      if (process.getuid?.() === 0) {
        expect(s.containers.get(ID)).toBe('web');
        expect(s.containers.get(ID2)).toBe('app');
        expect(s.pods.get(POD)).toEqual({ namespace: 'shop', name: 'cart-7d9' });
      }
      // a directory others can write: not read
      const s2 = new ContainerState(root);
      fs.chmodSync(path.join(root, `var/lib/docker/containers/${ID}`), 0o777);
      s2.want(`/docker/${ID}`);
      expect(s2.containers.has(ID)).toBe(false);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });

  it('parents, ancestors', () => {
    expect(parentPath('/a/b')).toBe('/a');
    expect(parentPath('/a')).toBe('/');
    expect(parentPath('/')).toBe(null);
    expect(parentPath('memory:/a')).toBe('memory:/');
    expect(parentPath('memory:/')).toBe(null);
    expect([...withAncestors(['/a/b', '/a/c'])].sort()).toEqual(['/', '/a', '/a/b', '/a/c']);
  });
});

describe('hierarchies', () => {
  // this machine's shape: v1 controllers under a tmpfs, v2 at unified
  const HYBRID = [
    '31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
    '32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
    '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
    '40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
    '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
  ].join('\n');

  it('v2 only, hybrid (memory preferred, never name=systemd), v1 only', () => {
    expect(hierarchies('30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate')).toMatchObject({ mode: 'v2', v2: '/sys/fs/cgroup', v1: null });
    const h = hierarchies(HYBRID);
    expect(h).toMatchObject({ mode: 'hybrid', v2: '/sys/fs/cgroup/unified', v1: { controllers: 'memory', mount: '/sys/fs/cgroup/memory' } });
    expect(h.why).toMatch(/hybrid .*memory/);
    expect(hierarchies(HYBRID.split('\n').filter((l) => !l.includes('cgroup2')).join('\n'))).toMatchObject({ mode: 'v1', v2: null });
  });

  it('a process is grouped by v2 unless v2 says nothing (the root) or v1 names a container v2 does not', () => {
    const proc = '9:name=systemd:/\n4:memory:/process_api/e3e2af\n1:cpu:/\n0::/\n';
    expect(procCgroupPath(proc, 'memory')).toBe('/process_api/e3e2af');
    expect(procCgroupPath(proc, null)).toBe('/');
    expect(identifyingPath('/', '/process_api/e3e2af', 'memory')).toBe('memory:/process_api/e3e2af');
    expect(identifyingPath('/system.slice/containerd.service', `/docker/${ID}`, 'memory')).toBe(`memory:/docker/${ID}`);
    // systemd keeps v1 and v2 alike: v2
    expect(identifyingPath('/system.slice/nginx.service', '/system.slice/nginx.service', 'memory')).toBe('/system.slice/nginx.service');
    expect(identifyingPath('/system.slice/nginx.service', '/system.slice', 'memory')).toBe('/system.slice/nginx.service');
    // a v2 group made beside a v1 one that names no container (this test machine's runner): v2
    expect(identifyingPath('/ebtop-test/busy', '/process_api/e3e2af', 'memory')).toBe('/ebtop-test/busy');
    expect(identifyingPath('/a', '/', 'memory')).toBe('/a');
  });
});

describe('pressure', () => {
  it('the share of an interval stalled, from two readings of the totals', () => {
    const a = parsePressure('some avg10=1.00 avg60=0.50 avg300=0.10 total=1000000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=200000\n');
    const b = parsePressure('some avg10=1.00 avg60=0.50 avg300=0.10 total=1250000\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=200000\n');
    expect(a).toEqual({ someUs: 1000000, fullUs: 200000 });
    // 250 ms of 1 s
    expect(pressureOver(a, b, 1e9)).toEqual({ somePct: 25, fullPct: 0 });
    expect(pressureOver(undefined, b, 1e9)).toBe(null);
    expect(parsePressure('some avg10=0 avg60=0 avg300=0 total=5\n')).toEqual({ someUs: 5, fullUs: null });
    expect(parsePressure(null)).toBe(null);
  });
});

// ------------------------------------------------------------ rows, views
const ALL = new Set([...SCHEMA.groups.map((g) => g.name), ...SCHEMA.groups.map((g) => g.source)]);
const ONCPU = column('oncpu');
const oncpuSlot = SCHEMA.groups.find((g) => g.name === 'cpu')!;
function proc(pid: number, cg: string, oncpuNs: number, exited = false): ProcessRow {
  const v = new Float64Array(SCHEMA.slots);
  v[(oncpuSlot.at as Record<string, number>).oncpu_ns ?? oncpuSlot.base] = oncpuNs;
  return {
    pid, startNs: pid, ppid: 1, uid: 0, user: 'root', comm: `c${pid}`, cmdline: `cmd${pid}`, threads: 1, state: 'S', kthread: false, source: 'bpf', exited, exitCode: exited ? 0 : null,
    late: false, v, delta: v, spanNs: 1e9, avail: ALL, threadsDetail: [], ext: {}, rssBytes: 1000, memPct: 0.5, cgroup: cg.slice(cg.lastIndexOf('/') + 1), cgroupPath: cg, deadKids: null,
  } as ProcessRow;
}
const ROWS = [
  proc(10, '/system.slice/nginx.service', 100e6),
  proc(11, '/system.slice/nginx.service', 50e6, true),
  proc(12, '/system.slice/cron.service', 10e6),
  proc(13, '/user.slice/user-1000.slice/session-3.scope', 300e6),
  proc(14, '/user.slice/user-1000.slice/session-3.scope', 5e6, true),
];
const flat = () => cgroupRows(ROWS, (r) => r.cgroupPath, (p) => cgroupName(p));
const on = (r: { v: Float64Array; spanNs: number; avail: ReadonlySet<string> }) => Number(ONCPU.value(r as never));

describe('cgroup rows', () => {
  it('flat: each cgroup its own members summed, exited ones included; live processes as PID', () => {
    const f = flat();
    const nginx = f.find((c) => c.path === '/system.slice/nginx.service')!;
    expect(on(nginx)).toBe(150e6);
    expect(nginx.pid).toBe(1);
    expect(nginx.members.map((r) => r.pid)).toEqual([10, 11]);
    expect(nginx.name).toBe('nginx.service');
    // nothing lost, nothing twice: the cgroups add up to the processes
    expect(f.reduce((s, c) => s + on(c), 0)).toBe(ROWS.reduce((s, r) => s + on(r), 0));
  });

  it('tree: every node its subtree, the ancestors made; the root is everything', () => {
    const roots = cgroupForest(flat(), (p) => cgroupName(p));
    expect(roots).toHaveLength(1);
    expect(on(roots[0].row)).toBe(465e6);
    const sys = roots[0].kids.find((k) => k.row.path === '/system.slice')!;
    expect(on(sys.row)).toBe(160e6);
    expect(sys.row.processes).toBe(3);
    expect(on(roots[0].kids.find((k) => k.row.path === '/user.slice')!.row)).toBe(305e6);
  });

  it('the view: busiest first, a filter by name or path, the tree with its ancestors, collapse', () => {
    const st = initialState({ sort: 'oncpu', cgroups: true });
    const names = (ls: ReturnType<typeof buildCgroupLines>) => ls.map((l) => l.row.cmdline);
    expect(names(buildCgroupLines(flat(), st, cgroupName))).toEqual(['session-3.scope', 'nginx.service', 'cron.service']);
    expect(names(buildCgroupLines(flat(), { ...st, filter: 'system.slice' }, cgroupName))).toEqual(['nginx.service', 'cron.service']);
    const tree = buildCgroupLines(flat(), { ...st, tree: true, filter: 'cron' }, cgroupName);
    expect(names(tree)).toEqual(['/', '└─ system.slice', '   └─ cron.service']);
    const collapsed = buildCgroupLines(flat(), { ...st, tree: true, collapsed: new Set(['c/user.slice']) }, cgroupName);
    expect(collapsed.map((l) => l.key)).toEqual(['c/', 'c/user.slice', 'c/system.slice', 'c/system.slice/nginx.service', 'c/system.slice/cron.service']);
  });

  it('v toggles processes / cgroups; Enter drills into the cgroup; no signal goes to a cgroup line', () => {
    const u: UiState = {
      view: initialState({ sort: 'oncpu' }), mode: 'table', input: '', menu: 0, signal: null, targets: [], paused: false, cumulative: false,
      delayMs: 1000, columns: ['pid', 'cpu', 'oncpu', 'cmd'], monochrome: false, drill: null, message: null,
    };
    const v = reduce(u, { ch: 'v' }, { lines: [], sel: 0, page: 10, users: [] }).ui;
    expect(v.view.cgroups).toBe(true);
    const lines = buildCgroupLines(flat(), v.view, cgroupName);
    const e = reduce(v, { name: 'enter' }, { lines, sel: 0, page: 10, users: [] }).ui;
    expect([e.mode, e.drill]).toEqual(['drill', 'c/user.slice/user-1000.slice/session-3.scope']);
    const k = reduce(v, { ch: 'k' }, { lines, sel: 0, page: 10, users: [] });
    expect([k.ui.mode, k.effects]).toEqual(['table', []]);
    expect(reduce(v, { ch: 'v' }, { lines, sel: 0, page: 10, users: [] }).ui.view.cgroups).toBe(false);
  });

  it('columns: PROCS for PID, the name for CMD, pressure before it; JSON: path, name, processes and the process counter fields', () => {
    const cols = cgroupColumns(['pid', 'user', 'oncpu', 'cmd'].map(column));
    expect(cols.map((c) => c.title)).toEqual(['PROCS', 'ONCPU', 'PSI cpu/mem/io', 'CGROUP']);
    // a click on its title sorts by it: the id resolves (not offered for processes)
    expect(column('psi')).toBe(cols[2]);
    const c: CgroupRow = flat()[0];
    c.pressure = { cpu: { somePct: 12.5, fullPct: 0 }, memory: null, io: { somePct: 0, fullPct: 0 } };
    expect(rowLine(cols, c, 80).trim()).toMatch(/^1\s+150\.0ms\s+12\.5\/-\/0\.0 nginx\.service$/);
    const iv = { subsystems: SUBSYSTEMS, avail: ALL } as unknown as Interval;
    const j = cgroupJson(iv, c);
    expect(j).toMatchObject({ path: '/system.slice/nginx.service', name: 'nginx.service', processes: 1, exited: 1, oncpu_ns: 150e6, pressure: { cpu: { some_pct: 12.5, full_pct: 0 }, memory: null } });
    // the same counter fields as a process (those of the subsystems' declarations, process-level), in the same order
    const procKeys = SUBSYSTEMS.flatMap((s) => s.json).filter((f) => !f.flag).map((f) => f.key);
    expect(Object.keys(j).filter((k) => procKeys.includes(k))).toEqual(procKeys);
  });
});
