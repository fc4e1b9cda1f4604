#!/usr/bin/env node
// `make screenshots`: PNG screenshots of the real ebtop TUI, with its colours,
// for README.md. Known workloads run while `bin/ebtop -d 1` draws in a private
// tmux server; `tmux capture-pane -e` gives the screen as text with ANSI SGR
// colours, which is drawn as an SVG (one cell per character) and rasterised by
// rsvg-convert (Debian: librsvg2-bin).
//
//   node bench/screenshot.js            capture docs/{tui,drill}.ansi and render the PNGs (root)
//   node bench/screenshot.js --render   only render docs/*.png again from the .ansi files
//
// Everything started here (workloads, the tmux server, a temporary directory)
// is removed at the end, also on errors and on SIGINT/SIGTERM/SIGHUP.
'use strict';

const cp = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const ROOT = path.resolve(__dirname, '..');
const DOCS = path.join(ROOT, 'docs');
const COLS = 160;
const ROWS = 45;
const SHOTS = ['tui', 'drill'];

// ------------------------------------------------------------ ANSI -> cells

// xterm's 16 colours; colour 0 is the background, as in most dark themes
const BG = '#101010';
const FG = '#d0d0d0';
const PALETTE = [
  BG, '#cd3131', '#0dbc79', '#d5c43c', '#2472c8', '#bc3fbc', '#11a8cd', '#e5e5e5',
  '#767676', '#f14c4c', '#23d18b', '#f5f543', '#3b8eea', '#d670d6', '#29b8db', '#ffffff',
];

function color256(n) {
  if (n < 16) return PALETTE[n];
  if (n >= 232) return rgb(8 + 10 * (n - 232), 8 + 10 * (n - 232), 8 + 10 * (n - 232));
  const level = (v) => (v ? 55 + 40 * v : 0);
  n -= 16;
  return rgb(level(Math.floor(n / 36)), level(Math.floor(n / 6) % 6), level(n % 6));
}
const rgb = (r, g, b) => '#' + [r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('');

/** Applies one SGR sequence's parameters to `st` (fg/bg: a colour string or null for the default). */
function sgr(st, params) {
  const p = params === '' ? [0] : params.split(';').map(Number);
  for (let i = 0; i < p.length; i++) {
    const n = p[i];
    if (n === 0) Object.assign(st, { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, reverse: false });
    else if (n === 1) st.bold = true;
    else if (n === 2) st.dim = true;
    else if (n === 3) st.italic = true;
    else if (n === 4) st.underline = true;
    else if (n === 7) st.reverse = true;
    else if (n === 22) st.bold = st.dim = false;
    else if (n === 23) st.italic = false;
    else if (n === 24) st.underline = false;
    else if (n === 27) st.reverse = false;
    else if (n >= 30 && n <= 37) st.fg = PALETTE[n - 30];
    else if (n >= 40 && n <= 47) st.bg = PALETTE[n - 40];
    else if (n >= 90 && n <= 97) st.fg = PALETTE[n - 90 + 8];
    else if (n >= 100 && n <= 107) st.bg = PALETTE[n - 100 + 8];
    else if (n === 39) st.fg = null;
    else if (n === 49) st.bg = null;
    else if (n === 38 || n === 48) {
      let c = null;
      if (p[i + 1] === 5) (c = color256(p[i + 2] & 255)), (i += 2);
      else if (p[i + 1] === 2) (c = rgb(p[i + 2] & 255, p[i + 3] & 255, p[i + 4] & 255)), (i += 4);
      if (n === 38) st.fg = c;
      else st.bg = c;
    }
  }
}

/**
 * The screen as rows of cells {ch, fg, bg, bold, dim, italic, underline}, colours resolved.
 * The SGR state carries across lines, as capture-pane writes it. tmux does not
 * report the cells a program cleared with a coloured background (blessed clears
 * the rest of a title bar or of the selected row that way), so the rest of each
 * line takes the background in effect at its end.
 */
function parseAnsi(text, cols = COLS, rows = ROWS) {
  const st = { fg: null, bg: null, bold: false, dim: false, italic: false, underline: false, reverse: false };
  const cell = (ch) => {
    let fg = st.fg || FG;
    let bg = st.bg || BG;
    if (st.reverse) [fg, bg] = [bg, fg];
    return { ch, fg, bg, bold: st.bold, dim: st.dim, italic: st.italic, underline: st.underline };
  };
  const lines = text.replace(/\n$/, '').split('\n').slice(0, rows);
  const screen = [];
  for (const line of lines) {
    const row = [];
    // SGR sequences, other CSI/OSC sequences (skipped), or one character
    const re = /\x1b\[([0-9;]*)m|\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|([^\x1b])/gu;
    for (const m of line.matchAll(re)) {
      if (m[1] !== undefined) sgr(st, m[1]);
      else if (m[3] !== undefined && m[3] >= ' ' && row.length < cols) row.push(cell(m[3]));
    }
    while (row.length < cols) row.push(cell(' '));
    screen.push(row);
  }
  while (screen.length < rows) screen.push(Array.from({ length: cols }, () => cell(' ')));
  return screen;
}

// ------------------------------------------------------------ cells -> SVG

const FONT_PX = 14;
const CELL_W = (FONT_PX * 1233) / 2048; // DejaVu Sans Mono's advance: 1233 of 2048 units per em
const CELL_H = 17;
const BASELINE = 13;
const PAD = 10;

const xml = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const px = (v) => +v.toFixed(2);

/** Runs of equal `key` along a row: [{start, cells}]. */
function runs(row, key) {
  const out = [];
  row.forEach((c, i) => {
    const last = out[out.length - 1];
    if (last && key(last.cells[0]) === key(c)) last.cells.push(c);
    else out.push({ start: i, cells: [c] });
  });
  return out;
}

function toSvg(screen) {
  const w = px(PAD * 2 + screen[0].length * CELL_W);
  const h = PAD * 2 + screen.length * CELL_H;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" font-family="DejaVu Sans Mono" font-size="${FONT_PX}px">`,
    `<rect width="${w}" height="${h}" fill="${BG}"/>`,
  ];
  screen.forEach((row, y) => {
    const top = PAD + y * CELL_H;
    for (const r of runs(row, (c) => c.bg)) {
      if (r.cells[0].bg === BG) continue;
      out.push(`<rect x="${px(PAD + r.start * CELL_W)}" y="${top}" width="${px(r.cells.length * CELL_W)}" height="${CELL_H}" fill="${r.cells[0].bg}"/>`);
    }
    for (const r of runs(row, (c) => [c.fg, c.bold, c.dim, c.italic, c.underline].join())) {
      const text = r.cells.map((c) => c.ch).join('');
      if (!text.trim()) continue;
      const c = r.cells[0];
      const style = (c.bold ? ' font-weight="bold"' : '') + (c.italic ? ' font-style="italic"' : '') +
        (c.underline ? ' text-decoration="underline"' : '') + (c.dim ? ' opacity="0.6"' : '');
      out.push(`<text x="${px(PAD + r.start * CELL_W)}" y="${top + BASELINE}" fill="${c.fg}"${style} xml:space="preserve">${xml(text)}</text>`);
    }
  });
  out.push('</svg>\n');
  return out.join('\n');
}

/** docs/NAME.ansi -> docs/NAME.png */
function render(name, dir) {
  const svg = path.join(dir, `${name}.svg`);
  fs.writeFileSync(svg, toSvg(parseAnsi(fs.readFileSync(path.join(DOCS, `${name}.ansi`), 'utf8'))));
  cp.execFileSync('rsvg-convert', ['-o', path.join(DOCS, `${name}.png`), svg]);
  console.error(`screenshot: docs/${name}.png`);
}

// ------------------------------------------------------------ the capture

const SOCKET = `ebtop-shot-${process.pid}`;
const tmux = (...args) => cp.execFileSync('tmux', ['-L', SOCKET, '-f', '/dev/null', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const capture = () => tmux('capture-pane', '-p', '-e', '-N', '-t', 'shot');
const plain = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sq = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

let tmp = null;
let socketPath = null; // tmux leaves its socket file behind
const workloads = [];

// The workloads run as `nobody` and the screenshots show only nobody's
// processes (the `u` key): whatever else runs on the machine stays out of them.
const NOBODY = Number(cp.execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' }));
const NOGROUP = Number(cp.execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' }));

/** test/workloads/bin/NAME ARGS in its own process group (the spawner's current child goes with it); stdin stays open. */
function workload(name, ...args) {
  const c = cp.spawn(`test/workloads/bin/${name}`, args, {
    cwd: ROOT, uid: NOBODY, gid: NOGROUP, stdio: ['pipe', 'pipe', 'ignore'], detached: true,
  });
  workloads.push(c);
  return new Promise((resolve, reject) => c.on('spawn', () => resolve(c)).on('error', reject));
}

async function waitFor(what, ok, ms = 10000) {
  for (const until = Date.now() + ms; ; await sleep(100)) {
    const screen = capture();
    if (ok(screen)) return screen;
    if (Date.now() > until) {
      const log = path.join(tmp, 'ebtop.log');
      const tail = fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').slice(-10).join('\n') : '';
      throw new Error(`timed out waiting for ${what}; screen:\n${plain(screen)}\n${tail}`);
    }
  }
}

const keys = (...k) => tmux('send-keys', '-t', 'shot', ...k);
/** The text of the selected table row (the cyan one), or ''. */
function selected(screen) {
  const row = parseAnsi(screen).find((r) => r[0].bg === PALETTE[6] && /^\s*\d+ /.test(r.map((c) => c.ch).join('')));
  return row ? row.map((c) => c.ch).join('') : '';
}

async function shoot() {
  if (process.getuid() !== 0) throw new Error('run as root (ebtop loads BPF programs): sudo make screenshots');
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-shot-'));

  // mtbusy has the machine to itself for a few seconds, so its sparkline shows the others arriving
  const mt = await workload('mtbusy', '4', '30000');
  const cmd = `cd ${sq(ROOT)} && XDG_CONFIG_HOME=${sq(tmp)} TERM=xterm-256color bin/ebtop -d 1 --log ${sq(path.join(tmp, 'ebtop.log'))}; echo "ebtop exited: $?"; sleep 60`;
  tmux('new-session', '-d', '-s', 'shot', '-x', String(COLS), '-y', String(ROWS), cmd);
  socketPath = tmux('display-message', '-p', '#{socket_path}').trim();
  await waitFor('the process table', (s) => /^\s*\S?PID\S? USER/m.test(plain(s)));
  // u: the menu lists (all users), then the users by name
  keys('u');
  const menu = plain(await waitFor('the user menu', (s) => /Show processes of user/.test(plain(s)) && /^\s*nobody\s*$/m.test(plain(s)))).split('\n');
  const down = menu.findIndex((l) => l.trim() === 'nobody') - menu.findIndex((l) => l.includes('(all users)'));
  keys(...Array(down).fill('Down'), 'Enter');
  await waitFor('only nobody', (s) => /user nobody/.test(plain(s)));
  await sleep(3000);

  await workload('burn', '30000');
  const hog = await workload('hog', '200');
  await workload('spawner', '100000', '20', 'test/workloads/bin/burn');
  await new Promise((resolve, reject) => {
    hog.stdout.on('data', (d) => String(d).includes('ready') && resolve());
    hog.on('exit', () => reject(new Error('hog exited before it was ready')));
  });
  await sleep(4000);
  const tui = capture();

  // the drill-down of mtbusy: search it, Enter
  keys('/');
  keys('-l', 'mtbusy');
  keys('Enter');
  await waitFor('mtbusy selected', (s) => selected(s).includes(` ${mt.pid} `));
  keys('Enter');
  await waitFor('the drill-down', (s) => new RegExp(`PID ${mt.pid} .*Threads \\(5\\)`, 's').test(plain(s)));
  await sleep(4000);
  const drill = capture();
  keys('q', 'q'); // back to the table, quit
  await waitFor('ebtop to quit', (s) => /ebtop exited: 0/.test(s));
  return { tui, drill };
}

function cleanup() {
  try {
    tmux('kill-server');
  } catch {
    /* not started, or gone */
  }
  if (socketPath) fs.rmSync(socketPath, { force: true });
  for (const c of workloads.splice(0)) {
    try {
      if (c.pid) process.kill(-c.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
}

async function main() {
  const renderOnly = process.argv[2] === '--render';
  fs.mkdirSync(DOCS, { recursive: true });
  if (!renderOnly) {
    const shots = await shoot();
    for (const name of SHOTS) fs.writeFileSync(path.join(DOCS, `${name}.ansi`), shots[name]);
  }
  tmp = tmp || fs.mkdtempSync(path.join(os.tmpdir(), 'ebtop-shot-'));
  for (const name of SHOTS) render(name, tmp);
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    cleanup();
    process.exit(128 + os.constants.signals[sig]);
  });
}
main()
  .catch((e) => {
    process.stderr.write(`screenshot: ${e.message}\n`);
    process.exitCode = 1;
  })
  .finally(cleanup);
