"""Authors' MAE checkpoint layouts -> this package. The reference is an independent, functional re-statement of
their ``forward_return_feature`` / ``forward_return_image`` (``MAE/models_mae.py``, ``MAE/vision_transformer.py``
with ``mask_decoder=True``: ``-inf`` key masking in the encoder, unmasked decoder attention, scores with the
fully-masked keys removed), written against their key names, run on random weights saved in their file formats."""

import argparse

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from inpaint.errors import CheckpointError
from inpaint.models.mae_authors import load_authors_checkpoint


pytestmark = pytest.mark.usefixtures("one_thread")

ARCH = dict(dim=32, depth=2, heads=2, dec_dim=32, dec_depth=2, dec_heads=2)  # = the mae-t preset
P, G = 16, 16  # patch, tokens per side


def _sincos(d):
    """Their get_2d_sincos_pos_embed(d, 16) in NumPy (meshgrid(w, h); first half from grid[0])."""
    omega = 1.0 / 10000 ** (np.arange(d // 4, dtype=np.float64) / (d / 4))
    gw, gh = np.meshgrid(np.arange(G, dtype=np.float32), np.arange(G, dtype=np.float32))
    half = lambda pos: np.concatenate([np.sin(np.outer(pos.reshape(-1), omega)), np.cos(np.outer(pos.reshape(-1), omega))], 1)  # noqa: E731
    return torch.from_numpy(np.concatenate([half(gw), half(gh)], 1)).float()[None]


def authors_state_dict(seed=0):
    """Random weights under their names and shapes (MaskedAutoencoderViT.state_dict())."""
    g = torch.Generator().manual_seed(seed)
    d, dd = ARCH["dim"], ARCH["dec_dim"]
    sd = {}

    def p(name, *shape, scale=0.1):
        sd[name] = torch.randn(*shape, generator=g) * scale

    def block(prefix, w):
        for n in ("norm1", "norm2"):
            p(f"{prefix}.{n}.weight", w), p(f"{prefix}.{n}.bias", w)
            sd[f"{prefix}.{n}.weight"] += 1
        p(f"{prefix}.attn.qkv.weight", 3 * w, w), p(f"{prefix}.attn.qkv.bias", 3 * w)
        p(f"{prefix}.attn.proj.weight", w, w), p(f"{prefix}.attn.proj.bias", w)
        p(f"{prefix}.mlp.fc1.weight", 4 * w, w), p(f"{prefix}.mlp.fc1.bias", 4 * w)
        p(f"{prefix}.mlp.fc2.weight", w, 4 * w), p(f"{prefix}.mlp.fc2.bias", w)

    p("patch_embed.proj.weight", d, 3, P, P, scale=0.02), p("patch_embed.proj.bias", d)
    sd["pos_embed"] = _sincos(d)
    for i in range(ARCH["depth"]):
        block(f"blocks.{i}", d)
    p("norm.weight", d), p("norm.bias", d)
    p("decoder_embed.weight", dd, d), p("decoder_embed.bias", dd)
    p("mask_token", 1, 1, dd)
    sd["decoder_pos_embed"] = _sincos(dd)
    for i in range(ARCH["dec_depth"]):
        block(f"decoder_blocks.{i}", dd)
    p("decoder_norm.weight", dd), p("decoder_norm.bias", dd)
    p("decoder_pred.weight", P * P * 3, dd), p("decoder_pred.bias", P * P * 3)
    return sd


def authors_forward(sd, imgs, mask):
    """Their forward_return_feature + the decoder_pred head, on ImageNet-normalised ``imgs`` and a {0,1} mask."""
    n = imgs.shape[0]

    def block(prefix, x, heads, mask=None, score_mask=None):
        w = lambda k: sd[f"{prefix}.{k}"]  # noqa: E731
        h = F.layer_norm(x, x.shape[-1:], w("norm1.weight"), w("norm1.bias"), 1e-6)
        b, t, c = h.shape
        qkv = F.linear(h, w("attn.qkv.weight"), w("attn.qkv.bias")).reshape(b, t, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
        a = (qkv[0] @ qkv[1].transpose(-2, -1)) * (c // heads) ** -0.5
        if mask is not None:
            a = a.masked_fill(mask == 1, float("-inf"))
        score = None
        if score_mask is not None:
            score = a.masked_fill(score_mask == 1, float("-inf")).softmax(-1).mean(1)
        a = a.softmax(-1)
        h = F.linear((a @ qkv[2]).transpose(1, 2).reshape(b, t, c), w("attn.proj.weight"), w("attn.proj.bias"))
        x = x + h
        h = F.layer_norm(x, x.shape[-1:], w("norm2.weight"), w("norm2.bias"), 1e-6)
        h = F.linear(F.gelu(F.linear(h, w("mlp.fc1.weight"), w("mlp.fc1.bias"))), w("mlp.fc2.weight"), w("mlp.fc2.bias"))
        return x + h, score

    x = F.conv2d(imgs, sd["patch_embed.proj.weight"], sd["patch_embed.proj.bias"], stride=P).flatten(2).transpose(1, 2)
    x = x + sd["pos_embed"]
    area = F.interpolate(mask, size=[G, G], mode="area")
    m = (area > 0).float().reshape(n, 1, 1, G * G)
    m_small = (area == 1).float().reshape(n, 1, 1, G * G)
    for i in range(ARCH["depth"]):
        x, _ = block(f"blocks.{i}", x, ARCH["heads"], mask=m)
    x = F.layer_norm(x, x.shape[-1:], sd["norm.weight"], sd["norm.bias"], 1e-6)
    x = F.linear(x, sd["decoder_embed.weight"], sd["decoder_embed.bias"])
    mm = m.reshape(n, G * G, 1)
    x = x * (1 - mm) + sd["mask_token"].repeat(n, G * G, 1) * mm
    x = x + sd["decoder_pos_embed"]
    scores = []
    for i in range(ARCH["dec_depth"]):
        x, s = block(f"decoder_blocks.{i}", x, ARCH["dec_heads"], score_mask=m_small)
        scores.append(s)
    x = F.layer_norm(x, x.shape[-1:], sd["decoder_norm.weight"], sd["decoder_norm.bias"], 1e-6)
    pred = F.linear(x, sd["decoder_pred.weight"], sd["decoder_pred.bias"])  # (N, L, p*p*3), 'nhwpqc' layout
    image = torch.einsum("nhwpqc->nchpwq", pred.reshape(n, G, G, P, P, 3)).reshape(n, 3, G * P, G * P)
    return x.reshape(n, G, G, -1).permute(0, 3, 1, 2), torch.stack(scores, 1).mean(1), image


def _inputs():
    g = torch.Generator().manual_seed(1)
    image = torch.rand(2, 3, 256, 256, generator=g)
    mask = torch.zeros(2, 1, 256, 256)
    mask[0, :, 40:150, 60:200] = 1
    mask[1, :, 0:70, :] = 1
    mask[1, :, 120:124, 30:230] = 1
    return image, mask


def _pretrain_file(path, sd):
    """Their misc.save_model layout: model, optimizer, epoch, scaler, args (an argparse.Namespace)."""
    args = argparse.Namespace(model="mae_vit_base_patch16", mask_ratio=0.75, blr=1.5e-4, mask_path=["a.txt", "b.txt"])
    torch.save({"model": sd, "optimizer": {"state": {}, "param_groups": []}, "epoch": 199, "scaler": {"scale": 65536.0}, "args": args}, path)


def _check_against_reference(model, sd):
    image, mask = _inputs()
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        feats, att, img = authors_forward(sd, (image - mean) / std, mask)
        ours_f, ours_a = model.prior(image, mask)
        ours_img = model.reconstruct(image, mask)
    assert (ours_f - feats).abs().max() < 1e-4
    assert (ours_a - att).abs().max() < 1e-6
    assert (ours_img - (img * std + mean)).abs().max() < 1e-4


def test_pretraining_checkpoint_reproduces_authors_forward(tmp_path):
    sd = authors_state_dict()
    _pretrain_file(tmp_path / "checkpoint-199.pth", sd)
    model = load_authors_checkpoint(tmp_path / "checkpoint-199.pth", preset="mae-t")
    _check_against_reference(model, sd)


def test_lightning_checkpoint_mae_entries(tmp_path):
    sd = authors_state_dict(seed=3)
    state = {f"mae.{k}": v for k, v in sd.items()}
    state["acr.G.model.1.ffc.weight"] = torch.zeros(2)  # the inpainting network rides along
    state["D.conv.weight"] = torch.zeros(2)
    torch.save({"state_dict": state, "epoch": 3, "global_step": 1000}, tmp_path / "far.ckpt")
    _check_against_reference(load_authors_checkpoint(tmp_path / "far.ckpt", preset="mae-t"), sd)


def test_ddp_prefix_and_bare_state_dict(tmp_path):
    sd = authors_state_dict(seed=4)
    torch.save({f"module.{k}": v for k, v in sd.items()}, tmp_path / "bare.pth")
    model = load_authors_checkpoint(tmp_path / "bare.pth", preset="mae-t")
    assert torch.equal(model.net.mask_token, sd["mask_token"])


def test_bad_files_are_refused(tmp_path):
    sd = authors_state_dict()
    with pytest.raises(CheckpointError, match="no such file"):
        load_authors_checkpoint(tmp_path / "missing.pth", preset="mae-t")
    bad = dict(sd, **{"decoder_patch_embed.proj.weight": torch.zeros(32, 4, 16, 16), "alpha": torch.tensor(1.0)})
    _pretrain_file(tmp_path / "ft.pth", bad)
    with pytest.raises(CheckpointError, match="fine-tuned"):
        load_authors_checkpoint(tmp_path / "ft.pth", preset="mae-t")
    _pretrain_file(tmp_path / "base.pth", sd)
    with pytest.raises(CheckpointError, match="shape"):
        load_authors_checkpoint(tmp_path / "base.pth", preset="mae-s")
    shifted = dict(sd, pos_embed=sd["pos_embed"] + 0.01)
    _pretrain_file(tmp_path / "pos.pth", shifted)
    with pytest.raises(CheckpointError, match="sin-cos"):
        load_authors_checkpoint(tmp_path / "pos.pth", preset="mae-t")
    missing = {k: v for k, v in sd.items() if k != "norm.weight"}
    _pretrain_file(tmp_path / "missing_key.pth", missing)
    with pytest.raises(CheckpointError, match="norm.weight"):
        load_authors_checkpoint(tmp_path / "missing_key.pth", preset="mae-t")


class _Evil:
    def __reduce__(self):
        return (print, ("unpickled!",))


def test_arbitrary_pickles_are_not_executed(tmp_path, capsys):
    torch.save({"model": _Evil()}, tmp_path / "evil.pth")  # torch.save pickles the __reduce__ call
    with pytest.raises(CheckpointError, match="weights-only"):
        load_authors_checkpoint(tmp_path / "evil.pth", preset="mae-t")
    assert "unpickled!" not in capsys.readouterr().out
