#!/usr/bin/env bash
# Re-records the library of real traces (workloads/traces/library.ts) on this machine with
# `deno task record` and embeds them (tools/record_embed.ts). Needs, from Debian: strace, perf
# (linux-perf), chromium, python3, redis-server/redis-tools, make, gcc. Everything runs in a
# temporary directory; Redis listens on 127.0.0.1 only and is shut down at the end.
#
# Usage: tools/record_library.sh            (from the repository root, as root for perf)
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
record() { deno run --allow-all "$repo/tools/record.ts" "$@"; }
embed() { deno run --allow-read --allow-write "$repo/tools/record_embed.ts" "$@"; }

# Python multiprocessing pool, fork start method.
mkdir "$work/py" && cd "$work/py"
cat >pool.py <<'PY'
import multiprocessing as mp

def work(n):
    data = [i * i for i in range(5000 + n * 100)]
    buf = bytearray(64 * 1024)
    for i in range(0, len(buf), 4096):
        buf[i] = n & 0xFF
    return sum(data) + buf[0]

if __name__ == "__main__":
    ctx = mp.get_context("fork")
    with ctx.Pool(4) as pool:
        print(sum(pool.map(work, range(32), chunksize=2)))
PY
record --out "$work/python_fork_pool.trace.gz" -- /usr/bin/python3 pool.py

# make -j2 of a small C project.
mkdir "$work/mk" && cd "$work/mk"
for i in 1 2 3 4; do
  printf 'int f%d(int n) { int s = 0; for (int k = 0; k < n; k++) s += k * %d; return s; }\n' "$i" "$i" >"m$i.c"
done
printf '#include <stdio.h>\nint f1(int), f2(int), f3(int), f4(int);\nint main(void) { printf("%%d\\n", f1(10) + f2(20) + f3(30) + f4(40)); return 0; }\n' >main.c
printf 'OBJS = main.o m1.o m2.o m3.o m4.o\napp: $(OBJS)\n\tcc -o $@ $(OBJS)\n%%.o: %%.c\n\tcc -O2 -c -o $@ $<\n' >Makefile
record --out "$work/make_j2.trace.gz" -- make -j2

# Redis with two BGSAVEs under writes, on loopback.
mkdir "$work/rd" && cd "$work/rd"
port=6391
record --out "$work/redis_bgsave.trace.gz" -- redis-server --port "$port" --bind 127.0.0.1 \
  --save "" --appendonly no --dir "$work/rd" --daemonize no --loglevel warning &
recorder=$!
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
bgsave_done() {
  for _ in $(seq 100); do
    redis-cli -p "$port" info persistence | grep -q 'rdb_bgsave_in_progress:0' && return
    sleep 0.1
  done
}
redis-benchmark -p "$port" -n 30000 -r 30000 -d 512 -t set -q -P 16 >/dev/null
redis-cli -p "$port" bgsave
redis-benchmark -p "$port" -n 30000 -r 30000 -d 512 -t set,lpush -q -P 16 >/dev/null
bgsave_done
redis-cli -p "$port" bgsave
redis-benchmark -p "$port" -n 10000 -r 30000 -d 512 -t set -q -P 16 >/dev/null
bgsave_done
redis-cli -p "$port" shutdown nosave || true
wait "$recorder"

# Chromium headless loading a local page with three iframes.
mkdir "$work/chr" && cd "$work/chr"
for p in a b c; do
  cat >"$p.html" <<HTML
<!doctype html><html><head><title>$p</title></head><body><h1>Page $p</h1><ul id="l"></ul>
<canvas id="c" width="200" height="100"></canvas><script>
const l = document.getElementById("l"); const rows = [];
for (let i = 0; i < 2000; i++) rows.push({ i, s: "row " + i + " of page $p", v: Math.sqrt(i) });
for (const r of rows.slice(0, 200)) { const li = document.createElement("li"); li.textContent = r.s; l.appendChild(li); }
document.getElementById("c").getContext("2d").fillRect(10, 10, 50, 50);
</script></body></html>
HTML
done
echo '<!doctype html><html><body><h1>index</h1><iframe src="a.html"></iframe><iframe src="b.html"></iframe><iframe src="c.html"></iframe></body></html>' >index.html
record --out "$work/chromium_headless.trace.gz" -- chromium --headless --no-sandbox --disable-gpu \
  --no-first-run --disable-background-networking --disable-component-update --disable-sync \
  --disable-extensions --disable-breakpad --user-data-dir="$work/chr/profile" \
  --dump-dom "file://$work/chr/index.html" >/dev/null

cd "$repo"
embed python_fork_pool "$work/python_fork_pool.trace.gz" "Python 3.11 multiprocessing Pool(4), fork start method"
embed make_j2 "$work/make_j2.trace.gz" "GNU make -j2 building a 5-file C project with cc"
embed redis_bgsave "$work/redis_bgsave.trace.gz" "Redis 7.0 under redis-benchmark writes with two BGSAVEs"
embed chromium_headless "$work/chromium_headless.trace.gz" "Chromium headless dumping a local page with three iframes"
deno fmt -q workloads/traces/
ls -l workloads/traces/
