"""A PyTorch reference of the official AdaFocusV2 (LeapLabTHU/AdaFocusV2, the ActivityNet / FCVID /
Mini-Kinetics code: models/adafocus_v2.py with its mobilenet_v2.py and resnet.py), written for
Saccade's equivalence tests from the official modules' structure and state-dict names, not copied.

It builds the model with random weights (and random batch-norm statistics, so that evaluation-mode
batch norm matters), saves it as the official training script does (torch.save of
{'state_dict': DataParallel's 'module.'-prefixed state dict}), runs the official evaluation forward
pass on random frames and writes what Saccade must reproduce:

  OUT/checkpoint.pth.tar   the checkpoint
  OUT/frames.bin           float32 frames, normalised, [B, T, S, S, 3] (channels last, as Saccade reads them),
                           in time order (the model sees them in the official coarse-to-fine order)
  OUT/reference.json       sizes, and per video and step: the classifier's logits, the policy's
                           action (y, x) in [0, 1], the glance and focus heads' logits, computed
                           in float64 from the saved float32 weights (the exact result), and how
                           far PyTorch's own float32 forward pass is from it

Widths: the official code always uses MobileNetV2 x1.0 and ResNet-50; smaller widths (for small
fixtures) scale the channels by Saccade's rules (@saccade/backbones: every MobileNetV2 stage
make_divisible(c * w, 8), the last conv 1280; ResNet stage widths round(c * w)), which equal the
official ones at width 1.

/usr/bin/python3 tools/official/adafocus_v2_reference.py --out DIR [--frame-size 224 --patch-size 96 ...]
(the committed fixture: --out packages/sdk/test/fixtures/official-v2 --imagenet-classes 10, the other flags at their defaults)
"""
import argparse
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F


def make_divisible(v, divisor=8):
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


# --- MobileNetV2 as the official mobilenet_v2.py names it (features.N.conv.K) ---------------------

def conv_bn(inp, oup, stride):
    return nn.Sequential(nn.Conv2d(inp, oup, 3, stride, 1, bias=False), nn.BatchNorm2d(oup), nn.ReLU6(inplace=True))


def conv_1x1_bn(inp, oup):
    return nn.Sequential(nn.Conv2d(inp, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        if expand_ratio == 1:
            self.conv = nn.Sequential(
                nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup))
        else:
            self.conv = nn.Sequential(
                nn.Conv2d(inp, hidden, 1, 1, 0, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, hidden, 3, stride, 1, groups=hidden, bias=False), nn.BatchNorm2d(hidden), nn.ReLU6(inplace=True),
                nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup))

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, width=1.0, n_class=1000):
        super().__init__()
        settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]
        channels = make_divisible(32 * width)
        self.last_channel = make_divisible(1280 * max(1.0, width))
        features = [conv_bn(3, channels, 2)]
        for t, c, n, s in settings:
            out = make_divisible(c * width)
            for i in range(n):
                features.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        features.append(conv_1x1_bn(channels, self.last_channel))
        self.features = nn.Sequential(*features)
        self.classifier = nn.Linear(self.last_channel, n_class)  # ImageNet head: in the state dict, unused by AdaFocus

    def get_featmap(self, x):
        x = self.features(x)
        return x, x.mean([2, 3])


# --- ResNet-50 as torchvision (and the official resnet.py) names it ---------------------------------

class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50(nn.Module):
    def __init__(self, width=1.0, n_class=1000):
        super().__init__()
        scale = lambda c: max(1, int(round(c * width)))
        self.inplanes = scale(64)
        self.conv1 = nn.Conv2d(3, self.inplanes, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, 2, 1)
        self.layer1 = self._make_layer(scale(64), 3)
        self.layer2 = self._make_layer(scale(128), 4, 2)
        self.layer3 = self._make_layer(scale(256), 6, 2)
        self.layer4 = self._make_layer(scale(512), 3, 2)
        self.fc = nn.Linear(self.inplanes, n_class)  # ImageNet head: in the state dict, unused by AdaFocus

    def _make_layer(self, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride, bias=False), nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def get_featvec(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


# --- The AdaFocusV2 modules (official names: policy_stn, classifier, global/local CNN and fc) -------

class PolicySTN(nn.Module):
    def __init__(self, feature_dim, state_dim, hidden_dim, num_segments):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(feature_dim, 64, 1, 1, 0, bias=False), nn.BatchNorm2d(64), nn.Tanh(), nn.Flatten(),
            nn.Linear(int(state_dim * 64 / feature_dim), hidden_dim), nn.BatchNorm1d(hidden_dim), nn.Tanh())
        self.num_segments = num_segments
        self.hidden_dim = hidden_dim
        self.gru = nn.GRU(hidden_dim, hidden_dim, batch_first=True)
        self.fc = nn.Sequential(nn.Linear(hidden_dim, 2), nn.Sigmoid())

    def forward(self, features):
        feature = self.encoder(features).view(-1, self.num_segments, self.hidden_dim)
        b, t, _ = feature.shape
        out, _ = self.gru(feature, torch.zeros(1, b, self.hidden_dim, dtype=feature.dtype))
        return self.fc(out.reshape(b * t, -1))


class MultiLayerPerceptron(nn.Module):
    def __init__(self, input_dim, num_neurons):
        super().__init__()
        self.layers = nn.Sequential(nn.Linear(input_dim, num_neurons), nn.BatchNorm1d(num_neurons), nn.ReLU())

    def forward(self, x):
        return self.layers(x)


class PoolingClassifier(nn.Module):
    def __init__(self, input_dim, num_segments, num_classes, width, dropout):
        super().__init__()
        self.input_dim = input_dim
        self.num_segments = num_segments
        self.num_classes = num_classes
        self.mlp = MultiLayerPerceptron(input_dim, width)
        self.classifiers = nn.ModuleList([nn.Sequential(nn.Dropout(dropout), nn.Linear(width, num_classes)) for _ in range(num_segments)])

    def forward(self, x):
        b = x.size(0)
        z = self.mlp(x.view(-1, self.input_dim)).view(b, self.num_segments, -1)
        logits = torch.zeros(b, self.num_segments, self.num_classes, dtype=x.dtype)
        cur = z[:, 0]
        for k in range(self.num_segments):
            if k > 0:
                cur = torch.max(z[:, k], cur)
            logits[:, k] = self.classifiers[k](cur)
        return logits


def get_patches_frame(frames, actions, patch_size, image_size):
    frames = frames.view(-1, 3, image_size, image_size)
    theta = torch.zeros(frames.size(0), 2, 3, dtype=frames.dtype)
    corner = actions * (image_size - patch_size)
    x1, x2, y1, y2 = corner[:, 1], corner[:, 1] + patch_size, corner[:, 0], corner[:, 0] + patch_size
    theta[:, 0, 0], theta[:, 1, 1] = patch_size / image_size, patch_size / image_size
    theta[:, 0, 2], theta[:, 1, 2] = -1 + (x1 + x2) / image_size, -1 + (y1 + y2) / image_size
    # The official call leaves align_corners at its default, False since torch 1.3.
    grid = F.affine_grid(theta, torch.Size((frames.size(0), 3, patch_size, patch_size)), align_corners=False)
    return F.grid_sample(frames, grid, align_corners=False)


class AdaFocusV2(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.T, self.S, self.P = a.frames, a.frame_size, a.patch_size
        self.global_CNN = MobileNetV2(a.glance_width, a.imagenet_classes)
        gdim = self.global_CNN.last_channel
        cells = int(math.ceil(a.frame_size / 32))
        self.global_CNN_fc = nn.Sequential(nn.Dropout(0.8), nn.Linear(gdim, a.classes))
        self.local_CNN = ResNet50(a.focus_width, a.imagenet_classes)
        ldim = self.local_CNN.fc.in_features
        self.local_CNN_fc = nn.Sequential(nn.Dropout(0.8), nn.Linear(ldim, a.classes))
        self.policy_stn = PolicySTN(gdim, gdim * cells * cells, a.hidden, a.frames)
        self.classifier = PoolingClassifier(gdim + ldim, a.frames, a.classes, a.classifier_width, 0.8)

    def forward(self, images):  # evaluation, as the official forward when not training
        images = images.view(-1, 3, self.S, self.S)
        fmap, gfeat = self.global_CNN.get_featmap(images)
        actions = self.policy_stn(fmap)
        patches = get_patches_frame(images, actions, self.P, self.S)
        lfeat = self.local_CNN.get_featvec(patches)
        cat = torch.cat([gfeat, lfeat], dim=-1).view(-1, self.T, gfeat.size(1) + lfeat.size(1))
        return self.classifier(cat), actions, self.global_CNN_fc(gfeat), self.local_CNN_fc(lfeat)


def input_order(t):
    """The official coarse-to-fine frame order (test_early_exit.py / main_v2.py with --sample, as
    the official training scripts run): the middle frame, the first and the last, then the gaps'
    midpoints level by level."""
    order = []
    for i in [(t - 1) // 2, 0, t - 1]:
        if i not in order:
            order.append(i)
    q = 2
    while len(order) < t:
        cuts = [((t - 1) * j) // q for j in range(q + 1)]
        for j in range(q):
            m = (cuts[j] + cuts[j + 1]) // 2
            if m not in order:
                order.append(m)
        q *= 2
    return order


def randomise(model, gen):
    """Random weights of a sensible scale and random batch-norm statistics. The last batch norm of
    every residual branch gets a small scale (0.1 to 0.3), as the branches of trained residual
    networks are small (torchvision's zero_init_residual starts them at 0): with scales near 1 the
    residual streams of a random ResNet-50 grow until float32 rounding alone (PyTorch's own) moves
    its logits by up to 3e-4 of their scale, which no float32 implementation can match to 1e-4."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.normal_(0, math.sqrt(2.0 / fan_in), generator=gen)
                if m.bias is not None:
                    m.bias.uniform_(-0.1, 0.1, generator=gen)
            elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                m.weight.uniform_(0.5, 1.5, generator=gen)
                m.bias.uniform_(-0.2, 0.2, generator=gen)
                m.running_mean.uniform_(-0.2, 0.2, generator=gen)
                m.running_var.uniform_(0.5, 2.0, generator=gen)
            elif isinstance(m, nn.GRU):
                for p in m.parameters():
                    p.uniform_(-1 / math.sqrt(m.hidden_size), 1 / math.sqrt(m.hidden_size), generator=gen)
        for m in model.modules():
            if isinstance(m, Bottleneck):
                m.bn3.weight.uniform_(0.1, 0.3, generator=gen)
            elif getattr(m, 'use_res_connect', False):  # MobileNetV2's residual blocks (this file's and torchvision's)
                m.conv[-1].weight.uniform_(0.1, 0.3, generator=gen)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True)
    p.add_argument('--frames', type=int, default=4)
    p.add_argument('--frame-size', type=int, default=64)
    p.add_argument('--patch-size', type=int, default=32)
    p.add_argument('--glance-width', type=float, default=0.25)
    p.add_argument('--focus-width', type=float, default=0.125)
    p.add_argument('--hidden', type=int, default=32)
    p.add_argument('--classifier-width', type=int, default=64)
    p.add_argument('--classes', type=int, default=5)
    p.add_argument('--videos', type=int, default=2)
    p.add_argument('--seed', type=int, default=0)
    # The backbones' ImageNet heads ride along in official checkpoints (and are ignored): fewer classes keep fixtures small.
    p.add_argument('--imagenet-classes', type=int, default=1000)
    a = p.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    gen = torch.Generator().manual_seed(a.seed)
    model = AdaFocusV2(a)
    randomise(model, gen)
    model.eval()
    os.makedirs(a.out, exist_ok=True)
    state = {'module.' + k: v for k, v in model.state_dict().items()}
    torch.save({'epoch': 1, 'state_dict': state}, os.path.join(a.out, 'checkpoint.pth.tar'))
    frames = torch.randn(a.videos, a.frames, 3, a.frame_size, a.frame_size, generator=gen)
    # The reference is the exact result (float64, from the float32 weights saved above); PyTorch's
    # own float32 result is kept beside it, for how far float32 rounding alone moves it.
    # The official scripts train and test with --sample: the steps see the frames coarse to fine.
    ordered = frames[:, input_order(a.frames)]
    with torch.no_grad():
        l32, a32, _, _ = model(ordered)
        logits, actions, glogits, llogits = model.double()(ordered.double())
    rel = lambda x, y: ((x.double() - y).abs().max() / y.abs().max()).item()
    frames.permute(0, 1, 3, 4, 2).contiguous().numpy().astype('<f4').tofile(os.path.join(a.out, 'frames.bin'))
    b, t = a.videos, a.frames
    ref = {
        'videos': b, 'frames': t, 'frameSize': a.frame_size, 'patchSize': a.patch_size, 'classes': a.classes,
        'glanceWidth': a.glance_width, 'focusWidth': a.focus_width, 'hidden': a.hidden, 'classifierWidth': a.classifier_width,
        'torch': torch.__version__,
        'order': input_order(a.frames),
        'torchFloat32Error': {'logits': rel(l32, logits), 'actions': rel(a32, actions)},
        'logits': logits.tolist(),
        'actions': actions.view(b, t, 2).tolist(),
        'glanceLogits': glogits.view(b, t, -1).tolist(),
        'focusLogits': llogits.view(b, t, -1).tolist(),
    }
    with open(os.path.join(a.out, 'reference.json'), 'w') as f:
        json.dump(ref, f)


if __name__ == '__main__':
    main()
