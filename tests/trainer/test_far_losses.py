"""FAR's training pieces: the ADE20K ResNet50 weight layout, the losses against hand computations, R1, the PatchGAN."""

import math

import pytest
import torch
from torch import nn

from inpaint.errors import CheckpointError
from inpaint.trainer.discriminator import DEFAULT_PARAMETERS, PatchDiscriminator, count_parameters
from inpaint.trainer.losses.far import (
    IMAGENET_STD,
    HRFPerceptualLoss,
    NonSaturatingAdversarial,
    feature_matching,
    known_l1,
    r1_penalty,
)
from inpaint.trainer.losses.resnet import FrozenResNet50Dilated


def _softplus(v: float) -> float:
    return math.log1p(math.exp(v))


def ade20k_encoder_state(with_counters: bool = True) -> dict[str, torch.Tensor]:
    """Keys and shapes of CSAIL's ``encoder_epoch_20.pth`` (resnet50dilated), written out from the architecture
    (deep stem 3->64->64->128; Bottleneck blocks (3, 4, 6, 3) of widths 64..512), not from the module under test."""
    g = torch.Generator().manual_seed(0)
    state: dict[str, torch.Tensor] = {}

    def conv(name, cout, cin, k):
        state[f"{name}.weight"] = torch.randn(cout, cin, k, k, generator=g) * (2.0 / (cin * k * k)) ** 0.5

    def bn(name, c):
        state[f"{name}.weight"] = 1 + 0.1 * torch.randn(c, generator=g)
        state[f"{name}.bias"] = 0.1 * torch.randn(c, generator=g)
        state[f"{name}.running_mean"] = 0.1 * torch.randn(c, generator=g)
        state[f"{name}.running_var"] = 0.5 + torch.rand(c, generator=g)
        if with_counters:
            state[f"{name}.num_batches_tracked"] = torch.tensor(1000)

    conv("conv1", 64, 3, 3), bn("bn1", 64), conv("conv2", 64, 64, 3), bn("bn2", 64), conv("conv3", 128, 64, 3), bn("bn3", 128)
    cin = 128
    for layer, (blocks, width) in enumerate(zip((3, 4, 6, 3), (64, 128, 256, 512)), start=1):
        for b in range(blocks):
            p = f"layer{layer}.{b}"
            conv(f"{p}.conv1", width, cin if b == 0 else 4 * width, 1), bn(f"{p}.bn1", width)
            conv(f"{p}.conv2", width, width, 3), bn(f"{p}.bn2", width)
            conv(f"{p}.conv3", 4 * width, width, 1), bn(f"{p}.bn3", 4 * width)
            if b == 0:
                conv(f"{p}.downsample.0", 4 * width, cin, 1), bn(f"{p}.downsample.1", 4 * width)
        cin = 4 * width
    return state


@pytest.fixture(scope="module")
def encoder_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("ade20k") / "encoder_epoch_20.pth"
    torch.save(ade20k_encoder_state(), path)
    return path


def test_resnet50_loads_the_ade20k_layout_frozen_in_eval(encoder_file):
    state = ade20k_encoder_state()
    enc = FrozenResNet50Dilated(encoder_file)
    own = enc.state_dict()
    assert len(state) == 275 + 55 and set(own) == set(state)  # 275 tensors + 55 BatchNorm counters
    assert all(torch.equal(own[k].float(), v.float()) for k, v in state.items())
    assert not any(p.requires_grad for p in enc.parameters())
    enc.train()
    assert not any(m.training for m in enc.modules())
    # dilation for output stride 8, as ResnetDilated(dilate_scale=8)
    assert enc.layer3[0].conv2.dilation == (1, 1) and enc.layer3[1].conv2.dilation == (2, 2) and enc.layer3[5].conv2.padding == (2, 2)
    assert enc.layer4[0].conv2.dilation == (2, 2) and enc.layer4[2].conv2.dilation == (4, 4)
    assert enc.layer3[0].downsample[0].stride == (1, 1) and enc.layer2[0].conv2.stride == (2, 2)
    x = torch.rand(1, 3, 64, 48, requires_grad=True)
    features = enc(x)
    assert [tuple(f.shape[1:]) for f in features] == [(256, 16, 12), (512, 8, 6), (1024, 8, 6), (2048, 8, 6)]
    features[-1].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in enc.parameters())


def test_resnet50_weight_files_are_checked_strictly(tmp_path):
    from safetensors.torch import save_file

    state = ade20k_encoder_state(with_counters=False)  # PyTorch < 0.4.1 wrote no num_batches_tracked
    save_file(state, str(tmp_path / "enc.safetensors"))
    enc = FrozenResNet50Dilated(tmp_path / "enc.safetensors")
    assert torch.equal(enc.layer4[2].bn3.running_var, state["layer4.2.bn3.running_var"])
    del state["layer2.0.downsample.1.running_var"]
    state["fc.weight"] = torch.zeros(1000, 2048)
    torch.save(state, tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match=r"bad\.pth.*missing \(e\.g\. layer2\.0\.downsample\.1\.running_var\).*unexpected \(e\.g\. fc\.weight\)"):
        FrozenResNet50Dilated(tmp_path / "bad.pth")
    with pytest.raises(CheckpointError, match="no such file"):
        FrozenResNet50Dilated(tmp_path / "missing.pth")


def test_known_l1_and_feature_matching_by_hand():
    pred, target = torch.ones(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    hole = torch.tensor([[[[1.0, 0.0], [0.0, 0.0]]]])
    assert known_l1(pred, target, hole).item() == pytest.approx(10 * 0.75)  # 9 of 12 elements known, weight 10
    assert known_l1(pred, target, hole, 10, 2).item() == pytest.approx((9 * 10 + 3 * 2) / 12)
    fake = [torch.ones(2, 4, 3, 3), torch.full((2, 8, 2, 2), 3.0)]
    real = [torch.zeros(2, 4, 3, 3), torch.ones(2, 8, 2, 2)]
    assert feature_matching(fake, real).item() == pytest.approx((1 + 4) / 2)


def test_adversarial_losses_by_hand():
    adv = NonSaturatingAdversarial()  # weight 10, R1 0.001, known pixels of a fake are real targets
    assert adv.generator_loss(torch.zeros(2, 1, 3, 3)).item() == pytest.approx(10 * math.log(2))
    fake = torch.tensor([[[[0.5, -1.0], [2.0, 0.3]]]])
    hole = torch.zeros(1, 1, 4, 4)
    hole[..., 0:2, 0:2] = 1  # nearest down to 2x2 picks pixels (0,0),(0,2),(2,0),(2,2): hole only at logit (0,0)
    hole[..., 3, 3] = 1  # not sampled by nearest
    real = torch.tensor([[[[1.0, 0.0], [0.0, -2.0]]]])
    loss, parts = adv.discriminator_loss(real, fake, hole)
    d_real = (_softplus(-1.0) + _softplus(0.0) * 2 + _softplus(2.0)) / 4
    d_fake = (_softplus(0.5) + _softplus(1.0) + _softplus(-2.0) + _softplus(-0.3)) / 4
    assert parts["d_real"].item() == pytest.approx(d_real) and parts["d_fake"].item() == pytest.approx(d_fake)
    assert loss.item() == pytest.approx(d_real + d_fake) and parts["r1"].item() == 0
    plain = NonSaturatingAdversarial(mask_as_fake_target=False)
    assert plain.discriminator_loss(real, fake, hole)[1]["d_fake"].item() == pytest.approx(sum(_softplus(v) for v in (0.5, -1.0, 2.0, 0.3)) / 4)


class _Quadratic(nn.Module):
    """D(x) = a * sum_c x_c^2 + (w . x) per pixel: d sum D / dx = 2 a x + w."""

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(0.5))
        self.w = nn.Parameter(torch.tensor([1.0, -2.0, 0.5]))

    def forward(self, x):
        return self.a * x.pow(2).sum(1, keepdim=True) + torch.einsum("bchw,c->bhw", x, self.w)[:, None]


def test_r1_penalty_equals_hand_value_and_trains_d():
    d = _Quadratic()
    real = torch.tensor([[[[0.0, 1.0]], [[0.5, 0.0]], [[1.0, 1.0]]], [[[0.2, 0.0]], [[0.0, 0.0]], [[0.0, 0.4]]]])  # (2, 3, 1, 2)
    real.requires_grad_(True)
    logits = d(real)
    r1 = r1_penalty(logits, real)
    # grad = 2*0.5*x + w = x + w per pixel; squared norm per sample, mean over the batch
    g = real.detach() + torch.tensor([1.0, -2.0, 0.5]).view(1, 3, 1, 1)
    expected = g.flatten(1).pow(2).sum(1).mean()
    assert r1.item() == pytest.approx(expected.item())
    r1.backward()
    # d r1 / d a = mean_b sum 2 (a*2x + w) * 2x with a = 0.5
    da = (2 * g * 2 * real.detach()).flatten(1).sum(1).mean()
    assert d.a.grad.item() == pytest.approx(da.item(), rel=1e-5)
    real.grad = None
    _, parts = NonSaturatingAdversarial().discriminator_loss(d(real), d(real.detach()), torch.zeros(2, 1, 1, 2), real)
    assert parts["r1"].item() == pytest.approx(0.001 * expected.item())


class _TwoMaps(nn.Module):
    """Two 'feature maps': the normalised image and its red channel."""

    def forward(self, x):
        return [x, x[:, :1]]


def test_hrf_loss_by_hand():
    loss = HRFPerceptualLoss(_TwoMaps(), weight=30.0)
    pred, target = torch.full((1, 3, 2, 2), 1.5), torch.zeros(1, 3, 2, 2)  # pred clamps to 1
    inv = [1 / s**2 for s in IMAGENET_STD]  # normalised difference per channel is 1/std
    assert loss(pred, target).item() == pytest.approx(30 * (sum(inv) / 3 + inv[0]), rel=1e-5)
    assert loss(target - 0.5, target).item() == 0  # both clamp to 0


def test_hrf_loss_with_the_resnet(encoder_file):
    loss = HRFPerceptualLoss.from_weights(encoder_file)
    target = torch.rand(1, 3, 32, 32)
    pred = target.clone().requires_grad_(True)
    assert loss(pred, target).item() == 0
    value = loss(pred + 0.1 * torch.randn_like(pred), target)
    value.backward()
    assert value.item() > 0 and pred.grad.abs().sum() > 0


def test_patch_discriminator_size_and_shapes():
    d = PatchDiscriminator()
    convs = [(3, 64), (64, 128), (128, 256), (256, 512), (512, 512), (512, 1)]
    by_hand = sum(cin * cout * 16 + cout for cin, cout in convs) + 2 * (128 + 256 + 512 + 512)  # 4x4 convs + BN affine
    assert count_parameters(d) == by_hand == DEFAULT_PARAMETERS == 6_962_369
    assert "conv1.0.weight" in d.state_dict() and "bn5.running_var" in d.state_dict() and "conv6.bias" in d.state_dict()
    logits, features = d(torch.rand(2, 3, 64, 64))
    assert tuple(logits.shape) == (2, 1, 7, 7)  # 64 -> 33 -> 17 -> 9 -> 5 -> 6 -> 7 (k4, pad 2)
    assert [tuple(f.shape[1:]) for f in features] == [(64, 33, 33), (128, 17, 17), (256, 9, 9), (512, 5, 5), (512, 6, 6)]
