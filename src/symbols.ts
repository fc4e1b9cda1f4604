// Addresses to function names: kernel addresses from /proc/kallsyms, user
// addresses through the process's memory map to its ELF files' symbol
// tables (.symtab, else .dynsym). Used by `ebtop offcpu` only.
import fs from 'node:fs';
import path from 'node:path';

interface Sym {
  addr: bigint;
  size: bigint;
  name: string;
}

/** Sorted symbols; the name of the one an address falls in (size 0: up to the next one). */
class SymbolTable {
  constructor(private readonly syms: Sym[]) {
    syms.sort((a, b) => (a.addr < b.addr ? -1 : a.addr > b.addr ? 1 : 0));
  }

  find(addr: bigint): string | null {
    const s = this.syms;
    let lo = 0;
    let hi = s.length - 1;
    let at = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid].addr <= addr) {
        at = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (at < 0) return null;
    const sym = s[at];
    if (sym.size > 0n && addr >= sym.addr + sym.size) return null;
    return sym.name;
  }
}

/** Kernel text symbols from /proc/kallsyms (root sees real addresses). */
export class KernelSymbols {
  private table: SymbolTable;

  constructor(text = fs.readFileSync('/proc/kallsyms', 'latin1')) {
    const syms: Sym[] = [];
    for (const line of text.split('\n')) {
      const a = line.indexOf(' ');
      const t = line[a + 1];
      if (a < 0 || !(t === 't' || t === 'T' || t === 'w' || t === 'W')) continue;
      const end = line.indexOf('\t', a + 3);
      const addr = BigInt('0x' + line.slice(0, a));
      if (addr !== 0n) syms.push({ addr, size: 0n, name: line.slice(a + 3, end < 0 ? undefined : end) });
    }
    this.table = new SymbolTable(syms);
  }

  name(addr: bigint): string {
    return this.table.find(addr) ?? `0x${addr.toString(16)}`;
  }
}

interface Segment {
  offset: bigint;
  vaddr: bigint;
  filesz: bigint;
}

/** An ELF64 little-endian file's function symbols and loadable segments. */
class ElfFile {
  readonly table: SymbolTable;
  readonly segments: Segment[] = [];

  constructor(b: Buffer) {
    if (b.readUInt32BE(0) !== 0x7f454c46 || b[4] !== 2 || b[5] !== 1) throw new Error('not an ELF64 LE file');
    const phoff = b.readBigUInt64LE(0x20);
    const shoff = Number(b.readBigUInt64LE(0x28));
    const phentsize = b.readUInt16LE(0x36);
    const phnum = b.readUInt16LE(0x38);
    const shentsize = b.readUInt16LE(0x3a);
    const shnum = b.readUInt16LE(0x3c);
    for (let i = 0; i < phnum; i++) {
      const o = Number(phoff) + i * phentsize;
      if (b.readUInt32LE(o) !== 1) continue; // PT_LOAD
      this.segments.push({ offset: b.readBigUInt64LE(o + 8), vaddr: b.readBigUInt64LE(o + 16), filesz: b.readBigUInt64LE(o + 32) });
    }
    const sections = Array.from({ length: shnum }, (_, i) => {
      const o = shoff + i * shentsize;
      return { type: b.readUInt32LE(o + 4), offset: Number(b.readBigUInt64LE(o + 0x18)), size: Number(b.readBigUInt64LE(o + 0x20)), link: b.readUInt32LE(o + 0x28), entsize: Number(b.readBigUInt64LE(o + 0x38)) };
    });
    const read = (type: number): Sym[] => {
      const out: Sym[] = [];
      for (const s of sections.filter((x) => x.type === type)) {
        const strtab = sections[s.link];
        for (let o = s.offset; o + 24 <= s.offset + s.size; o += s.entsize || 24) {
          const info = b[o + 4];
          const value = b.readBigUInt64LE(o + 8);
          if ((info & 0xf) !== 2 || value === 0n) continue; // STT_FUNC, defined
          const nameAt = strtab.offset + b.readUInt32LE(o);
          out.push({ addr: value, size: b.readBigUInt64LE(o + 16), name: b.toString('latin1', nameAt, b.indexOf(0, nameAt)) });
        }
      }
      return out;
    };
    const symtab = read(2); // SHT_SYMTAB
    this.table = new SymbolTable(symtab.length ? symtab : read(11)); // else SHT_DYNSYM
  }

  /** The link-time address of a file offset, or null outside every loaded segment. */
  vaddrOf(fileOffset: bigint): bigint | null {
    for (const s of this.segments) if (fileOffset >= s.offset && fileOffset < s.offset + s.filesz) return fileOffset - s.offset + s.vaddr;
    return null;
  }
}

interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
  file: string;
}

/** One process's executable mappings, read from /proc/<pid>/maps (kept after it exits). */
export class UserSymbols {
  private maps: Mapping[] = [];
  private static files = new Map<string, ElfFile | null>();

  constructor(readonly pid: number) {
    this.refresh();
  }

  /** Re-read the mappings (libraries loaded since); the old ones stay known. */
  refresh(): void {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${this.pid}/maps`, 'latin1');
    } catch {
      return; // gone: keep what was read before
    }
    const maps: Mapping[] = [];
    for (const line of text.split('\n')) {
      const f = line.split(/\s+/);
      if (f.length < 6 || f[1][2] !== 'x' || !f[5].startsWith('/')) continue;
      const [s, e] = f[0].split('-');
      // through the process's root: the right file even in another mount namespace
      maps.push({ start: BigInt('0x' + s), end: BigInt('0x' + e), offset: BigInt('0x' + f[2]), file: f.slice(5).join(' ') });
    }
    this.maps = maps;
  }

  name(addr: bigint): string {
    const m = this.maps.find((x) => addr >= x.start && addr < x.end);
    if (!m) return `0x${addr.toString(16)}`;
    const elf = UserSymbols.elf(`/proc/${this.pid}/root${m.file}`, m.file);
    const vaddr = elf?.vaddrOf(addr - m.start + m.offset);
    const sym = vaddr !== undefined && vaddr !== null ? elf!.table.find(vaddr) : null;
    return sym ?? `[${path.basename(m.file)}]`;
  }

  private static elf(via: string, file: string): ElfFile | null {
    if (!this.files.has(file)) {
      let elf: ElfFile | null = null;
      for (const p of [via, file]) {
        try {
          elf = new ElfFile(fs.readFileSync(p));
          break;
        } catch {
          // unreadable or not ELF: frames in it stay unnamed
        }
      }
      this.files.set(file, elf);
    }
    return this.files.get(file)!;
  }
}
