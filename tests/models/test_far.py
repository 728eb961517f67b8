"""FAR (MAE prior + ACR): interface and sizes, the MAE's 256 x 256 input, the masking positional encoding against a
re-statement of the authors' loop, FFC blocks, the authors' checkpoint layouts against an independent functional
statement of their forward, and the paper preset's parameter count."""

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inpaint.errors import CheckpointError
from inpaint.models import build_model
from inpaint.models.acr import ACRGenerator, MaskedPositionalEncoding, count_parameters, distance_index, mask_distance_grid
from inpaint.models.far import mae_inputs
from inpaint.models.far_authors import load_authors_checkpoint
from inpaint.models.ffc import FFCResnetBlock, FourierUnit, SpectralTransform
from inpaint.ops.attention_aggregate.reference import masked_attention_aggregate_reference

#: the authors' ACRModel (ACR/networks/generators.py, config_FAR_places2.yml: use_mpe, use_attn, rel_pos_num 128),
#: counted as their test.py does (sum of p.numel() over .G and .GCs parameters)
AUTHORS_G, AUTHORS_GCS = 27_049_795, 13_938_696


def switch_on(net, value=0.7):
    """Give the zero-initialised scales (prior levels, attention) a value, so every path shows in the output."""
    with torch.no_grad():
        for name, p in net.named_parameters():
            if p.ndim == 0 and p.requires_grad:
                p.fill_(value)
    return net


@pytest.fixture(scope="module")
def far_t():
    torch.manual_seed(0)
    model = build_model("far-t").eval()
    switch_on(model.net)
    return model


# --- interface and sizes ---------------------------------------------------------------------------------------

def test_tiny_preset_any_size_through_padding(far_t):
    g = torch.Generator().manual_seed(0)
    image, mask = torch.rand(2, 3, 100, 150, generator=g), (torch.rand(2, 1, 100, 150, generator=g) > 0.7).float()
    with torch.no_grad():
        out = far_t(image, mask)
    assert out.shape == image.shape and out.min() >= 0 and out.max() <= 1
    known = (mask == 0).expand_as(image)
    assert torch.equal(out[known], image[known])
    assert (out[~known] - image[~known]).abs().max() > 0.01
    assert far_t.stride == 128 and far_t.net is far_t.acr and not any(p.requires_grad for p in far_t.mae.parameters())


@pytest.mark.parametrize("hw", [(256, 384), (384, 640)])
def test_non_square_sizes_run(far_t, hw):
    g = torch.Generator().manual_seed(1)
    image, mask = torch.rand(1, 3, *hw, generator=g), torch.zeros(1, 1, *hw)
    mask[..., hw[0] // 4 : hw[0] // 2, hw[1] // 3 : hw[1] // 2] = 1
    with torch.no_grad():
        features, attention = far_t.prior(image, mask)
        raw = far_t.net(image, mask, features, attention)
    assert features.shape == (1, far_t.mae.feature_channels, 16, 16) and attention.shape == (1, 256, 256)
    assert raw.shape == (1, 3, *hw) and torch.isfinite(raw).all()


def test_mae_stays_frozen_in_train_mode(far_t):
    far_t.train()
    try:
        assert far_t.net.training and not far_t.mae.training
    finally:
        far_t.eval()


def test_mae_inputs_resize_as_the_authors():
    """Image: cv2 INTER_AREA when shrinking, INTER_LINEAR when growing; mask: any hole under a pixel stays a hole."""
    g = torch.Generator().manual_seed(2)
    for h, w in [(256, 256), (512, 512), (128, 128), (512, 384), (128, 640)]:
        image = torch.rand(1, 3, h, w, generator=g)
        mask = (torch.rand(1, 1, h, w, generator=g) > 0.999).float()
        small, small_mask = mae_inputs(image, mask)
        # the authors only meet squares, where this is one cv2.resize; a size that shrinks on one axis and grows
        # on the other is resized one axis at a time, each the authors' way
        rgb = image[0].permute(1, 2, 0).numpy()
        rows = cv2.resize(rgb, (w, 256), interpolation=cv2.INTER_AREA if h > 256 else cv2.INTER_LINEAR)
        both = cv2.resize(rows, (256, 256), interpolation=cv2.INTER_AREA if w > 256 else cv2.INTER_LINEAR)
        assert np.abs(small[0].permute(1, 2, 0).numpy() - both).max() < 1e-5
        rows = cv2.resize(mask[0, 0].numpy(), (w, 256), interpolation=cv2.INTER_AREA)
        assert np.array_equal(small_mask[0, 0].numpy() > 0, cv2.resize(rows, (256, 256), interpolation=cv2.INTER_AREA) > 0)
    # a single hole pixel survives a 4x shrink (a bilinear resize of the mask would drop it)
    mask = torch.zeros(1, 1, 1024, 1024)
    mask[0, 0, 5, 7] = 1
    assert mae_inputs(torch.rand(1, 3, 1024, 1024), mask)[1].sum() == 1


# --- masking positional encoding -------------------------------------------------------------------------------

QUADRANT_KERNELS = [np.array(k, np.float32) for k in (
    ((1, 1, 0), (1, 1, 0), (0, 0, 0)), ((0, 0, 0), (1, 1, 0), (1, 1, 0)),
    ((0, 1, 1), (0, 1, 1), (0, 0, 0)), ((0, 0, 0), (0, 1, 1), (0, 1, 1)),
)]


def reference_mpe(mask_u8, grid=32, num=128):
    """The authors' DynamicFARDataset.load_masked_position_encoding, re-stated: OpenCV's filter2D (correlation,
    BORDER_REFLECT_101) in a while loop until no hole cell is left. mask_u8 (H, W) 0 / 255, 255 = hole.
    Returns the distance index (H, W) and the direction bits (H, W, 4), both 0 on known pixels."""
    h, w = mask_u8.shape
    known = (cv2.resize(mask_u8, (grid, grid), interpolation=cv2.INTER_AREA) == 0).astype(np.float32)
    dist = np.zeros((grid, grid), np.int32)
    dirs = np.zeros((grid, grid, 4), np.int32)
    step = 0
    while (known == 0).any():
        step += 1
        hole = known == 0
        grown = cv2.filter2D(known, -1, np.ones((3, 3), np.float32)) > 0
        dist[grown & hole] = step
        for k, kernel in enumerate(QUADRANT_KERNELS):
            dirs[(cv2.filter2D(known, -1, kernel) > 0) & hole, k] = 1
        known = grown.astype(np.float32)
    index = np.clip((dist / (grid / 2) * num).astype(np.int32), 0, num - 1)
    index = cv2.resize(index, (w, h), interpolation=cv2.INTER_NEAREST)
    dirs = cv2.resize(dirs, (w, h), interpolation=cv2.INTER_NEAREST)
    index[mask_u8 == 0] = 0
    dirs[mask_u8 == 0] = 0
    return index, dirs


def random_mask(rng, h, w, kind):
    mask = np.zeros((h, w), np.uint8)
    if kind == 0:  # scattered pixels
        mask[rng.random((h, w)) > 0.995] = 255
    elif kind == 1:  # large boxes, often over the border
        for _ in range(3):
            x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
            cv2.rectangle(mask, (x0, y0), (x0 + int(rng.integers(10, w)), y0 + int(rng.integers(10, h))), 255, -1)
    elif kind == 2:  # strokes
        for _ in range(5):
            p, q = rng.integers(0, min(h, w), 2), rng.integers(0, min(h, w), 2)
            cv2.line(mask, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), 255, int(rng.integers(3, 30)))
    else:  # everything but one cell: distances up to the largest the grid has
        mask[:] = 255
        cy, cx = int(rng.integers(0, 32)), int(rng.integers(0, 32))
        mask[cy * h // 32 : (cy + 1) * h // 32, cx * w // 32 : (cx + 1) * w // 32] = 0
    return mask


def test_mpe_equals_the_authors_loop():
    torch.manual_seed(0)
    mpe = MaskedPositionalEncoding(16).eval()
    rng = np.random.default_rng(0)
    for h, w in [(256, 256), (512, 512), (256, 384), (384, 640)]:
        masks = [random_mask(rng, h, w, kind) for kind in range(4)]
        with torch.no_grad():
            got = mpe(torch.from_numpy(np.stack(masks) / 255.0).float()[:, None])
        for b, mask in enumerate(masks):
            index, dirs = reference_mpe(mask)
            want = mpe.distance_table[torch.from_numpy(index).long()] + torch.from_numpy(dirs).float() @ mpe.direction_table
            assert torch.allclose(got[b], want.permute(2, 0, 1), atol=1e-5), (h, w, b)


def test_mpe_all_hole_grid_saturates_instead_of_looping():
    """The authors' loop never ends when every cell is a hole; here: the farthest index, no direction bits."""
    distance, direction = mask_distance_grid(torch.ones(2, 1, 128, 256))
    assert torch.equal(distance, torch.full((2, 32, 32), 32)) and direction.sum() == 0
    assert torch.equal(distance_index(distance).unique(), torch.tensor([127]))


# --- FFC -------------------------------------------------------------------------------------------------------

def test_ffc_block_shapes_and_fourier_layout():
    torch.manual_seed(0)
    block = FFCResnetBlock(64).eval()
    assert block.split == (16, 48)
    assert isinstance(block.ffc1.ffc.convg2g, SpectralTransform)
    assert block.ffc1.ffc.convg2g.fu.conv_layer.weight.shape == (48, 48, 1, 1)  # 2 x 24 spectral channels
    x = torch.randn(2, 64, 16, 24)
    with torch.no_grad():
        assert block(x).shape == x.shape
    # the Fourier unit against torch.fft with the authors' (re, im)-interleaved channel layout
    fu = FourierUnit(3, 5).eval()
    with torch.no_grad():
        fu.bn.running_mean.normal_()
        fu.bn.running_var.uniform_(0.5, 2)
        x = torch.randn(2, 3, 8, 12)
        spec = torch.fft.rfft2(x, norm="ortho")  # (2, 3, 8, 7) complex
        y = F.relu(fu.bn(fu.conv_layer(torch.stack([spec.real, spec.imag], 2).reshape(2, 6, 8, 7))))
        want = torch.fft.irfft2(torch.complex(y[:, 0::2], y[:, 1::2]), s=(8, 12), norm="ortho")
        assert torch.allclose(fu(x), want, atol=1e-5)


# --- the authors' checkpoint layouts ---------------------------------------------------------------------------

def authors_acr_state(ngf=8, blocks=1, prior=32, seed=0):
    """Random weights under the authors' ACRModel names and shapes (generators.py, ffc.py, layers.py)."""
    g = torch.Generator().manual_seed(seed)
    sd = {}

    def p(name, *shape, scale=0.2):
        sd[name] = torch.randn(*shape, generator=g) * scale

    def bn(name, c):
        p(f"{name}.weight", c), p(f"{name}.bias", c, scale=0.1)
        sd[f"{name}.weight"] += 1
        sd[f"{name}.running_mean"] = torch.randn(c, generator=g) * 0.1
        sd[f"{name}.running_var"] = torch.rand(c, generator=g) + 0.5
        sd[f"{name}.num_batches_tracked"] = torch.tensor(5)

    c = [ngf, 2 * ngf, 4 * ngf, 8 * ngf]
    p("G.conv1.weight", ngf, 4, 7, 7, scale=0.1), p("G.conv1.bias", ngf), bn("G.bn1", ngf)
    for i in (2, 3, 4):
        p(f"G.conv{i}.weight", c[i - 1], c[i - 2], 3, 3, scale=0.1), p(f"G.conv{i}.bias", c[i - 1]), bn(f"G.bn{i}", c[i - 1])
    cg = int(c[3] * 0.75)
    cl = c[3] - cg
    for b in range(blocks):
        for f in ("ffc1", "ffc2"):
            n = f"G.middle.{b}.{f}"
            p(f"{n}.ffc.convl2l.weight", cl, cl, 3, 3, scale=0.1), p(f"{n}.ffc.convl2g.weight", cg, cl, 3, 3, scale=0.1)
            p(f"{n}.ffc.convg2l.weight", cl, cg, 3, 3, scale=0.1)
            p(f"{n}.ffc.convg2g.conv1.0.weight", cg // 2, cg, 1, 1), bn(f"{n}.ffc.convg2g.conv1.1", cg // 2)
            p(f"{n}.ffc.convg2g.fu.conv_layer.weight", cg, cg, 1, 1), bn(f"{n}.ffc.convg2g.fu.bn", cg)
            p(f"{n}.ffc.convg2g.conv2.weight", cg, cg // 2, 1, 1)
            bn(f"{n}.bn_l", cl), bn(f"{n}.bn_g", cg)
    for i in (1, 2, 3):
        p(f"G.convt{i}.weight", c[4 - i], c[3 - i], 3, 3, scale=0.1), p(f"G.convt{i}.bias", c[3 - i]), bn(f"G.bnt{i}", c[3 - i])
    p("G.convt4.weight", 3, ngf, 7, 7, scale=0.1), p("G.convt4.bias", 3)
    widths = (prior + 2, 8 * ngf, 4 * ngf, 2 * ngf, ngf)
    for i in range(4):
        p(f"GCs.convt{i}.gate_conv.weight", widths[i], 2 * widths[i + 1], 4, 4, scale=0.1)
        p(f"GCs.convt{i}.gate_conv.bias", 2 * widths[i + 1]), bn(f"GCs.bnt{i}", widths[i + 1])
        sd[f"GCs.alpha{i + 1}"] = torch.tensor(0.3 + 0.1 * i)
    sd["GCs.alpha_att1"], sd["GCs.alpha_att2"] = torch.tensor(0.6), torch.tensor(-0.4)
    sd["GCs.alpha5"], sd["GCs.alpha6"] = torch.tensor(1.0), torch.tensor(1.0)
    pos = torch.arange(128, dtype=torch.float64)[:, None] / 10000 ** (torch.arange(0, ngf, 2, dtype=torch.float64) / ngf)
    sd["GCs.rel_pos_emb.weight"] = torch.cat([pos.sin(), pos.cos()], 1).float()
    p("GCs.direct_emb.weight", 4, ngf, scale=1.0)
    return sd


def authors_forward(sd, image, mask, feats, scores, index, dirs, blocks=1):
    """Their ACRModel.forward in eval mode (FFCGenerator + GCEncoder), written against their key names; the MPE
    inputs come from :func:`reference_mpe`, the aggregation from the operator's reference (their GroupConvAttention
    without the residual)."""
    W = lambda n: sd[n + ".weight"]  # noqa: E731
    bn = lambda t, n: F.batch_norm(t, sd[n + ".running_mean"], sd[n + ".running_var"], W(n), sd[n + ".bias"], False)  # noqa: E731
    conv = lambda t, n, **kw: F.conv2d(t, W(n), sd.get(n + ".bias"), **kw)  # noqa: E731
    reflect = lambda t, n: F.conv2d(F.pad(t, (1, 1, 1, 1), mode="reflect"), W(n))  # noqa: E731
    h, w = image.shape[-2:]
    # GCEncoder: bilinear to H/16, make_coord grid, four gated deconvs, alphas; then the MPE
    x = F.interpolate(feats, size=(h // 16, w // 16), mode="bilinear", align_corners=False)
    ys = -1 + (2 * torch.arange(h // 16) + 1) / (h // 16)
    xs = -1 + (2 * torch.arange(w // 16) + 1) / (w // 16)
    coord = torch.stack([ys[:, None].expand(-1, w // 16), xs[None, :].expand(h // 16, -1)])[None].expand(x.shape[0], -1, -1, -1)
    x = torch.cat([x, coord], 1)
    priors = []
    for i in range(4):
        y = F.conv_transpose2d(x, W(f"GCs.convt{i}.gate_conv"), sd[f"GCs.convt{i}.gate_conv.bias"], 2, 1)
        a, gate = y.chunk(2, 1)
        x = F.relu(bn(a * torch.sigmoid(gate), f"GCs.bnt{i}"))
        priors.append(x * sd[f"GCs.alpha{i + 1}"])
    priors = priors[::-1]
    mpe = (sd["GCs.rel_pos_emb.weight"][index].permute(0, 3, 1, 2) * sd["GCs.alpha5"]
           + (dirs.float() @ sd["GCs.direct_emb.weight"]).permute(0, 3, 1, 2) * sd["GCs.alpha6"])
    # FFCGenerator
    x = conv(F.pad(torch.cat([image * (1 - mask), mask], 1), (3, 3, 3, 3), mode="reflect"), "G.conv1") + mpe
    x = F.relu(bn(x, "G.bn1"))
    for i in (2, 3, 4):
        x = F.relu(bn(conv(x + priors[i - 2], f"G.conv{i}", stride=2, padding=1), f"G.bn{i}"))
    x = x + sd["GCs.alpha_att1"] * masked_attention_aggregate_reference(x, scores)
    x = x + priors[3]
    for b in range(blocks):
        cg = int(x.shape[1] * 0.75)
        xl, xg = x[:, : x.shape[1] - cg], x[:, x.shape[1] - cg :]
        for f in ("ffc1", "ffc2"):
            n = f"G.middle.{b}.{f}.ffc"
            t = F.relu(bn(conv(xg, f"{n}.convg2g.conv1.0"), f"{n}.convg2g.conv1.1"))
            spec = torch.fft.rfftn(t, dim=(-2, -1), norm="ortho")
            s = torch.stack([spec.real, spec.imag], -1).permute(0, 1, 4, 2, 3).reshape(t.shape[0], -1, *spec.shape[-2:])
            s = F.relu(bn(conv(s, f"{n}.convg2g.fu.conv_layer"), f"{n}.convg2g.fu.bn"))
            s = s.reshape(t.shape[0], -1, 2, *s.shape[-2:]).permute(0, 1, 3, 4, 2)
            fu = torch.fft.irfftn(torch.complex(s[..., 0], s[..., 1]), s=t.shape[-2:], dim=(-2, -1), norm="ortho")
            g2g = conv(t + fu, f"{n}.convg2g.conv2")
            yl, yg = reflect(xl, f"{n}.convl2l") + reflect(xg, f"{n}.convg2l"), reflect(xl, f"{n}.convl2g") + g2g
            xl, xg = F.relu(bn(yl, f"G.middle.{b}.{f}.bn_l")), F.relu(bn(yg, f"G.middle.{b}.{f}.bn_g"))
        x = x + torch.cat([xl, xg], 1)
    x = x + sd["GCs.alpha_att2"] * masked_attention_aggregate_reference(x, scores)
    for i in (1, 2, 3):
        x = F.relu(bn(F.conv_transpose2d(x, W(f"G.convt{i}"), sd[f"G.convt{i}.bias"], 2, 1, 1), f"G.bnt{i}"))
    return torch.sigmoid(conv(F.pad(x, (3, 3, 3, 3), mode="reflect"), "G.convt4"))


def authors_mae_state(seed=1):
    """An MAE state dict in the authors' MaskedAutoencoderViT layout (our names + their stored sin-cos tables)."""
    torch.manual_seed(seed)
    net = build_model("mae-t").net
    state = dict(net.state_dict())
    state["pos_embed"], state["decoder_pos_embed"] = net.pos_embed.clone(), net.decoder_pos_embed.clone()
    return state


@pytest.fixture(scope="module")
def authors_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("far_authors")
    acr, ema, mae = authors_acr_state(seed=0), authors_acr_state(seed=1), authors_mae_state()
    lightning = {f"acr.{k}": v for k, v in acr.items()}
    lightning.update({f"acr_ema.{k}": v for k, v in ema.items()})
    lightning.update({f"mae.{k}": v for k, v in mae.items()})
    lightning.update({"D.model0.0.weight": torch.zeros(64, 3, 4, 4), "loss_resnet_pl.impl.conv1.weight": torch.zeros(64, 3, 3, 3)})
    torch.save({"state_dict": lightning, "epoch": 3, "global_step": 1000, "pytorch-lightning_version": "1.2.0",
                "optimizer_states": [{"state": {}, "param_groups": []}]}, root / "far.ckpt")
    torch.save({"generator": {k[2:]: v for k, v in acr.items() if k.startswith("G.")},
                "gc_encoder": {k[4:]: v for k, v in acr.items() if k.startswith("GCs.")}}, root / "G_last.pth")
    torch.save({"model": mae, "epoch": 199}, root / "mae.pth")
    return root, acr, ema, mae


def test_authors_lightning_checkpoint_reproduces_their_forward(authors_files):
    root, acr, ema, mae = authors_files
    model = load_authors_checkpoint(root / "far.ckpt", preset="far-t")
    assert all(torch.equal(model.mae.net.state_dict()[k], v) for k, v in mae.items() if "pos_embed" not in k)
    rng, g = np.random.default_rng(3), torch.Generator().manual_seed(3)
    for size in (128, 256):
        masks = [random_mask(rng, size, size, kind) for kind in (1, 2)]
        mask = torch.from_numpy(np.stack(masks) / 255.0).float()[:, None]
        image = torch.rand(2, 3, size, size, generator=g)
        feats = torch.randn(2, 32, 16, 16, generator=g)
        scores = torch.softmax(3 * torch.randn(2, 256, 256, generator=g), -1)
        index, dirs = zip(*(reference_mpe(m) for m in masks))
        index, dirs = torch.from_numpy(np.stack(index)).long(), torch.from_numpy(np.stack(dirs))
        with torch.no_grad():
            ours = model.net(image, mask, feats, scores)
            theirs = authors_forward(acr, image, mask, feats, scores, index, dirs)
        assert theirs.std() > 0.05
        assert torch.allclose(ours, theirs, atol=2e-5), (ours - theirs).abs().max()
    ema_model = load_authors_checkpoint(root / "far.ckpt", preset="far-t", ema=True)
    assert torch.equal(ema_model.net.stem.weight, ema["G.conv1.weight"])


def test_authors_generator_file_needs_and_takes_the_mae(authors_files):
    root, acr, _, mae = authors_files
    with pytest.raises(CheckpointError, match="MAE checkpoint too"):
        load_authors_checkpoint(root / "G_last.pth", preset="far-t")
    model = load_authors_checkpoint(root / "G_last.pth", preset="far-t", mae_path=root / "mae.pth")
    assert torch.equal(model.net.prior.levels[0].deconv.conv.weight, acr["GCs.convt0.gate_conv.weight"])
    assert torch.equal(model.net.attn_scale_out, acr["GCs.alpha_att2"])
    assert torch.equal(model.mae.net.decoder_norm.weight, mae["decoder_norm.weight"])


def test_authors_layout_is_strict(tmp_path):
    acr = authors_acr_state()
    for broken, match in [({k: v for k, v in acr.items() if k != "G.bnt2.bias"}, "missing keys"),
                          ({**acr, "GCs.extra": torch.zeros(1)}, "unexpected keys")]:
        torch.save({"generator": {k[2:]: v for k, v in broken.items() if k.startswith("G.")},
                    "gc_encoder": {k[4:]: v for k, v in broken.items() if k.startswith("GCs.")}}, tmp_path / "g.pth")
        with pytest.raises(CheckpointError, match=match):
            load_authors_checkpoint(tmp_path / "g.pth", preset="far-t", mae_path=tmp_path / "none.pth")
    with pytest.raises(CheckpointError, match="shape"):  # the paper preset's widths do not take the tiny file
        load_authors_checkpoint(tmp_path / "g.pth", preset="far")


# --- parameter counts ------------------------------------------------------------------------------------------

def test_paper_preset_parameter_counts():
    """The ACR equals the authors' ACRModel exactly, split as their G / GCs (GCs also holds the MPE tables and
    the two attention scales); the MAE has its 111,654,912 trained parameters (+ 327,680 fixed position
    embeddings, buffers here, = the authors' 111,982,592)."""
    model = build_model("far")
    acr = model.net
    gcs = count_parameters(acr.prior) + count_parameters(acr.mpe) + acr.attn_scale_in.numel() + acr.attn_scale_out.numel()
    assert count_parameters(acr) == AUTHORS_G + AUTHORS_GCS == 40_988_491
    assert count_parameters(acr) - gcs == AUTHORS_G
    assert count_parameters(model.mae) == 111_654_912
    assert isinstance(acr, ACRGenerator) and acr.mpe.distance_table.shape == (128, 64)


def test_training_step_reaches_the_acr_only(far_t):
    """As a trainer uses it: gradients reach every trainable ACR parameter, none reach the MAE."""
    g = torch.Generator().manual_seed(4)
    image, mask = torch.rand(2, 3, 128, 128, generator=g), torch.zeros(2, 1, 128, 128)
    mask[..., 30:90, 40:100] = 1
    far_t.train()
    try:
        features, attention = far_t.prior(image, mask)
        far_t.net(image, mask, features, attention).mean().backward()
    finally:
        far_t.eval()
    assert all(p.grad is None for p in far_t.mae.parameters())
    trainable = [(n, p) for n, p in far_t.net.named_parameters() if p.requires_grad]
    assert all(p.grad is not None for _, p in trainable), [n for n, p in trainable if p.grad is None]
    assert {n for n, p in far_t.net.named_parameters() if not p.requires_grad} == {
        "mpe.distance_table", "mpe.distance_scale", "mpe.direction_scale"}
    far_t.zero_grad(set_to_none=True)
