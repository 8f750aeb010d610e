import { assertEquals } from "./assert.ts";
import { makeFixture } from "./fixtures/results_fixture.ts";
import { comparisonTable } from "../reports/table.ts";

Deno.test("comparisonTable() prints one block per workload and one row per scheme", () => {
  const lines = comparisonTable(makeFixture()).split("\n");
  assertEquals(
    lines[0],
    "fork_tree (live objects at the end of the workload; walks over every kind; locks the " +
      "scheme owns)",
  );
  const cells = (line: string): string[] => line.trim().split(/\s{2,}/);
  assertEquals(cells(lines[1]).slice(0, 6), [
    "scheme",
    "VMAs",
    "anon_vma",
    "AVC",
    "cow_ctx",
    "rmap KiB",
  ]);
  // anon_vma: 3 anon_vmas × 104 B + 5 AVCs × 64 B = 632 B = 0.6 KiB of rmap-only objects; the
  // fixture's peak is twice that (1.2 KiB).
  assertEquals(cells(lines[3]), [
    "anon_vma",
    "10",
    "3",
    "5",
    "0",
    "0.6",
    "1.2",
    "4.6",
    "9.1",
    "3.1",
    "5",
    "6",
    "27.9",
    "30",
    "40",
    "400",
    "1000",
    "1",
  ]);
  assertEquals(cells(lines[4])[0], "cow_context");
  assertEquals(lines.filter((l) => l.startsWith("mremap (")).length, 1);
});
