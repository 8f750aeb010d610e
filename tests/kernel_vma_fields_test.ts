// KernelVma keeps `end` as a size and `pgoff` as a distance from `start / PAGE_SIZE`, `file` in
// a side object and `detached` in the sign of its stored id (vma_tree.ts). These tests pin that each
// of start, end, pgoff, file, id and detached still reads and writes like a plain field, for every
// kind of value, and that the VMA tree sees the same ranges as with plain objects.

import { assertEquals } from "./assert.ts";
import { KernelVma } from "../core/kernel/vma_tree.ts";
import { AnonVma, Avc } from "../core/rmap/anon_vma.ts";
import { GapTree } from "../core/lib/gap_tree.ts";
import { RangeBTree } from "../core/lib/range_btree.ts";
import { type Mm, PAGE_SIZE, type SimFile } from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const X = 0x7f0000000000;

function fields(v: KernelVma): unknown[] {
  return [v.start, v.end, v.pgoff, v.file, v.detached];
}

Deno.test("KernelVma: start, end, pgoff read back as constructed, for any numbers", () => {
  const cases: [number, number, number][] = [
    [X, X + P, X / P],
    [X, X + 3 * P, 5],
    [0x1000, 0x3000, 1],
    [0, 2 ** 40, 2 ** 45],
    [X, X + 2 ** 33, X / P - 2 ** 40],
    [0.5, 1.25, -0],
    [-0, 0, 0],
    [1e300, 1e300 + 1e290, 3],
    [Infinity, Infinity, NaN],
    [-Infinity, Infinity, Infinity],
    [NaN, 4, 0.1],
    [2 ** 53, 2 ** 53 + 2, 2 ** 53 / P + 0.5],
  ];
  for (const [s, e, pg] of cases) {
    const v = new KernelVma(1, {} as Mm, s, e, pg, 0, null);
    assertEquals(Object.is(v.start, s), true, `start ${s}`);
    assertEquals(Object.is(v.end, e), true, `end ${e} (start ${s})`);
    assertEquals(Object.is(v.pgoff, pg), true, `pgoff ${pg} (start ${s})`);
  }
});

Deno.test("KernelVma: page-aligned starts of any magnitude and sizes up to 2^24 pages read back exactly", () => {
  // The getters add page counts (region base, page in region, size) and scale once: exact only
  // while the sums are small enough, which startRef checks (2^52) before packing a start.
  const starts = [2 ** 52 - P, 2 ** 52, -(2 ** 52) + P, -(2 ** 52), 2 ** 53 - P, 2 ** 47 - P];
  for (let b = 60; b <= 80; b += 4) {
    starts.push(2 ** b + 2 ** (b - 40) * P, -(2 ** b) - 2 ** (b - 45) * P);
  }
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let i = 0; i < 200; i++) {
    const pages = Math.floor(rnd() * 2 ** 53 / P);
    starts.push((rnd() < 0.5 ? -pages : pages) * P);
  }
  for (const s of starts) {
    for (const pages of [1, 2 ** 24 - 1, 2 ** 24, Math.floor(rnd() * 2 ** 24) + 1]) {
      const e = s + pages * P;
      if (e === s) continue;
      const v = new KernelVma(1, {} as Mm, s, e, s / P, 0, null);
      assertEquals([v.start, v.end, v.pgoff], [s, e, s / P], `start ${s}, ${pages} pages`);
      const d = KernelVma.dup(2, {} as Mm, v);
      assertEquals([d.start, d.end, d.pgoff], [s, e, s / P], `dup of start ${s}, ${pages} pages`);
    }
  }
});

Deno.test("KernelVma.dup copies start, end, pgoff, flags and file exactly, not the rest", () => {
  const mm = {} as Mm, mm2 = {} as Mm;
  const f = { id: 7 } as unknown as SimFile;
  const cases: [number, number, number, SimFile | null][] = [
    [X, X + P, X / P, null],
    [X, X + 3 * P, 5, f],
    [0.5, 1.25, -0, null],
    [2 ** 53, 2 ** 53 + 2, 2 ** 53 / P + 0.5, f],
    [Infinity, Infinity, NaN, null],
  ];
  for (const [s, e, pg, file] of cases) {
    const src = new KernelVma(1, mm, s, e, pg, 0x73, file);
    src.detached = true;
    const d = KernelVma.dup(9, mm2, src);
    assertEquals([d.id, d.mm === mm2, d.flags, d.file, d.detached, d.rmap], [
      9,
      true,
      0x73,
      file,
      false,
      null,
    ]);
    assertEquals([Object.is(d.start, s), Object.is(d.end, e), Object.is(d.pgoff, pg)], [
      true,
      true,
      true,
    ]);
    d.pgoff = 3; // the copy's side object is its own
    d.file = null;
    assertEquals([Object.is(src.pgoff, pg), src.file], [true, file]);
  }
});

Deno.test("KernelVma.dup: the copy and its source share no field, whichever of them changes", () => {
  // Fork's copy shares its source's side object until one of them changes (VmaRare is never
  // changed in place): a setter that changed it in place would change the other VMA too.
  const f = { id: 7 } as unknown as SimFile, g = { id: 8 } as unknown as SimFile;
  const sets: [string, (v: KernelVma) => void][] = [
    ["start", (v) => v.start = X + P],
    ["end", (v) => v.end = X + 5 * P],
    ["pgoff", (v) => v.pgoff = 11],
    ["flags", (v) => v.flags = 2 ** 40],
    ["file", (v) => v.file = g],
    ["file null", (v) => v.file = null],
  ];
  const sources: [number, number, number, SimFile | null][] = [
    [X, X + 3 * P, 5, f], // a file VMA: a side object
    [X, X + 3 * P, X / P + 2, null], // a moved anonymous VMA: a side object
    [X, X + 3 * P, X / P, null], // packed
  ];
  for (const [s, e, pg, file] of sources) {
    for (const [name, set] of sets) {
      for (const changed of ["copy", "source"]) {
        const src = new KernelVma(1, {} as Mm, s, e, pg, 0x73, file);
        const d = KernelVma.dup(2, {} as Mm, src);
        const before = [...fields(src), src.flags];
        set(changed === "copy" ? d : src);
        const other = changed === "copy" ? src : d;
        assertEquals([...fields(other), other.flags], before, `${name} on the ${changed}`);
      }
    }
  }
});

Deno.test("KernelVma: starts in many address regions, at region edges and unaligned", () => {
  // The start is kept as a page offset in one of 128 shared 64 GiB regions, or as itself.
  const R = 2 ** 36;
  const vmas: [KernelVma, number][] = [];
  for (let i = 0; i < 200; i++) {
    for (const s of [i * 3 * R, i * 3 * R + R - P, (i * 3 + 1) * R + 7 * P, i * R + 0x800]) {
      vmas.push([new KernelVma(i, {} as Mm, s, s + 2 * P, s / P + i, 0, null), s]);
    }
  }
  for (const s of [-P, -R, 2 ** 52, 2 ** 53 - P, 0.25, -0, 2 ** 47 - P]) {
    vmas.push([new KernelVma(0, {} as Mm, s, s + 2 * P, 3, 0, null), s]);
  }
  vmas.forEach(([v, s], i) => {
    assertEquals(Object.is(v.start, s), true, `start ${s} (${i})`);
    assertEquals(v.end, s + 2 * P, `end of ${s}`);
  });
  for (const [v, s] of vmas) {
    v.start = s + P; // moves within or across regions
    assertEquals([v.start, v.end], [s + P, s + 2 * P]);
  }
});

Deno.test("KernelVma: setting one of start, end, pgoff leaves the other two", () => {
  const v = new KernelVma(1, {} as Mm, X, X + 4 * P, X / P, 0, null);
  v.start = X + P; // vma_adjust of a front trim: the caller sets pgoff itself
  assertEquals([v.start, v.end, v.pgoff], [X + P, X + 4 * P, X / P]);
  v.pgoff = X / P + 1;
  assertEquals([v.start, v.end, v.pgoff], [X + P, X + 4 * P, X / P + 1]);
  v.end = X + 2 * P;
  assertEquals([v.start, v.end, v.pgoff], [X + P, X + 2 * P, X / P + 1]);
  v.start = 0x1000; // far away: the stored distances are no longer small
  assertEquals([v.start, v.end, v.pgoff], [0x1000, X + 2 * P, X / P + 1]);
  v.end = 0x2000;
  v.start = Infinity;
  assertEquals([v.start, v.end, v.pgoff], [Infinity, 0x2000, X / P + 1]);
  v.start = X;
  assertEquals([v.start, v.end, v.pgoff], [X, 0x2000, X / P + 1]);
});

Deno.test("KernelVma: file and detached read and write like fields", () => {
  const f = { id: 7 } as unknown as SimFile;
  const a = new KernelVma(1, {} as Mm, X, X + P, 0, 0, null);
  assertEquals(fields(a), [X, X + P, 0, null, false]);
  a.detached = false;
  assertEquals(fields(a), [X, X + P, 0, null, false]);
  a.detached = true;
  assertEquals(fields(a), [X, X + P, 0, null, true]);
  a.file = f;
  assertEquals(fields(a), [X, X + P, 0, f, true]);
  a.detached = false;
  a.file = null;
  assertEquals(fields(a), [X, X + P, 0, null, false]);
  const b = new KernelVma(2, {} as Mm, X, X + P, 0, 0, f);
  assertEquals(fields(b), [X, X + P, 0, f, false]);
  b.file = null;
  b.detached = true;
  assertEquals(fields(b), [X, X + P, 0, null, true]);
});

Deno.test("KernelVma: the VMA tree finds the same gaps as a gap tree of plain ranges", () => {
  const layout: [number, number][] = [
    [X, X + P],
    [X + 3 * P, X + 4 * P],
    [X + 2 ** 33, X + 2 ** 33 + 5 * P],
    [0x10000, 0x20000],
    [X + 6 * P, X + 100 * P],
  ];
  const kt = new RangeBTree<KernelVma>();
  const pt = new GapTree<{ start: number; end: number }>();
  layout.forEach(([s, e], i) => {
    kt.insert(new KernelVma(i, {} as Mm, s, e, s / P, 0, null));
    pt.insert({ start: s, end: e });
  });
  for (const len of [P, 2 * P, 3 * P, 2 ** 20, 2 ** 32, 2 ** 40]) {
    for (const [lo, hi] of [[0, 2 ** 47], [X, X + 2 ** 34], [0x20000, X + 5 * P]]) {
      assertEquals(kt.gapTopDown(len, lo, hi), pt.gapTopDown(len, lo, hi), `top ${len}`);
      assertEquals(kt.gapBottomUp(len, lo, hi), pt.gapBottomUp(len, lo, hi), `bottom ${len}`);
    }
  }
  assertEquals(
    kt.toArray().map((v) => [v.start, v.end]),
    pt.toArray().map((v) => [v.start, v.end]),
  );
});

Deno.test("KernelVma: the side object's pgoff reads back at the edges of its two small forms", () => {
  // vma_pack.ts keeps a side object's pgoff as twice its distance from start / PAGE_SIZE (a moved
  // VMA), else twice the pgoff itself plus one (a file VMA), each only in [-2^30, 2^30), else
  // exactly as given. Each edge, read through the getter and the tree keys, and again after the
  // start moves (which keeps pgoff, so the distance changes and the form may too).
  const mm = {} as Mm;
  const f = { name: "f" } as unknown as SimFile;
  const E = 2 ** 30;
  const moved = [5, -5, E - 1, E, -E, -E - 1].map((d) => X / P + d);
  const file = [0, 7, E - 1, E, -E, -E - 1, 2 ** 40];
  for (
    const [pgoff, file_] of [...moved.map((p) => [p, null]), ...file.map((p) => [p, f])] as [
      number,
      SimFile | null,
    ][]
  ) {
    const v = new KernelVma(1, mm, X, X + 3 * P, pgoff, 0, file_);
    for (const start of [X, X + 2 ** 20 * P, 0x1000]) {
      v.start = start;
      const what = `pgoff ${pgoff} at start ${start}`;
      assertEquals([v.hasRare, v.start, v.end, v.pgoff, v.file], [
        true,
        start,
        X + 3 * P,
        pgoff,
        file_,
      ], what);
      assertEquals(
        [v.pgoffOf(), v.lastPgoff()],
        [pgoff, pgoff + (X + 3 * P - start) / P - 1],
        what,
      );
    }
  }
});

Deno.test("KernelVma: pgoff other than start / PAGE_SIZE is kept in the side object, exactly", () => {
  const mm = {} as Mm;
  const f = { name: "f" } as unknown as SimFile;
  // An anonymous VMA at its own pgoff has no side object; moving it (pgoff kept) makes one.
  const v = new KernelVma(1, mm, X, X + P, X / P, 0, null);
  assertEquals([v.hasRare, v.pgoff], [false, X / P]);
  v.start = X + 4 * P;
  assertEquals([v.hasRare, fields(v)], [true, [X + 4 * P, X + P, X / P, null, false]]);
  v.pgoff = (X + 4 * P) / P;
  assertEquals([v.pgoff, v.file, v.detached], [(X + 4 * P) / P, null, false]);
  for (const pgoff of [-0, 0.5, 2 ** 60, NaN, X / P + 1, -1]) {
    const w = new KernelVma(2, mm, X, X + P, pgoff, 0, null);
    assertEquals([w.hasRare, w.pgoff], [true, pgoff]);
    w.file = f;
    w.detached = true;
    assertEquals(fields(w), [X, X + P, pgoff, f, true]);
  }
  // A file VMA keeps its pgoff and file side by side; a freed one its pgoff and mark.
  const g = new KernelVma(3, mm, 0x1000, 0x3000, 7, 0, f);
  g.detached = true;
  assertEquals(fields(g), [0x1000, 0x3000, 7, f, true]);
  const h = new KernelVma(4, mm, X, X + P, X / P, 0, null);
  h.detached = true;
  h.pgoff = 3;
  assertEquals(fields(h), [X, X + P, 3, null, true]);
});

Deno.test("KernelVma: id reads back whether detached or not, from 0 up", () => {
  // `detached` flips the stored id to ~id: id 0 (the first VMA) is the edge case.
  for (const id of [0, 1, 2 ** 30, 2 ** 31 - 1]) {
    const v = new KernelVma(id, {} as Mm, X, X + P, X / P, 0, null);
    assertEquals([v.id, v.detached], [id, false]);
    v.detached = true;
    assertEquals([v.id, v.detached], [id, true]);
    v.detached = true;
    assertEquals([v.id, v.detached], [id, true]);
    v.detached = false;
    assertEquals([v.id, v.detached], [id, false]);
    assertEquals(KernelVma.dup(id + 1, {} as Mm, v).id, id + 1);
  }
});

Deno.test("KernelVma: the VMA tree's gaps equal a gap tree's of plain ranges, huge and unaligned", () => {
  const kt = new RangeBTree<KernelVma>();
  const pt = new GapTree<{ start: number; end: number }>();
  let a = 0x1000;
  for (let i = 0; i < 300; i++) {
    const s = a, e = s + ((i % 5) + 1) * P;
    kt.insert(new KernelVma(i, {} as Mm, s, e, s / P, 0, null));
    pt.insert({ start: s, end: e });
    a = e + (i % 7 === 0 ? 2 ** 24 : i % 3) * P + (i % 50 === 0 ? 2 ** 44 : 0) +
      (i === 100 ? 17 : 0);
  }
  for (const it of [...kt.toArray()].filter((_, i) => i % 4 === 1)) kt.remove(it);
  for (const it of [...pt.toArray()].filter((_, i) => i % 4 === 1)) pt.remove(it);
  assertEquals(
    kt.toArray().map((v) => [v.start, v.end]),
    pt.toArray().map((v) => [v.start, v.end]),
  );
  kt.validate();
  for (const len of [P, 3 * P, 2 ** 40, 2 ** 52]) {
    assertEquals(kt.gapTopDown(len, 0, 2 ** 64), pt.gapTopDown(len, 0, 2 ** 64), `top ${len}`);
    assertEquals(kt.gapBottomUp(len, 0, 2 ** 64), pt.gapBottomUp(len, 0, 2 ** 64), `bottom ${len}`);
  }
});

Deno.test("KernelVma: flags read and write like a field, for any number and any count of values", () => {
  const mm = {} as Mm;
  const vals = [0, 3, 0x80000000, 0x80000073, -0, NaN, 0.5, -1, 2 ** 53, Infinity];
  for (let i = 0; i < 300; i++) vals.push(0x100000 + i); // past the 127 packed values
  const vmas = vals.map((f, i) =>
    new KernelVma(i, mm, X + i * P, X + (i + 2) * P, X / P + i, f, null)
  );
  vmas.forEach((v, i) => {
    assertEquals(Object.is(v.flags, vals[i]), true, `flags ${vals[i]}`);
    assertEquals([v.start, v.end, v.pgoff], [X + i * P, X + (i + 2) * P, X / P + i]);
  });
  for (const v of vmas) {
    for (const f of [7, 0x80000000, -0, 0x100000 + 299, 1]) {
      v.flags = f;
      v.end = v.end + P;
      assertEquals(Object.is(v.flags, f), true, `set flags ${f}`);
    }
    v.flags |= 0x10;
    assertEquals(v.flags, 0x11);
  }
  vmas.forEach((v, i) =>
    assertEquals([v.start, v.end, v.pgoff], [X + i * P, X + (i + 7) * P, X / P + i])
  );
  // Sizes past 2^24 pages and not whole pages keep their flags too.
  const big = new KernelVma(1, mm, X, X + 2 ** 40, X / P, 0x73, null);
  big.end = X + 0.5;
  big.flags = 3;
  assertEquals([big.end, big.flags, big.hasRare], [X + 0.5, 3, true]);
});

Deno.test("KernelVma: startOf, endOf, pgoffOf and lastPgoff (the trees' keys) equal the getters' values", () => {
  const f = { id: 7 } as unknown as SimFile;
  const cases: [number, number, number, SimFile | null][] = [
    [X, X + P, X / P, null],
    [X, X + 5 * P, X / P + 9, null],
    [X, X + 3 * P, 5, f],
    [0x1000, 0x3000, 1, null],
    [X, X + 2 ** 33, X / P - 2 ** 40, null],
    [0.5, 1.25, -0, null],
    [2 ** 53, 2 ** 53 + 2, 2 ** 53 / P + 0.5, f],
    [2 ** 52 - P, 2 ** 52 - P + (2 ** 24 - 1) * P, (2 ** 52 - P) / P, null],
    [Infinity, Infinity, NaN, null],
  ];
  for (const [s, e, pg, file] of cases) {
    for (const v of [new KernelVma(1, {} as Mm, s, e, pg, 0x73, file), undefined]) {
      const w = v ?? KernelVma.dup(2, {} as Mm, new KernelVma(1, {} as Mm, s, e, pg, 0x73, file));
      const last = w.pgoff + (w.end - w.start) / P - 1;
      assertEquals(Object.is(w.pgoffOf(), w.pgoff), true, `pgoffOf of [${s}, ${e})`);
      assertEquals([Object.is(w.startOf(), w.start), Object.is(w.endOf(), w.end)], [true, true]);
      assertEquals(Object.is(w.lastPgoff(), last), true, `lastPgoff of [${s}, ${e})`);
      const a = new Avc(w, new AnonVma(1));
      assertEquals([Object.is(a.startKey(), a.start), Object.is(a.lastKey(), a.last)], [
        true,
        true,
      ]);
    }
  }
  // An AVC of a VMA that is not a KernelVma reads the getters.
  const plain = { pgoff: 3, start: P, end: 4 * P } as unknown as KernelVma;
  const a = new Avc(plain, new AnonVma(2));
  assertEquals([a.startKey(), a.lastKey()], [3, 5]);
});
