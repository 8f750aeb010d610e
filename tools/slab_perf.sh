#!/bin/sh
# Measures, on the host, how often the anon-rmap slab caches need a new slab page during a fork
# storm (input for core/slab_slow_path.ts). Needs root (tracepoints), perf and gcc.
#   sh tools/slab_perf.sh [REGIONS CHILDREN ROUNDS]     (default 8 32 20)
# Prints the objects per slab of each cache, the allocations per cache (kmem:kmem_cache_alloc
# filtered by name), and the slab pages allocated on behalf of anon_vma_fork/anon_vma_clone/
# __anon_vma_prepare and vm_area_dup (kmem:mm_page_alloc call chains through allocate_slab).
set -eu
R=${1:-8}; K=${2:-32}; N=${3:-20}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
gcc -O2 -o "$dir/storm" "$(dirname "$0")/slab_storm.c"
for c in anon_vma anon_vma_chain vm_area_struct; do
  echo "$c objs_per_slab=$(cat /sys/kernel/slab/$c/objs_per_slab) min_partial=$(cat /sys/kernel/slab/$c/min_partial) cpu_partial=$(cat /sys/kernel/slab/$c/cpu_partial)"
done
perf stat -x, -e kmem:kmem_cache_alloc --filter 'name == "anon_vma"' \
  -e kmem:kmem_cache_alloc --filter 'name == "anon_vma_chain"' \
  -e kmem:kmem_cache_alloc --filter 'name == "vm_area_struct"' \
  "$dir/storm" "$R" "$K" "$N" 2>&1 | awk -F, 'NR==1{n="anon_vma"} NR==2{n="anon_vma_chain"} NR==3{n="vm_area_struct"} {print "allocs " n " " $1}'
perf record -q -o "$dir/pa.data" -e kmem:mm_page_alloc -g "$dir/storm" "$R" "$K" "$N" >/dev/null 2>&1
perf script -i "$dir/pa.data" 2>/dev/null |
  awk '/^[^ \t]/{ if (s != "") print s; s = ""; next } NF { s = s " " $2 } END { if (s != "") print s }' |
  sed 's/+0x[0-9a-f]*//g' | grep allocate_slab |
  awk '{ c = "other"; for (i = 1; i <= NF; i++) if ($i ~ /^(anon_vma_fork|anon_vma_clone|__anon_vma_prepare|vm_area_dup)$/) { c = $i; break } print c }' |
  sort | uniq -c | awk '{ print "new slab pages via " $2 " " $1 }'
