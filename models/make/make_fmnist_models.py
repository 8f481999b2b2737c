#!/usr/bin/env python3
"""Trains qdq's Fashion-MNIST CNNs and exports them the ways users do.

For each CIFAR-shaped model (resnet20, resnet18, mobilenetv2):
  <name>.fp32.onnx         plain FP32 (the exporter folds BN into Conv)
  <name>.qat.onnx          pytorch-quantization-style QAT: per-tensor symmetric
                           int8 fake-quant on every Conv/Linear input (max
                           calibration), per-output-channel symmetric weights
                           (fp32 initializer -> QuantizeLinear -> DequantizeLinear,
                           axis 0), BatchNormalization kept as its own node, and a
                           quantizer on the residual branch (TensorRT's advice)
  <name>.qat_noresq.onnx   (resnet20 only) the same without the residual quantizer
  <name>.ptq_u8s8.onnx     onnxruntime quantize_static, QDQ, per-channel s8 weights,
                           u8 asymmetric activations, MinMax
  <name>.ptq_s8s8.onnx     same, s8 symmetric activations, Percentile 99.999
and results.json with PyTorch and ONNX Runtime top-1 on the 10k test set.
resnet50 is the ImageNet-shaped latency model: torchvision's ResNet-50 (1000-way
head) trained briefly on the images upscaled to 224x224, exported as
resnet50.fp32.onnx and resnet50.ptq_u8s8.onnx only.

resnet50_undertrained is #8's calibration case: the same network with a 10-way
head, stopped early at a high constant learning rate (BatchNorm's running
statistics lag the weights, so some channels reach far beyond their usual
range), saved at several step counts; the one whose ORT MinMax PTQ loses the
most top-1 while FP32 stays >= 75 % is written as
resnet50_undertrained.fp32.onnx and .ptq_u8s8.onnx (MinMax on the 512
calibration images every calibrator here uses), all candidates in results.json.

Data: Fashion-MNIST IDX files (Debian's dataset-fashion-mnist) laid out like
CIFAR-10: 28x28 -> 32x32 with a 2-pixel zero pad, gray copied to RGB, normalized
with one mean/std for all channels (computed on the padded training set).

usage: make_fmnist_models.py --data DIR --out DIR [--models resnet20,resnet18,mobilenetv2,resnet50]
"""
import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

MEAN, STD = 0.2190, 0.3318  # padded Fashion-MNIST training set, pixels in [0, 1]
SEED = 20261123


def load_split(data_dir, prefix):
    with gzip.open(os.path.join(data_dir, f"{prefix}-images-idx3-ubyte.gz")) as f:
        images = np.frombuffer(f.read()[16:], dtype=np.uint8).reshape(-1, 28, 28)
    with gzip.open(os.path.join(data_dir, f"{prefix}-labels-idx1-ubyte.gz")) as f:
        labels = np.frombuffer(f.read()[8:], dtype=np.uint8)
    padded = np.zeros((len(images), 3, 32, 32), np.uint8)
    padded[:, :, 2:30, 2:30] = images[:, None]
    return padded, labels.astype(np.int64)


def normalize(u8):
    return (u8.astype(np.float32) / 255.0 - MEAN) / STD


# ---------------------------------------------------------------- fake quant
class TensorQuantizer(nn.Module):
    """Symmetric int8 fake quantization, as pytorch-quantization's TensorQuantizer:
    amax from max calibration, then fixed; straight-through gradients."""

    def __init__(self, per_channel_axis=None):
        super().__init__()
        self.axis = per_channel_axis
        self.register_buffer("amax", torch.tensor(0.0))
        self.enabled = False
        self.calibrating = False

    def forward(self, x):
        if self.calibrating:
            if self.axis is None:
                a = x.detach().abs().max()
            else:
                dims = [d for d in range(x.dim()) if d != self.axis]
                a = x.detach().abs().amax(dim=dims)
            self.amax = torch.maximum(self.amax, a) if self.amax.dim() == a.dim() else a
            return x
        if not self.enabled:
            return x
        scale = (self.amax.clamp(min=1e-8) / 127.0).float()
        if self.axis is None:
            return torch.fake_quantize_per_tensor_affine(x, scale.item(), 0, -128, 127)
        zero = torch.zeros_like(scale, dtype=torch.int32)
        return torch.fake_quantize_per_channel_affine(x, scale, zero, self.axis, -128, 127)


class QConv2d(nn.Conv2d):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.input_quantizer = TensorQuantizer()
        self.weight_quantizer = TensorQuantizer(per_channel_axis=0)

    def forward(self, x):
        return self._conv_forward(self.input_quantizer(x), self.weight_quantizer(self.weight), self.bias)


class QLinear(nn.Linear):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.input_quantizer = TensorQuantizer()
        self.weight_quantizer = TensorQuantizer(per_channel_axis=0)

    def forward(self, x):
        return F.linear(self.input_quantizer(x), self.weight_quantizer(self.weight), self.bias)


def quantizers(model):
    return [m for m in model.modules() if isinstance(m, TensorQuantizer)]


# ---------------------------------------------------------------- models
class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, residual_quantizer):
        super().__init__()
        self.conv1 = QConv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = QConv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = None
        if stride != 1 or cin != cout:  # option B: 1x1 projection
            self.shortcut = nn.Sequential(QConv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))
        self.residual_quantizer = TensorQuantizer() if residual_quantizer else None

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        identity = x if self.shortcut is None else self.shortcut(x)
        if self.residual_quantizer is not None:
            identity = self.residual_quantizer(identity)
        return F.relu(out + identity)


class CifarResNet(nn.Module):
    """He et al.'s CIFAR ResNet layout: a 3x3 stride-1 stem (no max-pool), stages
    of BasicBlocks (the first of each later stage strided), global pooling, FC."""

    def __init__(self, widths, blocks, residual_quantizer=True, num_classes=10):
        super().__init__()
        self.conv = QConv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn = nn.BatchNorm2d(widths[0])
        layers, cin = [], widths[0]
        for stage, cout in enumerate(widths):
            for i in range(blocks):
                layers.append(BasicBlock(cin, cout, 2 if stage > 0 and i == 0 else 1, residual_quantizer))
                cin = cout
        self.layers = nn.Sequential(*layers)
        self.fc = QLinear(cin, num_classes)

    def forward(self, x):
        x = F.relu(self.bn(self.conv(x)))
        x = self.layers(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


def ResNet20(**kwargs):
    return CifarResNet((16, 32, 64), 3, **kwargs)


def ResNet18(**kwargs):
    """CIFAR variant of ResNet-18: 64-128-256-512 channels, two blocks a stage."""
    return CifarResNet((64, 128, 256, 512), 2, **kwargs)


class InvertedResidual(nn.Module):
    def __init__(self, cin, cout, stride, expand, residual_quantizer):
        super().__init__()
        hidden = cin * expand
        layers = []
        if expand != 1:
            layers += [QConv2d(cin, hidden, 1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6()]
        layers += [QConv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden),
                   nn.ReLU6(), QConv2d(hidden, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*layers)
        self.use_residual = stride == 1 and cin == cout
        self.residual_quantizer = TensorQuantizer() if (residual_quantizer and self.use_residual) else None

    def forward(self, x):
        out = self.body(x)
        if not self.use_residual:
            return out
        identity = self.residual_quantizer(x) if self.residual_quantizer is not None else x
        return out + identity


class MobileNetV2(nn.Module):
    """CIFAR variant: stride-1 stem and first stages (32x32 input)."""
    CFG = [(1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]

    def __init__(self, residual_quantizer=True, num_classes=10):
        super().__init__()
        layers = [QConv2d(3, 32, 3, 1, 1, bias=False), nn.BatchNorm2d(32), nn.ReLU6()]
        cin = 32
        for t, c, n, s in self.CFG:
            for i in range(n):
                layers.append(InvertedResidual(cin, c, s if i == 0 else 1, t, residual_quantizer))
                cin = c
        layers += [QConv2d(cin, 1280, 1, bias=False), nn.BatchNorm2d(1280), nn.ReLU6()]
        self.features = nn.Sequential(*layers)
        self.fc = QLinear(1280, num_classes)

    def forward(self, x):
        x = self.features(x)
        x = F.adaptive_avg_pool2d(x, 1).flatten(1)
        return self.fc(x)


MODELS = {"resnet20": ResNet20, "resnet18": ResNet18, "mobilenetv2": MobileNetV2}
RECIPES = {"resnet20": dict(epochs=30, lr=0.1, wd=1e-4), "resnet18": dict(epochs=15, lr=0.1, wd=5e-4),
           "mobilenetv2": dict(epochs=20, lr=0.05, wd=4e-5)}


# ---------------------------------------------------------------- training
def augment(x):
    """Random 4-pixel-shift crop and horizontal flip, on the GPU."""
    n = x.shape[0]
    padded = F.pad(x, (4, 4, 4, 4), value=(0 - MEAN) / STD)
    dx = torch.randint(0, 9, (n,), device=x.device)
    dy = torch.randint(0, 9, (n,), device=x.device)
    idx = torch.arange(32, device=x.device)
    rows = (dy[:, None] + idx[None, :])[:, None, :, None].expand(n, 3, 32, 32)
    cols = (dx[:, None] + idx[None, :])[:, None, None, :].expand(n, 3, 32, 32)
    out = padded[torch.arange(n, device=x.device)[:, None, None, None], torch.arange(3, device=x.device)[None, :, None, None],
                 rows, cols]
    flip = torch.rand(n, device=x.device) < 0.5
    out[flip] = out[flip].flip(3)
    return out


def train(model, x, y, epochs, lr, wd, batch=256, log=None, amp=True):
    """SGD + one-cycle; bf16 autocast for FP32 training only (fake quant stays fp32)."""
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=wd, nesterov=True)
    steps = epochs * ((len(x) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), device=x.device)
        total = 0.0
        for i in range(0, len(x), batch):
            idx = perm[i:i + batch]
            with torch.autocast("cuda", dtype=torch.bfloat16, enabled=amp):
                loss = F.cross_entropy(model(augment(x[idx])), y[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
        if log:
            log(f"  epoch {epoch + 1}/{epochs} loss {total / len(x):.4f}")


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = 0
    for i in range(0, len(x), batch):
        correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return 100.0 * correct / len(x)


@torch.no_grad()
def calibrate(model, x, batches=8, batch=256):
    model.eval()
    for q in quantizers(model):
        q.calibrating, q.enabled = True, False
    for i in range(batches):
        model(x[i * batch:(i + 1) * batch])
    for q in quantizers(model):
        q.calibrating, q.enabled = False, True


def export(model, path, opset=13, size=32):
    model.eval().cpu()
    dummy = torch.randn(1, 3, size, size)
    torch.onnx.export(model, dummy, path, input_names=["input"], output_names=["logits"], opset_version=opset,
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, do_constant_folding=True,
                      dynamo=False)
    model.cuda()


def ort_top1(path, x_np, y_np, batch=500, prepare=lambda x: x):
    import onnxruntime as ort
    so = ort.SessionOptions()
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    correct = 0
    for i in range(0, len(x_np), batch):
        logits = sess.run(None, {"input": prepare(x_np[i:i + batch])})[0]
        correct += int((logits.argmax(1) == y_np[i:i + batch]).sum())
    return 100.0 * correct / len(x_np)


def upscale_224(x):
    """What qeval does to an ImageNet-style folder of these images with
    --resize=256 --crop=224: bilinear upscale (PIL's filter equals half-pixel
    bilinear when enlarging), then the center 224x224."""
    big = F.interpolate(x, size=(256, 256), mode="bilinear", align_corners=False)
    return big[:, :, 16:240, 16:240]


@torch.no_grad()
def top1_224(model, x_np, y_np, batch=250):
    """PyTorch top-1 of a 224x224 model on the 32x32 images, upscaled as qeval does."""
    model.eval()
    correct = 0
    for i in range(0, len(x_np), batch):
        x = upscale_224(torch.from_numpy(x_np[i:i + batch]).cuda())
        correct += (model(x).argmax(1).cpu() == torch.from_numpy(y_np[i:i + batch])).sum().item()
    return 100.0 * correct / len(x_np)


def make_resnet50(args, xtr, ytr, test_np, test_y, log):
    """ImageNet-shaped model for latency work: torchvision's ResNet-50 (1000-way
    head), trained briefly on the upscaled images; FP32 + ORT PTQ u8s8."""
    import torchvision
    t0 = time.time()
    torch.manual_seed(SEED)
    model = torchvision.models.resnet50(num_classes=1000).cuda().to(memory_format=torch.channels_last)
    epochs, batch = args.resnet50_epochs, 128
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-5, nesterov=True)
    steps = epochs * ((len(xtr) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=steps, pct_start=0.2)
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), device=xtr.device)
        for i in range(0, len(xtr), batch):
            idx = perm[i:i + batch]
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = F.cross_entropy(model(upscale_224(augment(xtr[idx]))), ytr[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
        log(f"  resnet50 epoch {epoch + 1}/{epochs} loss {loss.item():.4f} ({time.time() - t0:.0f}s)")
    model.eval()

    def prepare(x_np):
        return upscale_224(torch.from_numpy(x_np)).numpy()

    n = args.resnet50_eval
    r = {"recipe": {"epochs": epochs, "lr": 0.1, "wd": 5e-5, "batch": batch}, "eval_images": n,
         "torch_fp32": top1_224(model, test_np[:n], test_y[:n])}
    fp32 = os.path.join(args.out, "resnet50.fp32.onnx")
    export(model, fp32, size=224)
    r["ort_fp32"] = ort_top1(fp32, test_np[:n], test_y[:n], batch=100, prepare=prepare)
    path = os.path.join(args.out, "resnet50.ptq_u8s8.onnx")
    ptq(fp32, path, prepare(args.calib_np[:64]), "u8", "minmax")
    r["ort_ptq_u8s8"] = ort_top1(path, test_np[:n], test_y[:n], batch=100, prepare=prepare)
    r["seconds"] = round(time.time() - t0, 1)
    log(f"resnet50: {json.dumps(r)}")
    return r


def make_resnet50_undertrained(args, xtr, ytr, test_np, test_y, log):
    import copy

    import torchvision
    t0 = time.time()
    torch.manual_seed(SEED)
    model = torchvision.models.resnet50(num_classes=10).cuda().to(memory_format=torch.channels_last)
    batch, lr, warmup = 128, 0.1, 50
    snapshots = sorted(int(s) for s in args.undertrained_steps.split(","))
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=5e-5, nesterov=True)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: min(1.0, (step + 1) / warmup))
    n = args.resnet50_eval

    def prepare(x_np):
        return upscale_224(torch.from_numpy(x_np)).numpy()

    calib = prepare(args.calib_np)
    candidates, step = [], 0
    while step < snapshots[-1]:
        model.train()
        perm = torch.randperm(len(xtr), device=xtr.device)
        for i in range(0, len(xtr) - batch + 1, batch):
            idx = perm[i:i + batch]
            with torch.autocast("cuda", dtype=torch.bfloat16):
                loss = F.cross_entropy(model(upscale_224(augment(xtr[idx]))), ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            if step not in snapshots:
                continue
            snap = copy.deepcopy(model).eval()
            torch_fp32 = top1_224(snap, test_np[:n], test_y[:n])
            tag = f"step{step}"
            fp32 = os.path.join(args.out, f"resnet50_undertrained.{tag}.fp32.onnx")
            export(snap, fp32, size=224)
            ptq_path = os.path.join(args.out, f"resnet50_undertrained.{tag}.ptq_u8s8.onnx")
            ptq(fp32, ptq_path, calib, "u8", "minmax")
            r = {"steps": step, "loss": round(loss.item(), 4), "torch_fp32": torch_fp32,
                 "ort_fp32": ort_top1(fp32, test_np[:n], test_y[:n], batch=100, prepare=prepare),
                 "ort_ptq_u8s8_minmax": ort_top1(ptq_path, test_np[:n], test_y[:n], batch=100, prepare=prepare)}
            log(f"  resnet50_undertrained {tag}: {json.dumps(r)} ({time.time() - t0:.0f}s)")
            candidates.append((tag, r))
            if step >= snapshots[-1]:
                break
    usable = [c for c in candidates if c[1]["ort_fp32"] >= 75.0] or candidates
    tag, best = max(usable, key=lambda c: c[1]["ort_fp32"] - c[1]["ort_ptq_u8s8_minmax"])
    for kind in ("fp32", "ptq_u8s8"):
        os.replace(os.path.join(args.out, f"resnet50_undertrained.{tag}.{kind}.onnx"),
                   os.path.join(args.out, f"resnet50_undertrained.{kind}.onnx"))
    return {"recipe": {"batch": batch, "lr": lr, "warmup_steps": warmup, "wd": 5e-5, "momentum": 0.9,
                       "train_images": len(xtr)}, "eval_images": n, "calibration_images": len(calib),
            "chosen": tag, "candidates": dict(candidates), "seconds": round(time.time() - t0, 1)}


def ptq(fp32_path, out_path, calib_np, activation, method):
    from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                          quantize_static)

    class Reader(CalibrationDataReader):
        def __init__(self):
            self.items = iter([{"input": calib_np[i:i + 32]} for i in range(0, len(calib_np), 32)])

        def get_next(self):
            return next(self.items, None)

    extra = {"ActivationSymmetric": activation == "s8"}
    if method == "percentile":
        extra["CalibPercentile"] = 99.999
    quantize_static(fp32_path, out_path, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt8 if activation == "s8" else QuantType.QUInt8,
                    weight_type=QuantType.QInt8,
                    calibrate_method=CalibrationMethod.Percentile if method == "percentile" else CalibrationMethod.MinMax,
                    extra_options=extra)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--models", default="resnet20,mobilenetv2")
    ap.add_argument("--qat-epochs", type=int, default=2)
    ap.add_argument("--resnet50-epochs", type=int, default=2)
    ap.add_argument("--resnet50-eval", type=int, default=10000, help="test images ORT evaluates at 224x224")
    ap.add_argument("--undertrained-steps", default="150,250,350,470",
                    help="resnet50_undertrained: training steps (batch 128) at which candidates are saved")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    torch.manual_seed(SEED)
    np.random.seed(SEED)
    logf = open(os.path.join(args.out, "train.log"), "a")

    def log(msg):
        print(msg, flush=True)
        logf.write(msg + "\n")
        logf.flush()

    train_u8, train_y = load_split(args.data, "train")
    test_u8, test_y = load_split(args.data, "t10k")
    xtr = torch.from_numpy(normalize(train_u8)).cuda()
    ytr = torch.from_numpy(train_y).cuda()
    test_np = normalize(test_u8)
    xte = torch.from_numpy(test_np).cuda()
    yte = torch.from_numpy(test_y).cuda()
    calib_np = normalize(train_u8[:512])
    results_path = os.path.join(args.out, "results.json")
    results = json.load(open(results_path)) if os.path.exists(results_path) else {}

    args.calib_np = calib_np
    for name in args.models.split(","):
        if name in ("resnet50", "resnet50_undertrained"):
            make = make_resnet50 if name == "resnet50" else make_resnet50_undertrained
            results[name] = make(args, xtr, ytr, test_np, test_y, log)
            json.dump(results, open(results_path, "w"), indent=2)
            continue
        t0 = time.time()
        recipe = RECIPES[name]
        torch.manual_seed(SEED)
        model = MODELS[name]().cuda().to(memory_format=torch.channels_last)
        log(f"{name}: training FP32 {recipe}")
        train(model, xtr, ytr, log=log, **recipe)
        r = {"recipe": recipe, "torch_fp32": accuracy(model, xte, yte)}
        log(f"{name}: FP32 top-1 {r['torch_fp32']:.2f} ({time.time() - t0:.0f}s)")
        fp32 = os.path.join(args.out, f"{name}.fp32.onnx")
        export(model, fp32)
        r["ort_fp32"] = ort_top1(fp32, test_np, test_y)

        variants = [("qat", True)] + ([("qat_noresq", False)] if name == "resnet20" else [])
        for tag, with_residual in variants:
            qmodel = MODELS[name](residual_quantizer=with_residual).cuda()
            qmodel.load_state_dict(model.state_dict(), strict=False)
            calibrate(qmodel, xtr)
            r[f"torch_{tag}_calibrated"] = accuracy(qmodel, xte, yte)
            train(qmodel, xtr, ytr, epochs=args.qat_epochs, lr=recipe["lr"] * 0.01, wd=recipe["wd"], log=log,
                  amp=False)
            r[f"torch_{tag}"] = accuracy(qmodel, xte, yte)
            path = os.path.join(args.out, f"{name}.{tag}.onnx")
            export(qmodel, path)
            r[f"ort_{tag}"] = ort_top1(path, test_np, test_y)
            log(f"{name}: {tag} top-1 torch {r[f'torch_{tag}']:.2f} ort {r[f'ort_{tag}']:.2f}")

        for tag, act, method in [("ptq_u8s8", "u8", "minmax"), ("ptq_s8s8", "s8", "percentile")]:
            path = os.path.join(args.out, f"{name}.{tag}.onnx")
            ptq(fp32, path, calib_np, act, method)
            r[f"ort_{tag}"] = ort_top1(path, test_np, test_y)
            log(f"{name}: {tag} ort top-1 {r[f'ort_{tag}']:.2f}")
        r["seconds"] = round(time.time() - t0, 1)
        results[name] = r
        json.dump(results, open(results_path, "w"), indent=2)
        log(json.dumps(r))


if __name__ == "__main__":
    main()
