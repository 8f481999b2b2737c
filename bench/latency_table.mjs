// bench/run's output: the rows it measured (TSV) as a markdown table (stdout)
// and as JSON (the file named last).
// usage: node latency_table.mjs ROWS.tsv MACHINE ROUNDS SECONDS IMAGES OUT.json
import { readFileSync, writeFileSync } from 'node:fs';

const [rowsFile, machine, rounds, seconds, images, jsonFile] = process.argv.slice(2);
const keys = ['model', 'batch', 'threads', 'qdqInt8Ms', 'ortMs', 'int8OverOrt', 'qdqFp32Ms', 'ortFp32Ms',
  'int8OverOrtFp32', 'qdqFp32OverOrtFp32', 'top1QdqInt8', 'top1Ort', 'top1QdqFp32', 'top1OrtFp32',
  'int8OverOrtFastest', 'int8OverOrtFp32Fastest'];
const rows = readFileSync(rowsFile, 'utf8').trim().split('\n').filter(Boolean).map((line) => {
  const cells = line.split('\t');
  // Rows measured before the fastest-run ratios have none.
  return Object.fromEntries(keys.map((k, i) => [k, /^[0-9.]+$/.test(cells[i]) ? Number(cells[i]) : cells[i] ?? '—']));
});
writeFileSync(jsonFile, JSON.stringify({ machine, rounds: Number(rounds), secondsPerRun: Number(seconds),
  top1Images: Number(images), rows }, null, 1) + '\n');
console.log(`${machine}; ${rounds} alternating rounds of at least ${seconds} s per runner, medians; ratios are per-round min-max; "fastest": the ratio of each runner's fastest run over all rounds; top-1 on the first ${images} test images.\n`);
console.log('| model | batch | threads | qdq INT8 (ms) | ORT same file (ms) | INT8 / ORT | qdq FP32 (ms) | ORT FP32 (ms) | INT8 / ORT FP32 | qdq FP32 / ORT FP32 | top-1 qdq INT8 / ORT / qdq FP32 / ORT FP32 | INT8 / ORT, fastest | INT8 / ORT FP32, fastest |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows)
  console.log(`| ${r.model} | ${r.batch} | ${r.threads} | ${r.qdqInt8Ms} | ${r.ortMs} | ${r.int8OverOrt} | ${r.qdqFp32Ms} | ${r.ortFp32Ms} | ${r.int8OverOrtFp32} | ${r.qdqFp32OverOrtFp32} | ${r.top1QdqInt8} / ${r.top1Ort} / ${r.top1QdqFp32} / ${r.top1OrtFp32} | ${r.int8OverOrtFastest} | ${r.int8OverOrtFp32Fastest} |`);
