// SmallSet (core/rmap/anon_vma_lazy.ts), the member set of lazy groups and TREE_PARENT links:
// it must behave exactly as a Set (membership, size, insertion order after deletes) across its
// representations (none, one or two members in fields, a Set from the third on).

import assert from "node:assert/strict";
import fc from "fast-check";
import { LazyGroup, SmallSet, TreeParentLink } from "../core/rmap/anon_vma_lazy.ts";
import type { AnonVma } from "../core/rmap/anon_vma.ts";
import type { Folio, Vma } from "../core/kernel/types.ts";

Deno.test("SmallSet: order and size across the field and Set representations", () => {
  const s = new SmallSet<string>();
  assert.equal(s.size, 0);
  assert.deepEqual([...s], []);
  s.add("a");
  s.add("a");
  s.add("b");
  assert.deepEqual([...s], ["a", "b"]);
  assert.equal(s.delete("a"), true);
  assert.equal(s.delete("a"), false);
  assert.deepEqual([...s], ["b"]);
  s.add("c");
  assert.deepEqual([...s], ["b", "c"]);
  s.add("d");
  assert.deepEqual([...s], ["b", "c", "d"]);
  assert.equal(s.delete("c"), true);
  s.add("a");
  assert.deepEqual([...s], ["b", "d", "a"]);
  assert.equal(s.size, 3);
  assert.equal(s.has("d"), true);
  assert.equal(s.has("c"), false);
  s.clear();
  assert.equal(s.size, 0);
  assert.deepEqual([...s], []);
  s.add("e");
  assert.deepEqual([...s], ["e"]);
});

Deno.test("SmallSet: any sequence of add/delete/clear matches a Set", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.constantFrom("add", "delete", "clear"), fc.integer({ min: 0, max: 4 }))),
      (ops) => {
        const small = new SmallSet<number>();
        const ref = new Set<number>();
        for (const [op, x] of ops) {
          if (op === "add") {
            small.add(x);
            ref.add(x);
          } else if (op === "delete") assert.equal(small.delete(x), ref.delete(x));
          else {
            small.clear();
            ref.clear();
          }
          assert.equal(small.size, ref.size);
          assert.deepEqual([...small], [...ref]);
          assert.equal(small.first, [...ref][0]);
          assert.equal(small.second, [...ref][1]);
          assert.deepEqual(small.toArray(), [...ref]);
          for (let y = 0; y <= 4; y++) assert.equal(small.has(y), ref.has(y));
        }
      },
    ),
  );
});

Deno.test("LazyGroup and TreeParentLink: id and flags share one field, each read back alone", () => {
  const vma = {} as Vma;
  const av = {} as AnonVma;
  for (const id of [0, 1, 2 ** 29 - 1, 2 ** 29, 2 ** 31 + 3, 2 ** 50 + 1]) {
    const g = new LazyGroup(id, vma);
    const t = new TreeParentLink(id, av);
    assert.deepEqual([g.id, g.rootPinnedDetached, g.dead, t.id, t.dead], [
      id,
      false,
      false,
      id,
      false,
    ]);
    for (const [pinned, dead] of [[true, false], [true, true], [false, true], [false, false]]) {
      g.rootPinnedDetached = pinned;
      g.dead = dead;
      g.dead = dead; // setting a flag twice changes nothing
      t.dead = dead;
      t.dead = dead;
      assert.deepEqual([g.id, g.rootPinnedDetached, g.dead, t.id, t.dead], [
        id,
        pinned,
        dead,
        id,
        dead,
      ]);
    }
  }
});

Deno.test("LazyGroup: the member set and the folio set are independent", () => {
  const vmas = [1, 2, 3].map((id) => ({ id }) as Vma);
  const g = new LazyGroup(7, vmas[0]);
  for (const v of vmas) g.vmas.add(v);
  const f = { id: 9 } as Folio;
  g.folios.add(f);
  assert.deepEqual([[...g.vmas], [...g.folios], g.folioCount, g.size], [vmas, [f], 1, 3]);
  g.vmas.delete(vmas[1]);
  g.clearFolios();
  assert.deepEqual([[...g], g.folioCount], [[vmas[0], vmas[2]], 0]);
});
