"""Issue 13's MobileNetV2 as a PyTorch user exports it, full int8 (run by tests/test_torch_networks.py
under the test-only PyTorch environment of scripts/setup-torch.sh; not imported by the tests
themselves):

    .tools/torch/bin/python tests/torch_networks.py OUT_DIR

- mobilenet_v2_nchw_torch: a stem convolution, then inverted residual blocks (expand 1x1,
  depthwise 3x3, project 1x1, BatchNorm folded, ReLU6, a residual ADD where the shape allows),
  global average pooling and a linear layer, with random weights and BatchNorm statistics. The
  input stays PyTorch's NCHW, so the .tflite starts with a TRANSPOSE; PyTorch's symmetric padding
  of the stride-2 convolutions becomes PAD.
Route: torch.export (strict: the non-strict default leaves the residual ADDs float), PT2E static
quantization with litert-torch's symmetric per-channel quantizer, calibrated on 32 normal
samples, then litert_torch.convert. Writes <name>.tflite (int8 input and output) and
<name>_calibration.npy (those samples as the int8 input): TFLite Micro is the oracle.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
from torch import nn

import litert_torch
from litert_torch.quantize import pt2e_quantizer, quant_config
from torchao.quantization.pt2e import quantize_pt2e

SIZE = 16


def conv_bn(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, relu6: bool = True):
    layers = [nn.Conv2d(cin, cout, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    return nn.Sequential(*layers, *([nn.ReLU6()] if relu6 else []))


class InvertedResidual(nn.Module):
    def __init__(self, cin: int, cout: int, stride: int, expand: int = 4):
        super().__init__()
        hidden = cin * expand
        self.residual = stride == 1 and cin == cout
        self.body = nn.Sequential(conv_bn(cin, hidden, 1), conv_bn(hidden, hidden, 3, stride, groups=hidden),
                                  conv_bn(hidden, cout, 1, relu6=False))

    def forward(self, x):
        return x + self.body(x) if self.residual else self.body(x)


def mobilenet_v2_nchw_torch() -> nn.Module:
    blocks = [InvertedResidual(8, 8, 1), InvertedResidual(8, 12, 2), InvertedResidual(12, 12, 1)]
    return nn.Sequential(conv_bn(3, 8, 3, 2), *blocks, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(12, 10))


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    name = "mobilenet_v2_nchw_torch"
    torch.manual_seed(11)
    gen = torch.Generator().manual_seed(3)
    model = mobilenet_v2_nchw_torch().eval()
    for m in model.modules():  # BatchNorm statistics a trained network might have, to fold
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=gen) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.weight.data.copy_(torch.rand(n, generator=gen) * 0.5 + 0.75)
            m.bias.data.copy_(torch.randn(n, generator=gen) * 0.1)
    shape = (1, 3, SIZE, SIZE)
    calibration = [torch.randn(shape, generator=gen) for _ in range(32)]

    quantizer = pt2e_quantizer.PT2EQuantizer().set_global(
        pt2e_quantizer.get_symmetric_quantization_config(is_per_channel=True, is_dynamic=False))
    graph = quantize_pt2e.prepare_pt2e(torch.export.export(model, (calibration[0],), strict=True).module(), quantizer)
    with torch.no_grad():
        for x in calibration:
            graph(x)
    graph = quantize_pt2e.convert_pt2e(graph, fold_quantize=False)
    edge = litert_torch.convert(graph, (calibration[0],), quant_config=quant_config.QuantConfig(pt2e_quantizer=quantizer))
    edge.export(str(out / f"{name}.tflite"))

    from ai_edge_litert.interpreter import Interpreter
    scale, zero = Interpreter(model_path=str(out / f"{name}.tflite")).get_input_details()[0]["quantization"]
    q = [np.clip(np.round(x.numpy() / scale) + zero, -128, 127).astype(np.int8) for x in calibration]
    np.save(out / f"{name}_calibration.npy", np.stack(q))
    print(name, flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
