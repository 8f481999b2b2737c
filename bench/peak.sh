#!/usr/bin/env bash
# The machine's multiply-add peak per instruction path (1 thread, every core)
# and the INT8 conv kernel's share of it on ResNet-50's layer shapes (and
# grouped ones), from the Google Benchmark binary bench/peak (qdq_peak).
# Writes build/bench/peak.json (Google Benchmark's JSON) and
# build/bench/peak.md (the tables), and prints the tables. QDQ_ISA=avx2 measures the AVX2 kernels on a VNNI machine.
# usage: bench/peak.sh [--quick]
set -euo pipefail
cd "$(dirname "$0")/.."
min_time=0.5
for arg in "$@"; do
  case $arg in
    --quick) min_time=0.1 ;;
    *) echo "error: unknown argument $arg (usage: bench/peak.sh [--quick])" >&2; exit 1 ;;
  esac
done
scripts/setup.sh >/dev/null
scripts/build.sh build >/dev/null
mkdir -p build/bench
build/bench/qdq_peak --benchmark_min_time="$min_time" --benchmark_out=build/bench/peak.json \
  --benchmark_out_format=json >/dev/null
node - build/bench/peak.json <<'JS' | tee build/bench/peak.md
const r = JSON.parse(require("fs").readFileSync(process.argv[2]));
const g = (x) => (x / 1e9).toFixed(1);
const rows = r.benchmarks.filter((b) => b.run_type === "iteration");
console.log(`${r.context.num_cpus} CPUs at ${r.context.mhz_per_cpu} MHz (${r.context.host_name})\n`);
console.log("| path | 1 thread (GMAC/s) | all cores (GMAC/s) |\n|---|---|---|");
const peaks = {};
for (const b of rows.filter((b) => b.name.startsWith("peak/"))) {
  const [, kind, path, threads] = b.name.match(/^peak\/(\w+)\/(\w+)\/threads:(\d+)/);
  const key = `${kind} ${path}`;
  (peaks[key] ??= {})[threads === "1" ? "one" : "all"] = b["MAC/s"];
}
for (const [path, p] of Object.entries(peaks)) console.log(`| ${path} | ${g(p.one)} | ${g(p.all)} |`);
console.log("\n| conv (batch 1, or N where named _bN; every core) | bias (epilogue) | kernel level | GMAC/s | share of the level's int8 peak |\n|---|---|---|---|---|");
const forms = { ptq: "int32 (integer)", qat: "float (float sum)" };
for (const b of rows.filter((b) => b.name.startsWith("qconv/"))) {
  const [, level, shape, form] = b.name.split("/");
  const peak = Object.entries(peaks).find(([path]) => path.startsWith(`int8 ${level}_`));
  const share = peak ? `${((100 * b["MAC/s"]) / peak[1].all).toFixed(0)} %` : "—";
  console.log(`| ${shape} | ${forms[form]} | ${level} | ${g(b["MAC/s"])} | ${share} |`);
}
JS
