"""ONNX Runtime's latency on one model with Python onnxruntime: what
bench/ort_latency.mjs measures with the npm package (the same seeded input,
default graph optimizations, 200 ms warm-up, runs until MIN_ITER runs and
MIN_SECONDS have passed); prints the median and the fastest run in ms. For
machines where only the
Python package is there (the device machine).
usage: python3 ort_latency.py MODEL MIN_ITER THREADS BATCH [MIN_SECONDS]"""
import sys
import time

import numpy as np
import onnxruntime as ort

model, min_iter, threads, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
seconds = float(sys.argv[5]) if len(sys.argv) > 5 else 0.0
options = ort.SessionOptions()
options.intra_op_num_threads = threads
options.inter_op_num_threads = 1
options.log_severity_level = 3
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
first = session.get_inputs()[0]
dims = [batch] + [int(d) for d in first.shape[1:]]
data = np.empty(int(np.prod(dims)), dtype=np.float32)
seed = 1
for i in range(data.size):  # the npm script's generator, value for value
    seed = (seed * 1103515245 + 12345) % 2147483648
    data[i] = seed / 1073741824 - 1
feeds = {first.name: data.reshape(dims)}
end = time.perf_counter() + 0.2
while True:
    session.run(None, feeds)
    if time.perf_counter() >= end:
        break
times = []
start = time.perf_counter()
while len(times) < min_iter or time.perf_counter() - start < seconds:
    t0 = time.perf_counter()
    session.run(None, feeds)
    times.append((time.perf_counter() - t0) * 1e3)
times.sort()
print(f"{times[len(times) // 2]:.3f} {times[0]:.3f}")
