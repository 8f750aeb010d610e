/**
 * rmapBytes: the bytes of the caches a scheme owns, final and peak, where the peak is the largest
 * sum at one moment (not the sum of each cache's own peak, which a report would overstate).
 *
 * @module
 */

import assert from "node:assert/strict";
import { Slab, SLAB_CACHES } from "../core/slab.ts";
import { SCHEMES } from "../core/rmap/registry.ts";
import { runOne } from "../runner/recorder.ts";

Deno.test("Slab.trackGroup peaks on the sum at one moment", () => {
  const slab = new Slab();
  slab.alloc("vm_area_struct");
  slab.trackGroup(["anon_vma", "anon_vma_chain"]);
  slab.alloc("anon_vma"); // 104
  slab.free("anon_vma");
  slab.alloc("anon_vma_chain", 2); // 128
  slab.alloc("vm_area_struct", 5); // not in the group
  assert.equal(slab.groupBytes, 128);
  // Each cache's own peak: 104 + 128 = 232; the group never held more than 128 at once.
  assert.equal(slab.groupPeakBytes, 128);
  slab.alloc("anon_vma");
  assert.equal(slab.groupPeakBytes, 232);
  slab.free("anon_vma_chain", 2);
  assert.equal(slab.groupBytes, 104);
  assert.equal(slab.groupPeakBytes, 232);
});

Deno.test("every scheme declares the caches and lock classes it owns", () => {
  const owned = Object.fromEntries(SCHEMES.map((s) => [s.info.id, s.info.ownedCaches]));
  assert.deepEqual(owned, {
    "anon_vma": ["anon_vma", "anon_vma_chain"],
    "anon_vma-2026": ["anon_vma", "anon_vma_chain"],
    "anon_vma-per-av-lock": ["anon_vma", "anon_vma_chain"],
    "anon_vma_lazy": ["anon_vma", "anon_vma_chain"],
    "cow_context": [
      "cow_context",
      "cow_remap_entry",
      "cow_remap_node",
      "cow_remap_array",
      "cow_remap_array_64",
      "cow_remap_array_96",
      "cow_remap_array_192",
      "cow_remap_array_512",
      "cow_remap_array_1k",
    ],
  });
  // Every cache is either owned by some scheme or one that every scheme shares.
  const shared = SLAB_CACHES.filter((c) => !SCHEMES.some((s) => s.info.ownedCaches.includes(c)));
  assert.deepEqual(shared, ["vm_area_struct", "maple_node", "mm_struct"]);
  for (const s of SCHEMES) {
    assert.ok(s.info.ownedLockClasses.length > 0, s.info.id);
    for (const l of s.info.ownedLockClasses) {
      assert.ok(!["mmap_lock", "page_table_lock", "rcu"].includes(l), `${s.info.id}: ${l}`);
      assert.ok(s.info.locking.some((d) => d.lockClass === l), `${s.info.id} declares ${l}`);
    }
  }
});

Deno.test("a run's rmapBytes are its owned caches' bytes, peak at least final", () => {
  const params = { mode: "breadth", children: 3, rounds: 1, regions: 2, pages: 4 };
  for (const scheme of ["anon_vma", "cow_context"]) {
    const r = runOne({ scheme, workload: "fork-storm", params, seed: 3 });
    const final = r.scheme.ownedCaches.reduce((n, c) => n + r.slab.final.bytes[c], 0);
    const peakSum = r.scheme.ownedCaches.reduce((n, c) => n + r.slab.peak.bytes[c], 0);
    assert.equal(r.rmapBytes.final, final, scheme);
    assert.ok(r.rmapBytes.peak >= final && r.rmapBytes.peak > 0, scheme);
    assert.ok(r.rmapBytes.peak <= peakSum, `${scheme}: the peak of the sum <= the sum of peaks`);
  }
});

Deno.test("rmap bytes include objects of a shared cache that only a scheme's reference keeps", () => {
  const slab = new Slab();
  slab.trackGroup(["anon_vma", "anon_vma_chain"]);
  slab.alloc("vm_area_struct", 2); // shared: not rmap bytes
  assert.equal(slab.groupBytes, 0);
  slab.free("vm_area_struct", 1); // unmapped, but pinned (vma_get) by the lazy scheme
  slab.retain("vm_area_struct", 1);
  assert.equal(slab.groupBytes, 192);
  assert.equal(slab.groupPeakBytes, 192);
  slab.releaseRetained("vm_area_struct", 1);
  assert.equal(slab.groupBytes, 0);
  assert.equal(slab.groupPeakBytes, 192);
});
