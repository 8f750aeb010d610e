/**
 * The ground-truth oracle: for every anonymous folio, the exact set of (mm, address) that map it,
 * maintained by the kernel core on every PTE change. Every rmap walk is checked against it: a
 * missed mapping is a correctness failure that stops the run (ARCHITECTURE.md, "The oracle").
 *
 * This module is browser compatible and has no dependencies.
 *
 * @module
 */

import { type Folio, hex, type Mm, PAGE_SIZE } from "./kernel/types.ts";

/**
 * The key of a mapping (mm, address) in `folio.mappers`: a number, exact because virtual page
 * numbers stay below 2^36 (47-bit addresses) and mm ids below 2^16 in any run.
 */
export function mapperKey(mm: Mm, addr: number): number {
  return mm.id * 2 ** 36 + addr / PAGE_SIZE;
}

/** One mapping of a folio: the mm and the address. */
export interface Mapper {
  /** The mapping process. */
  mm: Mm;
  /** Virtual address of the mapped page. */
  addr: number;
}

/** Largest number of mappings a {@link MapperSet} keeps in arrays before it makes a `Map`. */
const SMALL_MAPPERS = 8;

/** The address `rel` pages from page `base` (the one formula every decode uses). */
function addrAt(base: number, rel: number): number {
  return (base + rel) * PAGE_SIZE;
}

/**
 * `addr` as a page offset from page `base` that fits a 32-bit integer (a V8 Smi, stored in a
 * field or array without a boxed number) and decodes to exactly `addr` again; NaN when none does.
 */
function relPage(addr: number, base: number): number {
  const rel = (addr / PAGE_SIZE - base) | 0;
  return Object.is(addrAt(base, rel), addr) ? rel : NaN;
}

/** The second mapping of a {@link MapperSet} (its first is inline): the mm and a page offset. */
class MapperPair {
  /** Creates the pair. */
  constructor(public mm: Mm, public rel: number) {}
}

/** A mapping in a {@link MapperSet}'s `Map` whose address its key does not give back. */
class MapperEntry implements Mapper {
  /** Creates the entry. */
  constructor(public mm: Mm, public addr: number) {}
}

/**
 * A {@link MapperSet}'s `Map` of every mapping: under its key the mm alone, as the key gives
 * the address back ({@link keyAddr}), else a {@link MapperEntry}.
 */
type MapperMap = Map<number, Mm | MapperEntry>;

/** The address whose {@link mapperKey} with `mm` is `key` (exact where the key is). */
function keyAddr(key: number, mm: Mm): number {
  return (key - mm.id * 2 ** 36) * PAGE_SIZE;
}

/** Stores the mapping (`mm`, `addr`) under `key` in a {@link MapperMap}. */
function mapSet(map: MapperMap, key: number, mm: Mm, addr: number): void {
  map.set(key, Object.is(keyAddr(key, mm), addr) ? mm : new MapperEntry(mm, addr));
}

/** The mapping stored under `key` as `v` in a {@link MapperMap}. */
function mapMapper(key: number, v: Mm | MapperEntry): Mapper {
  return v instanceof MapperEntry ? { mm: v.mm, addr: v.addr } : { mm: v, addr: keyAddr(key, v) };
}

/** A {@link MapperSet}'s mappings after the inline one, or all of them in a `Map`. */
type Extras = MapperPair | (Mm | number)[] | MapperMap;

/**
 * The set of mappings of one folio, keyed by {@link mapperKey}, with the subset of the `Map`
 * interface the kernel uses (same iteration order: insertion order). Most folios have one
 * mapping and many a few, so the first (oldest) one is stored inline as two fields (no
 * {@link Mapper} object: one is made when a caller asks for it), a second in a two-field pair
 * object, up to {@link SMALL_MAPPERS} in all as flat (mm, page) pairs in a small array, and only
 * more in a `Map`. Except in the `Map`, an address is kept as a 32-bit page offset from a base
 * page ({@link mapperBase}: a folio's `index`, where its mappings cluster), so no address
 * becomes a boxed number; a mapping whose offset does not fit sends the set to the `Map`, which
 * keeps under each key the mm alone (the key gives the address back; see {@link MapperMap}). The
 * kernel's folios extend this class, so a folio's mappings cost no object of their own.
 *
 * @example Usage
 * ```ts
 * import { mapperKey, MapperSet } from "./oracle.ts";
 * import type { Mm } from "./kernel/types.ts";
 * const mm = { id: 1 } as Mm;
 * const s = new MapperSet();
 * s.set(mapperKey(mm, 4096), { mm, addr: 4096 });
 * s.set(mapperKey(mm, 8192), { mm, addr: 8192 });
 * s.delete(mapperKey(mm, 4096));
 * if (s.size !== 1 || [...s.values()][0].addr !== 8192) throw new Error();
 * ```
 */
export class MapperSet implements Iterable<[number, Mapper]> {
  /** The mm of the first mapping (null: none, or Map mode). */
  #oneMm: Mm | null = null;
  /** The page offset of the first mapping from {@link mapperBase}. */
  #oneRel = 0;
  /**
   * The mappings after the first: one in a {@link MapperPair}; 2..SMALL_MAPPERS-1 as flat
   * (mm, page offset) pairs in an array, replaced by an exact-size copy on every change (V8
   * would give a pushed-to or spread array room for 16 more); or every mapping in a `Map` (then no first
   * one inline). Keys are derived from the mappings ({@link mapperKey}), so only the mappings
   * are stored.
   */
  #many: Extras | null = null;

  /**
   * The page the stored offsets count from: 0 here; a subclass returns a page near its
   * mappings and changes it only through {@link rebaseMappers}.
   */
  protected mapperBase(): number {
    return 0;
  }

  /**
   * Runs `changeBase` (which changes what {@link mapperBase} returns) with the mappings
   * re-stored against the new base, in the same order.
   */
  protected rebaseMappers(changeBase: () => void): void {
    if (this.#oneMm === null && this.#many === null) {
      changeBase();
      return;
    }
    const all = [...this.values()];
    this.#oneMm = null;
    this.#oneRel = 0;
    this.#many = null;
    changeBase();
    for (const m of all) this.putMapper(mapperKey(m.mm, m.addr), m.mm, m.addr);
  }

  /** Number of mappings. */
  get size(): number {
    const many = this.#many;
    if (many === null) return this.#oneMm !== null ? 1 : 0;
    if (many instanceof MapperPair) return 2;
    return many instanceof Map ? many.size : 1 + (many.length >> 1);
  }

  /** Whether the pair (`mm`, `rel`) has key `key`. */
  private isKey(mm: Mm, rel: number, key: number): boolean {
    return mapperKey(mm, addrAt(this.mapperBase(), rel)) === key;
  }

  /** Index of the pair of `key` in a flat pair array, or -1. */
  private pairIndex(pairs: (Mm | number)[], key: number): number {
    for (let i = 0; i < pairs.length; i += 2) {
      if (this.isKey(pairs[i] as Mm, pairs[i + 1] as number, key)) return i;
    }
    return -1;
  }

  /** Whether `key` is mapped. */
  has(key: number): boolean {
    const many = this.#many;
    if (many instanceof Map) return many.has(key);
    const mm = this.#oneMm;
    if (mm === null) return false;
    if (this.isKey(mm, this.#oneRel, key)) return true;
    if (many === null) return false;
    if (many instanceof MapperPair) return this.isKey(many.mm, many.rel, key);
    return this.pairIndex(many, key) >= 0;
  }

  /** The mapping under `key`, or undefined (a new {@link Mapper} object). */
  get(key: number): Mapper | undefined {
    const many = this.#many;
    if (many instanceof Map) {
      const v = many.get(key);
      return v === undefined ? undefined : mapMapper(key, v);
    }
    const mm = this.#oneMm;
    if (mm === null) return undefined;
    const base = this.mapperBase();
    if (this.isKey(mm, this.#oneRel, key)) return { mm, addr: addrAt(base, this.#oneRel) };
    if (many === null) return undefined;
    if (many instanceof MapperPair) {
      return this.isKey(many.mm, many.rel, key)
        ? { mm: many.mm, addr: addrAt(base, many.rel) }
        : undefined;
    }
    const i = this.pairIndex(many, key);
    if (i < 0) return undefined;
    return { mm: many[i] as Mm, addr: addrAt(base, many[i + 1] as number) };
  }

  /** Adds (or replaces) the mapping under `key`, which must be `mapperKey(m.mm, m.addr)`. */
  set(key: number, m: Mapper): this {
    if (mapperKey(m.mm, m.addr) !== key) {
      throw new RangeError(`MapperSet key ${key} is not the key of (mm ${m.mm.id}, ${m.addr})`);
    }
    this.putMapper(key, m.mm, m.addr);
    return this;
  }

  /**
   * Adds the mapping (`mm`, `addr`) unless it is there; returns whether it was added. The
   * oracle's path: no {@link Mapper} object is made.
   */
  add(mm: Mm, addr: number): boolean {
    const key = mapperKey(mm, addr);
    if (this.has(key)) return false;
    this.putMapper(key, mm, addr);
    return true;
  }

  /** Adds the mapping, or replaces the one under `key` in its place. */
  private putMapper(key: number, mm: Mm, addr: number): void {
    const many = this.#many;
    if (many instanceof Map) {
      mapSet(many, key, mm, addr);
      return;
    }
    const rel = relPage(addr, this.mapperBase());
    if (rel !== rel) {
      this.toMap(key, mm, addr);
      return;
    }
    const one = this.#oneMm;
    if (one === null || this.isKey(one, this.#oneRel, key)) {
      this.#oneMm = mm;
      this.#oneRel = rel;
    } else if (many === null) {
      this.#many = new MapperPair(mm, rel);
    } else if (many instanceof MapperPair) {
      if (this.isKey(many.mm, many.rel, key)) this.#many = new MapperPair(mm, rel);
      else this.#many = [many.mm, many.rel, mm, rel];
    } else {
      const i = this.pairIndex(many, key);
      if (i >= 0) {
        const copy = many.slice();
        copy[i] = mm;
        copy[i + 1] = rel;
        this.#many = copy;
      } else if (many.length < 2 * (SMALL_MAPPERS - 1)) {
        this.#many = many.concat([mm, rel]); // exact size (a spread would leave slack)
      } else {
        this.toMap(key, mm, addr);
      }
    }
  }

  /** Moves every mapping to Map mode, then sets `key` (in place if it is there). */
  private toMap(key: number, mm: Mm, addr: number): void {
    const map: MapperMap = new Map();
    for (const m of this.values()) mapSet(map, mapperKey(m.mm, m.addr), m.mm, m.addr);
    mapSet(map, key, mm, addr);
    this.#oneMm = null;
    this.#oneRel = 0;
    this.#many = map;
  }

  /** The extras after removing flat pair `i` of `pairs` (a pair object when one is left). */
  private static without(pairs: (Mm | number)[], i: number): Extras | null {
    if (pairs.length === 2) return null;
    if (pairs.length === 4) {
      const j = i === 0 ? 2 : 0;
      return new MapperPair(pairs[j] as Mm, pairs[j + 1] as number);
    }
    // Exact size: `filter` and spreads leave slack in the backing store.
    const rest = new Array<Mm | number>(pairs.length - 2);
    for (let j = 0, k = 0; j < pairs.length; j++) if (j !== i && j !== i + 1) rest[k++] = pairs[j];
    return rest;
  }

  /** Removes the mapping under `key`; returns whether there was one. */
  delete(key: number): boolean {
    const many = this.#many;
    if (many instanceof Map) {
      const had = many.delete(key);
      if (many.size === 0) this.#many = null;
      return had;
    }
    const mm = this.#oneMm;
    if (mm === null) return false;
    if (this.isKey(mm, this.#oneRel, key)) {
      // The oldest extra becomes the inline first mapping.
      if (many === null) {
        this.#oneMm = null;
        this.#oneRel = 0;
      } else if (many instanceof MapperPair) {
        this.#oneMm = many.mm;
        this.#oneRel = many.rel;
        this.#many = null;
      } else {
        this.#oneMm = many[0] as Mm;
        this.#oneRel = many[1] as number;
        this.#many = MapperSet.without(many, 0);
      }
      return true;
    }
    if (many === null) return false;
    if (many instanceof MapperPair) {
      if (!this.isKey(many.mm, many.rel, key)) return false;
      this.#many = null;
      return true;
    }
    const i = this.pairIndex(many, key);
    if (i < 0) return false;
    this.#many = MapperSet.without(many, i);
    return true;
  }

  /** Keys in insertion order. */
  *keys(): IterableIterator<number> {
    for (const m of this.values()) yield mapperKey(m.mm, m.addr);
  }

  /** Mappings in insertion order (new {@link Mapper} objects). */
  *values(): IterableIterator<Mapper> {
    const many = this.#many;
    if (many instanceof Map) {
      for (const [key, v] of many) yield mapMapper(key, v);
      return;
    }
    const mm = this.#oneMm;
    if (mm === null) return;
    const base = this.mapperBase();
    const rel = this.#oneRel;
    yield { mm, addr: addrAt(base, rel) };
    if (many === null) return;
    if (many instanceof MapperPair) {
      yield { mm: many.mm, addr: addrAt(base, many.rel) };
      return;
    }
    for (let i = 0; i < many.length; i += 2) {
      yield { mm: many[i] as Mm, addr: addrAt(base, many[i + 1] as number) };
    }
  }

  /** `[key, mapping]` pairs in insertion order. */
  *entries(): IterableIterator<[number, Mapper]> {
    for (const m of this.values()) yield [mapperKey(m.mm, m.addr), m];
  }

  /** Same as {@link entries}. */
  [Symbol.iterator](): IterableIterator<[number, Mapper]> {
    return this.entries();
  }
}

/** A walk missed a mapping: the scheme is incomplete for this folio. */
export class OracleMismatchError extends Error {
  /** The folio walked. */
  readonly folio: Folio;
  /** The scheme id. */
  readonly scheme: string;
  /** Creates the error for a mapping of `folio` at (`mm`, `addr`) that a walk did not find. */
  constructor(folio: Folio, scheme: string, walk: string, mm: Mm, addr: number) {
    super(
      `Oracle mismatch: scheme ${scheme} ${walk} walk of folio ${folio.id} (index ${
        hex(folio.index)
      }) missed its mapping in mm ${mm.id} at ${hex(addr)}`,
    );
    this.name = "OracleMismatchError";
    this.folio = folio;
    this.scheme = scheme;
  }
}

/** Minimal view of the kernel the oracle checks against (avoids an import cycle). */
export interface OracleKernelView {
  /** Live mms. */
  readonly mms: Map<number, Mm>;
  /** Live anonymous folios. */
  readonly liveAnonFolios: readonly Folio[];
}

/**
 * Ground truth per folio. The per-folio sets live on the folio (`folio.mappers`) so that look-ups
 * cost nothing; this class updates them and checks them against the page tables.
 *
 * @example Usage
 * ```ts
 * import { Oracle } from "./oracle.ts";
 * const o = new Oracle();
 * if (o.walksChecked !== 0) throw new Error();
 * ```
 */
export class Oracle {
  /** Walks verified so far. */
  walksChecked = 0;

  /** Records that `mm` maps `folio` at `addr`. */
  map(folio: Folio, mm: Mm, addr: number): void {
    if (!folio.mappers.add(mm, addr)) {
      throw new Error(`oracle: folio ${folio.id} mapped twice at ${mapperKey(mm, addr)}`);
    }
  }

  /** Records that `mm` no longer maps `folio` at `addr`. */
  unmap(folio: Folio, mm: Mm, addr: number): void {
    const key = mapperKey(mm, addr);
    if (!folio.mappers.delete(key)) {
      throw new Error(`oracle: folio ${folio.id} was not mapped at ${key}`);
    }
  }

  /**
   * Cross-checks the oracle with the page tables: every anon PTE is recorded, every record has its
   * PTE, and each folio's mapcount equals its number of mappings. Returns violations.
   */
  check(k: OracleKernelView): string[] {
    const out: string[] = [];
    let ptes = 0;
    for (const mm of k.mms.values()) {
      for (const [vpn, pte] of mm.pages.entries()) {
        const f = pte.folio;
        if (!f || !f.anon) continue;
        ptes++;
        if (f.freed) out.push(`mm ${mm.id} maps freed folio ${f.id}`);
        if (!f.mappers.has(mapperKey(mm, vpn * PAGE_SIZE))) {
          out.push(`oracle lacks folio ${f.id} at ${mm.id}:${hex(vpn * PAGE_SIZE)}`);
        }
      }
    }
    let recorded = 0;
    for (const f of k.liveAnonFolios) {
      recorded += f.mappers.size;
      const mc = f.totalMapcount();
      if (mc !== f.mappers.size) out.push(`folio ${f.id} mapcount ${mc} != ${f.mappers.size}`);
    }
    if (recorded !== ptes) out.push(`oracle records ${recorded} mappings, page tables ${ptes}`);
    return out;
  }
}
