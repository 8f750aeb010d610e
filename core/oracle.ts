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
    const key = mapperKey(mm, addr);
    if (folio.mappers.has(key)) throw new Error(`oracle: folio ${folio.id} mapped twice at ${key}`);
    folio.mappers.set(key, { mm, addr });
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
      const mc = f.mapcount.reduce((a, b) => a + b, 0);
      if (mc !== f.mappers.size) out.push(`folio ${f.id} mapcount ${mc} != ${f.mappers.size}`);
    }
    if (recorded !== ptes) out.push(`oracle records ${recorded} mappings, page tables ${ptes}`);
    return out;
  }
}
