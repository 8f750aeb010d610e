// MREMAP_RELOCATE_ANON's undo path (docs/model.md §10.2: "if relocation fails part-way, an undo
// pass restores old mapping/index, the new VMA is unmapped and the operation is retried as an
// ordinary mremap"), reached by the debug parameter relocateFailAfter. Exact VMAs, anon_vma
// identities, folio indices and counters, with and without MREMAP_MUST_RELOCATE_ANON.

import { assertEquals, assertThrows } from "./assert.ts";
import { Kernel } from "../core/kernel/kernel.ts";
import { type AnonVma, AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import {
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  type Mm,
  MREMAP_FIXED,
  MREMAP_MAYMOVE,
  MREMAP_MUST_RELOCATE_ANON,
  MREMAP_RELOCATE_ANON,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  SyscallError,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED;
const X = 0x7f0000000000;
const Z = 0x7e0000000000;

//   B = [Z-2, Z) written (its own anon_vma, pgoff Z/P-2)     A = [X, X+4) written (av(A))
//   mremap(A -> Z): a plain move keeps A's pgoff and anon_vma, so it cannot merge with B;
//   RELOCATE_ANON re-homes A's 4 folios to pgoff Z/P and B's anon_vma, then merges.
function setup(relocateFailAfter: number): { k: Kernel; s: AnonVmaScheme; p: Mm } {
  const s = new AnonVmaScheme();
  const k = new Kernel({ scheme: s, params: { debugChecks: true, relocateFailAfter } });
  const p = k.spawn();
  k.mmap(p, Z - 2 * P, 2 * P, RW, ANON);
  k.mmap(p, X, 4 * P, RW, ANON);
  for (let i = 0; i < 2; i++) k.touch(p, Z - 2 * P + i * P, "write");
  for (let i = 0; i < 4; i++) k.touch(p, X + i * P, "write");
  return { k, s, p };
}

function layout(p: Mm): number[][] {
  return [...p.vmas].map((v) => [(v.start - Z) / P, (v.end - Z) / P, v.pgoff - Z / P]);
}

Deno.test("relocate: without injection the 4 folios are re-homed and the VMAs merge", () => {
  const { k, p } = setup(-1);
  k.mremap(p, X, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_RELOCATE_ANON, Z);
  assertEquals(layout(p), [[-2, 4, -2]]);
  assertEquals(k.counters.mremap_relocated, 1);
});

Deno.test("relocate: a failure after 2 of 4 folios is undone exactly, then a plain move", () => {
  const { k, s, p } = setup(2);
  const folios = [0, 1, 2, 3].map((i) => k.pte(p, X + i * P)!.folio!);
  const avA: AnonVma = s.anonVmaOf(p.vmas.find(X)!)!;
  const before = folios.map((f) => [f.id, f.index, f.rmap]);
  k.mremap(p, X, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_RELOCATE_ANON, Z);
  assertEquals(k.counters.relocate_undo, 1);
  assertEquals(k.counters.relocate_fallback, 1);
  assertEquals(k.counters.mremap_moves, 1);
  assertEquals(k.counters.mremap_relocated ?? 0, 0);
  // Every folio has its old mapping and index back, and the plain move kept them.
  assertEquals(folios.map((f) => [f.id, f.index, f.rmap]), before);
  assertEquals(folios.every((f, i) => k.pte(p, Z + i * P)!.folio === f), true);
  // The plain move: A's pgoff and anon_vma, so no merge with B.
  assertEquals(layout(p), [[-2, 0, -2], [0, 4, (X - Z) / P]]);
  assertEquals(s.anonVmaOf(p.vmas.find(Z)!), avA);
  // B's anon_vma and A's; the undone destination's anon state was dropped.
  assertEquals(k.slab.live("anon_vma"), 2);
  k.migrateFolio(folios[1]);
});

Deno.test("relocate: MUST_RELOCATE_ANON with the injected failure is EFAULT, nothing moved", () => {
  const { k, s, p } = setup(3);
  const folios = [0, 1, 2, 3].map((i) => k.pte(p, X + i * P)!.folio!);
  const avA = s.anonVmaOf(p.vmas.find(X)!)!;
  const before = folios.map((f) => [f.id, f.index, f.rmap]);
  const e = assertThrows(
    () =>
      k.mremap(p, X, 4 * P, 4 * P, MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_MUST_RELOCATE_ANON, Z),
    SyscallError,
  );
  assertEquals((e as SyscallError).errno, "EFAULT");
  assertEquals(k.counters.relocate_undo, 1);
  assertEquals(folios.map((f) => [f.id, f.index, f.rmap]), before);
  assertEquals(folios.every((f, i) => k.pte(p, X + i * P)!.folio === f), true);
  assertEquals(layout(p), [[-2, 0, -2], [(X - Z) / P, (X - Z) / P + 4, (X - Z) / P]]);
  assertEquals(s.anonVmaOf(p.vmas.find(X)!), avA);
  assertEquals(k.slab.live("anon_vma"), 2);
  assertEquals(k.slab.live("vm_area_struct"), 2);
});
