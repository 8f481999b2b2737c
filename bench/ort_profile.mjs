// ONNX Runtime's own per-node times on one model (its profiler,
// enableProfiling), to set beside `qexec --dumpProfile`: the same seeded
// input as ort_latency.mjs, RUNS runs, then for each node the minimum of its
// kernel times over the runs (µs), its op type, and its input and output
// shapes (from the profile), in graph order; the sum of the minima last.
// usage: node ort_profile.mjs MODEL THREADS BATCH RUNS
import { createRequire } from 'node:module';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';

const require = createRequire(import.meta.url);
const ort = require(process.env.QDQ_ORT_NODE ||
  join(dirname(new URL(import.meta.url).pathname), '../third_party/ort/node_modules/onnxruntime-node'));
const [model, threadsText, batchText, runsText] = process.argv.slice(2);
const batch = Number(batchText), runs = Number(runsText);
const dir = mkdtempSync(join(tmpdir(), 'ort_profile_'));
const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: Number(threadsText), interOpNumThreads: 1, logSeverityLevel: 3,
  enableProfiling: true, profileFilePrefix: join(dir, 'profile') });
const dims = session.inputMetadata[0].shape.map((d, i) => (i === 0 ? batch : d));
const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
let seed = 1;
for (let i = 0; i < data.length; ++i) { seed = (seed * 1103515245 + 12345) % 2147483648; data[i] = seed / 1073741824 - 1; }
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
for (let i = 0; i < runs; ++i) await session.run(feeds);
session.endProfiling();  // writes the file; its name is not returned here
const events = JSON.parse(readFileSync(join(dir, readdirSync(dir)[0]), 'utf8'));
rmSync(dir, { recursive: true });
const nodes = new Map();
for (const e of events) {
  if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time')) continue;
  const name = e.name.slice(0, -'_kernel_time'.length);
  const node = nodes.get(name) || { op: e.args.op_name, min: Infinity,
    shapes: JSON.stringify(e.args.input_type_shape) + ' -> ' + JSON.stringify(e.args.output_type_shape) };
  node.min = Math.min(node.min, e.dur);
  nodes.set(name, node);
}
let total = 0;
for (const [name, node] of nodes) {
  total += node.min;
  console.log(`${node.min}\t${node.op}\t${name}\t${node.shapes}`);
}
console.log(`${total}\ttotal`);
