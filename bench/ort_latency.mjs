// ONNX Runtime's latency on one model, as bench/run measures it: batch N of
// seeded random input of the model's shape with batch N, default (all) graph
// optimizations, a warm-up, then timed runs until both MIN_ITER runs and
// MIN_SECONDS have passed; prints the median and the fastest run in ms.
// usage: node ort_latency.mjs MODEL MIN_ITER THREADS BATCH [MIN_SECONDS]
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';

const require = createRequire(import.meta.url);
const ort = require(process.env.QDQ_ORT_NODE ||
  join(dirname(new URL(import.meta.url).pathname), '../third_party/ort/node_modules/onnxruntime-node'));
const [model, iterText, threadsText, batchText, secondsText] = process.argv.slice(2);
const iterations = Number(iterText), batch = Number(batchText), seconds = Number(secondsText || 0);
const session = await ort.InferenceSession.create(model, {
  intraOpNumThreads: Number(threadsText), interOpNumThreads: 1, logSeverityLevel: 3 });
const dims = session.inputMetadata[0].shape.map((d, i) => (i === 0 ? batch : d));
const data = new Float32Array(dims.reduce((a, b) => a * b, 1));
let seed = 1;
for (let i = 0; i < data.length; ++i) { seed = (seed * 1103515245 + 12345) % 2147483648; data[i] = seed / 1073741824 - 1; }
const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, dims) };
const warmUpEnd = process.hrtime.bigint() + 200_000_000n;
do await session.run(feeds); while (process.hrtime.bigint() < warmUpEnd);
const times = [];
const start = process.hrtime.bigint();
while (times.length < iterations || Number(process.hrtime.bigint() - start) / 1e9 < seconds) {
  const t0 = process.hrtime.bigint();
  await session.run(feeds);
  times.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
times.sort((a, b) => a - b);
console.log(`${times[Math.floor(times.length / 2)].toFixed(3)} ${times[0].toFixed(3)}`);
