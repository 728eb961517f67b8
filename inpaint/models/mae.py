"""MAE for inpainting: the masked-autoencoder ViT that gives FAR its prior features and prior attention
(Cao, Dong, Fu, ECCV 2022, "Learning prior feature and attention enhanced image inpainting").

Facts and where they were read (authors' repository ewrfcas/MAE-FAR; "paper" = /work/shared/papers/far_*):

- Architecture (``MAE/util/misc.py:get_mae_model('mae_vit_base_patch16')``, used by ``train.py``/``test.py``):
  patch 16, encoder 768 wide x 12 blocks x 12 heads, decoder 512 x 8 blocks x 16 heads, MLP ratio 4, qkv with
  bias, ``LayerNorm(eps=1e-6)``; input 256x256 (``MaskedAutoencoderViT(img_size=256)``), so 16x16 = 256 tokens;
  no CLS token ("Since [cls] is useless in inpainting, we remove it", ``MAE/models_mae.py``). Block = pre-norm
  attention + GELU MLP (``MAE/vision_transformer.py``, timm's ``Mlp``). FAR builds the plain
  ``MaskedAutoencoderViT`` (not the ``...Finetune`` variant) with ``mask_decoder=True``
  (``configs/config_FAR_places2.yml``).
- Position embeddings: fixed 2-D sin-cos for encoder and decoder (``MAE/util/pos_embed.py``, stored as
  ``requires_grad=False`` parameters there, non-persistent buffers here: :func:`~inpaint.models.vit.sincos_pos_embed_2d`).
- Initialisation (``initialize_weights``): xavier-uniform Linear and flattened patch kernel, zero biases, unit
  LayerNorms, ``mask_token ~ N(0, 0.02)``; the patch projection's bias keeps PyTorch's Conv2d default.
- Input normalisation: ImageNet mean/std. The MAE sees ``img_256`` = ``transforms.Normalize(mean=[0.485, 0.456,
  0.406], std=[0.229, 0.224, 0.225])`` (``ACR/base/dataset.py`` line 64; pre-training: ``MAE/dataset.py``
  ``transform_train``). Reconstruction targets are the same normalised pixels.
- Patch masks (``forward_encoder_with_mask``): the 256x256 mask is area-averaged to 16x16; ``> 0`` ("any hole
  pixel", what the paper calls max-pooling) is the patch mask ``m``; ``== 1`` ("all pixels hole", their
  ``mask_small``) marks fully-masked patches. Their ``mask_256`` is itself ``cv2.resize(INTER_AREA) > 0`` of
  the full-size mask (``ACR/base/dataset.py``), which :meth:`MAE.to_model_size` reproduces.
- Inference encoder (``forward_encoder_with_mask``): ALL 256 tokens (hole pixels included) go through the
  encoder, every block removes the any-hole patches from the keys (``masked_fill(mask == 1, -inf)``); then the
  encoder norm. Here the bias is finite and guarded (:func:`~inpaint.models.vit.key_mask_bias`), so it is
  fp16-safe and an all-hole mask gives finite numbers instead of NaN.
- Decoder (``forward_decoder_return_feature``): ``decoder_embed``; ``x * (1 - m) + mask_token * m`` with the
  any-hole ``m``; + decoder position embedding; 8 blocks whose attention itself is NOT masked (with
  ``mask_decoder=True``, ``Attention.forward`` skips the key masking and only the returned score is masked);
  ``decoder_norm``. Prior feature = that output, (B, 512, 16, 16) (paper: "features from the last layer of the
  MAE decoder before the pixel linear projection").
- Prior attention (``Attention.forward`` with ``mask_decoder``; paper eq. 3-4): per decoder block
  ``softmax(q k^T * head_dim**-0.5)`` with the FULLY-masked keys removed (``mask_small``), mean over heads; then
  mean over the 8 decoder blocks -> (B, 256, 256), rows = queries, columns = keys, raster token order.
- Prediction head: ``decoder_pred`` Linear(512 -> 16*16*3) after ``decoder_norm``; patch layout
  ``patchify``: ``'nchpwq->nhwpqc'``, i.e. per patch (row, column, channel), channel fastest.
  :meth:`MAE.reconstruct` is their ``forward_return_image`` (decoder unmasked, then unpatchify).
- Pre-training forward (``forward_encoder`` + ``adaptive_random_masking`` + ``forward_decoder``): the encoder sees
  only the kept tokens (token dropping); the decoder gets the encoded kept tokens back in place and the mask
  token elsewhere. Loss (``forward_loss``, ``norm_pix_loss=False`` in ``mae_pretrain.py`` and the README):
  per-patch mean squared error on the normalised pixels, averaged over removed patches. The masking schedule
  and optimiser live in :mod:`inpaint.trainer.mae`.

Reads top to bottom: patch helpers, the raw network :class:`MAEViT` (authors' parameter names, so their
state dicts load by name), the interface wrapper :class:`MAE`, then the presets.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from inpaint.models.base import InpaintModel
from inpaint.models.imagenet import IMAGENET_MEAN, IMAGENET_STD
from inpaint.models.registry import build_family, register_family, register_preset
from inpaint.models.vit import Block, PatchEmbed, init_patch_embed, init_vit_weights, key_mask_bias, sincos_pos_embed_2d

#: the authors normalise the MAE input with ImageNet statistics (``ACR/base/dataset.py``, ``MAE/dataset.py``)
MEAN, STD = IMAGENET_MEAN, IMAGENET_STD
#: std of the mask token's normal initialisation (their ``initialize_weights``)
MASK_TOKEN_STD = 0.02


def patchify(x: torch.Tensor, patch: int) -> torch.Tensor:
    """(B, C, H, W) -> (B, H/p * W/p, p*p*C), tokens in raster order, each patch laid out (row, col, channel)
    as the authors' ``patchify`` (``'nchpwq->nhwpqc'``)."""
    b, c, h, w = x.shape
    x = x.reshape(b, c, h // patch, patch, w // patch, patch)  # (B, C, h, p, w, q)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(b, (h // patch) * (w // patch), patch * patch * c)


def unpatchify(tokens: torch.Tensor, patch: int, grid: tuple[int, int], channels: int = 3) -> torch.Tensor:
    """Inverse of :func:`patchify`: (B, h*w, p*p*C) -> (B, C, h*p, w*p) with ``grid`` = (h, w)."""
    b = tokens.shape[0]
    h, w = grid
    x = tokens.reshape(b, h, w, patch, patch, channels)  # (B, h, w, p, q, C)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(b, channels, h * patch, w * patch)


def patch_masks(hole: torch.Tensor, patch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-patch masks of a pixel hole mask.

    Args:
        hole: (B, 1, H, W) float or bool, 1 = hole; H, W multiples of ``patch``.
    Returns:
        (any_hole, fully_hole), each (B, H/p * W/p) float32 in {0, 1}, raster order: ``any_hole`` = some pixel of
        the patch is a hole (the authors' area-average ``> 0``), ``fully_hole`` = every pixel is (``== 1``).
    """
    h = (hole > 0.5).float()
    any_hole = F.max_pool2d(h, patch).flatten(1)
    fully_hole = 1 - F.max_pool2d(1 - h, patch).flatten(1)
    return any_hole, fully_hole


#: tokens :func:`encoder_tokens` always keeps: at least two, so that no size of the exported graph can be 1 (the
#: exporter then needs no broadcast branch in the attention); a removed one among them changes nothing
MIN_ENCODER_TOKENS = 2


def encoder_tokens(removed: torch.Tensor) -> torch.Tensor:
    """Indices (K,) int64, ascending, of the tokens the key-masked encoder must compute: those some sample of
    the batch keeps (``removed`` (B, L), 1 = removed), plus the first :data:`MIN_ENCODER_TOKENS` tokens.

    K is known only at run time (ONNX ``NonZero``); 2 <= K <= L.
    """
    first = torch.arange(removed.shape[1], device=removed.device) < MIN_ENCODER_TOKENS
    idx = torch.nonzero(~removed.bool().all(dim=0) | first).squeeze(1)
    torch._check(idx.shape[0] >= MIN_ENCODER_TOKENS)  # tells the exporter that K is no broadcastable 1
    return idx


class MAEViT(nn.Module):
    """The raw network, with the authors' parameter names (``MaskedAutoencoderViT``).

    Inputs are ImageNet-normalised RGB ``x: (B, 3, S, S)``, S = ``img_size``; token masks are (B, L) with
    L = (S / patch)**2 and 1 = removed / hole. ``forward(x, removed)`` is the pre-training forward (token
    dropping) and returns predicted patches (B, L, p*p*3) in the normalised space.
    """

    def __init__(
        self,
        img_size: int = 256,
        patch: int = 16,
        dim: int = 768,
        depth: int = 12,
        heads: int = 12,
        dec_dim: int = 512,
        dec_depth: int = 8,
        dec_heads: int = 16,
        mlp_ratio: float = 4.0,
        eps: float = 1e-6,
    ):
        super().__init__()
        if img_size % patch:
            raise ValueError(f"img_size {img_size} is not a multiple of the patch size {patch}")
        self.img_size, self.patch = img_size, patch
        self.grid = img_size // patch
        self.patch_embed = PatchEmbed(patch, 3, dim)
        self.register_buffer("pos_embed", sincos_pos_embed_2d(dim, self.grid)[None], persistent=False)  # (1, L, dim)
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio, eps) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=eps)
        self.decoder_embed = nn.Linear(dim, dec_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dec_dim))
        self.register_buffer("decoder_pos_embed", sincos_pos_embed_2d(dec_dim, self.grid)[None], persistent=False)
        self.decoder_blocks = nn.ModuleList(Block(dec_dim, dec_heads, mlp_ratio, eps) for _ in range(dec_depth))
        self.decoder_norm = nn.LayerNorm(dec_dim, eps=eps)
        self.decoder_pred = nn.Linear(dec_dim, patch * patch * 3)
        init_patch_embed(self.patch_embed)
        nn.init.normal_(self.mask_token, std=MASK_TOKEN_STD)
        self.apply(init_vit_weights)

    @property
    def num_tokens(self) -> int:
        return self.grid * self.grid

    def _check(self, x: torch.Tensor) -> None:
        if tuple(x.shape[-2:]) != (self.img_size, self.img_size):
            raise ValueError(f"the MAE takes {self.img_size}x{self.img_size} inputs, got {tuple(x.shape[-2:])}")

    # ---------------------------------------------------------------- encoder
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, S, S) normalised -> tokens with position embedding (B, L, dim)."""
        self._check(x)
        return self.patch_embed(x) + self.pos_embed

    def encode_visible(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """Token-dropping encoder (pre-training): only tokens ``keep`` (B, K) int64 go in; returns (B, K, dim)."""
        t = self.embed(x)
        t = torch.gather(t, 1, keep[..., None].expand(-1, -1, t.shape[-1]))
        for blk in self.blocks:
            t, _ = blk(t)
        return self.norm(t)

    def encode_all(self, x: torch.Tensor, removed: torch.Tensor) -> torch.Tensor:
        """Key-masked encoder (inference; the authors' ``forward_encoder_with_mask``): tokens ``removed`` (B, L)
        1 = hole are no key of any block. Returns (B, L, dim); rows of removed tokens are meaningless (the decoder
        replaces them by the mask token).

        The authors run every token as a query. A token removed in every sample of the batch is no key anywhere
        and its output is replaced, so it cannot change any output that is used: only the K tokens that some
        sample keeps go through the blocks (:func:`encoder_tokens`), and the others come back as zeros. Same
        values for the kept rows (removed keys have exactly zero weight either way, :mod:`inpaint.models.vit`);
        the encoder's cost falls with the hole's share of the tokens (FAR at 512 x 512 with the benchmark's
        mask: README "FAR on the CPU").
        """
        t = self.embed(x)  # (B, L, dim)
        idx = encoder_tokens(removed)  # (K,)
        bias = key_mask_bias(removed.index_select(1, idx))  # (B, 1, 1, K)
        tk = t.index_select(1, idx)  # (B, K, dim)
        for blk in self.blocks:
            tk, _ = blk(tk, bias)
        return torch.zeros_like(t).index_copy(1, idx, self.norm(tk))

    # ---------------------------------------------------------------- decoder
    def decode(
        self, latent: torch.Tensor, removed: torch.Tensor, scores_removed: torch.Tensor | None = None, return_scores: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Decoder up to ``decoder_norm``.

        Args:
            latent: (B, L, dim) encoder output at every position (values at ``removed`` are ignored).
            removed: (B, L) 1 = replace by the mask token.
            scores_removed: (B, L) 1 = key left out of the returned scores (FAR: fully-masked patches); None = none.
            return_scores: also return the prior attention.
        Returns:
            features (B, L, dec_dim); scores (B, L, L) float32 (mean over heads and blocks, rows sum to 1) or None.
            The decoder's own attention is never masked (the authors' ``mask_decoder=True`` behaviour).
        """
        y = self.decoder_embed(latent)
        y = torch.where(removed.bool()[..., None], self.mask_token.to(y.dtype), y)  # = y*(1-m) + mask_token*m
        y = y + self.decoder_pos_embed
        sbias = None if scores_removed is None else key_mask_bias(scores_removed)
        total = None
        for blk in self.decoder_blocks:
            y, s = blk(y, None, sbias, return_scores)
            if return_scores:
                total = s if total is None else total + s
        scores = None if total is None else total / len(self.decoder_blocks)
        return self.decoder_norm(y), scores

    def forward(self, x: torch.Tensor, removed: torch.Tensor) -> torch.Tensor:
        """Pre-training forward. ``x`` (B, 3, S, S) normalised; ``removed`` (B, L) in {0, 1}, 1 = dropped, the
        same count in every row. Returns predicted patches (B, L, p*p*3) (normalised space, :func:`patchify` layout)."""
        removed = removed.bool()
        kept = (~removed).sum(1)
        if not bool((kept == kept[0]).all()):
            raise ValueError("token dropping needs the same number of kept patches in every sample")
        keep = torch.argsort(removed.to(torch.uint8), dim=1, stable=True)[:, : int(kept[0])]  # (B, K) kept indices
        latent = self.decoder_embed(self.encode_visible(x, keep))  # (B, K, dec_dim)
        b, n, d = latent.shape[0], self.num_tokens, latent.shape[-1]
        y = self.mask_token.to(latent.dtype).expand(b, n, d).scatter(1, keep[..., None].expand(-1, -1, d), latent)
        y = y + self.decoder_pos_embed
        for blk in self.decoder_blocks:
            y, _ = blk(y)
        return self.decoder_pred(self.decoder_norm(y))


class MAE(InpaintModel):
    """The MAE behind the package interface (:mod:`inpaint.models.base`), plus what FAR uses (:meth:`prior`).

    ``predict`` reconstructs the image at any stride-16 size (resized to ``img_size`` and back inside), so the
    generic trainer's validation and ``inpaint run --engine torch`` work. ``self.net`` is the raw network.
    """

    def __init__(self, img_size: int = 256, patch: int = 16, **net_args):
        super().__init__()
        self.net = MAEViT(img_size=img_size, patch=patch, **net_args)
        self.stride = patch
        self.train_size = img_size
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1), persistent=False)

    @property
    def img_size(self) -> int:
        return self.net.img_size

    @property
    def feature_channels(self) -> int:
        """C_dec, the channels of the prior feature."""
        return self.net.decoder_norm.normalized_shape[0]

    def normalize(self, image: torch.Tensor) -> torch.Tensor:
        """[0, 1] RGB -> ImageNet-normalised."""
        return (image - self.mean) / self.std

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """ImageNet-normalised -> [0, 1] RGB (not clamped)."""
        return x * self.std + self.mean

    def to_model_size(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Resize to ``img_size`` as the authors' data pipeline does (``ACR/base/dataset.py``).

        image (B, 3, H, W) in [0, 1] -> (B, 3, S, S): area averaging when both sides shrink, else bilinear
        (their ``resize``: INTER_AREA / INTER_LINEAR). mask (B, 1, H, W), 1 = hole -> (B, 1, S, S) in {0, 1}:
        area average ``> 0`` (their ``mask_256``), so a hole never shrinks away.
        """
        s = self.img_size
        h, w = image.shape[-2:]
        if (h, w) != (s, s):
            mode = "area" if h > s and w > s else "bilinear"
            image = F.interpolate(image, size=(s, s), mode=mode, **({} if mode == "area" else {"align_corners": False}))
        if tuple(mask.shape[-2:]) != (s, s):
            mask = F.interpolate((mask > 0.5).to(image.dtype), size=(s, s), mode="area")
        return image, (mask > 0).to(image.dtype)

    def _inputs(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        s = self.img_size
        if tuple(image.shape[-2:]) != (s, s) or tuple(mask.shape[-2:]) != (s, s):
            raise ValueError(f"MAE.prior/reconstruct take {s}x{s} image and mask (see to_model_size), got {tuple(image.shape)} and {tuple(mask.shape)}")
        hole = (mask > 0.5).to(image.dtype)
        x = self.normalize(image * (1 - hole))  # hole pixels never reach the output; zeroed for clarity
        any_hole, fully_hole = patch_masks(hole, self.net.patch)
        return x, any_hole, fully_hole

    def prior(self, image: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """FAR's prior feature and prior attention (the authors' ``forward_return_feature``).

        Args:
            image: (B, 3, S, S) float in [0, 1], S = ``img_size`` (256).
            mask: (B, 1, S, S) float, 1 = hole (> 0.5 counts as hole).
        Returns:
            features: (B, C_dec, S/16, S/16), the last decoder block after ``decoder_norm``.
            attention: (B, L, L) float32, L = (S/16)**2 (256): mean over heads and decoder blocks of the softmax
            scores with fully-masked patches removed from the keys; rows (queries) sum to 1; raster token order.
        """
        x, any_hole, fully_hole = self._inputs(image, mask)
        latent = self.net.encode_all(x, any_hole)
        feats, scores = self.net.decode(latent, any_hole, fully_hole, return_scores=True)
        g = self.net.grid
        return feats.transpose(1, 2).reshape(feats.shape[0], -1, g, g), scores

    def reconstruct(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """The MAE's own image (the authors' ``forward_return_image``): same arguments as :meth:`prior`;
        returns (B, 3, S, S) in [0, 1] (not clamped, not composited)."""
        x, any_hole, _ = self._inputs(image, mask)
        feats, _ = self.net.decode(self.net.encode_all(x, any_hole), any_hole)
        pred = self.net.decoder_pred(feats)
        return self.denormalize(unpatchify(pred, self.net.patch, (self.net.grid, self.net.grid)))

    def predict(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h, w = image.shape[-2:]
        out = self.reconstruct(*self.to_model_size(image, mask))
        if (h, w) != tuple(out.shape[-2:]):
            out = F.interpolate(out, size=(h, w), mode="bilinear", align_corners=False)
        return out


register_family("mae", MAE)


@register_preset
def mae(**overrides):
    """The paper's MAE (ViT-Base encoder, authors' ``mae_vit_base_patch16``): 111,654,912 trained parameters
    (+ 327,680 fixed sin-cos position embeddings = 111,982,592, the authors' ``sum(p.numel() for p in
    mae.parameters())``)."""
    args = dict(img_size=256, patch=16, dim=768, depth=12, heads=12, dec_dim=512, dec_depth=8, dec_heads=16)
    return build_family("mae", "mae", **{**args, **overrides})


@register_preset
def mae_s(**overrides):
    """Small MAE for CPU training: 6 encoder blocks of 384 (6 heads), 4 decoder blocks of 256 (8 heads, head
    width 32 like the paper's decoder); 256x256 input and 16x16 tokens as FAR expects; 14,398,592 parameters."""
    args = dict(img_size=256, patch=16, dim=384, depth=6, heads=6, dec_dim=256, dec_depth=4, dec_heads=8)
    return build_family("mae", "mae-s", **{**args, **overrides})


@register_preset
def mae_t(**overrides):
    """Tiny MAE for tests: 2 + 2 blocks of width 32, 2 heads; still 256x256 / 16x16 tokens; 101,984 parameters."""
    args = dict(img_size=256, patch=16, dim=32, depth=2, heads=2, dec_dim=32, dec_depth=2, dec_heads=2)
    return build_family("mae", "mae-t", **{**args, **overrides})
