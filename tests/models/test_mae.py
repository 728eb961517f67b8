"""The MAE: presets and sizes, key-masked all-token inference against token dropping, prior attention,
fp16 / all-masked safety, and the InpaintModel interface."""

import math

import numpy as np
import pytest
import torch

from inpaint.models import build_model, list_models
from inpaint.models.mae import MIN_ENCODER_TOKENS, encoder_tokens, patch_masks, patchify, unpatchify
from inpaint.models.vit import MASK_BIAS, key_mask_bias, sincos_pos_embed_2d


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    model = build_model("mae-t").eval()
    for p in model.parameters():  # beyond the init (zero biases, unit norms): every weight matters
        p.data.add_(torch.randn_like(p) * 0.05)
    return model


def _mask(b=2, seed=0):
    """Hole masks with full, partial and no-hole patches: two boxes on patch-unaligned edges, plus strokes."""
    m = torch.zeros(b, 1, 256, 256)
    m[0, :, 40:150, 60:200] = 1
    m[0, :, 200:203, :] = 1
    if b > 1:
        m[1, :, 0:70, :] = 1
        m[1, :, 100:180, 30:50] = 1
    return m


def _vit_b_count(dim, depth, dec_dim, dec_depth, patch=16):
    """Trained parameters of the MAE, counted from the architecture (ViT block: qkv 3d^2+3d, proj d^2+d,
    fc1 4d^2+4d, fc2 4d^2+d, two LayerNorms 4d)."""
    block = lambda d: 12 * d * d + 13 * d  # noqa: E731
    return (
        dim * 3 * patch * patch + dim  # patch projection
        + depth * block(dim) + 2 * dim  # encoder blocks + norm
        + dim * dec_dim + dec_dim + dec_dim  # decoder_embed + mask_token
        + dec_depth * block(dec_dim) + 2 * dec_dim  # decoder blocks + norm
        + dec_dim * patch * patch * 3 + patch * patch * 3  # decoder_pred
    )


@pytest.mark.parametrize("name", list_models("mae"))
def test_presets_build_and_record_config(name):
    model = build_model(name)
    assert model.config["family"] == "mae" and model.config["preset"] == name
    assert model.net.num_tokens == 256 and model.stride == 16 and model.train_size == 256


def test_paper_preset_parameter_count():
    # The authors' MaskedAutoencoderViT('mae_vit_base_patch16') gives sum(p.numel() for p in mae.parameters())
    # = 111,982,592 (what their test.py prints), of which 327,680 are the frozen sin-cos position embeddings
    # (requires_grad=False there, buffers here): measured by building their MAE/models_mae.py with timm's
    # PatchEmbed/Mlp stubbed, in a throw-away script.
    model = build_model("mae")
    trained = sum(p.numel() for p in model.parameters())
    fixed = model.net.pos_embed.numel() + model.net.decoder_pos_embed.numel()
    assert trained == _vit_b_count(768, 12, 512, 8) == 111_654_912
    assert fixed == 256 * (768 + 512) == 327_680
    assert trained + fixed == 111_982_592


def test_sincos_matches_the_published_formula():
    # MoCo v3 / MAE get_2d_sincos_pos_embed, re-stated in NumPy: grid = meshgrid(w, h); first half encodes grid[0]
    d, g = 32, 5
    omega = 1.0 / 10000 ** (np.arange(d // 4, dtype=np.float64) / (d / 4))
    gw, gh = np.meshgrid(np.arange(g, dtype=np.float32), np.arange(g, dtype=np.float32))
    half = lambda pos: np.concatenate([np.sin(np.outer(pos.reshape(-1), omega)), np.cos(np.outer(pos.reshape(-1), omega))], 1)  # noqa: E731
    ref = np.concatenate([half(gw), half(gh)], 1).astype(np.float32)
    assert np.abs(sincos_pos_embed_2d(d, g).numpy() - ref).max() < 1e-7
    assert sincos_pos_embed_2d(d, g)[1, 0] == pytest.approx(math.sin(1.0))  # token 1 = column 1, first channel


def test_patchify_layout_and_round_trip():
    x = torch.rand(2, 3, 32, 48)
    t = patchify(x, 16)
    assert t.shape == (2, 6, 768)
    # token 4 = row 1, column 1; element (r, c, ch) at (r * 16 + c) * 3 + ch
    assert t[1, 4, (5 * 16 + 7) * 3 + 2] == x[1, 2, 16 + 5, 16 + 7]
    assert torch.equal(unpatchify(t, 16, (2, 3)), x)


def test_patch_masks_any_and_fully():
    m = torch.zeros(1, 1, 32, 32)
    m[..., 0:16, 0:16] = 1  # patch 0 fully
    m[..., 20, 20] = 1  # patch 3 partly
    any_hole, fully = patch_masks(m, 16)
    assert any_hole.tolist() == [[1, 0, 0, 1]] and fully.tolist() == [[1, 0, 0, 0]]


def test_key_mask_bias_is_finite_and_guards_all_masked():
    removed = torch.tensor([[1, 0, 1], [1, 1, 1]])
    bias = key_mask_bias(removed, torch.float16)
    assert bias.dtype == torch.float16 and torch.isfinite(bias).all()
    assert bias[0, 0, 0].tolist() == [MASK_BIAS, 0, MASK_BIAS]
    assert bias[1].abs().max() == 0  # every key removed: no bias rather than NaN
    logits = torch.randn(1, 1, 1, 3) * 30
    assert (logits + bias[:1]).softmax(-1)[0, 0, 0, 0] == 0  # removed keys get exactly zero weight


def test_all_token_key_masked_encoder_equals_token_dropping(tiny):
    image, mask = torch.rand(2, 3, 256, 256), _mask()
    x = tiny.normalize(image)
    any_hole, _ = patch_masks(mask, 16)
    with torch.no_grad():
        full = tiny.net.encode_all(x, any_hole)
        for b in range(2):
            keep = torch.nonzero(any_hole[b] == 0).flatten()
            dropped = tiny.net.encode_visible(x[b : b + 1], keep[None])
            assert (full[b, keep] - dropped[0]).abs().max() < 1e-5


def test_encoder_tokens_are_the_ones_some_sample_keeps():
    removed = torch.tensor([[1, 1, 0, 1, 0, 1], [1, 1, 1, 1, 0, 1]])
    assert encoder_tokens(removed).tolist() == [0, 1, 2, 4]  # 2 and 4 kept somewhere; 0, 1 always (>= 2 rows)
    assert encoder_tokens(torch.ones(1, 6)).tolist() == list(range(MIN_ENCODER_TOKENS))
    assert encoder_tokens(torch.zeros(1, 6)).tolist() == list(range(6))


def test_encoder_skips_tokens_removed_everywhere_without_changing_the_kept_rows(tiny):
    """encode_all computes only the tokens some sample keeps; the rows it returns for them equal the authors'
    computation with every token as a query (key-masked), and the decoder's output is unchanged."""
    image, mask = torch.rand(2, 3, 256, 256), _mask()
    x = tiny.normalize(image)
    removed, _ = patch_masks(mask, 16)
    net = tiny.net
    with torch.no_grad():
        t, bias = net.embed(x), key_mask_bias(removed)
        for blk in net.blocks:
            t, _ = blk(t, bias)
        every = net.norm(t)  # (2, L, dim): all 256 tokens as queries
        fast = net.encode_all(x, removed)
        kept = (removed == 0).any(0)
        assert 0 < int(kept.sum()) < 256  # the test mask leaves tokens out
        assert (fast[:, kept] - every[:, kept]).abs().max() < 1e-5
        assert (fast[:, ~kept & (torch.arange(256) >= MIN_ENCODER_TOKENS)] == 0).all()  # never computed
        a, _ = net.decode(fast, removed)
        b, _ = net.decode(every, removed)
        assert (a - b).abs().max() < 1e-5


def test_training_forward_equals_inference_path(tiny):
    """Token dropping + mask tokens (pre-training) = key-masked all-token encoder + decoder (inference)."""
    x = tiny.normalize(torch.rand(2, 3, 256, 256))
    g = torch.Generator().manual_seed(0)
    removed = torch.zeros(2, 256)
    for b in range(2):
        removed[b, torch.randperm(256, generator=g)[:192]] = 1
    with torch.no_grad():
        pred = tiny.net(x, removed)
        feats, _ = tiny.net.decode(tiny.net.encode_all(x, removed), removed)
        assert (pred - tiny.net.decoder_pred(feats)).abs().max() < 1e-5
    with pytest.raises(ValueError, match="same number"):
        tiny.net(x, torch.cat([removed[:1], torch.zeros(1, 256)]))


def test_prior_shapes_and_attention(tiny):
    image, mask = torch.rand(2, 3, 256, 256), _mask()
    with torch.no_grad():
        feats, att = tiny.prior(image, mask)
    assert feats.shape == (2, 32, 16, 16) and att.shape == (2, 256, 256) and att.dtype == torch.float32
    assert torch.allclose(att.sum(-1), torch.ones(2, 256), atol=1e-5)
    any_hole, fully = patch_masks(mask, 16)
    assert fully.sum() > 0 and (any_hole - fully).sum() > 0  # the masks have both kinds of patch
    assert att[fully.bool()[:, None, :].expand_as(att)].abs().max() == 0  # fully-masked keys: zero weight
    partly = (any_hole - fully).bool()[:, None, :].expand_as(att)
    assert att[partly].min() > 0  # partly-masked keys keep their weight in the scores


def test_prior_ignores_hole_pixels(tiny):
    """Every patch touched by a hole is dropped from the keys and replaced by the mask token, so nothing
    under the mask (nor the rest of its patch) can change the outputs."""
    image, mask = torch.rand(2, 3, 256, 256), _mask()
    any_hole, _ = patch_masks(mask, 16)
    cover = torch.nn.functional.interpolate(any_hole.view(2, 1, 16, 16), scale_factor=16)
    other = torch.where(cover > 0, torch.rand_like(image), image)
    with torch.no_grad():
        a, b = tiny.prior(image, mask), tiny.prior(other, mask)
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_all_masked_and_half_precision_are_finite(tiny):
    image = torch.rand(1, 3, 256, 256)
    with torch.no_grad():
        feats, att = tiny.prior(image, torch.ones(1, 1, 256, 256))
        assert torch.isfinite(feats).all() and torch.allclose(att.sum(-1), torch.ones(1, 256), atol=1e-5)
        half = build_model("mae-t").eval()
        half.load_state_dict(tiny.state_dict())
        f16, a16 = half.half().prior(image.half(), _mask(1).half())
        f32, a32 = tiny.prior(image, _mask(1))
    assert torch.isfinite(f16).all() and torch.isfinite(a16).all()
    assert (f16.float() - f32).abs().max() < 0.05 and (a16 - a32).abs().max() < 1e-2


def test_interface_any_size_and_composite(tiny):
    image, mask = torch.rand(1, 3, 100, 140), torch.zeros(1, 1, 100, 140)
    mask[..., 30:60, 40:90] = 1
    with torch.no_grad():
        out = tiny(image, mask)
    assert out.shape == image.shape
    assert torch.equal(out[mask.expand_as(out) == 0], image[mask.expand_as(out) == 0])
    assert out.min() >= 0 and out.max() <= 1
    with pytest.raises(ValueError, match="256x256"):
        tiny.prior(image, mask)


def test_to_model_size_keeps_every_hole():
    model = build_model("mae-t")
    mask = torch.zeros(1, 1, 512, 512)
    mask[..., 100, 300] = 1  # one pixel: still a hole at 256
    image, m = model.to_model_size(torch.rand(1, 3, 512, 512), mask)
    assert image.shape == (1, 3, 256, 256) and m.sum() == 1 and m[0, 0, 50, 150] == 1
