"""This package against the authors' own PyTorch code: MADF and FAR at 512x512 on the CPU, same random weights.

Needs checkouts of the authors' repositories (never part of this repository; nothing of theirs is copied here):

    git clone https://github.com/MADF-inpainting/Pytorch-MADF /tmp/Pytorch-MADF
    git clone https://github.com/ewrfcas/MAE-FAR /tmp/MAE-FAR
    python benchmarks/authors_code.py --madf-repo /tmp/Pytorch-MADF --far-repo /tmp/MAE-FAR [--size 512] [--threads 2]

What runs, each in its own process (so each peak resident memory, VmHWM, is that engine's alone: Python, the
weights, the session and the inference together):

- ``authors``: their network class built from their checkout (MADF: ``net.MADFNet``; FAR: ``MAE.models_mae.
  MaskedAutoencoderViT`` with their ``mae_vit_base_patch16`` arguments + ``ACR.networks.generators.ACRModel``),
  seeded random weights (their own initialisation; MADF's PN scale/shift convs scaled by 0.1 so the outputs stay
  near the image range, FAR's zero-initialised prior scales set to non-zero values so every path counts), in eval mode under ``torch.no_grad``, ``torch.set_num_threads(threads)``. Timed: their
  networks' forward only (FAR: MAE ``forward_return_feature`` + ``ACRModel.forward``); their data-loader work
  (resizing, FAR's masked positional encoding ``load_masked_position_encoding``, timed apart) is not counted;
- ``onnx``: their weights saved in their file layout, converted with ``inpaint.models.*_authors`` (strict), exported
  with standard ops (the default target, ``onnx-cuda``: the DFT-matrix FFTs, measured faster on this CPU too) and
  run by this package's ONNX Runtime backend with its default session settings (torch not imported), whole graph:
  normalisation, MAE resize and masked positional encoding, composite;
- ``onnx-int8`` (FAR only): the same graph exported with ``weights="int8"`` (``inpaint export --weights int8``: the
  MAE's MatMul weights in 8-bit blocks, :mod:`inpaint.export.weights`), everything else as ``onnx``;
- ``torch``: the converted model in this package's PyTorch eager (``model(image, mask)``).

Their imports that this machine lacks and that their networks do not need at inference are stood in for: MADF's
``torchvision.models`` (its VGG16 loss network only) and FAR's ``torchvision.transforms`` (the data set's, unused),
NumPy's removed alias ``np.float`` (= ``float``) their ``pos_embed.py`` uses, and three small ``timm`` layers FAR's MAE imports (``PatchEmbed``: a stride-16 conv, flatten, transpose; ``Mlp``:
linear, GELU, linear; ``DropPath``: identity in eval), defined in :func:`_stub_modules` with timm's parameter names.

The outputs are compared (max abs difference of the composited [0, 1] images) so that a speed figure cannot come
from a different computation. Times: the median of ``--repeats`` after one warm-up run in each process; every
engine runs ``--rounds`` times, interleaved (authors, onnx, torch, authors, ...), and the fastest round counts
(the least disturbed by other load on a shared machine); peak: the highest of the rounds.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np

#: the issue's targets (issue 12): speed-up factor, peak memory ratio (ours / theirs)
TARGETS = {"madf": (10.0, 0.25), "far": (2.0, 0.5)}
#: FAR's zero-initialised scalars (their GCEncoder) set to these values so that the prior and attention paths count
PRIOR_SCALE = 0.5
#: MADF's PN gamma/beta conv weights scaled by this, so that the random network's outputs stay near the image range
#: (their default init gives ~1e5 in the last refinement, where float32 rounding alone moves the clamped pixels)
MADF_PN_SCALE = 0.1


def _peak_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status (Linux only)")


def _inputs(size: int) -> tuple[np.ndarray, np.ndarray]:
    """image (1, 3, S, S) float32 in [0, 1] (seed 0), mask (1, 1, S, S) float32 1 = hole: a centred square of half
    the side and a diagonal stroke."""
    import cv2

    rng = np.random.default_rng(0)
    image = rng.random((1, 3, size, size), dtype=np.float32)
    mask = np.zeros((size, size), np.uint8)
    mask[size // 4 : 3 * size // 4, size // 4 : 3 * size // 4] = 255
    cv2.line(mask, (0, size - 1), (size - 1, size // 8), 255, max(3, size // 32))
    return image, (mask > 0).astype(np.float32)[None, None]


def _stub_modules() -> None:
    """Stand-ins for the imports the authors' inference does not use (module docstring)."""
    import torch
    from torch import nn

    tv = types.ModuleType("torchvision")
    tv.models = types.ModuleType("torchvision.models")
    tv.transforms = types.ModuleType("torchvision.transforms")
    tv.transforms.functional = types.ModuleType("torchvision.transforms.functional")
    for name in ("Compose", "ToTensor", "Normalize", "Resize"):
        setattr(tv.transforms, name, lambda *a, **k: None)
    sys.modules.update({"torchvision": tv, "torchvision.models": tv.models, "torchvision.transforms": tv.transforms,
                        "torchvision.transforms.functional": tv.transforms.functional})

    class PatchEmbed(nn.Module):
        def __init__(self, img_size=224, patch_size=16, in_chans=3, embed_dim=768):
            super().__init__()
            self.patch_size = (patch_size, patch_size)
            self.num_patches = (img_size // patch_size) ** 2
            self.proj = nn.Conv2d(in_chans, embed_dim, patch_size, patch_size)

        def forward(self, x):
            return self.proj(x).flatten(2).transpose(1, 2)

    class Mlp(nn.Module):
        def __init__(self, in_features, hidden_features=None, out_features=None, act_layer=nn.GELU, drop=0.0):
            super().__init__()
            self.fc1 = nn.Linear(in_features, hidden_features or in_features)
            self.act = act_layer()
            self.fc2 = nn.Linear(hidden_features or in_features, out_features or in_features)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    class DropPath(nn.Identity):
        def __init__(self, *args, **kwargs):
            super().__init__()

    vit = types.ModuleType("timm.models.vision_transformer")
    vit.PatchEmbed, vit.Mlp, vit.DropPath = PatchEmbed, Mlp, DropPath
    timm = types.ModuleType("timm")
    timm.models = types.ModuleType("timm.models")
    timm.models.vision_transformer = vit
    sys.modules.update({"timm": timm, "timm.models": timm.models, "timm.models.vision_transformer": vit})
    if not hasattr(np, "float"):  # their pos_embed.py uses np.float, removed in NumPy 1.24: the builtin it aliased
        np.float = float
    torch.manual_seed(0)


# --- the authors' networks ---------------------------------------------------------------------------------------

def _authors_madf(repo: str):
    _stub_modules()
    sys.path.insert(0, repo)
    import torch
    from net import MADFNet  # their net.py

    torch.manual_seed(0)
    net = MADFNet(argparse.Namespace(n_refinement_D=2), layer_size=7)
    net.eval()  # their train() override returns None: not chained
    with torch.no_grad():  # their default init makes the refinement outputs ~1e5 (PN's 1 + gamma compounds)
        for name, p in net.named_parameters():
            if ".mlp_scale." in name or ".mlp_bias." in name:
                p.mul_(MADF_PN_SCALE)
    return net


def _authors_far(repo: str):
    _stub_modules()
    sys.path.insert(0, repo)
    from functools import partial

    import torch
    from torch import nn

    from ACR.networks.generators import ACRModel
    from MAE.models_mae import MaskedAutoencoderViT

    torch.manual_seed(0)
    acr = ACRModel({"rel_pos_num": 128, "use_attn": True, "use_mpe": True})  # their configs/config_FAR_places2.yml g_args
    # their MAE/util/misc.py get_mae_model('mae_vit_base_patch16', mask_decoder=True) (misc.py imports torch._six,
    # gone from torch 2, so the class is built with the same arguments here)
    mae = MaskedAutoencoderViT(patch_size=16, embed_dim=768, depth=12, num_heads=12, decoder_embed_dim=512, decoder_depth=8,
                               decoder_num_heads=16, mlp_ratio=4, norm_layer=partial(nn.LayerNorm, eps=1e-6), mask_decoder=True)
    with torch.no_grad():
        for name, p in acr.GCs.named_parameters():
            if p.ndim == 0:
                p.fill_(PRIOR_SCALE)
    return acr.eval(), mae.eval()


def _far_mpe(repo: str, mask: np.ndarray):
    """Their data set's masked positional encoding of ``mask`` (S, S) uint8 0/255 (their ``load_masked_position_encoding``)."""
    from ACR.base.dataset import DynamicFARDataset

    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "list.txt").write_text("")
        config = {"mask_rate": [0.4, 0.8, 1.0], "round": 64, "use_mpe": True, "rel_pos_num": 128, "default_size": 256,
                  "eval_size": 256, "pos_size": 32}
        dataset = DynamicFARDataset(config, str(Path(tmp) / "list.txt"), 1, training=False, test_mask_path=tmp)
    rel_pos, _, direct = dataset.load_masked_position_encoding(mask)
    return rel_pos, direct


def _run_authors(model: str, repo: str, size: int, threads: int, repeats: int, workdir: Path) -> dict:
    import cv2
    import torch

    torch.set_num_threads(threads)
    image, mask = _inputs(size)
    t_img, t_mask = torch.from_numpy(image), torch.from_numpy(mask)
    mean, std = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    extra = {}
    if model == "madf":
        net = _authors_madf(repo)
        known = (1 - t_mask).expand(-1, 3, -1, -1).contiguous()
        x = (t_img - mean) / std * known  # their dataset: normalised image, holes zeroed (mask 1 = known)

        def forward():
            return net(x, known)[-1] * std + mean
    else:
        acr, mae = _authors_far(repo)
        t = time.perf_counter()
        mask_u8 = (mask[0, 0] * 255).astype(np.uint8)
        rel_pos, direct = _far_mpe(repo, mask_u8)
        img_256 = cv2.resize(image[0].transpose(1, 2, 0), (256, 256), interpolation=cv2.INTER_AREA).transpose(2, 0, 1)
        mask_256 = cv2.resize(mask_u8, (256, 256), interpolation=cv2.INTER_AREA)
        mask_256[mask_256 > 0] = 255
        extra["preprocess_s"] = time.perf_counter() - t
        img_256 = (torch.from_numpy(np.ascontiguousarray(img_256))[None] - mean) / std
        mask_256 = torch.from_numpy(mask_256 / 255.0).float()[None, None]
        batch = {"image": t_img, "mask": t_mask, "rel_pos": torch.from_numpy(rel_pos).long()[None],
                 "direct": torch.from_numpy(direct).long()[None], "feat_size": torch.tensor([size / 16])}

        def forward():
            feats, scores = mae.forward_return_feature(img_256, mask_256)
            return acr({**batch, "mae_feats": feats, "scores": scores})

    times = []
    with torch.no_grad():
        for i in range(repeats + 1):
            t = time.perf_counter()
            out = forward()
            if i:
                times.append(time.perf_counter() - t)
    out = (out.clamp(0, 1) * t_mask + t_img * (1 - t_mask)).numpy()
    np.save(workdir / f"{model}-authors.npy", out)
    return {"seconds": float(np.median(times)), "peak_mb": _peak_mb(), **extra}


# --- this package --------------------------------------------------------------------------------------------

def _prepare(model: str, repo: str, workdir: Path) -> None:
    """Their weights in their file layout -> this package's converter -> checkpoint and standard-op ONNX."""
    import torch

    from inpaint.export.onnx import export_onnx
    from inpaint.models.checkpoint import save_model

    if model == "madf":
        from inpaint.models.madf_authors import load_authors_checkpoint

        net = _authors_madf(repo)
        torch.save({"n_iter": 0, "model": {f"module.model.{k}": v for k, v in net.state_dict().items()}}, workdir / "madf-authors.pth")
        ours = load_authors_checkpoint(workdir / "madf-authors.pth", preset="madf")
    else:
        from inpaint.models.far_authors import load_authors_checkpoint

        acr, mae = _authors_far(repo)
        state = {f"acr.{k}": v for k, v in acr.state_dict().items()}
        state.update({f"mae.{k}": v for k, v in mae.state_dict().items()})
        torch.save({"state_dict": state, "epoch": 0}, workdir / "far-authors.ckpt")
        ours = load_authors_checkpoint(workdir / "far-authors.ckpt", preset="far")
    save_model(ours, workdir / f"{model}.safetensors")
    export_onnx(ours, workdir / f"{model}.onnx", ops="standard")
    if model == "far":
        export_onnx(ours, workdir / f"{model}-int8.onnx", ops="standard", weights="int8")


def _run_ours(model: str, engine: str, size: int, threads: int, repeats: int, workdir: Path) -> dict:
    image, mask = _inputs(size)
    if engine in ("onnx", "onnx-int8"):
        from inpaint.runtime.backends.onnx import SessionFromOnnx, owned

        name = f"{model}.onnx" if engine == "onnx" else f"{model}-int8.onnx"
        session = SessionFromOnnx(workdir / name, "cpu", threads=threads)()

        def forward():  # as the backend's runner does (OnnxRunner.infer_impl)
            return owned(session.run(None, {"image": image, "mask": mask})[0])
    else:
        import torch

        from inpaint.models.checkpoint import load_model

        torch.set_num_threads(threads)
        net = load_model(workdir / f"{model}.safetensors")
        t_img, t_mask = torch.from_numpy(image), torch.from_numpy(mask)

        def forward():
            with torch.no_grad():
                return net(t_img, t_mask).numpy()
    times = []
    for i in range(repeats + 1):
        t = time.perf_counter()
        out = forward()
        if i:
            times.append(time.perf_counter() - t)
    np.save(workdir / f"{model}-{engine}.npy", out)
    return {"seconds": float(np.median(times)), "peak_mb": _peak_mb()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--madf-repo", help="checkout of github MADF-inpainting/Pytorch-MADF")
    ap.add_argument("--far-repo", help="checkout of github ewrfcas/MAE-FAR")
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engines", default="authors,onnx,onnx-int8,torch", help="comma-separated subset of authors,onnx,onnx-int8,torch")
    ap.add_argument("--rounds", type=int, default=2, help="run every engine this many times, interleaved; report the fastest")
    ap.add_argument("--workdir", type=Path, help="keep the converted files here (reused by the next run)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    args = ap.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="authors_code_"))
    workdir.mkdir(parents=True, exist_ok=True)
    if args.child:
        step, model, engine = args.child.split(":")
        repo = args.madf_repo if model == "madf" else args.far_repo
        if step == "prepare":
            _prepare(model, repo, workdir)
            print(json.dumps({}))
        elif engine == "authors":
            print(json.dumps(_run_authors(model, repo, args.size, args.threads, args.repeats, workdir)))
        else:
            print(json.dumps(_run_ours(model, engine, args.size, args.threads, args.repeats, workdir)))
        return

    def child(step: str, model: str, engine: str = "-") -> dict:
        cmd = [sys.executable, __file__, "--child", f"{step}:{model}:{engine}", "--size", str(args.size), "--threads", str(args.threads),
               "--repeats", str(args.repeats), "--workdir", str(workdir)]
        cmd += ["--madf-repo", args.madf_repo] if args.madf_repo else []
        cmd += ["--far-repo", args.far_repo] if args.far_repo else []
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"{step} {model} {engine} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])

    models = [m for m, repo in (("madf", args.madf_repo), ("far", args.far_repo)) if repo]
    if not models:
        ap.error("give --madf-repo and/or --far-repo")
    print(f"{args.size}x{args.size}, batch 1, {args.threads} threads, median of {args.repeats} after 1 warm-up; peak = process VmHWM")
    for model in models:
        engines = [e for e in args.engines.split(",") if model == "far" or e != "onnx-int8"]  # MADF has no MatMul weights
        if not (workdir / f"{model}.onnx").is_file():
            t = time.perf_counter()
            child("prepare", model)
            print(f"  {model}: converted their weights and exported in {time.perf_counter() - t:.0f} s")
        rounds = [{engine: child("run", model, engine) for engine in engines} for _ in range(args.rounds)]
        # per engine: the fastest round (the one least disturbed by other load), the highest peak
        results = {e: {**min((r[e] for r in rounds), key=lambda r: r["seconds"]), "peak_mb": max(r[e]["peak_mb"] for r in rounds),
                       "all_s": [r[e]["seconds"] for r in rounds]} for e in engines}
        ref = np.load(workdir / f"{model}-authors.npy") if "authors" in results else None
        for engine, r in results.items():
            diff = "" if ref is None or engine == "authors" else f"   max |out - authors'| {np.abs(np.load(workdir / f'{model}-{engine}.npy') - ref).max():.1e}"
            pre = f"   (their preprocessing, not counted: {r['preprocess_s']:.2f} s)" if "preprocess_s" in r else ""
            rounds_s = " / ".join(f"{t:.2f}" for t in r["all_s"])
            print(f"  {model:<5} {engine:<8} {r['seconds']:7.2f} s (rounds {rounds_s})   peak {r['peak_mb']:7.0f} MB{diff}{pre}", flush=True)
        if "authors" in results:
            a = results["authors"]
            speed, memory = TARGETS[model]
            for engine in (e for e in engines if e != "authors"):
                r = results[engine]
                x, m = a["seconds"] / r["seconds"], r["peak_mb"] / a["peak_mb"]
                verdict = "meets" if x >= speed and m <= memory else "MISSES"
                print(f"  {model} {engine} vs authors: {x:.1f}x faster, peak x{m:.2f} of theirs ({verdict} >= {speed:g}x at <= x{memory:g})")


if __name__ == "__main__":
    main()
