// An SVG flame graph of folded stacks (`ebtop offcpu --svg`): the root at the
// bottom, each frame as wide as the time spent in it and above it. Every
// rectangle carries its frame's ns (data-ns) and depth (data-depth), and a
// tooltip; colours by wait reason for the reason frames, warm hues elsewhere.
// Every name is written through esc().
import { printable } from '../format';
import type { StackTotal } from '../offcpu';

interface Node {
  name: string;
  ns: number;
  children: Map<string, Node>;
}

const WIDTH = 1200;
const ROW = 16;
const PAD = 10;
const TOP = 30;

const REASON_COLOR: Record<string, string> = {
  '[disk]': '#d9a441', '[net]': '#4c9be8', '[lock]': '#e0554f', '[sleep]': '#9e9e9e',
  '[pipe]': '#5dbb63', '[poll]': '#a77fd6', '[other]': '#c7b198',
};

/**
 * Text as XML character data, the one way names (comm, symbols: other
 * processes' text) enter the SVG: printable() first (XML 1.0 forbids most C0
 * controls, and a terminal showing the file must not get them either), then
 * lone surrogates (a slice may split a pair) as U+FFFD, then the markup.
 */
function esc(s: string): string {
  return printable(s)
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|[\ufffe\uffff]/g, '\ufffd')
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/** A stable warm colour per name (flamegraph.pl's palette, hashed). */
function warm(name: string): string {
  let h = 0;
  for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) >>> 0;
  return `rgb(${205 + (h % 50)},${80 + ((h >> 8) % 130)},${(h >> 16) % 55})`;
}

/** The tree of `comm;[reason];frames...` paths. */
function tree(stacks: StackTotal[]): Node {
  const root: Node = { name: 'all', ns: 0, children: new Map() };
  for (const s of stacks) {
    root.ns += s.ns;
    let n = root;
    for (const f of [s.comm, `[${s.reason}]`, ...s.frames]) {
      let c = n.children.get(f);
      if (!c) n.children.set(f, (c = { name: f, ns: 0, children: new Map() }));
      c.ns += s.ns;
      n = c;
    }
  }
  return root;
}

function depthOf(n: Node): number {
  let d = 0;
  for (const c of n.children.values()) d = Math.max(d, depthOf(c));
  return d + 1;
}

export function flameSvg(stacks: StackTotal[], title: string): string {
  const root = tree(stacks);
  const depth = depthOf(root);
  const height = TOP + depth * ROW + PAD;
  const scale = root.ns > 0 ? (WIDTH - 2 * PAD) / root.ns : 0;
  const out: string[] = [
    '<?xml version="1.0" encoding="UTF-8" standalone="no"?>',
    `<svg version="1.1" xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" data-total-ns="${root.ns}">`,
    `<rect x="0" y="0" width="${WIDTH}" height="${height}" fill="#f8f8f8"/>`,
    `<text x="${WIDTH / 2}" y="20" text-anchor="middle" font-family="Verdana,sans-serif" font-size="15">${esc(title)}</text>`,
  ];
  const draw = (n: Node, x: number, d: number) => {
    const w = n.ns * scale;
    const y = height - PAD - (d + 1) * ROW;
    const pct = root.ns > 0 ? ((n.ns / root.ns) * 100).toFixed(2) : '0';
    const fill = d === 0 ? '#bbbbbb' : (REASON_COLOR[n.name] ?? warm(n.name));
    out.push(
      `<g><title>${esc(n.name)} (${(n.ns / 1e6).toFixed(3)} ms, ${pct}%)</title>` +
        `<rect x="${x.toFixed(3)}" y="${y}" width="${w.toFixed(3)}" height="${ROW - 1}" fill="${fill}" rx="2" data-ns="${n.ns}" data-depth="${d}"/>` +
        (w > 30 ? `<text x="${(x + 3).toFixed(3)}" y="${y + ROW - 4}" font-family="Verdana,sans-serif" font-size="11">${esc(n.name.slice(0, Math.floor((w - 6) / 7)))}</text>` : '') +
        '</g>',
    );
    let cx = x;
    for (const c of [...n.children.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      draw(c, cx, d + 1);
      cx += c.ns * scale;
    }
  };
  draw(root, PAD, 0);
  out.push('</svg>', '');
  return out.join('\n');
}
