"""A PyTorch reference of the official AdaFocus V1 (blackfeather-wang/AdaFocus, the ActivityNet /
FCVID / Mini-Kinetics code: models/gfv_net.py, models/ppo.py, models/utils.py get_patch), written
for Saccade's equivalence tests from the official modules' structure and state-dict names, not
copied.

It builds GFV with random weights (random batch-norm statistics; the PPO learner `policy` and the
acting `policy_old` different, so that a test can tell which one acts), saves it as the official
main_dist.py does (torch.save of {'model_state_dict': ..., 'glancer': ..., 'focuser': ..., 'fc': ...,
'policy': ..., ...}), runs the official evaluation pass (validate, train_stage 3: the glance on
every frame at its size, then frame by frame the policy's most likely grid cell, the patch cut at
floor(position * (frame - patch)), the focus network on it and one step of the GRU classifier) on
random frames in time order, and writes what Saccade must reproduce:

  OUT/checkpoint.pth.tar   the checkpoint
  OUT/frames.bin           float32 frames, normalised, [B, T, S, S, 3] (channels last), in time order
  OUT/reference.json       sizes, and per video and step: the classifier's logits, the chosen cell,
                           the patch's corner as a fraction of (frame - patch) (Saccade's centres),
                           the glance and focus heads' logits; computed in float64 from the saved
                           float32 weights (the patch corners in float32, as the official code does),
                           with how far PyTorch's own float32 pass is from it

Widths scale as in adafocus_v2_reference.py (at width 1 the networks are the official ones).

/usr/bin/python3 tools/official/adafocus_v1_reference.py --out DIR [--frame-size 224 --patch-size 128 ...]
(the committed fixture: --out packages/sdk/test/fixtures/official-v1, the flags at their defaults)
"""
import argparse
import json
import math
import os

import torch
import torch.nn as nn

from adafocus_v2_reference import ResNet50, make_divisible, randomise


# --- MobileNetV2 as torchvision (and the official V1 mobilenet.py) names it: features.N.conv.0.0 ... --

class ConvBNReLU(nn.Sequential):
    def __init__(self, inp, oup, kernel=3, stride=1, groups=1):
        super().__init__(nn.Conv2d(inp, oup, kernel, stride, (kernel - 1) // 2, groups=groups, bias=False), nn.BatchNorm2d(oup), nn.ReLU6(inplace=True))


class InvertedResidual(nn.Module):
    def __init__(self, inp, oup, stride, expand_ratio):
        super().__init__()
        hidden = int(round(inp * expand_ratio))
        self.use_res_connect = stride == 1 and inp == oup
        layers = [ConvBNReLU(inp, hidden, kernel=1)] if expand_ratio != 1 else []
        layers += [ConvBNReLU(hidden, hidden, stride=stride, groups=hidden), nn.Conv2d(hidden, oup, 1, 1, 0, bias=False), nn.BatchNorm2d(oup)]
        self.conv = nn.Sequential(*layers)

    def forward(self, x):
        return x + self.conv(x) if self.use_res_connect else self.conv(x)


class MobileNetV2(nn.Module):
    def __init__(self, width, classes):
        super().__init__()
        settings = [[1, 16, 1, 1], [6, 24, 2, 2], [6, 32, 3, 2], [6, 64, 4, 2], [6, 96, 3, 1], [6, 160, 3, 2], [6, 320, 1, 1]]
        channels = make_divisible(32 * width)
        self.last_channel = make_divisible(1280 * max(1.0, width))
        features = [ConvBNReLU(3, channels, stride=2)]
        for t, c, n, s in settings:
            out = make_divisible(c * width)
            for i in range(n):
                features.append(InvertedResidual(channels, out, s if i == 0 else 1, t))
                channels = out
        features.append(ConvBNReLU(channels, self.last_channel, kernel=1))
        self.features = nn.Sequential(*features)
        # gfv_net.py's Glancer replaces the ImageNet head with dropout + a linear layer to the classes.
        self.classifier = nn.Sequential(nn.Dropout(0.2), nn.Linear(self.last_channel, classes))


class ActorCritic(nn.Module):
    """models/ppo.py's ActorCritic with policy_conv (the ActivityNet setting): no batch norm."""

    def __init__(self, feature_dim, cells, actions, hidden, channels=32):
        super().__init__()
        self.state_encoder = nn.Sequential(
            nn.Conv2d(feature_dim, channels, 1, 1, 0, bias=False), nn.ReLU(), nn.Flatten(),
            nn.Linear(channels * cells * cells, hidden), nn.ReLU())
        self.gru = nn.GRU(hidden, hidden, batch_first=False)
        self.actor = nn.Sequential(nn.Linear(hidden, actions), nn.Softmax(dim=-1))
        self.critic = nn.Sequential(nn.Linear(hidden, 1))

    def act(self, fmap, hidden):  # evaluation: the most likely action
        state, hidden = self.gru(self.state_encoder(fmap).unsqueeze(0), hidden)
        return self.actor(state[0]).max(1)[1], hidden


class PPO(nn.Module):
    def __init__(self, *args):
        super().__init__()
        self.policy = ActorCritic(*args)
        self.policy_old = ActorCritic(*args)


class Glancer(nn.Module):
    def __init__(self, width, classes):
        super().__init__()
        self.net = MobileNetV2(width, classes)


class Focuser(nn.Module):
    def __init__(self, width, classes, policy_args):
        super().__init__()
        self.net = ResNet50(width, classes)
        self.policy = PPO(*policy_args)


class RecurrentClassifier(nn.Module):
    def __init__(self, input_dim, hidden, classes):
        super().__init__()
        self.gru = nn.GRU(input_size=input_dim, hidden_size=hidden, batch_first=True)
        self.fc = nn.Linear(hidden, classes)


class GFV(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.T, self.S, self.P, self.grid = a.frames, a.frame_size, a.patch_size, a.grid
        self.glancer = Glancer(a.glance_width, a.classes)
        gdim = self.glancer.net.last_channel
        cells = int(math.ceil(a.frame_size / 32))
        self.focuser = Focuser(a.focus_width, a.classes, (gdim, cells, a.grid * a.grid, a.hidden))
        ldim = self.focuser.net.fc.in_features
        self.classifier = RecurrentClassifier(gdim + ldim, a.classifier_width, a.classes)

    def forward(self, images):  # validate() at train_stage 3: images [B, T, 3, S, S]
        b, t = images.shape[:2]
        frames = images.reshape(b * t, 3, self.S, self.S)
        fmap = self.glancer.net.features(frames)
        gfeat = fmap.mean([2, 3])
        fmap = fmap.view(b, t, *fmap.shape[1:])
        gfeat_t = gfeat.view(b, t, -1)
        # The official action table: row-major (row, column) fractions of (frame - patch), float32.
        table = torch.tensor([[i / (self.grid - 1), j / (self.grid - 1)] for i in range(self.grid) for j in range(self.grid)], dtype=torch.float32)
        h_policy = torch.zeros(1, b, self.focuser.policy.policy_old.gru.hidden_size, dtype=images.dtype)
        h_cls = torch.zeros(1, b, self.classifier.gru.hidden_size, dtype=images.dtype)
        logits, cells, corners, llogits = [], [], [], []
        for k in range(t):
            action, h_policy = self.focuser.policy.policy_old.act(fmap[:, k], h_policy)
            corner = torch.floor(table[action] * (self.S - self.P)).int()
            patch = torch.stack([images[i, k, :, corner[i, 0]:corner[i, 0] + self.P, corner[i, 1]:corner[i, 1] + self.P] for i in range(b)])
            lfeat = self.focuser.net.get_featvec(patch)
            out, h_cls = self.classifier.gru(torch.cat([gfeat_t[:, k], lfeat], 1).unsqueeze(1), h_cls)
            logits.append(self.classifier.fc(out[:, 0]))
            cells.append(action)
            corners.append(corner.double() / (self.S - self.P))
            llogits.append(self.focuser.net.fc(lfeat))
        return (torch.stack(logits, 1), torch.stack(cells, 1), torch.stack(corners, 1),
                self.glancer.net.classifier(gfeat).view(b, t, -1), torch.stack(llogits, 1))


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--out', required=True)
    p.add_argument('--frames', type=int, default=4)
    p.add_argument('--frame-size', type=int, default=64)
    p.add_argument('--patch-size', type=int, default=32)
    p.add_argument('--grid', type=int, default=7)
    p.add_argument('--glance-width', type=float, default=0.25)
    p.add_argument('--focus-width', type=float, default=0.125)
    p.add_argument('--hidden', type=int, default=32)
    p.add_argument('--classifier-width', type=int, default=48)
    p.add_argument('--classes', type=int, default=5)
    p.add_argument('--videos', type=int, default=3)
    p.add_argument('--seed', type=int, default=0)
    a = p.parse_args()
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    gen = torch.Generator().manual_seed(a.seed)
    model = GFV(a)
    randomise(model, gen)
    # Random frames give a random glance nearly the same map: the policy's input weights are scaled
    # up so that the chosen cells differ between frames and videos, and the actor's so that the
    # most likely cell stands clear (the same in float32 and float64).
    with torch.no_grad():
        for ac in (model.focuser.policy.policy, model.focuser.policy.policy_old):
            ac.state_encoder[3].weight.mul_(3)
            ac.gru.weight_ih_l0.mul_(3)
            ac.actor[0].weight.mul_(4)
    model.eval()
    os.makedirs(a.out, exist_ok=True)
    state = model.state_dict()
    torch.save({
        'epoch': 1,
        'model_state_dict': state,
        'glancer': model.glancer.state_dict(),
        'focuser': model.focuser.state_dict(),
        'fc': model.classifier.state_dict(),
        'scaler': None,
        'policy': model.focuser.policy.policy.state_dict(),
        'optimizer': None,
    }, os.path.join(a.out, 'checkpoint.pth.tar'))
    frames = torch.randn(a.videos, a.frames, 3, a.frame_size, a.frame_size, generator=gen)
    with torch.no_grad():
        l32, c32, _, _, _ = model(frames)
        logits, cells, corners, glogits, llogits = model.double()(frames.double())
    rel = lambda x, y: ((x.double() - y).abs().max() / y.abs().max()).item()
    frames.permute(0, 1, 3, 4, 2).contiguous().numpy().astype('<f4').tofile(os.path.join(a.out, 'frames.bin'))
    ref = {
        'videos': a.videos, 'frames': a.frames, 'frameSize': a.frame_size, 'patchSize': a.patch_size, 'classes': a.classes,
        'grid': a.grid, 'glanceWidth': a.glance_width, 'focusWidth': a.focus_width, 'hidden': a.hidden, 'classifierWidth': a.classifier_width,
        'torch': torch.__version__,
        'order': list(range(a.frames)),
        'torchFloat32Error': {'logits': rel(l32, logits), 'sameCells': bool((c32 == cells).all())},
        'logits': logits.tolist(),
        'cells': cells.tolist(),
        'centres': corners.tolist(),
        'glanceLogits': glogits.tolist(),
        'focusLogits': llogits.tolist(),
    }
    with open(os.path.join(a.out, 'reference.json'), 'w') as f:
        json.dump(ref, f)


if __name__ == '__main__':
    main()
