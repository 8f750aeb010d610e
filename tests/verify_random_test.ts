// `verify --random N` (tools/verify/random.ts): the generator is a pure function of its seed,
// every scenario it writes is valid scenario language, and the model runs each to the end
// (refused calls are outcomes, not failures). The host side is `verify`'s own, tested in
// verify_test.ts.

import assert from "node:assert/strict";
import { assertEquals } from "./assert.ts";
import { RANDOM_ADVICE, RANDOM_WINDOW, randomScenarios } from "../tools/verify/random.ts";
import { ADVICE, parseScenarios } from "../tools/verify/scenario.ts";
import { runModel } from "../tools/verify/model.ts";

Deno.test("random scenarios: the same seed gives the same text, another seed another", () => {
  // Bug caught: a generator reading Math.random or shared state (a difference found by
  // `verify --random 50 --seed 7` could not be reproduced).
  const a = randomScenarios(7, 20);
  assertEquals(randomScenarios(7, 20), a);
  assert.notEqual(randomScenarios(8, 20), a);
  // Scenario i does not depend on how many are drawn: a prefix of a longer run.
  assert(randomScenarios(7, 40).startsWith(a));
  const s = parseScenarios(a, "random");
  assertEquals(s.map((x) => x.name), Array.from({ length: 20 }, (_, i) => `random-7-${i}`));
});

Deno.test("random scenarios parse, stay in the window, and run on the model", () => {
  // Bug caught: a step the parser refuses (verify --random would stop with exit 2 instead of
  // comparing), or one the model throws on (a crash is not an errno).
  const kinds = new Set<string>();
  const advices = new Set<string>();
  let refused = 0, steps = 0;
  for (const seed of [1, 2, 3]) {
    for (const sc of parseScenarios(randomScenarios(seed, 60), "random")) {
      for (const st of sc.steps) {
        kinds.add(st.text.split(" ")[0]); // the step's own word (write and read are op touch)
        if (st.op === "madvise") advices.add(st.advice);
        if ("addr" in st && st.addr.kind === "arena") assert(st.addr.page <= RANDOM_WINDOW);
      }
      const e = runModel(sc, 1);
      steps += e.outcomes.length;
      refused += e.outcomes.filter((o) => o !== "OK").length;
    }
  }
  for (const k of ["spawn", "fork", "exit", "map", "munmap", "mprotect", "mremap", "madvise"]) {
    assert(kinds.has(k), `no ${k} step drawn`);
  }
  for (const a of ["mlock", "munlock", "write", "read", "measure"]) assert(kinds.has(a), a);
  assertEquals([...advices].sort(), [...RANDOM_ADVICE].sort());
  for (const a of RANDOM_ADVICE) assert((ADVICE as readonly string[]).includes(a), a);
  // Both outcomes occur: the calls are not all refused, nor all accepted.
  assert(refused > steps / 20 && refused < steps / 2, `${refused} refused of ${steps}`);
});
