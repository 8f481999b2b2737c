"""ResNet-50 at 224x224 for latency runs where the trained files of
models/make are not at hand (they are too large to commit or to carry to the
device machine): torchvision's ResNet-50, random initialization, exported FP32
and quantized by ONNX Runtime's quantize_static (QDQ, u8 activations, per-channel
s8 weights, MinMax on 8 random images). Good for timing, not for accuracy.
usage: python3 make_resnet50.py OUT_DIR"""
import os
import sys

import numpy as np
import onnxruntime.quantization as q
import torch
import torchvision

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
torch.manual_seed(0)
model = torchvision.models.resnet50(weights=None).eval()
fp32 = os.path.join(out, "resnet50.fp32.onnx")
torch.onnx.export(model, torch.randn(1, 3, 224, 224), fp32, opset_version=13, input_names=["input"],
                  output_names=["logits"], dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}},
                  dynamo=False)


class Images(q.CalibrationDataReader):
    def __init__(self):
        rng = np.random.default_rng(0)
        self.batches = iter([{"input": rng.standard_normal((1, 3, 224, 224), dtype=np.float32)}
                             for _ in range(8)])

    def get_next(self):
        return next(self.batches, None)


q.quantize_static(fp32, os.path.join(out, "resnet50.ptq_u8s8.onnx"), Images(),
                  quant_format=q.QuantFormat.QDQ, per_channel=True,
                  activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8)
print("wrote", out)
