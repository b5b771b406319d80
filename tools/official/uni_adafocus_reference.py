"""A PyTorch reference of the official Uni-AdaFocus (LeapLabTHU/Uni-AdaFocus, the ActivityNet / FCVID
/ Mini-Kinetics code: models/uni_adafocus.py with its mobilenet_v2.py and resnet.py), written for
Saccade's equivalence tests from the official modules' structure and state-dict names, not copied.
The backbones are adafocus_v2_reference.py's (the same official files' names).

It builds the model with random weights and batch-norm statistics, saves it as the official
training script does (torch.save of {'state_dict': DataParallel's 'module.'-prefixed state dict}),
runs the official evaluation forward pass on random frames and writes what Saccade must reproduce:

  OUT/checkpoint.pth.tar   the checkpoint
  OUT/frames.bin           float32 frames, normalised, [B, T, S, S, 3] (channels last), in time order
  OUT/reference.json       sizes, and per video: the logits of every classifier (Tg glance steps,
                           then K focus steps), the glance frames, the temporal policy's weights, the
                           K chosen frames, the spatial policy's actions (centre y, x and size y, x in
                           [0, 1]) at the chosen frames, the glance logits; computed in float64 from the
                           saved float32 weights (the exact result), and how far PyTorch's own float32
                           forward pass is from it

The official network hard-codes patch sides from 96 to 224 px (`get_patch_grid_scalexy`) and a
4096-wide classifier; --side-min, --side-max and --classifier-width make them smaller for small
fixtures (the official values are the defaults of a full-size run: 96, 224, 4096). The glance frames
are arange(T)[1::T // Tg] as the official evaluation takes them (T // Tg >= 2).

/usr/bin/python3 tools/official/uni_adafocus_reference.py --out DIR [--frames 48 --glance-frames 16 ...]
(the committed fixture: --out packages/sdk/test/fixtures/official-uni --imagenet-classes 10, the other flags at their defaults)
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from adafocus_v2_reference import MobileNetV2, MultiLayerPerceptron, ResNet50, randomise  # noqa: E402


class SpatialPolicy(nn.Module):
    """3-D convolutions over the [C, Tg, h, w] stack of glance maps -> 4 sigmoids per glance frame."""

    def __init__(self, channels, hidden, glance_frames, cells):
        super().__init__()
        self.glance_frames = glance_frames
        self.encoder = nn.Sequential(
            nn.Conv3d(channels, hidden, (1, 1, 1), bias=False), nn.BatchNorm3d(hidden), nn.ReLU(),
            nn.Conv3d(hidden, hidden, (3, 3, 3), padding=1, bias=False), nn.BatchNorm3d(hidden), nn.ReLU(),
            nn.Conv3d(hidden, hidden, (3, 3, 3), padding=1, bias=False), nn.BatchNorm3d(hidden), nn.ReLU(),
            nn.Conv3d(hidden, 4, (1, cells, cells), bias=False), nn.Sigmoid())

    def forward(self, maps):
        nt, c, h, w = maps.shape
        x = maps.reshape(nt // self.glance_frames, self.glance_frames, c, h, w).permute(0, 2, 1, 3, 4)
        return self.encoder(x).flatten(2).permute(0, 2, 1).reshape(nt, 4)


class TemporalPolicy(nn.Module):
    """(3, 1) convolutions over the glance vectors in time -> one logit per glance frame; two softmaxes."""

    def __init__(self, channels, hidden, glance_frames, temperature):
        super().__init__()
        self.channels, self.glance_frames, self.temperature = channels, glance_frames, temperature
        self.Tconv = nn.Sequential(
            nn.Conv2d(channels, hidden, (3, 1), padding=(1, 0), bias=False), nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.Conv2d(hidden, hidden, (3, 1), padding=(1, 0), bias=False), nn.BatchNorm2d(hidden), nn.ReLU(),
            nn.Conv2d(hidden, 1, (1, 1), bias=False))

    def forward(self, vectors):
        x = vectors.reshape(-1, self.glance_frames, self.channels).permute(0, 2, 1).unsqueeze(-1)
        x = self.Tconv(x).flatten(1)
        return F.softmax(x, dim=1), F.softmax(x / self.temperature, dim=1)


class PoolingClassifier(nn.Module):
    """Running max over the glance embeddings (one head per glance step), then over the focus ones,
    each focus head on [its running max, the glance's final max]."""

    def __init__(self, gdim, ldim, glance_frames, focus_frames, classes, width):
        super().__init__()
        self.tg, self.k, self.classes = glance_frames, focus_frames, classes
        self.global_mlp = MultiLayerPerceptron(gdim, width)
        self.local_mlp = MultiLayerPerceptron(ldim, width)
        self.global_classifiers = nn.ModuleList([nn.Sequential(nn.Dropout(0.2), nn.Linear(width, classes)) for _ in range(glance_frames)])
        self.local_classifiers = nn.ModuleList([nn.Sequential(nn.Dropout(0.2), nn.Linear(2 * width, classes)) for _ in range(focus_frames)])

    def forward(self, g, l):
        b = g.size(0)
        z1 = self.global_mlp(g.reshape(b * self.tg, -1)).view(b, self.tg, -1)
        z2 = self.local_mlp(l.reshape(b * self.k, -1)).view(b, self.k, -1)
        logits = torch.zeros(b, self.tg + self.k, self.classes, dtype=g.dtype)
        cur1 = z1[:, 0]
        for i in range(self.tg):
            if i > 0:
                cur1 = torch.max(z1[:, i], cur1)
            logits[:, i] = self.global_classifiers[i](cur1)
        cur2 = z2[:, 0]
        for j in range(self.k):
            if j > 0:
                cur2 = torch.max(z2[:, j], cur2)
            logits[:, self.tg + j] = self.local_classifiers[j](torch.cat([cur2, cur1], dim=1))
        return logits


def patch_boxes(actions, side_min, side_max, image_size):
    """The official get_patch_grid_scalexy's box: side = side_min + a * (side_max - side_min) (96 and
    224 in the official code), corner = centre * (image - side)."""
    side = actions[:, 2:4] * (side_max - side_min) + side_min
    corner = actions[:, :2] * (image_size - side)
    return corner, side


def cut_patches(frames, actions, patch_size, image_size, side_min, side_max):
    n = frames.size(0)
    corner, side = patch_boxes(actions, side_min, side_max, image_size)
    x1, x2, y1, y2 = corner[:, 1], corner[:, 1] + side[:, 1], corner[:, 0], corner[:, 0] + side[:, 0]
    theta = torch.zeros(n, 2, 3, dtype=frames.dtype)
    theta[:, 0, 0], theta[:, 1, 1] = side[:, 1] / image_size, side[:, 0] / image_size
    theta[:, 0, 2], theta[:, 1, 2] = -1 + (x1 + x2) / image_size, -1 + (y1 + y2) / image_size
    grid = F.affine_grid(theta, torch.Size((n, frames.size(1), patch_size, patch_size)), align_corners=False)
    return F.grid_sample(frames, grid, align_corners=False)


def sample_indices(weights, frames, glance_frames, k):
    """The official policy_sample_indices at evaluation (stratum midpoints), per video, in float32."""
    b = weights.size(0)
    w = weights.float()
    cdf = torch.cat([torch.zeros(b, 1), w.cumsum(dim=1)], dim=1)
    cdf[:, -1] = 1.0
    y = ((torch.arange(k).float() + 0.5) / k).repeat(b, 1)
    first = (cdf.unsqueeze(2) >= y.unsqueeze(1)).float().max(dim=1)[1].clamp(1, glance_frames) - 1
    x1, x2 = first.float() / glance_frames, (first.float() + 1) / glance_frames
    y1, y2 = cdf.gather(1, first), cdf.gather(1, first + 1)
    q = (x2 * (y - y1) - x1 * (y - y2)) / (y2 - y1)
    idx = torch.floor(q * frames).long()
    for i in range(1, k):
        idx[:, i] = torch.where(idx[:, i] > idx[:, i - 1], idx[:, i], idx[:, i - 1] + 1)
    lim = (frames - k + torch.arange(k)).unsqueeze(0)
    return torch.where(idx > lim, lim, idx)


class UniAdaFocus(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.T, self.Tg, self.K, self.S, self.P = a.frames, a.glance_frames, a.focus_frames, a.frame_size, a.patch_size
        self.side_min, self.side_max = a.side_min, a.side_max
        self.global_CNN = MobileNetV2(a.glance_width, a.imagenet_classes)
        gdim = self.global_CNN.last_channel
        cells = int(math.ceil(a.frame_size / 32))
        self.global_CNN_fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(gdim, a.classes))
        self.aux_fc = nn.Linear(gdim, a.classes)
        self.local_CNN = ResNet50(a.focus_width, a.imagenet_classes)
        ldim = self.local_CNN.fc.in_features
        self.local_CNN_fc = nn.Sequential(nn.Dropout(0.2), nn.Linear(ldim, a.classes))
        self.spatial_policy = SpatialPolicy(gdim, a.spatial_hidden, a.glance_frames, cells)
        self.temporal_policy = TemporalPolicy(gdim, a.temporal_hidden, a.glance_frames, a.temperature)
        self.classifier = PoolingClassifier(gdim, ldim, a.glance_frames, a.focus_frames, a.classes, a.classifier_width)

    def forward(self, images):  # evaluation, as the official forward when not training
        b = images.size(0)
        glance = torch.arange(self.T)[1::self.T // self.Tg][: self.Tg]
        rows = (glance.repeat(b, 1) + torch.arange(b).unsqueeze(1) * self.T).view(-1)
        images = images.reshape(-1, 3, self.S, self.S)
        fmap, gfeat = self.global_CNN.get_featmap(images[rows])
        glogits = self.global_CNN_fc(gfeat)
        actions = self.spatial_policy(fmap).view(b, self.Tg, 4).permute(0, 2, 1)
        actions = F.interpolate(actions, self.T, mode='linear', align_corners=False).permute(0, 2, 1).reshape(-1, 4)
        weights, weights_t = self.temporal_policy(gfeat)
        focus = sample_indices(weights_t, self.T, self.Tg, self.K)
        focus_rows = (focus + torch.arange(b).unsqueeze(1) * self.T).view(-1)
        chosen = actions[focus_rows]
        patches = cut_patches(images[focus_rows], chosen, self.P, self.S, self.side_min, self.side_max)
        lfeat = self.local_CNN.get_featvec(patches)
        logits = self.classifier(gfeat.view(b, self.Tg, -1), lfeat.view(b, self.K, -1))
        return logits, glance, weights, focus, chosen.view(b, self.K, 4), glogits.view(b, self.Tg, -1), self.local_CNN_fc(lfeat).view(b, self.K, -1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True)
    p.add_argument('--frames', type=int, default=8)
    p.add_argument('--glance-frames', type=int, default=4)
    p.add_argument('--focus-frames', type=int, default=3)
    p.add_argument('--frame-size', type=int, default=64)
    p.add_argument('--patch-size', type=int, default=32)
    p.add_argument('--side-min', type=float, default=24)
    p.add_argument('--side-max', type=float, default=56)
    p.add_argument('--glance-width', type=float, default=0.25)
    p.add_argument('--focus-width', type=float, default=0.125)
    p.add_argument('--spatial-hidden', type=int, default=16)
    p.add_argument('--temporal-hidden', type=int, default=8)
    p.add_argument('--temperature', type=float, default=1.0)
    p.add_argument('--classifier-width', type=int, default=32)
    p.add_argument('--classes', type=int, default=5)
    p.add_argument('--videos', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    p.add_argument('--imagenet-classes', type=int, default=1000)
    a = p.parse_args()
    if a.frames // a.glance_frames < 2:
        p.error('the official evaluation takes glance frames arange(T)[1::T // Tg]: T must be at least 2 Tg')
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    gen = torch.Generator().manual_seed(a.seed)
    model = UniAdaFocus(a)
    randomise(model, gen)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv3d):
                m.weight.normal_(0, math.sqrt(2.0 / m.weight[0].numel()), generator=gen)
            elif isinstance(m, nn.BatchNorm3d):
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.2, 0.2, generator=gen)
                m.running_mean.uniform_(-0.2, 0.2, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
    model.eval()
    os.makedirs(a.out, exist_ok=True)
    state = {'module.' + k: v for k, v in model.state_dict().items()}
    torch.save({'epoch': 1, 'state_dict': state}, os.path.join(a.out, 'checkpoint.pth.tar'))
    frames = torch.randn(a.videos, a.frames, 3, a.frame_size, a.frame_size, generator=gen)
    with torch.no_grad():
        l32, _, w32, f32, c32, _, _ = model(frames)
        logits, glance, weights, focus, chosen, glogits, llogits = model.double()(frames.double())
    rel = lambda x, y: ((x.double() - y).abs().max() / y.abs().max()).item()
    frames.permute(0, 1, 3, 4, 2).contiguous().numpy().astype('<f4').tofile(os.path.join(a.out, 'frames.bin'))
    ref = {
        'videos': a.videos, 'frames': a.frames, 'glanceFrames': a.glance_frames, 'focusFrames': a.focus_frames,
        'frameSize': a.frame_size, 'patchSize': a.patch_size, 'sideMin': a.side_min, 'sideMax': a.side_max,
        'classes': a.classes, 'glanceWidth': a.glance_width, 'focusWidth': a.focus_width,
        'spatialHidden': a.spatial_hidden, 'temporalHidden': a.temporal_hidden, 'temperature': a.temperature,
        'classifierWidth': a.classifier_width, 'torch': torch.__version__,
        'torchFloat32Error': {'logits': rel(l32, logits), 'weights': rel(w32, weights), 'actions': rel(c32, chosen),
                              'focusFramesEqual': bool(torch.equal(f32, focus))},
        'logits': logits.tolist(),
        'glanceIndices': glance.tolist(),
        'weights': weights.tolist(),
        'focusIndices': focus.tolist(),
        'actions': chosen.tolist(),
        'glanceLogits': glogits.tolist(),
        'focusLogits': llogits.tolist(),
    }
    with open(os.path.join(a.out, 'reference.json'), 'w') as f:
        json.dump(ref, f)


if __name__ == '__main__':
    main()
