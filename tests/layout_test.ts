/**
 * The core's layout rules from the redesign (issue #12): no file of `core/kernel/` or
 * `core/machine/` over 600 lines, and every `core/kernel/` module's header saying which scheme
 * hooks it calls ("Scheme hooks called here: …"), naming each hook its code calls, so that a
 * reader of a scheme can find where the kernel calls each of its hooks.
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);
const MAX_LINES = 600;

function tsFiles(dir: string): string[] {
  return [...Deno.readDirSync(new URL(dir, ROOT))]
    .filter((e) => e.isFile && e.name.endsWith(".ts"))
    .map((e) => `${dir}${e.name}`)
    .sort();
}

function read(path: string): string {
  return Deno.readTextFileSync(new URL(path, ROOT));
}

/** The hooks of `RmapScheme` (its methods, optional ones included), from core/rmap/scheme.ts. */
function schemeHooks(): Set<string> {
  const src = read("core/rmap/scheme.ts");
  const start = src.indexOf("export interface RmapScheme {");
  assert.ok(start >= 0, "RmapScheme not found in core/rmap/scheme.ts");
  const body = src.slice(start, src.indexOf("\n}\n", start));
  return new Set([...body.matchAll(/^ {2}(\w+)\??\(/gm)].map((m) => m[1]));
}

/** Hook names called as `scheme.name` in `src`'s code (doc comments and `//` comments left out). */
function hooksCalled(src: string, hooks: Set<string>): Set<string> {
  const code = src.split("\n").filter((l) => !/^\s*(\*|\/\/|\/\*\*)/.test(l)).join("\n");
  return new Set(
    [...code.matchAll(/\bscheme\.(\w+)\b/g)].map((m) => m[1]).filter((n) => hooks.has(n)),
  );
}

Deno.test("no file of core/kernel or core/machine is over 600 lines", () => {
  const over = [...tsFiles("core/kernel/"), ...tsFiles("core/machine/")]
    .map((f) => [f, read(f).split("\n").length - 1] as const)
    .filter(([, n]) => n > MAX_LINES)
    .map(([f, n]) => `${f}: ${n} lines`);
  assert.deepEqual(over, []);
});

Deno.test("every core/kernel module's header names the scheme hooks its code calls", () => {
  const hooks = schemeHooks();
  // The parser sees the interface: a sample of the hooks every scheme has, and optional ones.
  for (const h of ["attach", "fork", "unlink", "walk", "relocateUndo", "splitFolio"]) {
    assert.ok(hooks.has(h), `hook ${h} not parsed from RmapScheme`);
  }
  const problems: string[] = [];
  for (const f of tsFiles("core/kernel/")) {
    const src = read(f);
    const header = src.slice(0, src.indexOf("@module"));
    const at = header.indexOf("Scheme hooks called here:");
    if (at < 0) {
      problems.push(`${f}: no "Scheme hooks called here:" in the module header`);
      continue;
    }
    // The sentence runs to the end of its paragraph.
    const para = header.slice(at).split(/\n \*\n/)[0];
    const named = new Set([...para.matchAll(/`(\w+)`/g)].map((m) => m[1]));
    for (const h of hooksCalled(src, hooks)) {
      if (!named.has(h)) problems.push(`${f}: calls scheme.${h} but its header does not name it`);
    }
  }
  assert.deepEqual(problems, []);
});

Deno.test("the hook scan finds calls in code and skips them in comments", () => {
  const hooks = new Set(["fork", "unlink"]);
  const src = [
    "/**",
    " * k.scheme.unlink(v) in an example",
    " */",
    "// k.scheme.unlink(v)",
    "  k.scheme.fork(tmp, mpnt);",
    "  if (!k.scheme.info) return;",
  ].join("\n");
  assert.deepEqual([...hooksCalled(src, hooks)], ["fork"]);
});
