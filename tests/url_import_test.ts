/**
 * Imports `mod.ts` from a URL, as users of the library do: the repository is served on
 * 127.0.0.1 (a random free port, `.ts` as `application/typescript`), and a fresh Deno process
 * with no permission but `--allow-import=127.0.0.1:PORT` (and no config file, so no import map)
 * runs a small simulation through the imported API and prints figures this test checks.
 *
 * The default `DENO_DIR` is kept, so the one `npm:` package in `mod.ts`'s graph
 * (`npm:csv-stringify`, used by the CSV renderers) comes from the shared cache; every other module
 * of the graph must come from the server.
 *
 * @module
 */

import assert from "node:assert/strict";

const ROOT = new URL("../", import.meta.url);

function contentType(path: string): string {
  if (path.endsWith(".ts")) return "application/typescript; charset=utf-8";
  if (path.endsWith(".json")) return "application/json";
  return "text/plain; charset=utf-8";
}

const PROGRAM = (base: string): string =>
  `import {
  AnonVmaScheme,
  createScheme,
  Kernel,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PAGE_SIZE,
  PROT_READ,
  PROT_WRITE,
  SCHEMES,
  stableStringify,
} from "${base}mod.ts";

const kernel = new Kernel({ scheme: new AnonVmaScheme() });
const parent = kernel.spawn();
const addr = kernel.mmap(parent, 0, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
kernel.touch(parent, addr, "write");
kernel.fork(parent);
const anonVmas = kernel.slab.live("anon_vma");
const avcs = kernel.slab.live("anon_vma_chain");
createScheme(SCHEMES[0].info.id);
console.log(stableStringify({ anonVmas, avcs, schemes: SCHEMES.length }).replace(/\\s+/g, ""));
`;

Deno.test("mod.ts imported from a URL runs a simulation with no permissions", async () => {
  const requested: string[] = [];
  // Served under a prefix of its own: Deno caches remote modules by URL, and a port the system
  // hands out again would otherwise let the child import a cached mod.ts without requesting it.
  const prefix = `/run-${crypto.randomUUID()}`;
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen: () => {},
  }, async (req) => {
    const full = decodeURIComponent(new URL(req.url).pathname);
    if (!full.startsWith(`${prefix}/`)) return new Response("not found", { status: 404 });
    const path = full.slice(prefix.length);
    requested.push(path);
    if (path.includes("..") || path.split("/").some((p) => p.startsWith("."))) {
      return new Response("forbidden", { status: 403 });
    }
    try {
      const body = await Deno.readFile(new URL(`.${path}`, ROOT));
      return new Response(body, { headers: { "content-type": contentType(path) } });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const dir = await Deno.makeTempDir({ prefix: "rmapbench-url-" });
  try {
    const host = `127.0.0.1:${server.addr.port}`;
    await Deno.writeTextFile(`${dir}/main.ts`, PROGRAM(`http://${host}${prefix}/`));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-lock", `--allow-import=${host}`, "main.ts"],
      cwd: dir,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout).trim();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    const figures = JSON.parse(stdout);
    // The child's anon_vma is new; its AVCs link it to itself and to the parent's.
    assert.equal(figures.anonVmas, 2);
    assert.equal(figures.avcs, 3);
    assert.ok(figures.schemes >= 3);
    assert.ok(requested.includes("/mod.ts"));
    assert.ok(requested.includes("/core/kernel/kernel.ts"));
    assert.ok(requested.includes("/runner/recorder.ts"));
    // Importing mod.ts must not pull in the CLI or the file-reading chart.js loader.
    assert.ok(!requested.some((p) => p.startsWith("/cli")), requested.join(", "));
    assert.ok(!requested.includes("/reports/chart_umd.ts"));
  } finally {
    await server.shutdown();
    await Deno.remove(dir, { recursive: true });
  }
});
