import { assertEquals } from "./assert.ts";
import { fixtureRun, makeFixture } from "./fixtures/results_fixture.ts";
import { comparisonTable } from "../reports/table.ts";
import { combineRepeats } from "../reports/repeats.ts";

Deno.test("comparisonTable() prints one block per workload and one row per scheme", () => {
  const lines = comparisonTable(makeFixture()).split("\n");
  assertEquals(
    lines[0],
    "fork_tree (live objects at the end of the workload, its RCU-deferred frees done; walks " +
      "over every kind; locks the scheme owns)",
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

Deno.test("comparisonTable() shows each figure's mean over the repeats of a run", () => {
  // Two repeats of anon_vma/fork_tree with every figure scaled by k = 1 and k = 3 (the fixture's
  // scale): each cell is the mean of the two, e.g. anon_vma objects (3 + 9) / 2 = 6, rmap bytes
  // (632 + 1896) / 2 = 1264 = 1.2 KiB, own-lock wait p99 (1000 + 3000) / 2 = 2000.
  const doc = makeFixture();
  doc.suite.repeat = 2;
  doc.runs = [
    combineRepeats([
      fixtureRun("anon_vma", "anon_vma", "fork_tree", {}, 1),
      fixtureRun("anon_vma", "anon_vma", "fork_tree", {}, 3),
    ]),
  ];
  const lines = comparisonTable(doc).split("\n");
  assertEquals(
    lines[0],
    "fork_tree (live objects at the end of the workload, its RCU-deferred frees done; walks " +
      "over every kind; locks the scheme owns; means over 2 repeats)",
  );
  assertEquals(lines[3].trim().split(/\s{2,}/), [
    "anon_vma",
    "20",
    "6",
    "10",
    "0",
    "1.2",
    "2.5",
    "9.1",
    "18.2",
    "6.1",
    "10",
    "12",
    "27.9",
    "60",
    "80",
    "400",
    "2000",
    "2",
  ]);
});

Deno.test("comparisonTable() aligns every column to its widest cell", () => {
  // The scheme column is as wide as "cow_context" (11), left-aligned; figures are right-aligned
  // to the wider of header and cells, two spaces apart. KiB columns always show one decimal:
  // cow_context's 2 × 2 CoW contexts × 128 B = 512 B = 0.5 KiB, peak 1024 B = 1.0 KiB.
  const lines = comparisonTable(makeFixture()).split("\n");
  assertEquals(lines.slice(1, 5), [
    "scheme       VMAs  anon_vma  AVC  cow_ctx  rmap KiB  rmap peak KiB  slab KiB  peak slab KiB" +
    "  visits mean  p99  max  useless %  own lock acq  work under lock  hold p99 ns  wait p99 ns" +
    "  trylock fail",
    "-----------  ----  --------  ---  -------  --------  -------------  --------  -------------" +
    "  -----------  ---  ---  ---------  ------------  ---------------  -----------  -----------" +
    "  ------------",
    "anon_vma       10         3    5        0       0.6            1.2       4.6            9.1" +
    "          3.1    5    6       27.9            30               40          400         1000" +
    "             1",
    "cow_context    20         0    0        4       0.5            1.0       8.4           16.8" +
    "          6.1   10   12       27.9            60               80          400         2000" +
    "             2",
  ]);
});

Deno.test("comparisonTable() prints a run's own tables with three decimals", () => {
  // The fixture's Calibration table of anon_vma/fork_tree, plus a fractional row: columns as
  // wide as "anon_vma_chain" (14) and "objects" (7), left-aligned, trailing spaces trimmed.
  const doc = makeFixture();
  doc.runs[0].extraTables![0].rows.push(["anon_vma_chain", 0.12345]);
  const text = comparisonTable(doc);
  assertEquals(
    text.includes(
      "\n\nCalibration — anon_vma\n" +
        "cache           objects\n" +
        "--------------  -------\n" +
        "anon_vma        3\n" +
        "anon_vma_chain  0.123\n\nmremap (",
    ),
    true,
  );
});
