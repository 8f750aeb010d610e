// SmallSet (core/rmap/anon_vma_lazy.ts), the member set of lazy groups and TREE_PARENT links:
// it must behave exactly as a Set (membership, size, insertion order after deletes) across its
// representations (none, one or two members in fields, a Set from the third on).

import assert from "node:assert/strict";
import fc from "fast-check";
import { SmallSet } from "../core/rmap/anon_vma_lazy.ts";

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
          for (let y = 0; y <= 4; y++) assert.equal(small.has(y), ref.has(y));
        }
      },
    ),
  );
});
