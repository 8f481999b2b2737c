"""ImageNet-shaped torchvision models at 224x224 for latency runs where
trained files are not at hand (too large to commit or to carry to the device
machine): random initialization, exported FP32 and quantized by ONNX Runtime's
quantize_static (QDQ, u8 activations, per-channel s8 weights, MinMax on 8
random images) after ONNX Runtime's pre-processing. Good for timing, not for
accuracy. resnet50 by default; resnext50_32x4d and regnet_x_400mf bring
grouped convolutions (4 to 32 channels a group, 16 a group).
usage: python3 make_torchvision_models.py OUT_DIR [MODEL ...]"""
import os
import sys

import numpy as np
import onnxruntime.quantization as q
from onnxruntime.quantization.shape_inference import quant_pre_process
import torch
import torchvision


class Images(q.CalibrationDataReader):
    def __init__(self):
        rng = np.random.default_rng(0)
        self.batches = iter([{"input": rng.standard_normal((1, 3, 224, 224), dtype=np.float32)}
                             for _ in range(8)])

    def get_next(self):
        return next(self.batches, None)


def make(name, out):
    torch.manual_seed(0)
    model = getattr(torchvision.models, name)(weights=None).eval()
    exported = os.path.join(out, f"{name}.exported.onnx")
    torch.onnx.export(model, torch.randn(1, 3, 224, 224), exported, opset_version=13,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "N"}, "logits": {0: "N"}}, dynamo=False)
    # The exporter leaves the folded convs' biases as Constant nodes, which
    # quantize_static leaves in float, and ONNX Runtime then runs those convs
    # in float (ResNet-50 on the device machine, batch 1, one thread: 118 ms
    # against 26 ms on the pre-processed file): ONNX Runtime's own
    # pre-processing makes them initializers.
    fp32 = os.path.join(out, f"{name}.fp32.onnx")
    quant_pre_process(exported, fp32)
    os.remove(exported)
    q.quantize_static(fp32, os.path.join(out, f"{name}.ptq_u8s8.onnx"), Images(),
                      quant_format=q.QuantFormat.QDQ, per_channel=True,
                      activation_type=q.QuantType.QUInt8, weight_type=q.QuantType.QInt8)


out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for name in sys.argv[2:] or ["resnet50"]:
    make(name, out)
print("wrote", out)
