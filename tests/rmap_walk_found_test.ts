// FoundKeys (core/kernel/rmap_walk.ts), the keys an rmap walk found: it must answer as the
// Set<number> it replaces (SameValueZero: -0 and 0 alike, NaN equal to itself) across its
// representations (an array up to 16 keys, a Set beyond).

import assert from "node:assert/strict";
import fc from "fast-check";
import { FoundKeys } from "../core/kernel/rmap_walk.ts";

Deno.test("FoundKeys: any sequence of adds answers as a Set (size, has, add's result)", () => {
  const key = fc.oneof(
    fc.integer({ min: 0, max: 40 }),
    fc.constantFrom(0, -0, NaN, 2 ** 36 + 5, 2 ** 52 + 2, -1.5),
  );
  fc.assert(
    fc.property(
      fc.array(key, { maxLength: 80 }),
      fc.array(key, { maxLength: 20 }),
      (adds, probes) => {
        const found = new FoundKeys();
        const ref = new Set<number>();
        for (const k of adds) {
          assert.equal(found.add(k), !ref.has(k));
          ref.add(k);
          assert.equal(found.size, ref.size);
        }
        for (const k of [...adds, ...probes]) assert.equal(found.has(k), ref.has(k));
      },
    ),
  );
});
