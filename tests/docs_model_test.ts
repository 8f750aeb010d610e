/**
 * Every "§N" or "§N.M" cited in the code resolves to a numbered section of docs/model.md, the
 * project's model reference, so a reader of the repository can follow each citation.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const SOURCE_DIRS = ["core", "workloads", "reports", "cli", "tools", "tests"];

/** Section numbers declared by the headings of docs/model.md ("## 3. ..." and "### 3.2 ..."). */
function modelSections(text: string): Set<string> {
  const sections = new Set<string>();
  for (const line of text.split("\n")) {
    const m = /^#{2,3} (\d+(?:\.\d+)?)\.? /.exec(line);
    if (m) sections.add(m[1]);
  }
  return sections;
}

async function* sourceFiles(dir: URL): AsyncGenerator<URL> {
  for await (const entry of Deno.readDir(dir)) {
    const url = new URL(entry.name + (entry.isDirectory ? "/" : ""), dir);
    if (entry.isDirectory) yield* sourceFiles(url);
    else if (entry.name.endsWith(".ts")) yield url;
  }
}

Deno.test("docs/model.md: every § citation in the code names one of its sections", async () => {
  const sections = modelSections(await Deno.readTextFile(new URL("docs/model.md", ROOT)));
  // The document keeps the numbering the code was written against: sections 0-14.
  for (const n of ["0", "1.1", "1.7", "3.3", "5.2", "7", "8.2", "10.4", "12.5", "14"]) {
    assert(sections.has(n), `docs/model.md has no section ${n}`);
  }
  const missing: string[] = [];
  let citations = 0;
  for (const dir of SOURCE_DIRS) {
    for await (const file of sourceFiles(new URL(dir + "/", ROOT))) {
      const lines = (await Deno.readTextFile(file)).split("\n");
      for (const line of lines) {
        // A line naming another document (ecosystem.md §2.3) cites that document instead.
        if (/[a-z_]+\.md §/.test(line) && !line.includes("model.md §")) continue;
        for (const m of line.matchAll(/§(\d+(?:\.\d+)?)/g)) {
          citations++;
          if (!sections.has(m[1])) {
            missing.push(`${file.pathname.slice(ROOT.pathname.length)}: §${m[1]}`);
          }
        }
      }
    }
  }
  assert(citations > 100, `only ${citations} citations found: is the scan reading the code?`);
  assert(
    missing.length === 0,
    `citations without a section in docs/model.md:\n${missing.join("\n")}`,
  );
});
