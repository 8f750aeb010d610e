// The verdicts of the tools a reader acts on, pinned exactly: verify's comparison of the host's
// figures with the model's (fed figures made from the model's own run, then one figure changed
// at a time, so no host is needed), bench:scale's verdicts against its targets, bench:ab's
// paired comparison and calibrate's agreement of a point. A tool that says "exact", "within" or
// "head faster" when it should not would make every later figure misleading; the live tests of
// these tools only see agreeing figures, so a comparison that stopped looking would pass them.

import { assertEquals } from "./assert.ts";
import { parseScenarios } from "../tools/verify/scenario.ts";
import {
  compare,
  exitCode,
  modelFigures,
  type Verdict,
  verifySuite,
} from "../tools/verify/verify.ts";
import { copiesAgree, type HostFigures } from "../tools/verify/host.ts";
import type { Execution, LayoutLine } from "../tools/verify/model.ts";
import { againstTarget, ratioVerdict } from "../tools/bench_scale.ts";
import { abVerdict } from "../tools/bench_ab.ts";
import { agreement } from "../tools/calibrate/calibrate.ts";

// Copy 0 of the arena, pages 0-3 (four pages written), P0 and its fork child C1; per copy:
//   mapped    (step 3)  P0 [0 4) rw-p               1 anon_vma, 1 AVC
//   forked    (step 5)  P0 [0 4), C1 [0 4)          2 anon_vma, 3 AVC
//   unmapped  (step 7)  P0 [2 4), C1 [0 4)          2 anon_vma, 3 AVC
//   teardown  (8, 9)    exit C1, then exit P0        1 / 1, then 0 / 0
const [scenario] = parseScenarios(
  `scenario verdicts
source tests/tools_verdicts_test.ts
spawn P0
map P0 0 4 rw private
write P0 0 4
measure mapped
fork P0 C1
measure forked
munmap P0 0 2
measure unmapped
`,
  "tools_verdicts_test",
);
const model = modelFigures(scenario);

/** Host figures equal to the model's, for `change` to alter one of. */
function host(change: (h: HostFigures) => void = () => {}): HostFigures {
  const h: HostFigures = {
    first: structuredClone(model.one),
    anonVma: [...model.anonVma],
    anonVmaChain: [...model.anonVmaChain],
    unstable: null,
    rounds: 1,
    rawReturned: 3,
    runs: 3,
  };
  change(h);
  return h;
}

function verdict(change?: (h: HostFigures) => void): Verdict {
  return compare(scenario, host(change), model);
}

Deno.test("verify compare: the model's own figures are exact", () => {
  // Eight written steps and the two exits of the teardown; counts before the first step, then
  // after each.
  assertEquals(model.one.outcomes, new Array(10).fill("OK"));
  assertEquals(model.anonVma, [0, 0, 0, 1, 1, 2, 2, 2, 2, 1, 0]);
  assertEquals(model.anonVmaChain, [0, 0, 0, 1, 1, 3, 3, 3, 3, 1, 0]);
  assertEquals([...model.one.layouts.keys()], [3, 5, 7]);
  const v = verdict();
  assertEquals(v.status, "exact");
  assertEquals(v.summary, "8 steps, 3 layouts, 3 runs; up to 2 anon_vma per copy");
  assertEquals(v.details, []);
  assertEquals(exitCode([v]), 0);
});

Deno.test("verify compare: an outcome that differs at the last step is a difference", () => {
  const v = verdict((h) => h.first.outcomes[9] = "EBUSY");
  assertEquals(v.status, "differ");
  assertEquals(v.summary, "1 difference(s); 8 steps, 3 layouts, 3 runs");
  assertEquals(v.details, ['step "exit P0 (teardown)": kernel EBUSY, model OK']);
  assertEquals(exitCode([v]), 1);
});

Deno.test("verify compare: a layout line or a measure point the host lacks is a difference", () => {
  const moved = verdict((h) => {
    const lines = h.first.layouts.get(7)!;
    lines[0] = { ...lines[0], start: lines[0].start + 1 };
  });
  assertEquals(moved.status, "differ");
  assertEquals(moved.details, [
    'layout at "unmapped" (kernel | model):',
    "  P0 3-4 rw-p 0 anon anonymous:2 anonhuge:0 ≠ P0 2-4 rw-p 0 anon anonymous:2 anonhuge:0",
    "  C1 0-4 rw-p 0 anon anonymous:4 anonhuge:0 | C1 0-4 rw-p 0 anon anonymous:4 anonhuge:0",
  ]);
  const missing = verdict((h) => h.first.layouts.delete(5));
  assertEquals(missing.status, "differ");
  assertEquals(missing.details, [
    'layout at "forked" (kernel | model):',
    "       ≠ P0 0-4 rw-p 0 anon anonymous:4 anonhuge:0",
    "       ≠ C1 0-4 rw-p 0 anon anonymous:4 anonhuge:0",
  ]);
  // The same bounds with a different count of anonymous pages (smaps): the host's child has
  // one page fewer mapped (say a page it never shared).
  const fewer = verdict((h) => {
    const lines = h.first.layouts.get(5)!;
    lines[1] = { ...lines[1], anon: 3 };
  });
  assertEquals(fewer.details, [
    'layout at "forked" (kernel | model):',
    "  P0 0-4 rw-p 0 anon anonymous:4 anonhuge:0 | P0 0-4 rw-p 0 anon anonymous:4 anonhuge:0",
    "  C1 0-4 rw-p 0 anon anonymous:3 anonhuge:0 ≠ C1 0-4 rw-p 0 anon anonymous:4 anonhuge:0",
  ]);
});

Deno.test("verify compare: a per-copy count is compared after its own step", () => {
  // The host's fork made one AVC fewer, until the child exits: reported after the fork (step
  // 4, figure 5) and the three steps after it, not before nor in the teardown.
  const v = verdict((h) => {
    for (let i = 5; i <= 8; i++) h.anonVmaChain![i] -= 1;
  });
  assertEquals(v.status, "differ");
  assertEquals(v.details, [
    'after line 7 "fork P0 C1": per copy kernel 2 anon_vma / 2 anon_vma_chain, model 2 / 3',
    'after line 8 "measure forked": per copy kernel 2 anon_vma / 2 anon_vma_chain, model 2 / 3',
    'after line 9 "munmap P0 0 2": per copy kernel 2 anon_vma / 2 anon_vma_chain, model 2 / 3',
    'after line 10 "measure unmapped": per copy kernel 2 anon_vma / 2 anon_vma_chain, model 2 / 3',
  ]);
});

Deno.test("verify compare: unstable host counts do not hide an outcome difference", () => {
  const unstable = (h: HostFigures) => {
    h.unstable = "counts moved in every round";
    h.anonVma = null;
    h.anonVmaChain = null;
  };
  const v = verdict((h) => {
    unstable(h);
    h.first.outcomes[6] = "ENOMEM";
  });
  assertEquals(v.status, "differ");
  assertEquals(v.details, ['step line 9 "munmap P0 0 2": kernel ENOMEM, model OK']);
  const only = verdict(unstable);
  assertEquals([only.status, only.summary], ["host-unstable", "counts moved in every round"]);
  assertEquals(exitCode([only]), 3);
  assertEquals(exitCode([only, verdict()]), 3);
});

Deno.test("verify suite: a count difference is reported only when a re-measurement reproduces it", async () => {
  // One AVC fewer per copy after the fork (as above); outcomes and layouts agree.
  const differing = () =>
    host((h) => {
      for (let i = 5; i <= 8; i++) h.anonVmaChain![i] -= 1;
    });
  let calls = 0;
  const suite = (next: () => HostFigures) =>
    verifySuite([scenario], {
      measure: () => {
        calls++;
        return Promise.resolve(next());
      },
    });
  // Reproduced by the first re-measurement: a difference, after two measurements.
  calls = 0;
  const same = await suite(differing);
  assertEquals([same[0].status, calls], ["differ", 2]);
  // Both re-measurements agree with the model: the first was noise.
  calls = 0;
  const noisy = await suite(() => calls === 1 ? differing() : host());
  assertEquals([noisy[0].status, noisy[0].summary, calls], [
    "host-unstable",
    "the per-copy counts that differ from the model did not reproduce",
    3,
  ]);
  // Reproduced by the second re-measurement only: still a difference.
  calls = 0;
  const second = await suite(() => calls === 2 ? host() : differing());
  assertEquals([second[0].status, calls], ["differ", 3]);
  // Not reproduced, beside an outcome difference: the outcome is still reported, the counts not.
  calls = 0;
  const both = await suite(() =>
    calls === 1
      ? host((h) => {
        h.first.outcomes[6] = "ENOMEM";
        h.anonVmaChain![5] -= 1;
      })
      : host((h) => h.first.outcomes[6] = "ENOMEM")
  );
  assertEquals([both[0].status, both[0].details, calls], [
    "differ",
    ['step line 9 "munmap P0 0 2": kernel ENOMEM, model OK'],
    3,
  ]);
  // An outcome difference is not re-measured: outcomes do not depend on other processes.
  calls = 0;
  const outcome = await suite(() => host((h) => h.first.outcomes[9] = "EBUSY"));
  assertEquals([outcome[0].status, calls], ["differ", 1]);
  // A host run that fails is host-unstable, with the first line of its error.
  const failed = await verifySuite([scenario], {
    measure: () => Promise.reject(new Error("runner: cc failed\nsecond line")),
  });
  assertEquals([failed[0].status, failed[0].summary], [
    "host-unstable",
    "host run failed: runner: cc failed",
  ]);
});

Deno.test("bench:scale verdicts: within or over a target only when the whole interval is", () => {
  assertEquals(againstTarget([11.0, 11.2, 11.1, 10.9, 11.3], 12), "11.1 [10.9, 11.3] within 12 s");
  assertEquals(againstTarget([12.6, 12.8, 12.7, 12.9, 12.5], 12), "12.7 [12.5, 12.9] over 12 s");
  // Mean below the target, interval across it: the runs cannot tell.
  assertEquals(
    againstTarget([10.5, 13.0, 11.0, 12.5, 11.5], 12),
    "11.7 [10.4, 13.0] cannot tell against 12 s",
  );
  assertEquals(againstTarget([11.5], 12), "11.5");
  // (a): the simulator's time over the real kernel's, pair by pair.
  const ratios: [number[], number[], string][] = [
    [[0.8, 0.82, 0.79], [1.0, 1.01, 0.99], "0.80x [0.78, 0.82] at most 1.0x"],
    [[0.95, 1.1, 0.9, 1.05], [1.0, 1.0, 1.0, 1.0], "1.00x [0.85, 1.15] cannot tell against 1.0x"],
    [[1.3, 1.25, 1.35], [1.0, 1.01, 0.99], "1.30x [1.15, 1.46] over 1.0x"],
    [[0.9], [1.0], "0.90x (no interval from 1 pair)"],
  ];
  for (const [sim, real, want] of ratios) assertEquals(ratioVerdict(sim, real), want);
});

Deno.test("bench:ab verdict: a direction only when the interval excludes 1, and the right one", () => {
  const cases: [number[], number[], string][] = [
    [[10.1, 9.8, 10.0], [10.0, 10.2, 9.9], "0.99 [0.92, 1.07] no significant difference"],
    [[9.0, 9.2, 8.9, 9.1], [10.0, 10.0, 10.1, 9.9], "0.91 [0.88, 0.93] head faster"],
    [[11.0, 11.2, 10.9, 11.1], [10.0, 10.0, 10.1, 9.9], "1.10 [1.07, 1.14] head slower"],
    // A mean 2.5 % lower whose pairs disagree in sign: no direction.
    [
      [9.0, 10.5, 9.2, 10.3],
      [10.0, 10.0, 10.0, 10.0],
      "0.97 [0.85, 1.10] no significant difference",
    ],
    [[9.0], [10.0], "0.90 one pair: no interval"],
  ];
  for (const [head, base, want] of cases) assertEquals(abVerdict(head, base), want);
});

Deno.test("calibrate: a point agrees only with equal host figures; one the host lacks disagrees", () => {
  const m = { anonVma: 2, anonVmaChain: 3, vmas: 1 };
  assertEquals(agreement({ ...m }, m, true), true);
  assertEquals(agreement({ ...m, anonVmaChain: 4 }, m, true), false);
  assertEquals(agreement({ ...m, vmas: 2 }, m, true), false);
  // The host run did not reach the point: a disagreement, never a silent pass.
  assertEquals(agreement(null, m, true), false);
  // The host was not measured at all: no verdict.
  assertEquals(agreement(null, m, false), null);
});

Deno.test("verify copies: the host's copies must have copy 0's VMAs, not its pages", () => {
  // Catches: a check that calls a run host-unstable when ksmd left the copies' pages different
  // (it merges zero pages across copies and splits their THPs: random-4-108), or one that lets a
  // copy with other VMAs through.
  const line = (copy: number, end: number, anonHuge: number): LayoutLine => ({
    proc: "P0",
    copy,
    start: 0,
    end,
    perms: "rw-p",
    pgoff: 0,
    kind: "anon",
    anon: 512,
    anonHuge,
  });
  const run = (lines: LayoutLine[]): Execution =>
    ({ ...model.one, copies: 2, layouts: new Map([[3, lines]]) }) as Execution;
  assertEquals(copiesAgree(run([line(0, 512, 0), line(1, 512, 512)])), null);
  assertEquals(
    copiesAgree(run([line(0, 512, 0), line(1, 511, 0)])),
    "step 3: copy 1 of the arena differs from copy 0",
  );
});
