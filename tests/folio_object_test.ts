// The folio object's compact layout: a one-page folio keeps its mapcount and PageAnonExclusive
// inline, a large folio keeps per-page arrays, and both answer every mapcount / PageAnonExclusive
// / mapping question identically, through the methods the kernel core uses and through the
// `mapcount` / `anonExclusive` arrays outside scripts read (a small folio makes them on demand and
// keeps them live). The oracle's MapperSet keeps one mapping inline, a few in an array, more in a
// Map, with the same answers and insertion order in every mode.

import { assertEquals, assertThrows } from "./assert.ts";
import { FolioLru, KernelFolio } from "../core/kernel/folio_object.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { mapperKey, MapperSet } from "../core/oracle.ts";
import {
  type Folio,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_MUST_RELOCATE_ANON,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  type SimFile,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const X = 0x7f0000000000;
const Y = X + 0x1000000;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const RW = PROT_READ | PROT_WRITE;

/** Every question the kernel core asks of page `page` and of the folio as a whole. */
function answers(f: Folio, page: number): unknown[] {
  return [
    f.pageMapcount(page),
    f.pageAnonExclusive(page),
    f.totalMapcount(),
    f.maxPageMapcount(),
    f.mapped(),
  ];
}

/** `s.snapshot` gives the keys and mms `entries()` gives, in the same order. */
function assertSnapshot(s: MapperSet): void {
  const keys: number[] = [], mms: Mm[] = [];
  s.snapshot(keys, mms);
  const got = [...s.entries()];
  assertEquals(keys, got.map(([k]) => k));
  assertEquals(mms.length, got.length);
  mms.forEach((mm, i) => assertEquals(mm === got[i][1].mm, true));
}

Deno.test("folio: a one-page and a 512-page folio answer the same on a mapped page", () => {
  const small = new KernelFolio(1, 1, true, 7, null);
  const large = new KernelFolio(2, 512, true, 7, null);
  assertEquals([small.nrPages, large.nrPages, small.file, large.file], [1, 512, null, null]);
  const steps: [number, boolean][] = [[1, true], [1, false], [-1, false], [2, true], [-3, true]];
  const page = 300;
  assertEquals(answers(small, 0), answers(large, page));
  for (const [delta, excl] of steps) {
    small.addPageMapcount(0, delta);
    small.setPageAnonExclusive(0, excl);
    large.addPageMapcount(page, delta);
    large.setPageAnonExclusive(page, excl);
    assertEquals(answers(small, 0), answers(large, page));
  }
  // Only page 300 of the large folio moved; the arrays agree with the methods.
  assertEquals(large.mapcount.filter((m, i) => i !== page && m !== 0), []);
  assertEquals(large.anonExclusive.filter((e, i) => i !== page && e), []);
  assertEquals([large.mapcount[page], large.anonExclusive[page]], [0, true]);
  assertEquals([small.mapcount, small.anonExclusive], [[0], [true]]);
});

Deno.test("folio: a small folio's arrays, once read, stay live both ways", () => {
  const f = new KernelFolio(1, 1, true, 0, null);
  f.addPageMapcount(0, 2);
  f.setPageAnonExclusive(0, true);
  const mc = f.mapcount, ex = f.anonExclusive;
  assertEquals([mc, ex, f.mapcount === mc, f.anonExclusive === ex], [[2], [true], true, true]);
  mc[0]++;
  ex[0] = false;
  assertEquals(answers(f, 0), [3, false, 3, 3, true]);
  f.addPageMapcount(0, -3);
  f.setPageAnonExclusive(0, true);
  assertEquals([mc, ex, f.nrPages, f.mapped()], [[0], [true], 1, false]);
});

Deno.test("folio: pages beyond a small folio are refused; flags are independent bits", () => {
  const f = new KernelFolio(1, 1, true, 0, null);
  assertThrows(() => f.pageMapcount(1), RangeError);
  assertThrows(() => f.addPageMapcount(1, 1), RangeError);
  assertThrows(() => f.pageAnonExclusive(1), RangeError);
  assertThrows(() => f.setPageAnonExclusive(1, true), RangeError);
  f.setPageAnonExclusive(0, true);
  f.pinned = true;
  f.ksm = true;
  f.freed = true;
  assertEquals([f.anon, f.pinned, f.ksm, f.freed, f.pageAnonExclusive(0)], [
    true,
    true,
    true,
    true,
    true,
  ]);
  f.pinned = false;
  f.setPageAnonExclusive(0, false);
  assertEquals([f.anon, f.pinned, f.ksm, f.freed, f.pageAnonExclusive(0)], [
    true,
    false,
    true,
    true,
    false,
  ]);
});

Deno.test("folio: a page-cache folio keeps its file and an inline mapcount", () => {
  const file = { id: 1, name: "libc.so", sizePages: 4 } as SimFile;
  const f = new KernelFolio(1, 1, false, 3, file);
  f.addPageMapcount(0, 1);
  assertEquals([f.file, f.anon, f.nrPages, f.index, answers(f, 0)], [file, false, 1, 3, [
    1,
    false,
    1,
    1,
    true,
  ]]);
  assertEquals([f.mapcount, f.file], [[1], file]);
});

const folioAt = (k: Kernel, mm: Mm, addr: number): Folio => k.pte(mm, addr)!.folio!;

function forkedPair(order: number): { k: Kernel; p: Mm; c: Mm; f: Folio } {
  const k = new Kernel({
    scheme: new AnonVmaScheme(),
    params: { debugChecks: true, anonFolioOrder: order },
  });
  const p = k.spawn();
  k.mmap(p, X, 16 * P, RW, ANON);
  k.touch(p, X, "write");
  const f = folioAt(k, p, X);
  assertEquals([f.nrPages, f.totalMapcount(), f.pageAnonExclusive(0)], [
    order ? 16 : 1,
    f.nrPages,
    true,
  ]);
  const c = k.fork(p);
  return { k, p, c, f };
}

Deno.test("folio: fork, CoW and unmap give the same page-0 answers for small and large folios", () => {
  const small = forkedPair(0), large = forkedPair(4);
  const page0 = (w: { f: Folio }): unknown[] => [
    w.f.pageMapcount(0),
    w.f.pageAnonExclusive(0),
    w.f.maxPageMapcount(),
    w.f.mapped(),
    w.f.mappers.size / w.f.nrPages,
  ];
  assertEquals(page0(small), [2, false, 2, true, 2]);
  assertEquals(page0(large), page0(small));
  for (const w of [small, large]) {
    w.k.touch(w.c, X, "write"); // the child copies page 0
    assertEquals([folioAt(w.k, w.c, X) === w.f, w.f.pageMapcount(0)], [false, 1]);
    w.k.munmap(w.c, X, 16 * P);
    assertEquals(w.k.oracle.check(w.k), []);
  }
  assertEquals(page0(large), [1, false, 1, true, 1]);
  assertEquals(page0(small), page0(large));
  // The parent is alone again: the next write reuses in place and sets PageAnonExclusive.
  for (const w of [small, large]) {
    w.k.touch(w.p, X, "write");
    assertEquals([folioAt(w.k, w.p, X) === w.f, w.f.pageAnonExclusive(0)], [true, true]);
    assertEquals([w.f.mapcount[0], w.f.anonExclusive[0]], [1, true]);
  }
});

Deno.test("folio: a split large folio's pages answer like folios faulted one page at a time", () => {
  const k = new Kernel({
    scheme: new AnonVmaScheme(),
    params: { debugChecks: true, anonFolioOrder: 4 },
  });
  const mm = k.spawn();
  k.mmap(mm, X, 16 * P, RW, ANON);
  // Every page written: a split would map a page that still holds zeroes to the zero page.
  for (let i = 0; i < 16; i++) k.touch(mm, X + i * P, "write");
  const f = folioAt(k, mm, X);
  const arrays = f.mapcount; // an outside script holding the head's array sees it cut to one page
  k.mremap(mm, X, 8 * P, 8 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_MUST_RELOCATE_ANON, Y);
  assertEquals([k.counters.folios_split, f.nrPages, arrays, f.mapcount === arrays], [
    1,
    1,
    [1],
    true,
  ]);
  for (let i = 0; i < 16; i++) {
    const addr = i < 8 ? Y + i * P : X + i * P;
    const t = folioAt(k, mm, addr);
    assertEquals([t.nrPages, answers(t, 0), t.mapcount, t.anonExclusive], [
      1,
      [1, true, 1, 1, true],
      [1],
      [
        true,
      ],
    ]);
    assertEquals([...t.mappers.values()].map((m) => m.addr), [addr]);
  }
  assertEquals(k.oracle.check(k), []);
});

Deno.test("MapperSet: inline, array and Map modes answer alike, in insertion order", () => {
  const mms = [1, 2, 3].map((id) => ({ id }) as Mm);
  const s = new MapperSet();
  const added: [Mm, number][] = [];
  for (let i = 0; i < 12; i++) {
    const mm = mms[i % 3], addr = X + (i >> 1) * P + (i % 2) * 2 ** 40;
    assertEquals(s.add(mm, addr), true);
    assertEquals(s.add(mm, addr), false);
    added.push([mm, addr]);
    assertEquals([...s.values()].map((m) => [m.mm, m.addr]), added);
    assertEquals([...s.keys()], added.map(([m, a]) => mapperKey(m, a)));
    assertEquals(s.size, added.length);
  }
  while (added.length > 0) {
    const [mm, addr] = added.splice(added.length >> 1, 1)[0];
    const key = mapperKey(mm, addr);
    assertEquals([s.has(key), s.get(key)], [true, { mm, addr }]);
    assertEquals([s.delete(key), s.delete(key), s.has(key), s.get(key)], [
      true,
      false,
      false,
      undefined,
    ]);
    assertEquals([...s.values()].map((m) => [m.mm, m.addr]), added);
    assertEquals(s.size, added.length);
  }
  assertThrows(() => s.set(1, { mm: mms[0], addr: X }), RangeError);
});

Deno.test("folio: index reads back exactly for any number; mappings survive index changes", () => {
  const mm = { id: 3 } as Mm, other = { id: 4 } as Mm;
  const values = [
    0,
    1,
    2 ** 30 - 1,
    2 ** 30,
    X / P,
    2 ** 44 + 12345,
    2 ** 54 - 1,
    2 ** 54,
    2 ** 60,
    -1,
    -0,
    1.5,
    2 ** 53 + 2,
    Number.MAX_VALUE,
  ];
  for (const first of values) {
    const f = new KernelFolio(1, 1, true, first, null);
    assertEquals(Object.is(f.index, first), true, `index ${first}`);
    f.pinned = true;
    f.setPageAnonExclusive(0, true);
    // One mapping near the index, one far away, one in another mm (inline, then array, Map).
    const maps: [Mm, number][] = [[mm, X], [other, X + 2 ** 45], [other, 5 * P]];
    for (const [n, [m, a]] of maps.entries()) {
      assertEquals(f.add(m, a), true);
      for (const v of values) {
        f.index = v;
        assertEquals(Object.is(f.index, v), true, `index ${v} after ${first}`);
        assertEquals([f.pinned, f.anon, f.ksm, f.pageAnonExclusive(0)], [true, true, false, true]);
        assertEquals([...f.values()].map((x) => [x.mm, x.addr]), maps.slice(0, n + 1));
        assertEquals(maps.map(([mm, a]) => f.has(mapperKey(mm, a))), maps.map((_, i) => i <= n));
      }
    }
  }
});

Deno.test("MapperSet: up to 8 mappings (inline, pair, array) delete in any order, order kept", () => {
  const mms = [1, 2, 3].map((id) => ({ id }) as Mm);
  for (let n = 1; n <= 9; n++) {
    for (const pick of ["first", "last", "middle"]) {
      for (const base of [0, X / P]) {
        // A folio's set (offsets from its index) and a plain one (base 0: every address far).
        const s = base === 0 ? new MapperSet() : new KernelFolio(1, 1, true, base, null);
        const added: [Mm, number][] = [];
        for (let i = 0; i < n; i++) {
          const m: [Mm, number] = [mms[i % 3], X + i * P];
          s.add(...m);
          added.push(m);
        }
        // Re-setting a present mapping keeps its place.
        s.set(mapperKey(...added[n >> 1]), { mm: added[n >> 1][0], addr: added[n >> 1][1] });
        while (added.length > 0) {
          const i = pick === "first" ? 0 : pick === "last" ? added.length - 1 : added.length >> 1;
          const [mm, addr] = added.splice(i, 1)[0];
          assertEquals(s.delete(mapperKey(mm, addr)), true);
          assertEquals([...s.values()].map((m) => [m.mm, m.addr]), added);
          assertEquals([s.size, added.every(([m, a]) => s.has(mapperKey(m, a)))], [
            added.length,
            true,
          ]);
          assertEquals(s.get(mapperKey(mm, addr)), undefined);
        }
      }
    }
  }
});

Deno.test("folio: a one-page mapcount beyond the inline range moves to the arrays exactly", () => {
  const f = new KernelFolio(1, 1, true, X / P, null);
  f.setPageAnonExclusive(0, true);
  f.ksm = true;
  for (let i = 0; i < 300; i++) {
    f.addPageMapcount(0, 1);
    assertEquals([f.pageMapcount(0), f.totalMapcount(), f.maxPageMapcount()], [
      i + 1,
      i + 1,
      i + 1,
    ]);
  }
  assertEquals([f.pageAnonExclusive(0), f.ksm, f.index, f.nrPages], [true, true, X / P, 1]);
  f.addPageMapcount(0, -300);
  assertEquals([f.mapped(), f.mapcount, f.anonExclusive], [false, [0], [true]]);
  const g = new KernelFolio(2, 1, true, 0, null);
  g.addPageMapcount(0, -1); // a broken state stays visible as it is
  assertEquals([g.pageMapcount(0), g.mapped(), g.mapcount], [-1, true, [-1]]);
  g.addPageMapcount(0, 1.5);
  assertEquals(g.pageMapcount(0), 0.5);
});

Deno.test("MapperSet: addresses no offset or key gives back are kept exactly", () => {
  const mm = { id: 5 } as Mm;
  const odd = [X + 123, 2 ** 70 + P, -0, 0.5, 2 ** 60, -P];
  for (const n of [1, 2, 9]) {
    const s = new KernelFolio(1, 1, true, X / P, null);
    const added: number[] = [];
    for (let i = 0; i < n - 1; i++) {
      s.add(mm, X + i * P);
      added.push(X + i * P);
    }
    for (const a of odd) {
      if (!s.has(mapperKey(mm, a))) {
        s.add(mm, a);
        added.push(a);
      }
    }
    const got = [...s.values()].map((m) => m.addr);
    assertEquals(got.length, added.length);
    got.forEach((a, i) => assertEquals(Object.is(a, added[i]), true, `${a} != ${added[i]}`));
    for (const a of added) assertEquals(Object.is(s.get(mapperKey(mm, a))!.addr, a), true);
  }
});

Deno.test("MapperSet: random operations answer as a Map keyed by mapperKey (any base, odd values)", () => {
  const mms = [0, 1, 2, 3, 65535, 65536, 1.5, 2 ** 20, -1].map((id) => ({ id }) as Mm);
  const twins = [1, 2].map((id) => ({ id }) as Mm); // same ids as mms[1], mms[2]: same keys
  const near = (base: number, rel: number): number => (base + rel) * P;
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (const base of [0, X / P, 7, 2 ** 35 - 3, 1.5, 2 ** 60]) {
    for (let round = 0; round < 30; round++) {
      const s = base === 0 && round % 2 === 0
        ? new MapperSet()
        : new KernelFolio(1, 1, true, base, null);
      const ref = new Map<number, { mm: Mm; addr: number }>();
      const addr = (): number => {
        // Near the base, or (like a private file mapping's folio, whose index is a file
        // offset) far from it.
        const b = Number.isInteger(base) && base < 2 ** 36 && round % 3 !== 0 ? base : X / P;
        const pick = rnd(12);
        if (pick < 6) return near(b, rnd(5) - 2);
        if (pick === 6) return near(b, 2 ** 14 + rnd(3) - 1);
        if (pick === 7) return near(b, -(2 ** 14) - rnd(2));
        if (pick === 8) return near(b, 2 ** 31 + rnd(2));
        return [-0, 0, 0.5, 2 ** 60, -P, X + 123, 2 ** 70 + P][rnd(7)];
      };
      const mmOf = (): Mm => rnd(10) === 0 ? twins[rnd(2)] : mms[rnd(mms.length)];
      for (let op = 0; op < 200; op++) {
        const mm = mmOf(), a = addr(), key = mapperKey(mm, a);
        const kind = rnd(7);
        if (kind <= 1) {
          const had = ref.has(key);
          if (!had) ref.set(key, { mm, addr: a });
          assertEquals(s.add(mm, a), !had);
        } else if (kind === 2) {
          const had = ref.has(key);
          if (rnd(2) === 0) s.set(key, { mm, addr: a });
          else assertEquals(s.put(mm, a), !had);
          ref.set(key, { mm, addr: a });
        } else if (kind === 3 && ref.size > 0) {
          const k = [...ref.keys()][rnd(ref.size)];
          const m = ref.get(k)!;
          assertEquals(rnd(2) === 0 ? s.delete(k) : s.remove(m.mm, m.addr), true);
          ref.delete(k);
        } else if (kind === 4) {
          assertEquals(s.remove(mm, a), ref.delete(key));
        } else if (kind === 5 && s instanceof KernelFolio && rnd(4) === 0) {
          s.index = [base, base + 1, X / P + 3, 0][rnd(4)];
        } else {
          assertEquals(s.has(key), ref.has(key));
          const g = s.get(key), r = ref.get(key);
          assertEquals(g === undefined ? g : [g.mm, Object.is(g.addr, r?.addr)], r && [r.mm, true]);
        }
        assertEquals(s.size, ref.size);
        assertSnapshot(s);
        const got = [...s.entries()];
        assertEquals(got.map(([k]) => k), [...ref.keys()]);
        got.forEach(([, m], i) => {
          const r = [...ref.values()][i];
          assertEquals([m.mm === r.mm, Object.is(m.addr, r.addr)], [true, true]);
        });
      }
    }
  }
});

Deno.test("MapperSet: hundreds of mappings (list, then Map beyond 512) keep Map answers and order", () => {
  const mms = Array.from({ length: 700 }, (_, i) => ({ id: i + 1 }) as Mm);
  let seed = 777;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (const [odd, forks] of [[false, false], [true, false], [false, true], [true, true]]) {
    const f = new KernelFolio(1, 1, true, X / P, null);
    const ref = new Map<number, { mm: Mm; addr: number }>();
    let next = 0;
    for (let op = 0; op < 4000; op++) {
      // Forks: mm ids mostly in increasing order (sorted keys, binary search), now and then not.
      const mm = forks && rnd(200) !== 0 ? mms[next++ % mms.length] : mms[rnd(mms.length)];
      const a = odd && rnd(50) === 0
        ? X + 2 ** 20 * P
        : forks && rnd(100) !== 0
        ? X
        : X + (rnd(3) - 1) * P;
      const key = mapperKey(mm, a);
      if (rnd(3) !== 0 || ref.size < 20) {
        assertEquals(f.add(mm, a), !ref.has(key));
        if (!ref.has(key)) ref.set(key, { mm, addr: a });
      } else {
        const k = [...ref.keys()][rnd(ref.size)];
        assertEquals(f.delete(k), true);
        ref.delete(k);
      }
      if (op % 97 === 0 || ref.size === 9 || ref.size === 8 || ref.size === 513) {
        assertEquals(f.size, ref.size);
        assertEquals([...f.entries()], [...ref.entries()]);
        assertSnapshot(f);
      }
    }
    // Drain to empty.
    for (const k of [...ref.keys()]) {
      assertEquals(f.delete(k), true);
      ref.delete(k);
      if (ref.size <= 10) assertEquals([...f.entries()], [...ref.entries()]);
    }
    assertEquals(f.size, 0);
  }
});

Deno.test("FolioLru: answers as the Set it replaces (deleted folios unlinked lazily)", () => {
  const folios = Array.from({ length: 300 }, (_, i) => new KernelFolio(i + 1, 1, true, i, null));
  let seed = 4242;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const lru = new FolioLru();
  const ref = new Set<KernelFolio>();
  for (let op = 0; op < 20000; op++) {
    const f = folios[rnd(folios.length)];
    const kind = rnd(10);
    if (kind < 4) {
      lru.add(f);
      ref.add(f);
    } else if (kind < 8) {
      assertEquals(lru.delete(f), ref.delete(f));
    } else if (kind === 8) {
      const n = rnd(40);
      const want = [...ref].slice(0, n);
      for (const g of want) {
        ref.delete(g);
        ref.add(g);
      }
      assertEquals(lru.rotateOldest(n), want);
    } else {
      // An iteration that deletes the folio it is at, and stops early.
      const seen: KernelFolio[] = [], before = [...ref];
      for (const g of lru) {
        seen.push(g);
        if (rnd(3) === 0) {
          lru.delete(g);
          ref.delete(g);
        }
        if (seen.length > 50) break;
      }
      assertEquals(seen, before.slice(0, seen.length));
    }
    assertEquals([lru.size, folios.every((g) => lru.has(g) === ref.has(g))], [ref.size, true]);
    if (op % 50 === 0) assertEquals([...lru], [...ref]);
  }
});

Deno.test("MapperSet: a forked folio's list (ids in order) finds every mapping, in order or not", () => {
  const mms = Array.from({ length: 120 }, (_, i) => ({ id: 2 * i + 3 }) as Mm);
  const f = new KernelFolio(1, 1, true, 7, null); // index far from the addresses, as a file's
  const ref = new Map<number, { mm: Mm; addr: number }>();
  const check = (): void => {
    assertEquals([...f.entries()], [...ref.entries()]);
    assertSnapshot(f);
    for (let id = 0; id < 250; id++) {
      const key = mapperKey({ id } as Mm, X);
      assertEquals([f.has(key), f.get(key)], [ref.has(key), ref.get(key)]);
    }
  };
  for (const mm of mms.slice(0, 100)) {
    assertEquals(f.put(mm, X), true);
    ref.set(mapperKey(mm, X), { mm, addr: X });
  }
  check();
  for (const i of [0, 99, 50, 51, 3, 98]) {
    assertEquals(f.remove(mms[i], X), true);
    assertEquals(f.remove(mms[i], X), false);
    ref.delete(mapperKey(mms[i], X));
    check();
  }
  for (const i of [100, 101, 50, 102]) { // in order, then out of order (50), then after it
    assertEquals(f.put(mms[i], X), true);
    ref.set(mapperKey(mms[i], X), { mm: mms[i], addr: X });
    check();
  }
  // A sorted list: the last key again is no new mapping; one past it is, appended in order.
  const g = new KernelFolio(2, 1, true, 7, null);
  for (const mm of mms.slice(0, 20)) assertEquals(g.put(mm, X), true);
  assertEquals([g.put(mms[19], X), g.add(mms[19], X), g.put(mms[20], X)], [false, false, true]);
  assertEquals([...g.values()].map((m) => m.mm), mms.slice(0, 21));
  assertSnapshot(g);
});

/** `n` one-page folios with ids 1..n. */
const lruFolios = (n: number): KernelFolio[] =>
  Array.from({ length: n }, (_, i) => new KernelFolio(i + 1, 1, true, i, null));
const ids = (it: Iterable<KernelFolio>): number[] => [...it].map((f) => f.id);

Deno.test("FolioLru: a walk deleting each folio it visits sees them all, head included", () => {
  // shrink_list's pattern: take each folio off the list as the walk reaches it. The walk stands
  // on the head each time, so the head may not be unlinked under it (the walk would stop).
  const lru = new FolioLru();
  for (const f of lruFolios(4)) lru.add(f);
  const seen: number[] = [];
  for (const f of lru) {
    seen.push(f.id);
    assertEquals(lru.delete(f), true);
  }
  assertEquals([seen, lru.size, ids(lru)], [[1, 2, 3, 4], 0, []]);
  const [a] = lruFolios(1);
  lru.add(a); // the chain left by the walk takes new folios
  assertEquals([ids(lru), lru.size], [[1], 1]);
});

Deno.test("FolioLru: a list emptied from its head takes new folios", () => {
  // Deleting the only folio unlinks it at once (it is the head): head and tail both go.
  const [a, b, c] = lruFolios(3);
  const lru = new FolioLru();
  lru.add(a);
  lru.delete(a);
  lru.add(b);
  assertEquals([ids(lru), lru.size], [[2], 1]);
  lru.add(c);
  lru.delete(b);
  lru.delete(c);
  lru.add(a);
  assertEquals([ids(lru), lru.size], [[1], 1]);
});

Deno.test("FolioLru: folios added after a sweep of deleted ones are walked", () => {
  // 200 folios, then the youngest 150 deleted from the tail end (never the head, so none is
  // unlinked at once). With k deleted, 200 - k remain: the sweep runs at the first k with
  // k > (200 - k) + 64, k = 133, and leaves folios 1..67 linked, 67 the tail. Deleting 67..51
  // leaves 1..50 on the list; a new folio must link after the live tail, not a swept folio.
  const folios = lruFolios(201);
  const lru = new FolioLru();
  for (const f of folios.slice(0, 200)) lru.add(f);
  for (let i = 199; i >= 50; i--) lru.delete(folios[i]);
  assertEquals(lru.size, 50);
  lru.add(folios[200]);
  const want = [...Array.from({ length: 50 }, (_, i) => i + 1), 201];
  assertEquals([ids(lru), lru.size], [want, 51]);
  lru.add(folios[120]); // a swept folio comes back at the young end
  assertEquals([ids(lru), lru.size], [[...want, 121], 52]);
});

Deno.test("FolioLru: rotateOldest during a walk moves exactly n folios, as delete and add", () => {
  const lru = new FolioLru();
  for (const f of lruFolios(5)) lru.add(f);
  let rotated: number[] = [];
  for (const f of lru) {
    assertEquals(f.id, 1);
    rotated = ids(lru.rotateOldest(2));
    break;
  }
  assertEquals([rotated, ids(lru), lru.size], [[1, 2], [3, 4, 5, 1, 2], 5]);
  // More than the list holds: every folio once, in order.
  for (const _ of lru) {
    rotated = ids(lru.rotateOldest(9));
    break;
  }
  assertEquals([rotated, ids(lru), lru.size], [[3, 4, 5, 1, 2], [3, 4, 5, 1, 2], 5]);
});
