#!/usr/bin/env python3
"""qdq's real CIFAR-10 models: akamaster's pretrained ResNet-20/32 (BSD-2-Clause,
see models/cifar10/LICENSE.akamaster-resnet-cifar10), exported the ways users do.

For each of resnet20, resnet32:
  <name>.fp32.onnx            FP32 (BN folded by the exporter); option-A shortcuts
                              (x[:, :, ::2, ::2] zero-padded by planes/4 channels)
                              export as Slice + Pad
  <name>.qdq_calibrated.onnx  pytorch-quantization-style Q/DQ (per-tensor symmetric
                              int8 inputs, per-channel weights, BN kept, residual
                              quantizer), max-calibrated, NOT fine-tuned: there is no
                              CIFAR-10 training set here
  <name>.ptq_u8s8.onnx        onnxruntime quantize_static, QDQ, per-channel, u8 MinMax
  <name>.ptq_s8s8.onnx        the same, s8 symmetric, Percentile 99.999
Calibration uses 512 of the 10,000 test images (a fixed random subset, seed
below): the only CIFAR-10 images here. results.json holds top-1 on all 10,000
test images (PyTorch and ONNX Runtime) and on the 9,488 not used to calibrate.

Images: the JPEG test set (test/<class>/NNNN.jpg, sorted path order, class
folders in CIFAR-10 index order), decoded with PIL; preprocessing x/255, ImageNet
mean/std, as the checkpoints expect.

usage: make_cifar10_models.py --data DIR(with the .th files and the .tar.xz) --out DIR
"""
import argparse
import io
import json
import os
import tarfile

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from make_fmnist_models import TensorQuantizer, QConv2d, QLinear, calibrate, export, ort_top1, ptq

MEAN = np.array([0.485, 0.456, 0.406], np.float32)
STD = np.array([0.229, 0.224, 0.225], np.float32)
SEED = 20261123
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def load_images(tar_path):
    items = []
    with tarfile.open(tar_path) as tar:
        for m in tar.getmembers():
            if m.isfile() and m.name.endswith(".jpg"):
                items.append((m.name, tar.extractfile(m).read()))
    items.sort()
    images = np.stack([np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for _, b in items])
    labels = np.array([CLASSES.index(n.split("/")[-2]) for n, _ in items], np.int64)
    x = ((images.astype(np.float32) / 255.0 - MEAN) / STD).transpose(0, 3, 1, 2).copy()
    return x, labels


class OptionA(nn.Module):
    def __init__(self, planes):
        super().__init__()
        self.pad = planes // 4

    def forward(self, x):
        return F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, self.pad, self.pad), "constant", 0)


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride, quantized):
        super().__init__()
        Conv = QConv2d if quantized else nn.Conv2d
        self.conv1 = Conv(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = Conv(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = OptionA(planes) if stride != 1 or cin != planes else nn.Identity()
        self.residual_quantizer = TensorQuantizer() if quantized else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = self.shortcut(x)
        if self.residual_quantizer is not None:
            identity = self.residual_quantizer(identity)
        return F.relu(out + identity)


class ResNet(nn.Module):
    def __init__(self, depth, quantized=False):
        super().__init__()
        n = (depth - 2) // 6
        Conv = QConv2d if quantized else nn.Conv2d
        self.conv1 = Conv(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        cin = 16
        for i, (planes, stride) in enumerate([(16, 1), (32, 2), (64, 2)]):
            blocks = []
            for j in range(n):
                blocks.append(BasicBlock(cin, planes, stride if j == 0 else 1, quantized))
                cin = planes
            setattr(self, f"layer{i + 1}", nn.Sequential(*blocks))
        self.linear = (QLinear if quantized else nn.Linear)(64, 10)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layer3(self.layer2(self.layer1(out)))
        out = F.avg_pool2d(out, out.size()[3]).flatten(1)
        return self.linear(out)


@torch.no_grad()
def torch_top1(model, x, y):
    model.eval()
    correct = 0
    for i in range(0, len(x), 1000):
        correct += (model(torch.from_numpy(x[i:i + 1000]).cuda()).argmax(1).cpu().numpy() == y[i:i + 1000]).sum()
    return 100.0 * correct / len(x)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    x, y = load_images(os.path.join(args.data, "cifar10-test-jpg.tar.xz"))
    rng = np.random.default_rng(SEED)
    calib_idx = np.sort(rng.choice(len(x), 512, replace=False))
    held_out = np.setdiff1d(np.arange(len(x)), calib_idx)
    calib = x[calib_idx]
    results = {"calibration_images": calib_idx.tolist()[:8] + ["..."], "held_out_images": int(len(held_out))}
    for name, depth, ckpt in [("resnet20", 20, "resnet20-12fca82f.th"), ("resnet32", 32, "resnet32-d509ac18.th")]:
        state = torch.load(os.path.join(args.data, ckpt), map_location="cpu", weights_only=False)["state_dict"]
        state = {k.replace("module.", "", 1): v for k, v in state.items()}
        r = {}
        fp = ResNet(depth).cuda()
        fp.load_state_dict(state)
        r["torch_fp32"] = torch_top1(fp, x, y)
        path = os.path.join(args.out, f"{name}.fp32.onnx")
        export(fp, path)
        r["ort_fp32"] = ort_top1(path, x, y)
        r["ort_fp32_held_out"] = ort_top1(path, x[held_out], y[held_out])
        q = ResNet(depth, quantized=True).cuda()
        q.load_state_dict(state, strict=False)
        calibrate(q, torch.from_numpy(calib).cuda(), batches=2, batch=256)
        r["torch_qdq_calibrated"] = torch_top1(q, x, y)
        path = os.path.join(args.out, f"{name}.qdq_calibrated.onnx")
        export(q, path)
        r["ort_qdq_calibrated"] = ort_top1(path, x, y)
        r["ort_qdq_calibrated_held_out"] = ort_top1(path, x[held_out], y[held_out])
        for tag, act, method in [("ptq_u8s8", "u8", "minmax"), ("ptq_s8s8", "s8", "percentile")]:
            path = os.path.join(args.out, f"{name}.{tag}.onnx")
            ptq(os.path.join(args.out, f"{name}.fp32.onnx"), path, calib, act, method)
            r[f"ort_{tag}"] = ort_top1(path, x, y)
            r[f"ort_{tag}_held_out"] = ort_top1(path, x[held_out], y[held_out])
        results[name] = r
        print(name, json.dumps(r), flush=True)
    json.dump(results, open(os.path.join(args.out, "results.json"), "w"), indent=2)


if __name__ == "__main__":
    main()
