// ONNX Runtime's top-1 on a CIFAR-10 binary, the peer column of qdq's accuracy
// tables: the same pixels qeval reads (qdq-dataset writes the binary once, so
// both runtimes see one decode), normalized as qeval normalizes them.
// usage: node ort_top1.mjs MODEL TEST_BATCH.bin MEAN(a,b,c) STD(a,b,c) [LIMIT]
// prints "top1 = X %  images = N" (qeval's line) on stdout.
// ORT_GRAPH_OPT=disabled runs the Q/DQ graph as ONNX defines it (no QDQ fusion:
// every Q and DQ executed in float), the column that qdq's exactness is about.
import { createRequire } from 'node:module';
import { join, dirname } from 'node:path';
import { readFileSync } from 'node:fs';

const require = createRequire(import.meta.url);
const ort = require(process.env.QDQ_ORT_NODE ||
  join(dirname(new URL(import.meta.url).pathname), '../third_party/ort/node_modules/onnxruntime-node'));
const [model, binary, meanText, stdText, limitText] = process.argv.slice(2);
// float32 arithmetic step by step, as qeval does it: a pixel that lands on a
// rounding tie of the input's QuantizeLinear must round the same way.
const f32 = Math.fround;
const mean = meanText.split(',').map((t) => f32(Number(t))), std = stdText.split(',').map((t) => f32(Number(t)));
const record = 1 + 3 * 32 * 32;
const bytes = readFileSync(binary);
if (bytes.length % record !== 0) throw new Error(`${binary}: not a CIFAR-10 binary (${bytes.length} bytes)`);
const images = Math.min(bytes.length / record, limitText ? Number(limitText) : Infinity);
const session = await ort.InferenceSession.create(model, {
  interOpNumThreads: 1, logSeverityLevel: 3, graphOptimizationLevel: process.env.ORT_GRAPH_OPT || 'all' });
const batch = 100;
let correct = 0;
for (let first = 0; first < images; first += batch) {
  const count = Math.min(batch, images - first);
  const data = new Float32Array(count * 3 * 1024);
  for (let i = 0; i < count; ++i)
    for (let c = 0; c < 3; ++c)
      for (let p = 0; p < 1024; ++p)
        data[(i * 3 + c) * 1024 + p] = f32(f32(f32(bytes[(first + i) * record + 1 + c * 1024 + p] / 255) - mean[c]) / std[c]);
  const feeds = { [session.inputNames[0]]: new ort.Tensor('float32', data, [count, 3, 32, 32]) };
  const logits = (await session.run(feeds))[session.outputNames[0]].data;
  const classes = logits.length / count;
  for (let i = 0; i < count; ++i) {
    let best = 0;
    for (let k = 1; k < classes; ++k) if (logits[i * classes + k] > logits[i * classes + best]) best = k;
    if (best === bytes[(first + i) * record]) ++correct;
  }
}
console.log(`top1 = ${(100 * correct / images).toFixed(2)} %  images = ${images}`);
