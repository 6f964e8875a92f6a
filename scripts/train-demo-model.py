#!/usr/bin/python3
# Long file: the model, its loss, the dataset reader, training, export and
# the random YOLOv8n-size network for benchmarks, one script to run.
"""train-demo-model.py: train BrightKitchen's demo detector on camsim renders.

Run it with Debian's Python (/usr/bin/python3, 3.11) and Debian's packages
python3-torch (1.13), python3-numpy and python3-onnx (1.12): a pyenv python3
earlier on PATH lacks them. scripts/train-demo-model.sh renders the data sets
and calls this script.

  /usr/bin/python3 scripts/train-demo-model.py --train DIR --val DIR \
      [--out models/demo/camsim-demo.onnx] [--epochs N] [--batch N] [--lr X] \
      [--seed N] [--threads N] [--max-minutes M] [--score 0.4] [--limit N]
  /usr/bin/python3 scripts/train-demo-model.py --random-yolov8n SIZE OUT.onnx   (SIZE: N or WxH)

Data set (bk-scenes dataset): DIR/frames.u8 holds N pictures, uint8 RGB
planes (3 x H x W each), letterboxed to the model input; DIR/labels.json is
{"width": W, "height": H, "classes": [...], "frames": [[[class, cx, cy, w,
h], ...], ...]}, boxes in model input pixels.

Model: a small anchor-free detector, CenterNet style. A conv backbone
(BatchNorm + ReLU, 16..96 channels) goes down to stride 32, an FPN-lite path
comes back up, and two levels predict: stride 8 (objects up to 64 px) and
stride 16 (larger: people). Each cell has C class logits, trained with the
penalty-reduced focal loss on a Gaussian around each object's centre cell,
and a box (centre offset in cells from the cell centre, log of w/stride and
h/stride), trained with L1 and GIoU on the cells near the centre.

Export (ONNX, opset 13, batch 1): input "images" float32 [1, 3, H, W], RGB,
0..1; output "output0" float32 [1, 4+C, N], YOLOv8's head: rows 0..3 are
cx, cy, w, h in input pixels (decoded in the graph), rows 4.. are sigmoid
class scores. N is the stride 8 cells, row by row, then the stride 16 cells
(H/8*W/8 + H/16*W/16: 1680 at 384x224). Beside the model, <model>.train.json
records the run: seed, frames, epochs, times, torch version, validation
precision and recall per class and the score threshold chosen per class.

--random-yolov8n SIZE OUT.onnx writes, untrained, a network of YOLOv8n's
shape (C2f blocks with SiLU, SPPF, PAN neck, decoupled DFL head; 80 classes,
about 3.2 M parameters and 8.7 GFLOPs at 640) in the same output format,
[1, 84, N] (N = 8400 at 640, 5040 at 640x384), for inference benchmarks only.
"""

import argparse
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

OPSET = 13
STRIDES = (8, 16)
BIG = 64.0  # objects whose longer side exceeds this go to stride 16
NMS_IOU = 0.45
MATCH_IOU = 0.5


# ---------------------------------------------------------------- data


class DataSet:
    """frames.u8 and labels.json of one directory."""

    def __init__(self, d, limit=0):
        with open(os.path.join(d, "labels.json")) as f:
            lab = json.load(f)
        self.w, self.h = int(lab["width"]), int(lab["height"])
        self.classes = list(lab["classes"])
        boxes = lab["frames"]
        path = os.path.join(d, "frames.u8")
        per = 3 * self.h * self.w
        n = os.path.getsize(path) // per
        if n * per != os.path.getsize(path):
            sys.exit(f"{path}: {os.path.getsize(path)} bytes is not a whole number of {per}-byte frames")
        if n != len(boxes):
            sys.exit(f"{d}: {n} frames in frames.u8 but {len(boxes)} in labels.json")
        if limit:
            n = min(n, limit)
        self.frames = np.fromfile(path, dtype=np.uint8, count=n * per).reshape(n, 3, self.h, self.w)
        self.boxes = [np.asarray(b, dtype=np.float32).reshape(-1, 5) for b in boxes[:n]]
        for b in self.boxes:
            if len(b) and (b[:, 0].min() < 0 or b[:, 0].max() >= len(self.classes)):
                sys.exit(f"{d}: class index out of range")

    def __len__(self):
        return len(self.frames)


def gaussian_targets(boxes_list, nc, w, h):
    """Per level: heat [B, C, gh, gw], box targets [B, 4, gh, gw] (dx, dy,
    log w/s, log h/s) and their weights [B, gh, gw]."""
    out = []
    bsz = len(boxes_list)
    for s in STRIDES:
        gh, gw = h // s, w // s
        heat = np.zeros((bsz, nc, gh, gw), np.float32)
        reg = np.zeros((bsz, 4, gh, gw), np.float32)
        wt = np.zeros((bsz, gh, gw), np.float32)
        out.append((s, heat, reg, wt))
    for i, boxes in enumerate(boxes_list):
        for c, cx, cy, bw, bh in boxes:
            bw, bh = max(bw, 1.0), max(bh, 1.0)
            level = 1 if max(bw, bh) > BIG else 0
            s, heat, reg, wt = out[level]
            gh, gw = heat.shape[2], heat.shape[3]
            ix = min(max(int(cx // s), 0), gw - 1)
            iy = min(max(int(cy // s), 0), gh - 1)
            sx, sy = max(0.4, 0.15 * bw / s), max(0.4, 0.15 * bh / s)
            rx, ry = int(math.ceil(3 * sx)), int(math.ceil(3 * sy))
            x0, x1 = max(ix - rx, 0), min(ix + rx + 1, gw)
            y0, y1 = max(iy - ry, 0), min(iy + ry + 1, gh)
            xs = np.arange(x0, x1, dtype=np.float32)
            ys = np.arange(y0, y1, dtype=np.float32)
            g = np.exp(-((xs[None, :] - ix) ** 2) / (2 * sx * sx) - ((ys[:, None] - iy) ** 2) / (2 * sy * sy))
            g[iy - y0, ix - x0] = 1.0
            hm = heat[i, int(c), y0:y1, x0:x1]
            np.maximum(hm, g, out=hm)
            # box targets where the Gaussian is high, the object nearest wins
            w_sub = wt[i, y0:y1, x0:x1]
            take = (g >= 0.3) & (g > w_sub)
            if not take.any():
                continue
            yy, xx = np.nonzero(take)
            cyi, cxi = yy + y0, xx + x0
            reg[i, 0, cyi, cxi] = cx / s - (cxi + 0.5)
            reg[i, 1, cyi, cxi] = cy / s - (cyi + 0.5)
            reg[i, 2, cyi, cxi] = math.log(bw / s)
            reg[i, 3, cyi, cxi] = math.log(bh / s)
            w_sub[take] = g[take]
    return out


def augment(x, boxes, rng, w):
    """x: float tensor [B, 3, H, W] in 0..1 (changed in place); boxes: list of
    arrays, flipped along with the pictures."""
    b = x.shape[0]
    contrast = torch.from_numpy(rng.uniform(0.6, 1.4, (b, 1, 1, 1)).astype(np.float32))
    bright = torch.from_numpy(rng.uniform(-0.15, 0.15, (b, 1, 1, 1)).astype(np.float32))
    tint = torch.from_numpy(rng.uniform(-0.04, 0.04, (b, 3, 1, 1)).astype(np.float32))
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x.sub_(mean).mul_(contrast).add_(mean + bright + tint)
    sigma = torch.from_numpy(rng.uniform(0.0, 0.03, (b, 1, 1, 1)).astype(np.float32))
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 62)))
    x.add_(torch.randn(x.shape, generator=gen) * sigma)
    x.clamp_(0, 1)
    out = []
    flip = rng.random(b) < 0.5
    for i in range(b):
        bx = boxes[i].copy()
        if flip[i]:
            x[i] = x[i].flip(-1)
            bx[:, 1] = w - bx[:, 1]
        out.append(bx)
    return x, out


# ---------------------------------------------------------------- model


def cbr(cin, cout, k=3, s=1):
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True))


class Res(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.a = cbr(c, c)
        self.b = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x):
        return F.relu(x + self.b(self.a(x)))


class Head(nn.Module):
    def __init__(self, c, nc):
        super().__init__()
        self.cls = nn.Sequential(cbr(c, c), nn.Conv2d(c, nc, 1))
        self.box = nn.Sequential(cbr(c, c), nn.Conv2d(c, 4, 1))
        nn.init.constant_(self.cls[-1].bias, -math.log(99.0))  # prior 0.01
        nn.init.zeros_(self.box[-1].weight)
        nn.init.zeros_(self.box[-1].bias)

    def forward(self, x):
        return self.box(x), self.cls(x)


class Net(nn.Module):
    """Backbone to stride 32, FPN-lite up to stride 8; heads at 8 and 16."""

    def __init__(self, nc):
        super().__init__()
        self.s2 = nn.Sequential(cbr(3, 16, 3, 2), cbr(16, 24, 3, 2), cbr(24, 24))
        self.s8 = nn.Sequential(cbr(24, 48, 3, 2), Res(48))
        self.s16 = nn.Sequential(cbr(48, 64, 3, 2), Res(64))
        self.s32 = nn.Sequential(cbr(64, 96, 3, 2), Res(96))
        self.lat32 = cbr(96, 64, 1)
        self.fuse16 = cbr(128, 64)
        self.lat16 = cbr(64, 32, 1)
        self.fuse8 = cbr(80, 48)
        self.head8 = Head(48, nc)
        self.head16 = Head(64, nc)

    def forward(self, x):
        c8 = self.s8(self.s2(x))
        c16 = self.s16(c8)
        c32 = self.s32(c16)
        p16 = self.fuse16(torch.cat([F.interpolate(self.lat32(c32), scale_factor=2.0, mode="nearest"), c16], 1))
        p8 = self.fuse8(torch.cat([F.interpolate(self.lat16(p16), scale_factor=2.0, mode="nearest"), c8], 1))
        return [self.head8(p8), self.head16(p16)]


class Decoded(nn.Module):
    """Net plus the decoding to YOLOv8's [B, 4+C, N] (what is exported)."""

    def __init__(self, net, w, h):
        super().__init__()
        self.net = net
        for s in STRIDES:
            gh, gw = h // s, w // s
            gy, gx = torch.meshgrid(torch.arange(gh, dtype=torch.float32), torch.arange(gw, dtype=torch.float32), indexing="ij")
            self.register_buffer(f"grid{s}", torch.stack([gx, gy]).reshape(1, 2, gh * gw) + 0.5)

    def forward(self, x):
        outs = []
        for s, (box, cls) in zip(STRIDES, self.net(x)):
            b = x.shape[0]
            box = box.reshape(b, 4, -1)
            cls = cls.reshape(b, cls.shape[1], -1)
            xy = (box[:, 0:2] + getattr(self, f"grid{s}")) * s
            wh = torch.exp(box[:, 2:4].clamp(-6.0, 6.0)) * s
            outs.append(torch.cat([xy, wh, torch.sigmoid(cls)], 1))
        return torch.cat(outs, 2)


def focal_loss(logits, heat):
    """CenterNet's penalty-reduced focal loss, summed (normalise outside)."""
    p = torch.sigmoid(logits)
    pos = heat.eq(1).float()
    logp = F.logsigmoid(logits)
    log1mp = F.logsigmoid(-logits)
    lpos = -((1 - p) ** 2) * logp * pos
    lneg = -((1 - heat) ** 4) * (p**2) * log1mp * (1 - pos)
    return lpos.sum() + lneg.sum(), pos.sum()


def giou(a, b):
    """a, b: [K, 4] as cx, cy, w, h; returns GIoU [K]."""
    ax0, ay0, ax1, ay1 = a[:, 0] - a[:, 2] / 2, a[:, 1] - a[:, 3] / 2, a[:, 0] + a[:, 2] / 2, a[:, 1] + a[:, 3] / 2
    bx0, by0, bx1, by1 = b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2
    iw = (torch.min(ax1, bx1) - torch.max(ax0, bx0)).clamp(min=0)
    ih = (torch.min(ay1, by1) - torch.max(ay0, by0)).clamp(min=0)
    inter = iw * ih
    union = a[:, 2] * a[:, 3] + b[:, 2] * b[:, 3] - inter + 1e-7
    cw = torch.max(ax1, bx1) - torch.min(ax0, bx0)
    ch = torch.max(ay1, by1) - torch.min(ay0, by0)
    hull = cw * ch + 1e-7
    return inter / union - (hull - union) / hull


def loss_fn(preds, targets):
    total_focal, npos = 0.0, 0.0
    l1_sum, giou_sum, wsum = 0.0, 0.0, 0.0
    for (box, cls), (s, heat, reg, wt) in zip(preds, targets):
        heat, reg, wt = torch.from_numpy(heat), torch.from_numpy(reg), torch.from_numpy(wt)
        fl, np_ = focal_loss(cls, heat)
        total_focal = total_focal + fl
        npos = npos + np_
        m = wt > 0
        if m.any():
            w = wt[m]
            pb = box.permute(0, 2, 3, 1)[m]  # [K, 4]
            tb = reg.permute(0, 2, 3, 1)[m]
            l1_sum = l1_sum + ((pb - tb).abs().sum(1) * w).sum()
            # boxes in cells, relative to the cell centre
            pd = torch.cat([pb[:, :2], torch.exp(pb[:, 2:].clamp(-6, 6))], 1)
            td = torch.cat([tb[:, :2], torch.exp(tb[:, 2:])], 1)
            giou_sum = giou_sum + ((1 - giou(pd, td)) * w).sum()
            wsum = wsum + w.sum()
    n = max(float(npos), 1.0)
    focal = total_focal / n
    wsum = max(float(wsum), 1.0)
    l1 = l1_sum / wsum
    gi = giou_sum / wsum
    return focal + l1 + 2.0 * gi, (float(focal), float(l1), float(gi))


# ---------------------------------------------------------------- evaluation


def nms(boxes, scores, iou):
    """boxes [K, 4] as x0, y0, x1, y1; returns kept indices, best first."""
    order = np.argsort(-scores, kind="stable")
    keep = []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order.size:
        i = order[0]
        keep.append(i)
        rest = order[1:]
        xx0 = np.maximum(boxes[i, 0], boxes[rest, 0])
        yy0 = np.maximum(boxes[i, 1], boxes[rest, 1])
        xx1 = np.minimum(boxes[i, 2], boxes[rest, 2])
        yy1 = np.minimum(boxes[i, 3], boxes[rest, 3])
        inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
        o = inter / (area[i] + area[rest] - inter + 1e-9)
        order = rest[o <= iou]
    return keep


def iou_matrix(a, b):
    xx0 = np.maximum(a[:, None, 0], b[None, :, 0])
    yy0 = np.maximum(a[:, None, 1], b[None, :, 1])
    xx1 = np.minimum(a[:, None, 2], b[None, :, 2])
    yy1 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(xx1 - xx0, 0, None) * np.clip(yy1 - yy0, 0, None)
    aa = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    bb = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / (aa[:, None] + bb[None, :] - inter + 1e-9)


def xyxy(cxcywh):
    cx, cy, w, h = cxcywh[:, 0], cxcywh[:, 1], cxcywh[:, 2], cxcywh[:, 3]
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], 1)


@torch.no_grad()
def predict(dec, ds, batch=32):
    """Yields the model's [4+C, N] output per frame, as numpy."""
    dec.eval()
    for i in range(0, len(ds), batch):
        x = torch.from_numpy(ds.frames[i : i + batch]).float().div_(255)
        y = dec(x).numpy()
        for o in y:
            yield o


def match_records(dec, ds, floor=0.05):
    """As the gateway decodes (argmax class per cell, its score, class-wise
    NMS), then greedy matching at IoU 0.5. Returns per class: array of
    (score, tp) and the number of labelled boxes."""
    nc = len(ds.classes)
    recs = [[] for _ in range(nc)]
    ngt = np.zeros(nc, np.int64)
    for out, gt in zip(predict(dec, ds), ds.boxes):
        scores = out[4:]
        best = scores.argmax(0)
        bs = scores[best, np.arange(scores.shape[1])]
        for c in range(nc):
            g = gt[gt[:, 0] == c]
            ngt[c] += len(g)
            sel = np.nonzero((best == c) & (bs >= floor))[0]
            if not len(sel):
                continue
            bx = xyxy(out[:4, sel].T)
            sc = bs[sel]
            keep = nms(bx, sc, NMS_IOU)
            bx, sc = bx[keep], sc[keep]
            tp = np.zeros(len(sc), bool)
            if len(g):
                ious = iou_matrix(bx, xyxy(g[:, 1:5]))
                used = np.zeros(len(g), bool)
                for k in range(len(sc)):  # sc is sorted best first
                    cand = np.where(used, -1.0, ious[k])
                    j = int(cand.argmax())
                    if cand[j] >= MATCH_IOU:
                        used[j] = True
                        tp[k] = True
            recs[c].extend(zip(sc.tolist(), tp.tolist()))
    return [np.asarray(r, np.float64).reshape(-1, 2) for r in recs], ngt


def pr_at(rec, ngt, t):
    sel = rec[rec[:, 0] >= t]
    tp = int(sel[:, 1].sum())
    fp = len(sel) - tp
    p = tp / (tp + fp) if tp + fp else 1.0
    r = tp / ngt if ngt else 1.0
    return p, r, tp, fp


def choose_thresholds(recs, ngt, default):
    """Per class, the threshold in 0.2..0.8 with the best F1 (the higher one
    on ties)."""
    out = []
    for rec, n in zip(recs, ngt):
        if n == 0:
            out.append(default)
            continue
        best, bt = -1.0, default
        for t in np.round(np.arange(0.20, 0.801, 0.05), 2):
            p, r, _, _ = pr_at(rec, n, t)
            f1 = 2 * p * r / (p + r) if p + r else 0.0
            if f1 >= best - 1e-9:
                best, bt = f1, float(t)
        out.append(bt)
    return out


def table(classes, recs, ngt, thresholds):
    rows = []
    print(f"{'class':<12} {'thr':>5} {'labels':>7} {'tp':>6} {'fp':>6} {'P':>6} {'R':>6}")
    for c, name in enumerate(classes):
        p, r, tp, fp = pr_at(recs[c], ngt[c], thresholds[c])
        print(f"{name:<12} {thresholds[c]:5.2f} {ngt[c]:7d} {tp:6d} {fp:6d} {p:6.3f} {r:6.3f}")
        rows.append({"class": name, "threshold": thresholds[c], "labels": int(ngt[c]), "tp": tp, "fp": fp,
                     "precision": round(p, 4), "recall": round(r, 4)})
    return rows


# ---------------------------------------------------------------- export


def export(module, path, h, w, names=("images", "output0")):
    module.eval()
    x = torch.zeros(1, 3, h, w)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    torch.onnx.export(module, x, tmp, opset_version=OPSET, input_names=[names[0]], output_names=[names[1]],
                      do_constant_folding=True)
    import onnx

    m = onnx.load(tmp)
    onnx.checker.check_model(m)
    inf = onnx.shape_inference.infer_shapes(m)
    out = inf.graph.output[0]
    dims = [d.dim_value for d in out.type.tensor_type.shape.dim]
    ins = [d.dim_value for d in inf.graph.input[0].type.tensor_type.shape.dim]
    os.replace(tmp, path)
    return ins, dims, sorted({n.op_type for n in m.graph.node})


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---------------------------------------------------------------- YOLOv8n


class Conv(nn.Module):
    def __init__(self, c1, c2, k=1, s=1):
        super().__init__()
        self.conv = nn.Conv2d(c1, c2, k, s, k // 2, bias=False)
        self.bn = nn.BatchNorm2d(c2, eps=1e-3, momentum=0.03)
        self.act = nn.SiLU()

    def forward(self, x):
        return self.act(self.bn(self.conv(x)))


class Bottleneck(nn.Module):
    def __init__(self, c1, c2, shortcut=True):
        super().__init__()
        self.cv1, self.cv2 = Conv(c1, c2, 3), Conv(c2, c2, 3)
        self.add = shortcut and c1 == c2

    def forward(self, x):
        y = self.cv2(self.cv1(x))
        return x + y if self.add else y


class C2f(nn.Module):
    def __init__(self, c1, c2, n=1, shortcut=False):
        super().__init__()
        self.c = c2 // 2
        self.cv1 = Conv(c1, 2 * self.c, 1)
        self.cv2 = Conv((2 + n) * self.c, c2, 1)
        self.m = nn.ModuleList(Bottleneck(self.c, self.c, shortcut) for _ in range(n))

    def forward(self, x):
        y = list(self.cv1(x).split((self.c, self.c), 1))
        for m in self.m:
            y.append(m(y[-1]))
        return self.cv2(torch.cat(y, 1))


class SPPF(nn.Module):
    def __init__(self, c1, c2, k=5):
        super().__init__()
        c_ = c1 // 2
        self.cv1, self.cv2 = Conv(c1, c_, 1), Conv(c_ * 4, c2, 1)
        self.m = nn.MaxPool2d(k, 1, k // 2)

    def forward(self, x):
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        return self.cv2(torch.cat([x, y1, y2, self.m(y2)], 1))


class YOLOv8n(nn.Module):
    """YOLOv8n's layers (width 0.25, depth 0.33), exported at a fixed size."""

    def __init__(self, w, h, nc=80, reg_max=16):
        super().__init__()
        self.b0, self.b1 = Conv(3, 16, 3, 2), Conv(16, 32, 3, 2)
        self.b2, self.b3 = C2f(32, 32, 1, True), Conv(32, 64, 3, 2)
        self.b4, self.b5 = C2f(64, 64, 2, True), Conv(64, 128, 3, 2)
        self.b6, self.b7 = C2f(128, 128, 2, True), Conv(128, 256, 3, 2)
        self.b8, self.b9 = C2f(256, 256, 1, True), SPPF(256, 256)
        self.up = nn.Upsample(scale_factor=2.0, mode="nearest")
        self.h12 = C2f(384, 128)
        self.h15 = C2f(192, 64)
        self.h16 = Conv(64, 64, 3, 2)
        self.h18 = C2f(192, 128)
        self.h19 = Conv(128, 128, 3, 2)
        self.h21 = C2f(384, 256)
        ch = (64, 128, 256)
        c2, c3 = max(16, ch[0] // 4, reg_max * 4), max(ch[0], min(nc, 100))
        self.cv2 = nn.ModuleList(nn.Sequential(Conv(x, c2, 3), Conv(c2, c2, 3), nn.Conv2d(c2, 4 * reg_max, 1)) for x in ch)
        self.cv3 = nn.ModuleList(nn.Sequential(Conv(x, c3, 3), Conv(c3, c3, 3), nn.Conv2d(c3, nc, 1)) for x in ch)
        self.dfl = nn.Conv2d(reg_max, 1, 1, bias=False).requires_grad_(False)
        self.dfl.weight.data[:] = torch.arange(reg_max, dtype=torch.float32).view(1, reg_max, 1, 1)
        self.nc, self.reg_max = nc, reg_max
        anchors, strides = [], []
        for s in (8, 16, 32):
            gw, gh = w // s, h // s
            gy, gx = torch.meshgrid(torch.arange(gh, dtype=torch.float32) + 0.5, torch.arange(gw, dtype=torch.float32) + 0.5, indexing="ij")
            anchors.append(torch.stack([gx, gy]).reshape(2, -1))
            strides.append(torch.full((1, gw * gh), float(s)))
        self.register_buffer("anchors", torch.cat(anchors, 1).unsqueeze(0))
        self.register_buffer("strides", torch.cat(strides, 1).unsqueeze(0))

    def forward(self, x):
        x = self.b1(self.b0(x))
        p3 = self.b4(self.b3(self.b2(x)))
        p4 = self.b6(self.b5(p3))
        p5 = self.b9(self.b8(self.b7(p4)))
        h12 = self.h12(torch.cat([self.up(p5), p4], 1))
        h15 = self.h15(torch.cat([self.up(h12), p3], 1))
        h18 = self.h18(torch.cat([self.h16(h15), h12], 1))
        h21 = self.h21(torch.cat([self.h19(h18), p5], 1))
        b = x.shape[0]
        feats = [torch.cat([self.cv2[i](f), self.cv3[i](f)], 1).view(b, 4 * self.reg_max + self.nc, -1)
                 for i, f in enumerate((h15, h18, h21))]
        y = torch.cat(feats, 2)
        box, cls = y.split((4 * self.reg_max, self.nc), 1)
        a = box.shape[2]
        dist = self.dfl(box.view(b, 4, self.reg_max, a).transpose(2, 1).softmax(1)).view(b, 4, a)
        lt, rb = dist.chunk(2, 1)
        x1y1, x2y2 = self.anchors - lt, self.anchors + rb
        xywh = torch.cat([(x1y1 + x2y2) / 2, x2y2 - x1y1], 1) * self.strides
        return torch.cat([xywh, cls.sigmoid()], 1)


def conv_macs(model, x):
    total = [0]

    def hook(m, inp, out):
        total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    hs = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model(x)
    for h in hs:
        h.remove()
    return total[0]


def random_yolov8n(size, out, seed):
    w, _, h = size.partition("x")
    try:
        w, h = int(w), int(h or w)
    except ValueError:
        sys.exit(f"--random-yolov8n: SIZE {size!r} is not N or WxH")
    if w % 32 or h % 32 or w < 64 or h < 64:
        sys.exit("--random-yolov8n: width and height must be multiples of 32, at least 64")
    torch.manual_seed(seed)
    m = YOLOv8n(w, h).eval()
    params = sum(p.numel() for p in m.parameters())
    macs = conv_macs(m, torch.zeros(1, 3, h, w))
    ins, dims, ops = export(m, out, h, w)
    print(f"yolov8n-like, random weights: {params} parameters ({params / 1e6:.2f} M), "
          f"{2 * macs / 1e9:.2f} GFLOPs at {w}x{h}")
    print(f"{out}: input images {ins}, output output0 {dims}, {os.path.getsize(out)} bytes, sha256 {sha256(out)}")
    print("ops:", " ".join(ops))


# ---------------------------------------------------------------- training


def train(args):
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    rng = np.random.default_rng(args.seed)
    torch.set_num_threads(args.threads)
    t_start = time.time()
    tr = DataSet(args.train, args.limit)
    va = DataSet(args.val)
    if (va.w, va.h, va.classes) != (tr.w, tr.h, tr.classes):
        sys.exit("train and val sets differ in size or classes")
    for s in (32,):
        if tr.w % s or tr.h % s:
            sys.exit(f"model input {tr.w}x{tr.h}: want multiples of {s}")
    nc = len(tr.classes)
    print(f"train {args.train}: {len(tr)} frames {tr.w}x{tr.h}; val {args.val}: {len(va)} frames; "
          f"{nc} classes; torch {torch.__version__}, {args.threads} threads", flush=True)
    net = Net(nc)
    print(f"model: {sum(p.numel() for p in net.parameters())} parameters, "
          f"{2 * conv_macs(net.eval(), torch.zeros(1, 3, tr.h, tr.w)) / 1e9:.3f} GFLOPs per frame", flush=True)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.wd)
    steps_per_epoch = len(tr) // args.batch
    total = steps_per_epoch * args.epochs
    warm = min(200, total // 10)

    def lr_at(step):
        if step < warm:
            return args.lr * (step + 1) / warm
        q = (step - warm) / max(1, total - warm)
        return args.lr * (0.02 + 0.98 * 0.5 * (1 + math.cos(math.pi * q)))

    step = 0
    epochs_done = 0
    t_train = time.time()
    for ep in range(args.epochs):
        net.train()
        t0 = time.time()
        perm = rng.permutation(len(tr))
        sums = np.zeros(4)
        for k in range(steps_per_epoch):
            idx = np.sort(perm[k * args.batch : (k + 1) * args.batch])
            x = torch.from_numpy(tr.frames[idx]).float().div_(255)
            x, boxes = augment(x, [tr.boxes[i] for i in idx], rng, tr.w)
            targets = gaussian_targets(boxes, nc, tr.w, tr.h)
            for g in opt.param_groups:
                g["lr"] = lr_at(step)
            loss, parts = loss_fn(net(x), targets)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(net.parameters(), 10.0)
            opt.step()
            step += 1
            sums += (float(loss), *parts)
        epochs_done = ep + 1
        m = sums / max(1, steps_per_epoch)
        print(f"epoch {ep + 1}/{args.epochs}: {time.time() - t0:.1f} s, loss {m[0]:.4f} "
              f"(focal {m[1]:.4f}, l1 {m[2]:.4f}, giou {m[3]:.4f}), lr {lr_at(step - 1):.2e}", flush=True)
        if args.max_minutes and time.time() - t_train > 60 * args.max_minutes:
            print(f"stopping after {epochs_done} epochs: --max-minutes {args.max_minutes} reached", flush=True)
            break
    train_secs = time.time() - t_train

    dec = Decoded(net, tr.w, tr.h).eval()
    # thresholds from (part of) the training set, without augmentation
    sub = DataSet(args.train, min(len(tr), args.threshold_frames))
    recs, ngt = match_records(dec, sub)
    thresholds = choose_thresholds(recs, ngt, args.score)
    vrecs, vngt = match_records(dec, va)
    print(f"\nvalidation ({len(va)} frames), score >= {args.score}, NMS IoU {NMS_IOU}, match IoU {MATCH_IOU}:")
    fixed = table(tr.classes, vrecs, vngt, [args.score] * nc)
    print(f"\nvalidation, per-class thresholds chosen on {len(sub)} training frames (best F1 in 0.2..0.8):")
    chosen = table(tr.classes, vrecs, vngt, thresholds)

    ins, dims, ops = export(dec, args.out, tr.h, tr.w)
    # the exported graph against torch, on a validation frame
    check = onnx_vs_torch(dec, args.out, va.frames[:1])
    digest = sha256(args.out)
    info = {
        "model": os.path.basename(args.out),
        "sha256": digest,
        "bytes": os.path.getsize(args.out),
        "seed": args.seed,
        "train_dir": os.path.abspath(args.train),
        "val_dir": os.path.abspath(args.val),
        "train_frames": len(tr),
        "val_frames": len(va),
        "epochs": epochs_done,
        "batch": args.batch,
        "lr": args.lr,
        "train_seconds": round(train_secs, 1),
        "wall_seconds": round(time.time() - t_start, 1),
        "torch": torch.__version__,
        "threads": args.threads,
        "input": {"name": "images", "shape": ins, "color": "rgb", "scale": "0..1"},
        "output": {"name": "output0", "shape": dims, "format": "yolov8", "strides": list(STRIDES)},
        "classes": tr.classes,
        "score_thresholds": dict(zip(tr.classes, thresholds)),
        "nms_iou": NMS_IOU,
        "match_iou": MATCH_IOU,
        "val_at_score": {"score": args.score, "classes": fixed},
        "val_at_thresholds": chosen,
        "onnx_check": check,
    }
    with open(args.out + ".train.json", "w") as f:
        json.dump(info, f, indent=1)
        f.write("\n")
    print(f"\n{args.out}: input images {ins}, output output0 {dims}, {info['bytes']} bytes; ops: {' '.join(ops)}")
    print(f"onnx vs torch: {check}")
    print(f"training {train_secs:.0f} s ({epochs_done} epochs), wall {info['wall_seconds']:.0f} s")
    print(f"wrote {args.out}.train.json")
    print(f"sha256 {digest}  {args.out}")


# ---------------------------------------------------------------- checking


def onnx_vs_torch(module, path, frame_u8):
    """Runs the exported graph with a small numpy interpreter (onnxruntime's
    Python package is not in Debian) and compares with torch."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    x = frame_u8.astype(np.float32) / 255
    with torch.no_grad():
        want = module.eval()(torch.from_numpy(x)).numpy()
    try:
        got = run_onnx_numpy(m, {m.graph.input[0].name: x})[m.graph.output[0].name]
    except NotImplementedError as e:
        return f"skipped ({e})"
    box = np.abs(got[:, :4] - want[:, :4]).max()
    score = np.abs(got[:, 4:] - want[:, 4:]).max()
    if got.shape != want.shape or box > 1e-2 or score > 1e-3:
        sys.exit(f"exported model differs from torch: shapes {got.shape} {want.shape}, max |d box| {box}, |d score| {score}")
    return f"ok, max |diff| boxes {box:.2e} px, scores {score:.2e}"


def _attrs(node):
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _conv(x, w, b, strides, pads, group):
    n, c, h, wd = x.shape
    co, ci, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[2]), (pads[1], pads[3])))
    oh = (xp.shape[2] - kh) // strides[0] + 1
    ow = (xp.shape[3] - kw) // strides[1] + 1
    out = np.zeros((n, co, oh, ow), np.float32)
    cg, og = c // group, co // group
    for g in range(group):
        cols = np.empty((n, cg, kh, kw, oh, ow), np.float32)
        for i in range(kh):
            for j in range(kw):
                cols[:, :, i, j] = xp[:, g * cg : (g + 1) * cg, i : i + strides[0] * oh : strides[0], j : j + strides[1] * ow : strides[1]]
        wg = w[g * og : (g + 1) * og].reshape(og, -1)
        out[:, g * og : (g + 1) * og] = np.einsum("ok,nkp->nop", wg, cols.reshape(n, cg * kh * kw, oh * ow)).reshape(n, og, oh, ow)
    if b is not None:
        out += b.reshape(1, -1, 1, 1)
    return out


def run_onnx_numpy(model, feeds):
    from onnx import numpy_helper

    env = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    env.update(feeds)
    for node in model.graph.node:
        a = _attrs(node)
        i = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op == "Conv":
            k = i[1].shape[2:]
            pads = a.get("pads", [0, 0, 0, 0])
            r = [_conv(i[0], i[1], i[2] if len(i) > 2 else None, a.get("strides", [1, 1]), pads, a.get("group", 1))]
        elif op == "Relu":
            r = [np.maximum(i[0], 0)]
        elif op == "Sigmoid":
            r = [1 / (1 + np.exp(-i[0]))]
        elif op == "Exp":
            r = [np.exp(i[0])]
        elif op in ("Add", "Sub", "Mul", "Div"):
            f = {"Add": np.add, "Sub": np.subtract, "Mul": np.multiply, "Div": np.divide}[op]
            r = [f(i[0], i[1]).astype(np.float32)]
        elif op == "Concat":
            r = [np.concatenate(i, a["axis"])]
        elif op == "Reshape":
            shape = [d if d != 0 else i[0].shape[k] for k, d in enumerate(i[1].tolist())]
            r = [i[0].reshape(shape)]
        elif op == "Constant":
            r = [numpy_helper.to_array(a["value"])]
        elif op == "Clip":
            lo = i[1] if len(i) > 1 and i[1] is not None else -np.inf
            hi = i[2] if len(i) > 2 and i[2] is not None else np.inf
            r = [np.clip(i[0], lo, hi)]
        elif op == "Slice":
            starts, ends = i[1], i[2]
            axes = i[3] if len(i) > 3 and i[3] is not None else range(len(starts))
            steps = i[4] if len(i) > 4 and i[4] is not None else [1] * len(starts)
            sl = [slice(None)] * i[0].ndim
            for s, e, ax, st in zip(starts, ends, axes, steps):
                sl[int(ax)] = slice(int(s), int(e), int(st))
            r = [i[0][tuple(sl)]]
        elif op == "Resize":
            scales = i[2] if len(i) > 2 and i[2] is not None and i[2].size else None
            if a.get("mode", b"nearest") not in (b"nearest", "nearest") or scales is None:
                raise NotImplementedError(f"Resize {a}")
            y = i[0]
            for ax, sc in enumerate(scales):
                if sc != 1:
                    y = np.repeat(y, int(sc), axis=ax)
            r = [y]
        elif op == "Shape":
            r = [np.array(i[0].shape, np.int64)]
        elif op == "Gather":
            r = [np.take(i[0], i[1], axis=a.get("axis", 0))]
        elif op == "Unsqueeze":
            y = i[0]
            for ax in sorted(int(v) for v in i[1]):
                y = np.expand_dims(y, ax)
            r = [y]
        else:
            raise NotImplementedError(f"op {op}")
        for n, v in zip(node.output, r):
            env[n] = v
    return env


# ---------------------------------------------------------------- main


def main():
    ap = argparse.ArgumentParser(description="Train BrightKitchen's demo detector on bk-scenes data sets (run with /usr/bin/python3).")
    ap.add_argument("--train", help="training set directory (frames.u8, labels.json)")
    ap.add_argument("--val", help="validation set directory")
    ap.add_argument("--out", default="models/demo/camsim-demo.onnx", help="output model (default %(default)s)")
    ap.add_argument("--epochs", type=int, default=8, help="epochs (default %(default)s)")
    ap.add_argument("--batch", type=int, default=16, help="batch size (default %(default)s)")
    ap.add_argument("--lr", type=float, default=3e-3, help="peak learning rate, AdamW (default %(default)s)")
    ap.add_argument("--wd", type=float, default=1e-4, help="weight decay (default %(default)s)")
    ap.add_argument("--seed", type=int, default=1, help="seed of weights, order and augmentation (default %(default)s)")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (default %(default)s)")
    ap.add_argument("--max-minutes", type=float, default=0, help="stop after the epoch that passes this much training time (default: no limit)")
    ap.add_argument("--score", type=float, default=0.4, help="score threshold of the fixed-threshold table (default %(default)s)")
    ap.add_argument("--threshold-frames", type=int, default=600, help="training frames used to choose per-class thresholds (default %(default)s)")
    ap.add_argument("--limit", type=int, default=0, help="use only the first N training frames (default: all)")
    ap.add_argument("--random-yolov8n", nargs=2, metavar=("SIZE", "OUT.onnx"),
                    help="write an untrained YOLOv8n-sized network at SIZE (N for NxN, or WxH; 80 classes) and exit")
    args = ap.parse_args()
    if args.random_yolov8n:
        torch.set_num_threads(args.threads)
        random_yolov8n(args.random_yolov8n[0], args.random_yolov8n[1], args.seed)
        return
    if not args.train or not args.val:
        ap.error("--train and --val are required (or --random-yolov8n)")
    train(args)


if __name__ == "__main__":
    main()
