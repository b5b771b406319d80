"""A PyTorch reference of the official AdaFocus V1 Something-Something model (blackfeather-wang/AdaFocus,
"Experiments on Something-Something V1&V2": models/gfv_net.py, models/ppo_continuous.py,
models/ppo.py, models/tsn.py, models/mobilenetv2.py, ops/temporal_shift.py, models/utils.py
get_patch), written for Saccade's equivalence tests from the official modules' structure and
state-dict names, not copied.

It builds GFV with video_div 1 (every official config): a MobileNetV2 glancer whose expanding
residual blocks wrap their first conv in a TemporalShift (n_segment = glance frames), a TSN focuser
around torchvision's ResNet-50 with every block's conv1 wrapped the same way (shift_place blockres,
n_segment = focus frames, shift_div 8), a linear classifier over the focus vectors, and the PPO
actor-critic with the conv encoder and batch norm (actorcritic_with_bn): continuous (2 sigmoid
outputs, the evaluation taking the Gaussian's mean) or discrete (a square grid, the most likely
cell through the official standard action table). Random weights and batch-norm statistics. It is
saved as the official stage scripts do (torch.save of {'model_state_dict', 'glancer', 'focuser', 'fc',
'policy', ...}: the policy is not a module of the model), and the official evaluation
(validate -> action_stage2 with training False) runs on random frames:

  glance frames (TSN's test-time sampling of the clip) resized to glance_size by F.interpolate's
  default (nearest); their maps stacked along the channels (view(B, -1, H, W)); one action per clip;
  the patch corner floor(action * (frame - patch)) cut from every focus frame; the focuser's
  2048-wide pooled vector, the classifier, the mean over frames plus the glance head's mean.

(The official TSN returns torchvision's ResNet-50 output, whose ImageNet fc would give the
classifier 1000 inputs where it takes 2048: the pooled vector is the only reading under which the
published classifier fits. The ImageNet fc stays in the state dict, unused, as in the official one.)

  OUT/checkpoint.pth.tar   the checkpoint
  OUT/frames.bin           float32 focus frames, normalised, [B, T, S, S, 3] (channels last), in time order
  OUT/reference.json       sizes, the glance frames' indices, and per video: the logits, the patch
                           corner as a fraction of (frame - patch) (Saccade's centre), the glance
                           head's per-frame logits; float64 from the saved float32 weights (the
                           corners from the float32 pass's actions, as the official code computes
                           them), with how far PyTorch's own float32 pass is

Widths scale as in adafocus_v2_reference.py (at width 1 the networks are the official ones).

/usr/bin/python3 tools/official/adafocus_v1_tsm_reference.py --out DIR [--frame-size 224 --patch-size 128 ...]
(the committed fixture: --out packages/sdk/test/fixtures/official-v1-tsm, the flags at their defaults)
"""
import argparse
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F

from adafocus_v2_reference import InvertedResidual, MobileNetV2, ResNet50, randomise


class TemporalShift(nn.Module):
    """ops/temporal_shift.py's module: the wrapped conv is `net` (hence `conv1.net.weight`)."""

    def __init__(self, net, n_segment, n_div):
        super().__init__()
        self.net, self.n_segment, self.fold_div = net, n_segment, n_div

    def forward(self, x):
        nt, c, h, w = x.size()
        x = x.view(nt // self.n_segment, self.n_segment, c, h, w)
        fold = c // self.fold_div
        out = torch.zeros_like(x)
        out[:, :-1, :fold] = x[:, 1:, :fold]  # frame t gets t+1's first fold
        out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]  # frame t gets t-1's second fold
        out[:, :, 2 * fold:] = x[:, :, 2 * fold:]
        return self.net(out.view(nt, c, h, w))


class ActorCritic(nn.Module):
    """ppo_continuous.py's (and ppo.py's) ActorCritic with policy_conv and with_bn."""

    def __init__(self, feature_dim, cells, hidden, actions):
        super().__init__()
        self.state_encoder = nn.Sequential(
            nn.Conv2d(feature_dim, 64, 1, 1, 0, bias=False), nn.BatchNorm2d(64), nn.ReLU(), nn.Flatten(),
            nn.Linear(64 * cells * cells, hidden), nn.BatchNorm1d(hidden), nn.ReLU())
        self.gru = nn.GRU(hidden, hidden, batch_first=False)
        self.actor = nn.Sequential(nn.Linear(hidden, actions), nn.Sigmoid() if actions == 2 else nn.Softmax(dim=-1))
        self.critic = nn.Sequential(nn.Linear(hidden, 1))

    def act(self, state):  # evaluation, restart_batch: a zero hidden state; the mean / the probabilities
        b = state.size(0)
        hidden = torch.zeros(1, b, self.gru.hidden_size, dtype=state.dtype)
        out, _ = self.gru(self.state_encoder(state).view(1, b, -1), hidden)
        return self.actor(out[0])


class Glancer(nn.Module):
    def __init__(self, width, classes, segments, div):
        super().__init__()
        self.net = MobileNetV2(width, classes)
        for m in self.net.modules():
            if isinstance(m, InvertedResidual) and len(m.conv) == 8 and m.use_res_connect:
                m.conv[0] = TemporalShift(m.conv[0], segments, div)


class TSN(nn.Module):
    def __init__(self, width, segments, div):
        super().__init__()
        self.base_model = ResNet50(width, 1000)
        for layer in (self.base_model.layer1, self.base_model.layer2, self.base_model.layer3, self.base_model.layer4):
            for block in layer:  # six blocks in layer3 (< 23): every block
                block.conv1 = TemporalShift(block.conv1, segments, div)


class Focuser(nn.Module):
    def __init__(self, width, segments, div):
        super().__init__()
        self.net = TSN(width, segments, div)


def glance_indices(frames, glance_frames):
    tick = frames / float(glance_frames)
    return [int(tick / 2.0 + tick * x) for x in range(glance_frames)]


class GFV(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.T, self.TG, self.S, self.G, self.P = a.frames, a.glance_frames, a.frame_size, a.glance_size, a.patch_size
        self.glancer = Glancer(a.glance_width, a.classes, a.glance_frames, a.shift_div)
        self.focuser = Focuser(a.focus_width, a.frames, a.shift_div)
        self.classifier = nn.Linear(self.focuser.net.base_model.fc.in_features, a.classes)
        cells = int(math.ceil(a.glance_size / 32))
        self.policy = ActorCritic(self.glancer.net.last_channel * a.glance_frames, cells, a.hidden, 2 if a.grid == 0 else a.grid * a.grid)
        self.grid = a.grid

    def forward(self, frames, actions=None):  # frames [B, T, 3, S, S]; actions: use these (the float32 pass's) for the corners
        b = frames.shape[0]
        glance = frames[:, glance_indices(self.T, self.TG)].reshape(b * self.TG, 3, self.S, self.S)
        glance = F.interpolate(glance, (self.G, self.G))
        fmap = self.glancer.net.features(glance)
        glogits = self.glancer.net.classifier(fmap.mean(3).mean(2))
        state = fmap.view(b, self.TG, *fmap.shape[1:]).view(b, -1, *fmap.shape[2:])
        out = self.policy.act(state)
        if self.grid == 0:
            action = out
        else:
            table = torch.tensor([[i / (self.grid - 1), j / (self.grid - 1)] for i in range(self.grid) for j in range(self.grid)], dtype=torch.float32)
            action = table[out.max(1)[1]]
        corner = torch.floor((action.float() if actions is None else actions) * (self.S - self.P)).int()
        clip = frames.reshape(b, self.T * 3, self.S, self.S)
        patches = torch.stack([clip[i, :, corner[i, 0]:corner[i, 0] + self.P, corner[i, 1]:corner[i, 1] + self.P] for i in range(b)])
        feat = self.focuser.net.base_model.get_featvec(patches.view(b * self.T, 3, self.P, self.P))
        logits = self.classifier(feat).view(b, self.T, -1).mean(1) + glogits.view(b, self.TG, -1).mean(1)
        return logits, action, corner.double() / (self.S - self.P), glogits.view(b, self.TG, -1)


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True)
    p.add_argument('--frames', type=int, default=4)
    p.add_argument('--glance-frames', type=int, default=2)
    p.add_argument('--frame-size', type=int, default=96)
    p.add_argument('--glance-size', type=int, default=64)
    p.add_argument('--patch-size', type=int, default=48)
    p.add_argument('--grid', type=int, default=0, help='0: continuous actions; else a grid x grid set of positions')
    p.add_argument('--shift-div', type=int, default=8)
    p.add_argument('--glance-width', type=float, default=0.25)
    p.add_argument('--focus-width', type=float, default=0.125)
    p.add_argument('--hidden', type=int, default=32)
    p.add_argument('--classes', type=int, default=5)
    p.add_argument('--videos', type=int, default=3)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    gen = torch.Generator().manual_seed(a.seed)
    model = GFV(a)
    randomise(model, gen)
    # Random frames give a random glance nearly the same maps: the policy's input and output weights
    # are scaled up so that the positions differ between videos and stand clear of the edges' clamp.
    with torch.no_grad():
        model.policy.state_encoder[4].weight.mul_(3)
        model.policy.gru.weight_ih_l0.mul_(3)
        model.policy.actor[0].weight.mul_(2 if a.grid == 0 else 4)
    model.eval()
    os.makedirs(a.out, exist_ok=True)
    state = model.state_dict()
    policy = {k[len('policy.'):]: v for k, v in state.items() if k.startswith('policy.')}
    torch.save({
        'epoch': 1,
        'model_state_dict': {k: v for k, v in state.items() if not k.startswith('policy.')},
        'glancer': model.glancer.state_dict(),
        'focuser': model.focuser.state_dict(),
        'fc': model.classifier.state_dict(),
        'policy': policy,
        'acc': 0.0,
        'best_acc': 0.0,
    }, os.path.join(a.out, 'checkpoint.pth.tar'))
    frames = torch.randn(a.videos, a.frames, 3, a.frame_size, a.frame_size, generator=gen)
    with torch.no_grad():
        l32, actions32, corners32, _ = model(frames)
        model64 = model.double()
        logits, actions64, _, glogits = model64(frames.double(), actions32.float())
        _, _, corners64, _ = model64(frames.double())
    rel = lambda x, y: ((x.double() - y).abs().max() / y.abs().max()).item()
    frames.permute(0, 1, 3, 4, 2).contiguous().numpy().astype('<f4').tofile(os.path.join(a.out, 'frames.bin'))
    ref = {
        'videos': a.videos, 'frames': a.frames, 'glanceFrames': a.glance_frames, 'frameSize': a.frame_size, 'glanceSize': a.glance_size,
        'patchSize': a.patch_size, 'classes': a.classes, 'grid': a.grid, 'shiftDiv': a.shift_div, 'glanceWidth': a.glance_width,
        'focusWidth': a.focus_width, 'hidden': a.hidden, 'torch': torch.__version__,
        'glanceIndices': glance_indices(a.frames, a.glance_frames),
        'torchFloat32Error': {'logits': rel(l32, logits), 'sameCorners': bool((corners32 == corners64).all())},
        'order': list(range(a.frames)),
        'logits': logits.unsqueeze(1).tolist(),
        'actions': actions64.double().unsqueeze(1).tolist(),
        'centres': corners32.unsqueeze(1).tolist(),
        'glanceLogits': glogits.tolist(),
    }
    with open(os.path.join(a.out, 'reference.json'), 'w') as f:
        json.dump(ref, f)


if __name__ == '__main__':
    main()
