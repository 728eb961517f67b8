"""The ACR's export-time forms (eval mode, inside ``export_mode``) against its eager forms: the stem with the
BatchNorm folded and the MPE's hole term, FFC blocks on one tensor with fused convolutions, gated deconvs and up
convs gated phase by phase."""

import torch
from torch import nn

from inpaint.models.ffc import FFCResnetBlock
from inpaint.models.registry import build_model
from inpaint.ops.mode import export_mode


def _randomise_batchnorms(module: nn.Module, seed: int) -> None:
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) * 2 - 1)
            m.running_var.copy_(torch.rand(n, generator=g) * 1.5 + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) * 4 - 2)
            m.bias.data.copy_(torch.rand(n, generator=g) * 2 - 1)


def _both(module, *args):
    with torch.no_grad():
        eager = module(*args)
        with export_mode(custom_nodes=False):
            exported = module(*args)
    return eager, exported


def test_ffc_block_on_one_tensor_equals_the_split_form():
    torch.manual_seed(0)
    block = FFCResnetBlock(64).eval()
    _randomise_batchnorms(block, 1)
    assert block.ffc1.fusable() and block.ffc2.fusable()
    eager, exported = _both(block, torch.randn(2, 64, 32, 48))
    assert (eager - exported).abs().max().item() < 1e-5 * eager.abs().max().item()
    block.train()
    assert not block.ffc1.fusable()  # batch statistics: the split form


def test_stem_with_folded_batchnorm_and_hole_term_equals_eager():
    torch.manual_seed(0)
    acr = build_model("far-t").eval().net
    _randomise_batchnorms(acr, 2)
    image = torch.rand(2, 3, 256, 384)
    mask = torch.zeros(2, 1, 256, 384)
    mask[:, :, 40:150, 100:300] = 1
    mask[1, :, :10] = 1
    eager, exported = _both(acr.encode_input, image, mask)
    assert eager.shape == (2, 8, 256, 384)
    assert (eager - exported).abs().max().item() < 1e-5 * eager.abs().max().item()


def test_whole_acr_export_forms_equal_eager():
    torch.manual_seed(0)
    far = build_model("far-t").eval()
    _randomise_batchnorms(far.net, 3)
    with torch.no_grad():  # non-zero prior and attention scales, so every path counts
        for p in far.net.parameters():
            if p.ndim == 0:
                p.fill_(0.5)
    image, mask = torch.rand(1, 3, 256, 256), torch.zeros(1, 1, 256, 256)
    mask[:, :, 64:192, 32:160] = 1
    features, attention = far.prior(image, mask)
    eager, exported = _both(far.net, image, mask, features, attention)
    assert (eager - exported).abs().max().item() < 1e-5
