// The classic model against the real kernel (reference §12.5 cases and more; tools/calibrate).
// 1. Always: the model's figures equal the kernel figures recorded on Linux 6.18.44 x86_64 by
//    `deno task calibrate --json tests/fixtures/kernel_calibration.json`.
// 2. The live re-measurement of the host kernel is tests/verify_test.ts: the calibration cases
//    are verify scenarios (tools/verify/scenarios/calibration.scn), measured there with the noise
//    filter of tools/verify/host.ts, so a busy machine skips a case instead of failing it.

import { assertEquals } from "./assert.ts";
import { calibrate, type CalibrationRow, CASES } from "../tools/calibrate/calibrate.ts";

const recorded: CalibrationRow[] = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/kernel_calibration.json", import.meta.url)),
);

Deno.test("calibration: the model reproduces the recorded Linux 6.18 counts exactly", async () => {
  const rows = await calibrate(CASES, false);
  assertEquals(rows.length, recorded.length);
  for (const [i, r] of rows.entries()) {
    const k = recorded[i];
    assertEquals([r.case, r.label], [k.case, k.label]);
    assertEquals(r.model, k.host, `${r.case} at ${r.label}`);
  }
});
