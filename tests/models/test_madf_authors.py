"""Authors' checkpoint layout -> this package. The reference here is an independent, functional
re-statement of the authors' net.py forward (their key names, their per-window dynamic conv), run on a
small random state dict written in their file format."""

import pytest
import torch
import torch.nn.functional as F

from inpaint.errors import CheckpointError
from inpaint.models import build_model
from inpaint.models.madf_authors import load_authors_checkpoint
from inpaint.ops.dynamic_conv import dynamic_conv_windows

TINY = dict(enc=(4, 8, 8, 8), up=(8, 8, 16, 16), k=(7, 5, 3, 3), m=4, hidden=8)


def authors_state_dict(cfg=TINY, seed=0):
    """Random weights under the authors' names and shapes (their MADFNet.__init__, input_channels=3)."""
    g = torch.Generator().manual_seed(seed)
    enc, up, ks, mc, hid = cfg["enc"], cfg["up"], cfg["k"], cfg["m"], cfg["hidden"]
    L = len(enc)
    sd = {}

    def p(name, *shape, scale=0.2):
        sd[name] = torch.randn(*shape, generator=g) * scale

    def bn(name, c, affine=True):
        if affine:
            p(f"{name}.weight", c), p(f"{name}.bias", c)
            sd[f"{name}.weight"] += 1
        sd[f"{name}.running_mean"] = torch.randn(c, generator=g) * 0.1
        sd[f"{name}.running_var"] = torch.rand(c, generator=g) + 0.5
        sd[f"{name}.num_batches_tracked"] = torch.tensor(7)

    e_in = (6, *enc[:-1])
    for l in range(1, L + 1):
        k = ks[l - 1]
        p(f"filter_gen_{l}.conv.0.weight", mc, 3 if l == 1 else mc, k, k), p(f"filter_gen_{l}.conv.0.bias", mc)
        p(f"filter_gen_{l}.conv1.0.weight", e_in[l - 1] * k * k * enc[l - 1], mc, 1, 1, scale=0.05)
        p(f"filter_gen_{l}.conv1.0.bias", e_in[l - 1] * k * k * enc[l - 1], scale=0.05)
        bn(f"enc_conv_{l}.bn", enc[l - 1])  # dead in their code
        p(f"enc_up_{l}.0.weight", up[l - 1], enc[l - 1], 1, 1), p(f"enc_up_{l}.0.bias", up[l - 1])
    for i in range(L, 0, -1):
        out = up[i - 2] if i > 1 else 3
        skip = up[i - 2] if i > 1 else 6
        p(f"deconv_{i}.0.weight", up[i - 1], out, 4, 4, scale=0.1), p(f"deconv_{i}.0.bias", out)
        if i > 1:
            bn(f"deconv_{i}.1", out)
        p(f"att_conv_{i}.conv.0.weight", out, skip + out, 3, 3, scale=0.1), p(f"att_conv_{i}.conv.0.bias", out)
    for r in range(2):
        for i in range(L, 1, -1):
            c = up[i - 2]
            p(f"dec_ref{r}_{i}.deconv.weight", up[i - 1], c, 4, 4, scale=0.1), p(f"dec_ref{r}_{i}.deconv.bias", c)
            bn(f"dec_ref{r}_{i}.bn.batch_norm", c, affine=False)
            p(f"dec_ref{r}_{i}.bn.mlp_shared.0.weight", hid, c, 3, 3, scale=0.1), p(f"dec_ref{r}_{i}.bn.mlp_shared.0.bias", hid)
            p(f"dec_ref{r}_{i}.bn.mlp_scale.weight", c, hid, 3, 3, scale=0.05), p(f"dec_ref{r}_{i}.bn.mlp_scale.bias", c)
            p(f"dec_ref{r}_{i}.bn.mlp_bias.weight", c, hid, 3, 3, scale=0.05), p(f"dec_ref{r}_{i}.bn.mlp_bias.bias", c)
        p(f"dec_ref{r}_1.weight", 3, up[0] + 3 * (r + 1) + 6, 1, 1), p(f"dec_ref{r}_1.bias", 3)
    return sd


def authors_forward(sd, x, known, ks=TINY["k"]):
    """Their MADFNet.forward in eval mode, written against their key names."""
    L = len(ks)
    W = lambda n: sd[n + ".weight"]  # noqa: E731
    B = lambda n: sd[n + ".bias"]  # noqa: E731

    def bn(t, n, affine=True):
        return F.batch_norm(t, sd[n + ".running_mean"], sd[n + ".running_var"], W(n) if affine else None, B(n) if affine else None, False)

    def ref(r, i, t, guide):
        n = f"dec_ref{r}_{i}"
        t = F.conv_transpose2d(t, W(n + ".deconv"), B(n + ".deconv"), 2, 1)
        a = F.relu(F.conv2d(guide, W(n + ".bn.mlp_shared.0"), B(n + ".bn.mlp_shared.0"), padding=1))
        t = bn(t, n + ".bn.batch_norm", affine=False) * (1 + F.conv2d(a, W(n + ".bn.mlp_scale"), B(n + ".bn.mlp_scale"), padding=1))
        return F.leaky_relu(t + F.conv2d(a, W(n + ".bn.mlp_bias"), B(n + ".bn.mlp_bias"), padding=1), 0.2)

    hs = {0: torch.cat([x, known], 1)}
    e, m = hs[0], known
    for l in range(1, L + 1):
        k = ks[l - 1]
        m = F.relu(F.conv2d(m, W(f"filter_gen_{l}.conv.0"), B(f"filter_gen_{l}.conv.0"), 2, k // 2))
        e = F.relu(dynamic_conv_windows(e, m, W(f"filter_gen_{l}.conv1.0"), B(f"filter_gen_{l}.conv1.0"), k, 2, k // 2))
        hs[l] = F.relu(F.conv2d(e, W(f"enc_up_{l}.0"), B(f"enc_up_{l}.0")))
    h_att = h2 = h = hs[L]
    outs = []
    for i in range(L, 0, -1):
        d = F.conv_transpose2d(h_att, W(f"deconv_{i}.0"), B(f"deconv_{i}.0"), 2, 1)
        if i > 1:
            d = F.leaky_relu(bn(d, f"deconv_{i}.1"), 0.2)
        h_att = F.conv2d(torch.cat([hs[i - 1], d], 1), W(f"att_conv_{i}.conv.0"), B(f"att_conv_{i}.conv.0"), padding=1)
        if i > 1:
            h_att = F.relu(h_att)
            h2 = ref(0, i, h2, h_att)
            h = ref(1, i, h, h2)
        else:
            outs.append(h_att)
            h2 = F.conv2d(torch.cat([F.interpolate(h2, scale_factor=2, mode="bilinear"), h_att, hs[0]], 1), W("dec_ref0_1"), B("dec_ref0_1"))
            outs.append(h2)
            h = F.conv2d(torch.cat([F.interpolate(h, scale_factor=2, mode="bilinear"), h_att, h2, hs[0]], 1), W("dec_ref1_1"), B("dec_ref1_1"))
            outs.append(h)
    return outs


def _save_authors_file(path, sd, extra=None):
    model = {f"module.model.{k}": v for k, v in sd.items()}
    model["module.extractor.enc_1.0.weight"] = torch.zeros(64, 3, 3, 3)  # their frozen VGG rides along
    model.update(extra or {})
    torch.save({"n_iter": 10, "model": model, "optimizer": {"state": {}, "param_groups": []}}, path)


def test_converted_checkpoint_reproduces_authors_forward(tmp_path):
    sd = authors_state_dict()
    _save_authors_file(tmp_path / "authors.pth", sd)
    model = load_authors_checkpoint(tmp_path / "authors.pth", preset="madf-t")
    image, mask = torch.rand(2, 3, 32, 48), (torch.rand(2, 1, 32, 48) > 0.6).float()
    x, known = model.network_inputs(image, mask)
    with torch.no_grad():
        ours, theirs = model.net(x, known), authors_forward(sd, x, known)
    for a, b in zip(ours, theirs):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    assert not torch.allclose(ours[0], ours[2])


def test_strict_about_unexpected_and_missing_keys(tmp_path):
    sd = authors_state_dict()
    _save_authors_file(tmp_path / "extra.pth", sd, {"module.model.something_new.weight": torch.zeros(1)})
    with pytest.raises(CheckpointError, match="something_new"):
        load_authors_checkpoint(tmp_path / "extra.pth", preset="madf-t")
    del sd["att_conv_2.conv.0.bias"]
    _save_authors_file(tmp_path / "missing.pth", sd)
    with pytest.raises(CheckpointError, match="recovery.2.fuse.bias"):
        load_authors_checkpoint(tmp_path / "missing.pth", preset="madf-t")


def test_wrong_shape_and_unsafe_pickle_refused(tmp_path):
    _save_authors_file(tmp_path / "a.pth", authors_state_dict())
    with pytest.raises(CheckpointError, match="shape"):
        load_authors_checkpoint(tmp_path / "a.pth", preset="madf-t", pn_hidden=4)

    class Evil:
        def __reduce__(self):
            return (print, ("unpickled!",))

    torch.save({"model": Evil()}, tmp_path / "evil.pth")
    with pytest.raises(CheckpointError, match="weights-only"):
        load_authors_checkpoint(tmp_path / "evil.pth", preset="madf-t")


def test_paper_preset_accepts_authors_key_set():
    """The full-size key set maps onto the `madf` preset with every shape right (no forward: too slow)."""
    from inpaint.models.madf_authors import convert_authors_state_dict

    cfg = dict(enc=(16, 32, 64, 128, 128, 128, 128), up=(64, 128, 256, 512, 512, 512, 512), k=(7, 5, 3, 3, 3, 3, 3), m=16, hidden=128)
    sd = {k: v for k, v in authors_state_dict(cfg).items()}
    net = build_model("madf").net
    converted = convert_authors_state_dict(sd, net)
    assert set(converted) == set(net.state_dict())
    dead = sum(v.numel() for k, v in sd.items() if ".bn." in k and k.startswith("enc_conv") and k.endswith(("weight", "bias")))
    assert dead == 1248
