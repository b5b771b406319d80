"""PyTorch's time for the paper configuration's two backbones, for `npm run bench:engines`.

torchvision's MobileNetV2 at 224 and ResNet-50 at 128 (random weights, eval mode, no_grad),
batch 16, median of --runs timings after one warm-up, with 1 and 2 threads. With --onnx DIR it
also exports both with torch.onnx.export (opset 13) for the bench to run in ONNX Runtime: the
same networks as torchvision defines them. Prints one JSON object.
"""
import argparse
import json
import os
import statistics
import time

import torch
import torchvision

parser = argparse.ArgumentParser()
parser.add_argument("--runs", type=int, default=5)
parser.add_argument("--batch", type=int, default=16)
parser.add_argument("--onnx", default=None, help="a folder to write the two ONNX files to")
args = parser.parse_args()

torch.manual_seed(0)
out = {"torch": torch.__version__, "torchvision": torchvision.__version__, "batch": args.batch, "runs": args.runs, "networks": []}
for name, ctor, size in (("mobilenet_v2", torchvision.models.mobilenet_v2, 224), ("resnet50", torchvision.models.resnet50, 128)):
    model = ctor().eval()
    x = torch.randn(args.batch, 3, size, size)
    entry = {"name": name, "size": size, "ms": {}}
    with torch.no_grad():
        for threads in (1, 2):
            torch.set_num_threads(threads)
            model(x)
            times = []
            for _ in range(args.runs):
                t0 = time.perf_counter()
                model(x)
                times.append((time.perf_counter() - t0) * 1000)
            entry["ms"][str(threads)] = statistics.median(times)
    if args.onnx:
        path = os.path.join(args.onnx, f"{name}.onnx")
        torch.onnx.export(model, x, path, opset_version=13, input_names=["x"], output_names=["y"], dynamic_axes={"x": {0: "batch"}})
        entry["onnx"] = path
    out["networks"].append(entry)
print(json.dumps(out))
