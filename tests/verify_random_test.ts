// `verify --random N` (tools/verify/random.ts): the generator is a pure function of its seed,
// every scenario it writes is valid scenario language, and the model runs each to the end
// (refused calls are outcomes, not failures). The host side is `verify`'s own, tested in
// verify_test.ts.

import assert from "node:assert/strict";
import { assertEquals } from "./assert.ts";
import {
  RANDOM_ADVICE,
  RANDOM_WINDOW,
  randomScenarios,
  randomScenarioTexts,
  THP_WINDOW,
  WIDE_WINDOW,
} from "../tools/verify/random.ts";
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
  const names = Array.from({ length: 20 }, (_, i) => `random-7-${i}`);
  assertEquals(s.map((x) => x.name), names);
  // One by one (what verify --random prints for a scenario that differs): the same scenarios.
  const texts = randomScenarioTexts(7, 20);
  assertEquals(texts.map((t) => parseScenarios(t, "random")[0].name), names);
  assertEquals(texts.map((t) => t + "\n").join("\n"), a);
});

Deno.test("random scenarios: userfaultfd steps only where the model covers them", () => {
  // Bug caught: a uffd step on a host memfd (shmem, which the model's userfaultfd does not cover):
  // it would report a difference that is not a model bug.
  const text = randomScenarios(4, 120);
  const blocks = text.split("\n\n").filter((b) => b !== "");
  // The flavour named on the source line ("..., uffd" or "..., uffd, wide").
  const flavour = (b: string): string =>
    b.split("\n")[1].replace(/, wide$/, "").split(", ").at(-1)!;
  const uffd = blocks.filter((b) => flavour(b) === "uffd");
  const ksm = blocks.filter((b) => flavour(b) === "ksm");
  assert(uffd.length > 10 && ksm.length > 10, `${uffd.length} uffd, ${ksm.length} ksm`);
  for (const b of [...uffd, ...ksm]) {
    assert(!/ shared| file=|^file /m.test(b), b);
  }
  for (const b of ksm) assert(!/^uffd_/m.test(b), b);
  // The thp flavour moves pages too (its memory is private anonymous); the vma flavour's files
  // and shared memory never meet a uffd step.
  for (const b of blocks.filter((x) => flavour(x) === "vma")) assert(!/^uffd_/m.test(b), b);
  const thp = blocks.filter((b) => flavour(b) === "thp");
  for (const b of thp) assert(!/ shared| file=|^file /m.test(b), b);
  assert(thp.some((b) => /^uffd_move /m.test(b)), "no thp scenario moves pages");
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
        const window = sc.source.endsWith(", thp")
          ? THP_WINDOW
          : sc.source.endsWith(", wide")
          ? WIDE_WINDOW
          : RANDOM_WINDOW;
        if ("addr" in st && st.addr.kind === "arena") assert(st.addr.page <= window);
      }
      const e = runModel(sc, 1);
      steps += e.outcomes.length;
      refused += e.outcomes.filter((o) => o !== "OK").length;
    }
  }
  for (
    const k of [
      ...["spawn", "fork", "exit", "execve", "brk", "map", "munmap", "mprotect", "mremap"],
      ...["madvise", "pmadvise", "mlock", "munlock", "mlockall", "munlockall", "resident"],
      ...["write", "read", "measure", "ksmd", "uffd_register", "uffd_unregister", "uffd_move"],
      ...["uffd_copy", "uffd_zeropage"],
    ]
  ) assert(kinds.has(k), `no ${k} step drawn`);
  assertEquals([...advices].sort(), [...RANDOM_ADVICE, "mergeable", "unmergeable"].sort());
  for (const a of RANDOM_ADVICE) assert((ADVICE as readonly string[]).includes(a), a);
  // Both outcomes occur: the calls are not all refused, nor all accepted.
  assert(refused > steps / 20 && refused < steps / 2, `${refused} refused of ${steps}`);
});
