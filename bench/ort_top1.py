"""ONNX Runtime's top-1 on a CIFAR-10 binary with Python onnxruntime: what
scripts/ort_top1.mjs computes with the npm package (the same float32
normalization step by step, default graph optimizations), for machines where
only the Python package is there (the device machine).
usage: python3 ort_top1.py MODEL TEST_BATCH.bin MEAN(a,b,c) STD(a,b,c) [LIMIT]
prints "top1 = X %  images = N" (qeval's line)."""
import sys

import numpy as np
import onnxruntime as ort

model, binary = sys.argv[1], sys.argv[2]
mean = np.array([float(t) for t in sys.argv[3].split(",")], np.float32).reshape(1, 3, 1, 1)
std = np.array([float(t) for t in sys.argv[4].split(",")], np.float32).reshape(1, 3, 1, 1)
records = np.fromfile(binary, np.uint8)
if records.size % 3073:
    sys.exit(f"error: {binary}: not a CIFAR-10 binary ({records.size} bytes)")
records = records.reshape(-1, 3073)
if len(sys.argv) > 5:
    records = records[:int(sys.argv[5])]
options = ort.SessionOptions()
options.inter_op_num_threads = 1
options.log_severity_level = 3
session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
name = session.get_inputs()[0].name
correct = 0
for first in range(0, len(records), 100):
    batch = records[first:first + 100]
    pixels = batch[:, 1:].reshape(-1, 3, 32, 32).astype(np.float32)
    x = ((pixels / np.float32(255)) - mean) / std  # float32 at every step, as qeval
    logits = session.run(None, {name: x})[0]
    correct += int((logits.argmax(1) == batch[:, 0]).sum())
print(f"top1 = {100 * correct / len(records):.2f} %  images = {len(records)}")
