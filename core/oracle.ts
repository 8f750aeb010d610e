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

/** The address of a mapping of `mm` from its {@link mapperKey} (the inverse, for exact keys). */
export function mapperAddr(mm: Mm, key: number): number {
  return (key - mm.id * 2 ** 36) * PAGE_SIZE;
}

/** One mapping of a folio: the mm and the address. */
export interface Mapper {
  /** The mapping process. */
  mm: Mm;
  /** Virtual address of the mapped page. */
  addr: number;
}

/** Largest number of mappings a {@link MapperSet} keeps inline and in exact-size arrays. */
const SMALL_MAPPERS = 8;
/**
 * Largest number of mappings a {@link MapperSet} keeps in a {@link MapperList} before it makes a
 * `Map`: a scan of up to this many Smi keys in one array costs less than a `Map` look-up, whose
 * table entries are scattered (and whose delete shrinks and rehashes the table).
 */
const LIST_MAX = 512;

/** A {@link mapperKey} is `mm.id * KEY_MM + page`. */
const KEY_MM = 2 ** 36;
/** Keys below this are exact integers (ids below 2^16, pages below 2^36). */
const KEY_LIMIT = 2 ** 52;
/** Mm ids a set compares directly (`(id & ID_MASK) === id`): below 2^16, as in any run. */
const ID_MASK = 0xffff;
/**
 * A mapping `rel` pages from a base, with `rel` in [-SMALL_REL, SMALL_REL), has the Smi key
 * `rel * SMALL_MM + id` (in [-2^30, 2^30), a Smi also with pointer compression's 31-bit Smis)
 * in a {@link MapperList} (from the list's base) and in a `Map` (from the set's base); any other
 * mapping's `Map` key is {@link farKey} of its {@link mapperKey}, never such a Smi.
 */
const SMALL_REL = 2 ** 14;
const SMALL_MM = 2 ** 16;
const SMALL_KEY_LIMIT = 2 ** 30;

/** The address `rel` pages from page `base` (the one formula every decode uses). */
function addrAt(base: number, rel: number): number {
  return (base + rel) * PAGE_SIZE;
}

/**
 * The `Map` key of a mapping with {@link mapperKey} `key` that has no Smi key: the key itself
 * where no Smi key can equal it, else its string (equal keys give equal strings, -0 and 0 alike).
 */
function farKey(key: number): number | string {
  return key >= SMALL_KEY_LIMIT || key < -SMALL_KEY_LIMIT || key !== key ? key : String(key);
}

/**
 * What a {@link MapperSet} found out about the mapping a call asks about (module variables, so
 * that the hot paths pass them on without an object): `qId` its mm id and `qd[VPN]` its page
 * when its {@link mapperKey} (`qd[KEY]`) decodes to an id below 2^16 and a page below 2^36
 * (else -1 and NaN); `qRel` the page's offset from the set's base when that is a 32-bit integer
 * (else NaN); `qNice` whether the mapping itself is that id and page exactly (its mm has the
 * id, its address is the page's, not -0), so that it may be stored as (mm, page), and
 * `qStorable` whether it may be stored as (mm, `qRel`). Doubles go in a `Float64Array`, where
 * storing one makes no heap number.
 */
let qId = 0, qRel = 0, qNice = false, qStorable = false;
const qd = new Float64Array(2);
const VPN = 0, KEY = 1;

/** The second mapping of a {@link MapperSet}, or a first one not at offset 0: mm and page offset. */
class MapperPair {
  /** Creates the pair. */
  constructor(public mm: Mm, public rel: number) {}
}

/**
 * A mapper list: more than {@link SMALL_MAPPERS} mappings, or mappings far from the set's base
 * (a private file mapping's anonymous folio: its index is a file offset), in insertion order as
 * flat (Smi key, mm) pairs from index {@link LIST_HEAD} of one array changed in place; keys
 * count pages from the list's own base, the page of its first mapping (see {@link SMALL_REL}).
 * The array's head holds that base page (below 2^36) as two Smis, `[0]` its quotient by 2^30
 * times 2 plus 1 while the list is sorted, `[1]` its remainder: no object around the array, and
 * a Smi `[0]` tells a list from a small-mode pair array (whose `[0]` is an mm). Sorted: the keys
 * increase along the list, so that a look-up is a binary search; true for a forked folio's list
 * (children's mm ids grow with fork order) until a key comes out of order.
 */
type MapperList = (number | Mm)[];

/** Index of a {@link MapperList}'s first key. */
const LIST_HEAD = 2;

/** Whether `e` is a {@link MapperList} (not a small-mode pair array, an mm, a pair or a Map). */
function isList(e: Extras | null): e is MapperList {
  return Array.isArray(e) && typeof e[0] === "number";
}

/** Writes the head of `list`, whose keys (in place) count pages from page `base`. */
function setListHead(list: MapperList, base: number): void {
  const hi = Math.floor(base / 2 ** 30);
  let sorted = 1;
  for (let i = LIST_HEAD + 2; i < list.length; i += 2) if (list[i - 2] >= list[i]) sorted = 0;
  list[0] = hi * 2 + sorted;
  list[1] = (base - hi * 2 ** 30) | 0;
}

/** The page the keys of `list` count from. */
function listBase(list: MapperList): number {
  return ((list[0] as number) >> 1) * 2 ** 30 + (list[1] as number);
}

/** Whether the keys of `list` increase along it. */
function listSorted(list: MapperList): boolean {
  return ((list[0] as number) & 1) !== 0;
}

/** Number of mappings in `list`. */
function listSize(list: MapperList): number {
  return (list.length - LIST_HEAD) >> 1;
}

/** A mapping in a {@link MapperSet}'s `Map` whose address its key does not give back. */
class MapperEntry implements Mapper {
  /** Creates the entry. */
  constructor(public mm: Mm, public addr: number) {}
}

/**
 * A {@link MapperSet}'s `Map` of every mapping: under a Smi key (see {@link SMALL_REL}) the mm
 * alone, as the key gives the address back, else a {@link MapperEntry}.
 */
type MapperMap = Map<number | string, Mm | MapperEntry>;

/**
 * A {@link MapperSet}'s mappings after the first one (one, or a small-mode pair array), or all of
 * them in a {@link MapperList} or a `Map`.
 */
type Extras = One | (Mm | number)[] | MapperMap;

/** One mapping of a small-mode set: its mm when its offset is 0, else a {@link MapperPair}. */
type One = Mm | MapperPair;

/** The small-mode extras: one mapping or flat (mm, offset) pairs. */
type SmallExtras = One | (Mm | number)[];

/** The mapping (`mm`, `rel`) as a {@link One}. */
function one(mm: Mm, rel: number): One {
  return rel === 0 ? mm : new MapperPair(mm, rel);
}

/** The mm of `o`. */
function oneMm(o: One): Mm {
  return o instanceof MapperPair ? o.mm : o;
}

/** The page offset of `o`. */
function oneRel(o: One): number {
  return o instanceof MapperPair ? o.rel : 0;
}

/** The `Map` key of the queried mapping. */
function mapKey(): number | string {
  const rel = qRel;
  return rel >= -SMALL_REL && rel < SMALL_REL ? rel * SMALL_MM + qId : farKey(qd[KEY]);
}

/** The queried mapping's key in a {@link MapperList} from page `base`, or NaN when it has none. */
function listKey(base: number): number {
  const d = qd[VPN] - base;
  return d >= -SMALL_REL && d < SMALL_REL ? d * SMALL_MM + qId : NaN;
}

/** Index of the queried mapping's key in `list`, or -1. */
function listIndex(list: MapperList): number {
  const k = listKey(listBase(list));
  if (k !== k) return -1;
  if (listSorted(list)) {
    let lo = 0, hi = listSize(list) - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const i = LIST_HEAD + 2 * mid;
      const v = list[i] as number;
      if (v === k) return i;
      if (v < k) lo = mid + 1;
      else hi = mid - 1;
    }
    return -1;
  }
  for (let i = LIST_HEAD; i < list.length; i += 2) if (list[i] === k) return i;
  return -1;
}

/** The mapping stored under `key` as `v` in a {@link MapperMap} of a set with base `base`. */
function mapMapper(base: number, key: number | string, v: Mm | MapperEntry): Mapper {
  return v instanceof MapperEntry
    ? { mm: v.mm, addr: v.addr }
    : { mm: v, addr: addrAt(base, (key as number) >> 16) };
}

/** The extras after removing flat pair `i` of `pairs` (a pair object when one is left). */
function without(pairs: (Mm | number)[], i: number): SmallExtras | null {
  if (pairs.length === 2) return null;
  if (pairs.length === 4) {
    const j = i === 0 ? 2 : 0;
    return one(pairs[j] as Mm, pairs[j + 1] as number);
  }
  // Exact size: `filter` and spreads leave slack in the backing store.
  const rest = new Array<Mm | number>(pairs.length - 2);
  for (let j = 0, k = 0; j < pairs.length; j++) if (j !== i && j !== i + 1) rest[k++] = pairs[j];
  return rest;
}

/**
 * Data a subclass of {@link MapperSet} keeps only for some objects: a subclass of this held in the
 * set's slot for its extra mappings ({@link MapperSet.attachSideData}), so that neither needs a
 * field of its own while it is unused.
 */
export class MapperSideData {
  /** The set's mappings after its first (kept by {@link MapperSet}; opaque to others). */
  mapperExtras: unknown = null;
}

/**
 * The set of mappings of one folio, keyed by {@link mapperKey}, with the subset of the `Map`
 * interface the kernel uses (same iteration order: insertion order). Most folios have one
 * mapping and many a few, so the first (oldest) one is stored inline in one field (its mm, or a
 * pair object when its page offset is not 0; no {@link Mapper} object: one is made when a
 * caller asks for it), a second likewise in the next field, up to {@link SMALL_MAPPERS} in all
 * as flat (mm, page offset) pairs in a small exact-size array. There an address is kept as a
 * 32-bit page offset from a base page ({@link mapperBase}: a folio's `index`, where its
 * mappings usually cluster), so no address becomes a boxed number, and mappings are compared by
 * (mm id, offset), Smis, not by key. More mappings, or mappings far from the base, go to a
 * {@link MapperList} of Smi keys (mm id and a small page offset from the list's first page),
 * scanned, and only what fits neither (over {@link LIST_MAX} mappings, pages far apart, odd
 * ids or addresses) to a `Map`. The kernel's folios extend this class, so a folio's mappings
 * cost no object of their own.
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
  /**
   * The first mapping (null: none, or list or Map mode): its mm when its page offset from
   * {@link mapperBase} is 0, else a {@link MapperPair}.
   */
  #one: One | null = null;
  /**
   * The mappings after the first: one as the first is (its mm, or a {@link MapperPair}: a
   * forked folio's second mapping costs no object); 2..SMALL_MAPPERS-1 as flat
   * (mm, page offset) pairs in an array, replaced by an exact-size copy on every change (V8
   * would give a pushed-to or spread array room for 16 more); or every mapping in a
   * {@link MapperList} or a `Map` (then no first one inline), each kept until it is empty. Keys
   * are derived from the mappings ({@link mapperKey}), so only the mappings are stored. A
   * subclass's {@link MapperSideData}, when it has one, holds them instead.
   */
  #more: Extras | MapperSideData | null = null;

  /**
   * The page the stored offsets count from: 0 here; a subclass returns a page near its
   * mappings and changes it only through {@link rebaseMappers}.
   */
  protected mapperBase(): number {
    return 0;
  }

  /** The side data attached with {@link attachSideData}, or null. */
  protected sideData(): MapperSideData | null {
    const m = this.#more;
    return m instanceof MapperSideData ? m : null;
  }

  /** Keeps `d` (not yet attached anywhere) in the slot of the extra mappings, which it takes. */
  protected attachSideData(d: MapperSideData): void {
    d.mapperExtras = this.msExtras();
    this.#more = d;
  }

  /** The mappings after the first, wherever they are kept. */
  private msExtras(): Extras | null {
    const m = this.#more;
    return m instanceof MapperSideData ? m.mapperExtras as Extras | null : m;
  }

  /** Replaces the mappings after the first. */
  private msSetExtras(e: Extras | null): void {
    const m = this.#more;
    if (m instanceof MapperSideData) m.mapperExtras = e;
    else this.#more = e;
  }

  /**
   * Runs `changeBase` (which changes what {@link mapperBase} returns) with the mappings
   * re-stored against the new base, in the same order.
   */
  protected rebaseMappers(changeBase: () => void): void {
    if (this.#one === null && this.msExtras() === null) {
      changeBase();
      return;
    }
    const all = [...this.values()];
    this.#one = null;
    this.msSetExtras(null);
    changeBase();
    for (const m of all) {
      this.msResolve(m.mm, m.addr);
      this.msPut(m.mm, m.addr);
    }
  }

  /** Number of mappings. */
  get size(): number {
    const many = this.msExtras();
    if (many === null) return this.#one !== null ? 1 : 0;
    if (isList(many)) return listSize(many);
    if (many instanceof Map) return many.size;
    return Array.isArray(many) ? 1 + (many.length >> 1) : 2;
  }

  /** Sets the query variables for the mapping of key `key`. */
  private msResolveKey(key: number): void {
    qd[KEY] = key;
    qNice = false;
    qStorable = false;
    if (key >= 0 && key < KEY_LIMIT && Math.floor(key) === key) {
      const id = Math.floor(key / KEY_MM);
      qId = id;
      const vpn = key - id * KEY_MM;
      qd[VPN] = vpn;
      this.msSetRel(vpn);
    } else {
      qId = -1;
      qd[VPN] = NaN;
      qRel = NaN;
    }
  }

  /** Sets the query variables for the mapping (`mm`, `addr`). */
  private msResolve(mm: Mm, addr: number): void {
    const id = mm.id;
    const vpn = addr / PAGE_SIZE;
    // addr/PAGE_SIZE is exact, so the page gives back `addr` unless it was -0.
    if (
      (id & ID_MASK) === id && vpn >= 0 && vpn < KEY_MM && Math.floor(vpn) === vpn &&
      (addr !== 0 || 1 / addr > 0)
    ) {
      qId = id;
      qd[VPN] = vpn;
      qd[KEY] = id * KEY_MM + vpn;
      qNice = true;
      this.msSetRel(vpn);
      qStorable = qRel === qRel;
      return;
    }
    // The key of an odd mapping decodes to another id or address: never stored as pages.
    this.msResolveKey(mapperKey(mm, addr));
  }

  /** Sets `qRel` to page `vpn`'s offset from the base, or NaN when it is no exact Smi. */
  private msSetRel(vpn: number): void {
    const base = this.mapperBase();
    const rel = vpn - base;
    qRel = (rel | 0) === rel && base + rel === vpn ? rel | 0 : NaN;
  }

  /**
   * Where the queried mapping is in small mode: -2 nowhere, -1 the first mapping, else its flat
   * index in the extras (0 for a pair). A stored mapping decodes to its id and offset, so it is
   * the queried one exactly when both are equal (never when `qRel` is NaN).
   */
  private msLocate(first: One, many: SmallExtras | null): number {
    const id = qId, rel = qRel;
    if (
      first instanceof MapperPair
        ? first.rel === rel && first.mm.id === id
        : rel === 0 && first.id === id
    ) {
      return -1;
    }
    if (many === null) return -2;
    if (Array.isArray(many)) {
      for (let i = 0; i < many.length; i += 2) {
        if (many[i + 1] === rel && (many[i] as Mm).id === id) return i;
      }
      return -2;
    }
    return (many instanceof MapperPair
        ? many.rel === rel && many.mm.id === id
        : rel === 0 && many.id === id)
      ? 0
      : -2;
  }

  /** Whether the queried mapping is there. */
  private msHas(): boolean {
    const many = this.msExtras();
    if (isList(many)) return listIndex(many) >= 0;
    if (many instanceof Map) return many.has(mapKey());
    const first = this.#one;
    return first !== null && this.msLocate(first, many) !== -2;
  }

  /** Whether `key` is mapped. */
  has(key: number): boolean {
    this.msResolveKey(key);
    return this.msHas();
  }

  /** The mapping under `key`, or undefined (a new {@link Mapper} object). */
  get(key: number): Mapper | undefined {
    this.msResolveKey(key);
    const many = this.msExtras();
    const base = this.mapperBase();
    if (isList(many)) {
      const i = listIndex(many);
      if (i < 0) return undefined;
      return { mm: many[i + 1] as Mm, addr: addrAt(listBase(many), (many[i] as number) >> 16) };
    }
    if (many instanceof Map) {
      const k = mapKey();
      const v = many.get(k);
      return v === undefined ? undefined : mapMapper(base, k, v);
    }
    const first = this.#one;
    if (first === null) return undefined;
    const i = this.msLocate(first, many);
    if (i === -2) return undefined;
    if (i === -1) {
      return { mm: oneMm(first), addr: addrAt(base, oneRel(first)) };
    }
    if (!Array.isArray(many)) return { mm: oneMm(many!), addr: addrAt(base, oneRel(many!)) };
    return { mm: many[i] as Mm, addr: addrAt(base, many[i + 1] as number) };
  }

  /** Adds (or replaces) the mapping under `key`, which must be `mapperKey(m.mm, m.addr)`. */
  set(key: number, m: Mapper): this {
    if (mapperKey(m.mm, m.addr) !== key) {
      throw new RangeError(`MapperSet key ${key} is not the key of (mm ${m.mm.id}, ${m.addr})`);
    }
    this.msResolve(m.mm, m.addr);
    this.msPut(m.mm, m.addr);
    return this;
  }

  /**
   * Adds the mapping (`mm`, `addr`) unless it is there; returns whether it was added. No
   * {@link Mapper} object is made.
   */
  add(mm: Mm, addr: number): boolean {
    this.msResolve(mm, addr);
    if (this.msHas()) return false;
    this.msPut(mm, addr);
    return true;
  }

  /**
   * Stores the mapping (`mm`, `addr`), replacing the one with its key in its place; returns
   * whether it was new. The same as `set` without making the key or a {@link Mapper}: the
   * oracle's path.
   */
  put(mm: Mm, addr: number): boolean {
    this.msResolve(mm, addr);
    return this.msPut(mm, addr);
  }

  /**
   * Removes the mapping (`mm`, `addr`); returns whether it was there. The same as
   * `delete(mapperKey(mm, addr))`, without making the key.
   */
  remove(mm: Mm, addr: number): boolean {
    this.msResolve(mm, addr);
    return this.msDelete();
  }

  /** Stores the queried mapping (`mm`, `addr`) in `map`. */
  private msMapPut(map: MapperMap, mm: Mm, addr: number): void {
    const rel = qRel;
    if (rel >= -SMALL_REL && rel < SMALL_REL) {
      const v = qStorable || Object.is(addrAt(this.mapperBase(), rel), addr)
        ? mm
        : new MapperEntry(mm, addr);
      map.set(rel * SMALL_MM + qId, v);
    } else map.set(farKey(qd[KEY]), new MapperEntry(mm, addr));
  }

  /**
   * Adds the queried mapping (`mm`, `addr`), or replaces the one with its key in its place;
   * returns whether it was added.
   */
  private msPut(mm: Mm, addr: number): boolean {
    const many = this.msExtras();
    if (isList(many)) {
      const n = many.length;
      if (qNice && listSorted(many) && listSize(many) < LIST_MAX) {
        // A key above the last of a sorted list is new and keeps it sorted (a fork appends the
        // child's mapping so): what the general path below does, without its binary search.
        const k = listKey(listBase(many));
        if (k === k && (n === LIST_HEAD || (many[n - 2] as number) < k)) {
          many.push(k, mm);
          return true;
        }
      }
      const i = listIndex(many);
      if (qNice && i >= 0) {
        many[i + 1] = mm;
        return false;
      }
      const k = listKey(listBase(many));
      if (!qNice || k !== k || listSize(many) >= LIST_MAX) return this.msToMap(mm, addr);
      if (listSorted(many) && n > LIST_HEAD && (many[n - 2] as number) >= k) {
        many[0] = (many[0] as number) - 1; // no longer sorted
      }
      many.push(k, mm);
      return true;
    }
    if (many instanceof Map) {
      const n = many.size;
      this.msMapPut(many, mm, addr);
      return many.size !== n;
    }
    const first = this.#one;
    if (!qStorable) return qNice ? this.msToList(mm, addr) : this.msToMap(mm, addr);
    const rel = qRel;
    const i = first === null ? -1 : this.msLocate(first, many);
    if (i === -1) {
      this.#one = one(mm, rel);
      return first === null;
    }
    if (many === null) {
      this.msSetExtras(one(mm, rel));
    } else if (!Array.isArray(many)) {
      this.msSetExtras(i === 0 ? one(mm, rel) : [oneMm(many), oneRel(many), mm, rel]);
    } else if (i >= 0) {
      const copy = many.slice();
      copy[i] = mm;
      copy[i + 1] = rel;
      this.msSetExtras(copy);
    } else if (many.length < 2 * (SMALL_MAPPERS - 1)) {
      this.msSetExtras(many.concat([mm, rel])); // exact size (a spread would leave slack)
    } else {
      return this.msToList(mm, addr);
    }
    return i === -2;
  }

  /**
   * Moves the small-mode mappings to a {@link MapperList} from the first one's page (or the
   * queried one's, when there is none) and then puts the queried mapping, which is nice; or
   * to Map mode when some page is too far from that one. Returns whether it was added.
   */
  private msToList(mm: Mm, addr: number): boolean {
    // Small mode holds page offsets from the set's base, so a mapping's page is base + rel and
    // its offset from the first one's page is rel - rel0 (exact: integers below 2^53); read in
    // place, as `values()` would give them, without a Mapper each.
    const first = this.#one;
    const many = first === null ? null : this.msExtras() as SmallExtras | null;
    const count = this.size; // small mode: the first mapping and the extras
    const rel0 = first === null ? 0 : oneRel(first);
    const base = first === null ? qd[VPN] : this.mapperBase() + rel0;
    const k = listKey(base);
    if (k !== k) return this.msToMap(mm, addr);
    // Exact size (a list made by pushes would have room for 16 more); pairs from LIST_HEAD.
    const list: MapperList = new Array<number | Mm>(LIST_HEAD + 2 * count + 2);
    const items = LIST_HEAD;
    for (let i = 0; i < count; i++) {
      let m: Mm, rel: number;
      if (i === 0) {
        m = oneMm(first!);
        rel = rel0;
      } else if (Array.isArray(many)) {
        m = many[2 * i - 2] as Mm;
        rel = many[2 * i - 1] as number;
      } else {
        m = oneMm(many!);
        rel = oneRel(many!);
      }
      const d = rel - rel0;
      if (d < -SMALL_REL || d >= SMALL_REL) return this.msToMap(mm, addr);
      list[items + 2 * i] = d * SMALL_MM + m.id;
      list[items + 2 * i + 1] = m;
    }
    // The queried mapping is not among them (none of them has its offset from the base).
    list[items + 2 * count] = k;
    list[items + 2 * count + 1] = mm;
    setListHead(list, base);
    this.#one = null;
    this.msSetExtras(list);
    return true;
  }

  /** Moves every mapping to Map mode, then sets the queried one (in place if it is there). */
  private msToMap(mm: Mm, addr: number): boolean {
    const id = qId, rel = qRel, nice = qNice, storable = qStorable;
    const vpn = qd[VPN], key = qd[KEY];
    const map: MapperMap = new Map();
    for (const m of this.values()) {
      this.msResolve(m.mm, m.addr);
      this.msMapPut(map, m.mm, m.addr);
    }
    qId = id;
    qRel = rel;
    qNice = nice;
    qStorable = storable;
    qd[VPN] = vpn;
    qd[KEY] = key;
    const n = map.size;
    this.msMapPut(map, mm, addr);
    this.#one = null;
    this.msSetExtras(map);
    return map.size !== n;
  }

  /** Removes the mapping under `key`; returns whether there was one. */
  delete(key: number): boolean {
    this.msResolveKey(key);
    return this.msDelete();
  }

  /** Removes the queried mapping; returns whether there was one. */
  private msDelete(): boolean {
    const many = this.msExtras();
    if (isList(many)) {
      const i = listIndex(many);
      if (i < 0) return false;
      const n = many.length;
      if (n === LIST_HEAD + 2) this.msSetExtras(null);
      else {
        // splice(i, 2), without the array of the removed pair it returns.
        for (let j = i + 2; j < n; j++) many[j - 2] = many[j];
        many.length = n - 2;
      }
      return true;
    }
    if (many instanceof Map) {
      const had = many.delete(mapKey());
      if (many.size === 0) this.msSetExtras(null);
      return had;
    }
    const first = this.#one;
    if (first === null) return false;
    const i = this.msLocate(first, many);
    if (i === -2) return false;
    if (i === -1) {
      // The oldest extra becomes the first mapping.
      if (many === null) {
        this.#one = null;
      } else if (!Array.isArray(many)) {
        this.#one = many;
        this.msSetExtras(null);
      } else {
        this.#one = one(many[0] as Mm, many[1] as number);
        this.msSetExtras(without(many, 0));
      }
      return true;
    }
    this.msSetExtras(Array.isArray(many) ? without(many, i) : null);
    return true;
  }

  /** Keys in insertion order. */
  *keys(): IterableIterator<number> {
    for (const m of this.values()) yield mapperKey(m.mm, m.addr);
  }

  /** Mappings in insertion order (new {@link Mapper} objects). */
  *values(): IterableIterator<Mapper> {
    const many = this.msExtras();
    const base = this.mapperBase();
    if (isList(many)) {
      const b = listBase(many);
      for (let i = LIST_HEAD; i < many.length; i += 2) {
        yield { mm: many[i + 1] as Mm, addr: addrAt(b, (many[i] as number) >> 16) };
      }
      return;
    }
    if (many instanceof Map) {
      for (const [key, v] of many) yield mapMapper(base, key, v);
      return;
    }
    const first = this.#one;
    if (first === null) return;
    yield { mm: oneMm(first), addr: addrAt(base, oneRel(first)) };
    if (many === null) return;
    if (!Array.isArray(many)) {
      yield { mm: oneMm(many), addr: addrAt(base, oneRel(many)) };
      return;
    }
    for (let i = 0; i < many.length; i += 2) {
      yield { mm: many[i] as Mm, addr: addrAt(base, many[i + 1] as number) };
    }
  }

  /**
   * Appends the key ({@link mapperKey}) and the mm of every mapping, in insertion order, to
   * `keys` and `mms`: what `entries()` gives, without a {@link Mapper} and a pair per mapping
   * (an rmap walk's snapshot of what it must find).
   */
  snapshot(keys: number[], mms: Mm[]): void {
    const many = this.msExtras();
    const base = this.mapperBase();
    if (isList(many)) {
      const b = listBase(many);
      for (let i = LIST_HEAD; i < many.length; i += 2) {
        const mm = many[i + 1] as Mm;
        keys.push(mapperKey(mm, addrAt(b, (many[i] as number) >> 16)));
        mms.push(mm);
      }
      return;
    }
    if (many instanceof Map) {
      many.forEach((v, key) => {
        const m = mapMapper(base, key, v);
        keys.push(mapperKey(m.mm, m.addr));
        mms.push(m.mm);
      });
      return;
    }
    const first = this.#one;
    if (first === null) return;
    keys.push(mapperKey(oneMm(first), addrAt(base, oneRel(first))));
    mms.push(oneMm(first));
    if (many === null) return;
    if (!Array.isArray(many)) {
      keys.push(mapperKey(oneMm(many), addrAt(base, oneRel(many))));
      mms.push(oneMm(many));
      return;
    }
    for (let i = 0; i < many.length; i += 2) {
      const mm = many[i] as Mm;
      keys.push(mapperKey(mm, addrAt(base, many[i + 1] as number)));
      mms.push(mm);
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
    if (!folio.mappers.put(mm, addr)) {
      throw new Error(`oracle: folio ${folio.id} mapped twice at ${mapperKey(mm, addr)}`);
    }
  }

  /** Records that `mm` no longer maps `folio` at `addr`. */
  unmap(folio: Folio, mm: Mm, addr: number): void {
    if (!folio.mappers.remove(mm, addr)) {
      throw new Error(`oracle: folio ${folio.id} was not mapped at ${mapperKey(mm, addr)}`);
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
