// Merge and split tests in the style of the kernel's tools/testing/vma (merge tests of
// tools/testing/vma/vma.c): each test builds VMAs directly (alloc_and_link_vma), calls
// vma_merge_new_range / vma_merge_existing_range / __split_vma on a vma_merge_struct, and asserts
// the exact start, end and pgoff, anon_vma identity, the merge state and the refusal reason.
// The classic (Linux 6.18) anon_vma scheme supplies the anon_vma rules.
//
// Drawings: one column per page from X; upper case = faulted (has an anon_vma), lower case =
// unfaulted, * = the range being merged. Ranges are asserted as [first page, end page, pgoff − X's
// pgoff].

import { assertEquals, assertThrows } from "./assert.ts";
import { AnonVmaScheme } from "../core/rmap/anon_vma.ts";
import { newKernelState } from "../core/kernel/state.ts";
import { dupMm, newMm } from "../core/kernel/fork.ts";
import {
  splitVma,
  splitVmaChecked,
  vmaMergeExistingRange,
  vmaMergeNewRange,
  type VmaMergeStruct,
  vmaWouldMergeNewRange,
  vmgExisting,
  vmgNew,
  vmgReset,
} from "../core/kernel/vma.ts";
import { vmaAlloc, vmaLink } from "../core/kernel/vma_tree.ts";
import type { KernelState } from "../core/kernel/state.ts";
import type { CountingExec } from "../core/machine/exec.ts";
import {
  type Mm,
  PAGE_SIZE,
  SyscallError,
  VM_ACCOUNT,
  VM_DONTCOPY,
  VM_MAYEXEC,
  VM_MAYREAD,
  VM_MAYWRITE,
  VM_READ,
  VM_SOFTDIRTY,
  VM_WRITE,
  type Vma,
} from "../core/kernel/types.ts";

const P = PAGE_SIZE;
const X = 0x7f0000000000;
const xpg = X / P;
const pg = (n: number): number => X + n * P;
/** Private anonymous read-write memory as mmap makes it. */
const RW = VM_READ | VM_WRITE | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT;
/** The same made read-only by mprotect (differs from RW only in an access bit). */
const RO = VM_READ | VM_MAYREAD | VM_MAYWRITE | VM_MAYEXEC | VM_ACCOUNT;

interface World {
  k: KernelState;
  s: AnonVmaScheme;
  mm: Mm;
}

function world(params: { maxMapCount?: number } = {}): World {
  const s = new AnonVmaScheme();
  const k = newKernelState({ scheme: s, params });
  return { k, s, mm: newMm(k, null) };
}

/** `alloc_and_link_vma`: pages [from, to) of X, pgoff of an anonymous mapping unless given. */
function vma(w: World, from: number, to: number, flags = RW, pgoff = xpg + from): Vma {
  const v = vmaAlloc(w.k, w.mm, pg(from), pg(to), pgoff, flags, null);
  w.k.scheme.vmaInit(v);
  vmaLink(w.k, v);
  return v;
}

/** A new range [from, to) of the pages of X (VMG_STATE). */
function newRange(w: World, from: number, to: number, flags = RW): VmaMergeStruct {
  return vmgNew(w.mm, pg(from), pg(to), xpg + from, flags, null);
}

/** `anon_vma_prepare`: the first write fault's anon_vma. */
function fault(w: World, v: Vma): void {
  w.k.scheme.prepare(v);
}

/** [first page, end page, pgoff] relative to X. */
function range(v: Vma): [number, number, number] {
  return [(v.start - X) / P, (v.end - X) / P, v.pgoff - xpg];
}

function outcome(vmg: VmaMergeStruct): [string, string | null, string | null] {
  return [vmg.state, vmg.failPrev, vmg.failNext];
}

function objects(w: World): { vma: number; av: number; avc: number } {
  return {
    vma: w.k.slab.live("vm_area_struct"),
    av: w.k.slab.live("anon_vma"),
    avc: w.k.slab.live("anon_vma_chain"),
  };
}

function layout(mm: Mm): [number, number, number][] {
  return [...mm.vmas].map(range);
}

Deno.test("new range merges with prev: prev expands, keeps its anon_vma", () => {
  //  0123
  //  AA*      * = [2, 3), same flags, unfaulted
  //  AAA
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  const av = w.s.anonVmaOf(a);
  const vmg = newRange(w, 2, 3);
  assertEquals(vmaMergeNewRange(w.k, vmg), a);
  assertEquals(outcome(vmg), ["VMA_MERGE_SUCCESS", null, null]);
  assertEquals([vmg.prev, vmg.next, vmg.target], [a, null, a]);
  assertEquals(range(a), [0, 3, 0]);
  assertEquals([w.s.anonVmaOf(a), w.mm.mapCount, w.k.counters.merges], [av, 1, 1]);
  assertEquals(objects(w), { vma: 1, av: 1, avc: 1 });
  assertEquals(w.s.check(), []);
});

Deno.test("new range merges with next: next grows down and takes the range's pgoff", () => {
  //  0123
  //   *bb     * = [1, 2)
  //   bbb
  const w = world();
  const b = vma(w, 2, 4);
  const vmg = newRange(w, 1, 2);
  assertEquals(vmaMergeNewRange(w.k, vmg), b);
  assertEquals([outcome(vmg), vmg.prev, vmg.next], [["VMA_MERGE_SUCCESS", null, null], null, b]);
  assertEquals([range(b), w.s.anonVmaOf(b)], [[1, 4, 1], null]);
  assertEquals(objects(w), { vma: 1, av: 0, avc: 0 });
});

Deno.test("new range three-way merge: prev absorbs the range and next", () => {
  //  012345
  //  AA*bb
  //  AAAAA    b is unlinked and freed; A keeps its anon_vma
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  const av = w.s.anonVmaOf(a)!;
  const b = vma(w, 3, 5);
  const vmg = newRange(w, 2, 3);
  assertEquals(vmaMergeNewRange(w.k, vmg), a);
  assertEquals(outcome(vmg), ["VMA_MERGE_SUCCESS", null, null]);
  assertEquals([range(a), b.detached, layout(w.mm)], [[0, 5, 0], true, [[0, 5, 0]]]);
  assertEquals([w.s.anonVmaOf(a), av.numActiveVmas], [av, 1]);
  assertEquals(objects(w), { vma: 1, av: 1, avc: 1 });
  assertEquals(w.s.check(), []);
});

Deno.test("new range three-way merge with an unfaulted prev: prev takes next's anon_vma", () => {
  //  012345
  //  aa*BB    dup_anon_vma(prev, next): a gets B's anon_vma (merge_unfaulted clone)
  //  AAAAA
  const w = world();
  const b = vma(w, 3, 5);
  fault(w, b);
  const av = w.s.anonVmaOf(b)!;
  const a = vma(w, 0, 2);
  const vmg = newRange(w, 2, 3);
  assertEquals(vmaMergeNewRange(w.k, vmg), a);
  assertEquals([range(a), b.detached, w.s.anonVmaOf(a)], [[0, 5, 0], true, av]);
  assertEquals([w.s.state(a).chain.length, av.numActiveVmas], [1, 1]);
  assertEquals(objects(w), { vma: 1, av: 1, avc: 1 });
  assertEquals(w.s.check(), []);
});

Deno.test("new range refused: pgoff not contiguous, or flags differ", () => {
  //  0123
  //  AA*      * has the pgoff of page 7: can_vma_merge_after fails on pgoff
  //  AA*      * read-only: fails on flags
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  const far = vmgNew(w.mm, pg(2), pg(3), xpg + 7, RW, null);
  assertEquals(vmaMergeNewRange(w.k, far), null);
  assertEquals([outcome(far), far.target], [["VMA_MERGE_NOMERGE", "pgoff", null], null]);
  const ro = newRange(w, 2, 3, RO);
  assertEquals(vmaMergeNewRange(w.k, ro), null);
  assertEquals(outcome(ro), ["VMA_MERGE_NOMERGE", "flags", null]);
  assertEquals(range(a), [0, 2, 0]);
  assertEquals(
    [w.k.counters.merge_failed_pgoff, w.k.counters.merge_failed_flags, w.k.counters.merges],
    [1, 1, undefined],
  );
});

Deno.test("new range merges across a VM_SOFTDIRTY difference (is_mergeable_vma masks it)", () => {
  //  0123
  //  AA*      * = [2, 3) with VM_SOFTDIRTY, A without: flags equal but for soft-dirty, so merge
  //  AAA
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  const vmg = newRange(w, 2, 3, RW | VM_SOFTDIRTY);
  assertEquals(vmaMergeNewRange(w.k, vmg), a);
  assertEquals(outcome(vmg), ["VMA_MERGE_SUCCESS", null, null]);
  assertEquals([range(a), w.mm.mapCount], [[0, 3, 0], 1]);
});

Deno.test("new range: a VMA past a hole is no neighbour, whatever its pgoff", () => {
  //  0123456
  //  *  ccc   * = [0, 1); c at [3, 6) with the pgoff right after *'s (as a moved VMA could
  //           have): not adjacent in addresses, so not next, and nothing merges
  const w = world();
  const c = vma(w, 3, 6, RW, xpg + 1);
  const vmg = newRange(w, 0, 1);
  assertEquals(vmaMergeNewRange(w.k, vmg), null);
  assertEquals([outcome(vmg), vmg.prev, vmg.next], [["VMA_MERGE_NOMERGE", null, null], null, null]);
  assertEquals([layout(w.mm), range(c)], [[[3, 6, 1]], [3, 6, 1]]);
});

Deno.test("new range between two different anon_vmas: three-way refused, prev merges", () => {
  //  012345
  //  AA*CC    A and C faulted apart: two anon_vmas, so prev and next cannot both merge
  //  AAACC    failNext = anon_vma
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  const c = vma(w, 3, 5);
  fault(w, c);
  const [avA, avC] = [w.s.anonVmaOf(a)!, w.s.anonVmaOf(c)!];
  assertEquals(avA === avC, false);
  const vmg = newRange(w, 2, 3);
  assertEquals(vmaMergeNewRange(w.k, vmg), a);
  assertEquals(outcome(vmg), ["VMA_MERGE_SUCCESS", null, "anon_vma"]);
  assertEquals(layout(w.mm), [[0, 3, 0], [3, 5, 3]]);
  assertEquals([w.s.anonVmaOf(a), w.s.anonVmaOf(c)], [avA, avC]);
  assertEquals([w.k.counters.merge_failed_anon_vma, w.k.counters.merges], [1, 1]);
  assertEquals(objects(w), { vma: 2, av: 2, avc: 2 });
});

Deno.test("existing range, whole middle: merges into prev and is removed", () => {
  //  0123
  //  AAbb     b read-only, made read-write
  //  AAAA
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  const b = vma(w, 2, 4, RO);
  const vmg = vmgExisting(w.k, b, pg(2), pg(4), RW);
  assertEquals(vmaMergeExistingRange(w.k, vmg), a);
  assertEquals([outcome(vmg), vmg.middle, vmg.prev, vmg.next], [
    ["VMA_MERGE_SUCCESS", null, null],
    b,
    a,
    null,
  ]);
  assertEquals([layout(w.mm), b.detached], [[[0, 4, 0]], true]);
  assertEquals(objects(w), { vma: 1, av: 1, avc: 1 });
  assertEquals(w.s.check(), []);
});

Deno.test("existing range, start of middle: prev grows, middle shrinks from below", () => {
  //  012345
  //  AABBBB   B faulted next to A: reuses A's anon_vma (find_mergeable_anon_vma)
  //  AAABBB   [2, 3) of B made read-write
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  const b = vma(w, 2, 6, RO);
  fault(w, b);
  const av = w.s.anonVmaOf(a)!;
  assertEquals([w.s.anonVmaOf(b), w.k.counters.merges], [av, undefined]);
  const vmg = vmgExisting(w.k, b, pg(2), pg(3), RW);
  assertEquals(vmg.pgoff, xpg + 2);
  assertEquals(vmaMergeExistingRange(w.k, vmg), a);
  assertEquals(outcome(vmg), ["VMA_MERGE_SUCCESS", null, null]);
  assertEquals([range(a), range(b)], [[0, 3, 0], [3, 6, 3]]);
  assertEquals([w.s.anonVmaOf(b), av.numActiveVmas], [av, 2]);
  assertEquals(objects(w), { vma: 2, av: 1, avc: 2 });
  assertEquals(w.s.check(), []);
});

Deno.test("existing range, start of middle: the two VMAs re-keyed count two tree updates", () => {
  //  012345
  //  aabbbb   [2, 3) of b made read-write like a: one vma_prepare … vma_complete changes a's
  //  aaabbb   end and b's start and pgoff; each of the two is re-keyed in the mm's tree (its own
  //           tree store: vmaAdjust counts one tree_update per VMA, vma_tree.ts)
  const w = world();
  const a = vma(w, 0, 2);
  const b = vma(w, 2, 6, RO);
  const updates = (): number => (w.k.exec as CountingExec).counters.work.tree_update ?? 0;
  const before = updates();
  assertEquals(vmaMergeExistingRange(w.k, vmgExisting(w.k, b, pg(2), pg(3), RW)), a);
  assertEquals(layout(w.mm), [[0, 3, 0], [3, 6, 3]]);
  assertEquals(updates() - before, 2);
});

Deno.test("existing range, end of middle: next grows down, middle shrinks from above", () => {
  //  012345
  //  bbbbcc   [2, 4) of b made read-write like c
  //  bbcccc
  const w = world();
  const b = vma(w, 0, 4, RO);
  const c = vma(w, 4, 6);
  const vmg = vmgExisting(w.k, b, pg(2), pg(4), RW);
  assertEquals(vmaMergeExistingRange(w.k, vmg), c);
  assertEquals([outcome(vmg), vmg.prev, vmg.next], [["VMA_MERGE_SUCCESS", null, null], null, c]);
  assertEquals(layout(w.mm), [[0, 2, 0], [2, 6, 2]]);
  assertEquals(objects(w), { vma: 2, av: 0, avc: 0 });
});

Deno.test("existing range, both sides: prev absorbs middle and next", () => {
  //  012345
  //  AABBCC   faulted in order A, B, C: B and C reuse A's anon_vma
  //  AAAAAA   B read-only made read-write: middle and next removed
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  const b = vma(w, 2, 4, RO);
  fault(w, b);
  const c = vma(w, 4, 6);
  fault(w, c);
  const av = w.s.anonVmaOf(a)!;
  assertEquals([w.s.anonVmaOf(b), w.s.anonVmaOf(c), av.numActiveVmas], [av, av, 3]);
  const vmg = vmgExisting(w.k, b, pg(2), pg(4), RW);
  assertEquals(vmaMergeExistingRange(w.k, vmg), a);
  assertEquals(outcome(vmg), ["VMA_MERGE_SUCCESS", null, null]);
  assertEquals([layout(w.mm), b.detached, c.detached], [[[0, 6, 0]], true, true]);
  assertEquals([av.numActiveVmas, w.k.counters.merges], [1, 1]);
  assertEquals(objects(w), { vma: 1, av: 1, avc: 1 });
  assertEquals(w.s.check(), []);
});

Deno.test("existing range refused: prev and middle have different anon_vmas", () => {
  //  0123
  //  AABB     B was VM_DONTCOPY when faulted (not anon_vma_compatible with A): own anon_vma
  //  AABB     B made like A (madvise DOFORK): is_mergeable_anon_vma case 3 fails
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  const b = vma(w, 2, 4, RW | VM_DONTCOPY);
  fault(w, b);
  assertEquals(w.s.anonVmaOf(a) === w.s.anonVmaOf(b), false);
  const vmg = vmgExisting(w.k, b, pg(2), pg(4), RW);
  assertEquals(vmaMergeExistingRange(w.k, vmg), null);
  assertEquals([outcome(vmg), vmg.target], [["VMA_MERGE_NOMERGE", "anon_vma", null], null]);
  assertEquals([layout(w.mm), b.flags], [[[0, 2, 0], [2, 4, 2]], RW | VM_DONTCOPY]);
  assertEquals(w.k.counters.merge_failed_anon_vma, 1);
  assertEquals(objects(w), { vma: 2, av: 2, avc: 2 });
});

Deno.test("fork child with several AVCs: unfaulted neighbours may not merge into it", () => {
  //  parent:  AAbb           A faulted (one AVC), b unfaulted
  //  child:   A'A'b'         A' chains its own anon_vma and A's (2 AVCs): vma_is_fork_child
  //  child:   A'A'b'*        new range after b' merges with b' (both unfaulted) ...
  //  child:   A'A'b'b'       ... but b' made like A' is refused: fork_child
  //  parent:  AAAA           the same change in the parent merges (A has one AVC)
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  const b = vma(w, 2, 4, RO);
  const child = dupMm(w.k, w.mm);
  const [a2, b2] = [...child.vmas];
  assertEquals([w.s.state(a2).chain.length, w.s.state(b2).chain.length], [2, 0]);
  assertEquals([w.k.scheme.isForkChild(a2), w.k.scheme.isForkChild(a)], [true, false]);
  const grow = vmgNew(child, pg(4), pg(5), xpg + 4, RO, null);
  assertEquals(vmaMergeNewRange(w.k, grow), b2);
  assertEquals([outcome(grow), range(b2)], [["VMA_MERGE_SUCCESS", null, null], [2, 5, 2]]);
  const inChild = vmgExisting(w.k, b2, pg(2), pg(5), RW);
  assertEquals(vmaMergeExistingRange(w.k, inChild), null);
  assertEquals(outcome(inChild), ["VMA_MERGE_NOMERGE", "fork_child", null]);
  assertEquals(layout(child), [[0, 2, 0], [2, 5, 2]]);
  const inParent = vmgExisting(w.k, b, pg(2), pg(4), RW);
  assertEquals(vmaMergeExistingRange(w.k, inParent), a);
  assertEquals(layout(w.mm), [[0, 4, 0]]);
  assertEquals([w.k.counters.merge_failed_fork_child, w.k.counters.merges], [1, 2]);
  assertEquals(objects(w), { vma: 3, av: 2, avc: 3 });
  assertEquals(w.s.check(), []);
});

Deno.test("copy_vma of a fork child's VMA: no unfaulted neighbour takes it (copied_from)", () => {
  //  parent:  AA  bb          A faulted (one AVC), b unfaulted, a hole between
  //  child:   A'A'  b'b'      A' chains its own anon_vma and A's (2 AVCs): vma_is_fork_child
  //  child:   A'A'  b'b'**    ** = mremap's copy of A' at [6, 8) (pgoff following b''s): b'
  //                           would take A''s anon_vma; copied_from is a fork child: refused
  //  parent:  AA  bbbb        the same copy of A merges: b takes A's anon_vma
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  const b = vma(w, 4, 6);
  const child = dupMm(w.k, w.mm);
  const [a2, b2] = [...child.vmas];
  assertEquals([w.s.state(a2).chain.length, w.s.anonVmaOf(b2)], [2, null]);
  const copy = (mm: Mm, from: Vma): VmaMergeStruct =>
    vmgNew(mm, pg(6), pg(8), xpg + 6, RW, null, w.k.scheme.anonIdentity(from), from);
  const inChild = copy(child, a2);
  assertEquals(vmaMergeNewRange(w.k, inChild), null);
  assertEquals(outcome(inChild), ["VMA_MERGE_NOMERGE", "fork_child", null]);
  assertEquals([layout(child), w.s.anonVmaOf(b2)], [[[0, 2, 0], [4, 6, 4]], null]);
  const inParent = copy(w.mm, a);
  assertEquals(vmaMergeNewRange(w.k, inParent), b);
  assertEquals([outcome(inParent), range(b)], [["VMA_MERGE_SUCCESS", null, null], [4, 8, 4]]);
  assertEquals(w.s.anonVmaOf(b), w.s.anonVmaOf(a));
  assertEquals(w.s.check(), []);
});

Deno.test("unfaulted merges: no anon_vma on either side, or the faulted middle's is taken", () => {
  //  0123
  //  aa*      both unfaulted: prev grows, still no anon_vma
  //  aaaBB    B faulted read-only next to unfaulted a; made read-write:
  //  AAAAA    dup_anon_vma(prev, middle) gives a B's anon_vma; B removed
  const w = world();
  const a = vma(w, 0, 2);
  const vmg = newRange(w, 2, 3);
  assertEquals(vmaMergeNewRange(w.k, vmg), a);
  assertEquals([range(a), w.s.anonVmaOf(a)], [[0, 3, 0], null]);
  assertEquals(objects(w), { vma: 1, av: 0, avc: 0 });
  const b = vma(w, 3, 5, RO);
  fault(w, b);
  const av = w.s.anonVmaOf(b)!;
  const existing = vmgExisting(w.k, b, pg(3), pg(5), RW);
  assertEquals(existing.anonVma, av);
  assertEquals(vmaMergeExistingRange(w.k, existing), a);
  assertEquals(outcome(existing), ["VMA_MERGE_SUCCESS", null, null]);
  assertEquals([layout(w.mm), b.detached, w.s.anonVmaOf(a)], [[[0, 5, 0]], true, av]);
  assertEquals([av.numActiveVmas, w.k.counters.merges], [1, 2]);
  assertEquals(objects(w), { vma: 1, av: 1, avc: 1 });
  assertEquals(w.s.check(), []);
});

Deno.test("a merge probe changes nothing and counts no failure", () => {
  //  0123
  //  AA*      vmaWouldMergeNewRange: yes; then with a far pgoff: no, not counted
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  assertEquals(vmaWouldMergeNewRange(w.k, newRange(w, 2, 3)), true);
  const far = vmgNew(w.mm, pg(2), pg(3), xpg + 9, RW, null);
  assertEquals(vmaWouldMergeNewRange(w.k, far), false);
  assertEquals([far.state, far.failPrev], ["VMA_MERGE_START", "pgoff"]);
  assertEquals([range(a), w.k.counters], [[0, 2, 0], {}]);
});

Deno.test("split: both parts share the anon_vma, each with its own AVC", () => {
  //  0123
  //  AAAA
  //  A|AAA    __split_vma(A, 1, new_below = false): the new VMA is the upper part
  //  A|AA|A   __split_vma(upper, 3, new_below = true): the new VMA is the lower part
  const w = world({ maxMapCount: 3 });
  const a = vma(w, 0, 4);
  fault(w, a);
  const av = w.s.anonVmaOf(a)!;
  const upper = splitVma(w.k, a, pg(1), false);
  assertEquals([range(a), range(upper)], [[0, 1, 0], [1, 4, 1]]);
  const lower = splitVma(w.k, upper, pg(3), true);
  assertEquals([range(lower), range(upper)], [[1, 3, 1], [3, 4, 3]]);
  assertEquals(layout(w.mm), [[0, 1, 0], [1, 3, 1], [3, 4, 3]]);
  assertEquals([a, lower, upper].map((v) => w.s.anonVmaOf(v)), [av, av, av]);
  assertEquals([av.numActiveVmas, w.k.counters.splits, w.mm.mapCount], [3, 2, 3]);
  assertEquals(objects(w), { vma: 3, av: 1, avc: 3 });
  // split_vma refuses at max_map_count; __split_vma (munmap's path) does not check.
  assertThrows(() => splitVmaChecked(w.k, lower, pg(2), true, "mprotect"), SyscallError);
  assertEquals(w.mm.mapCount, 3);
  assertThrows(() => splitVma(w.k, a, pg(1), true), Error, "bad split");
  assertEquals(w.s.check(), []);
});

Deno.test("a reused merge descriptor (vmgReset) starts over as a new one would", () => {
  const w = world();
  const a = vma(w, 0, 2);
  fault(w, a);
  vma(w, 3, 4, RO);
  // One merge that succeeds (with prev) and one refused on the next side leave their marks.
  const used = newRange(w, 2, 3);
  assertEquals(vmaMergeNewRange(w.k, used) === a, true);
  const refused = newRange(w, 5, 6);
  vma(w, 6, 7, RO);
  vmaMergeNewRange(w.k, refused);
  assertEquals(outcome(refused), ["VMA_MERGE_NOMERGE", null, "flags"]);
  const other = world();
  for (const vmg of [used, refused]) {
    vmgReset(vmg, other.mm, pg(9), pg(10), xpg + 9, RO, null);
    assertEquals(vmg, vmgNew(other.mm, pg(9), pg(10), xpg + 9, RO, null));
  }
  // And merges as a new one: with nothing mapped around it, no merge.
  assertEquals([vmaMergeNewRange(other.k, refused), outcome(refused)], [
    null,
    ["VMA_MERGE_NOMERGE", null, null],
  ]);
});
