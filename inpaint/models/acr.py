"""FAR's Attention-based CNN Restoration network (ACR; Cao, Dong, Fu, ECCV 2022), as the authors'
``ACR/networks/generators.py`` (``FFCGenerator`` + ``GCEncoder``) and ``layers.py`` build it.

Reads top to bottom: the masking positional encoding (:func:`mask_distance_grid`, :class:`MaskedPositionalEncoding`),
the gated transposed conv and the prior-feature encoder, the conv levels, then :class:`ACRGenerator`.

Conventions inside the network (the authors'): image RGB in [0, 1] (not normalised), mask 1 = hole, input
``cat(image * (1 - mask), mask)``; output through a sigmoid, in [0, 1], not composited.
H and W must be multiples of 128: the encoder stops at 1/8, where the prior attention's 16 x 16 token grid
needs an integer rate r = (H/8)/16 per axis (the authors' ``GroupConvAttention`` only handles squares and
fails where that rate is not an integer, e.g. 576 or 2040); the masking positional encoding works on a
32 x 32 grid. Non-square sizes work on every path (rates (H/128, W/128), coordinate grid and prior features
per axis).
"""

from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from inpaint.models.ffc import GLOBAL_RATIO, FFCResnetBlock, batchnorm_affine
from inpaint.ops.attention_aggregate.op import masked_attention_aggregate
from inpaint.ops.conv_s2d import conv2d_few_outputs_of_phases
from inpaint.ops.conv_transpose import conv_transpose2d, conv_transpose2d_phase_outputs
from inpaint.ops.mode import exporting

#: side of the grid on which the authors compute the masking positional encoding (``pos_size`` in their configs)
MPE_GRID = 32
#: reflect padding before the 7x7 head (the authors' ``nn.ReflectionPad2d(3)``)
HEAD_PAD = 3
#: number of distance embeddings (``rel_pos_num`` in their configs)
MPE_DISTANCES = 128
#: the authors' sinusoid base (``MaskedSinusoidalPositionalEmbedding``, from XLM)
SINUSOID_BASE = 10000.0
#: the authors' four quadrant filters ``d_filter1..4`` as the (dy, dx) neighbour offsets they cover besides the
#: centre (their 3x3 kernels, rows dy = -1..1, columns dx = -1..1): up-left, down-left, up-right, down-right
_QUADRANTS = (
    ((-1, -1), (-1, 0), (0, -1)),
    ((1, -1), (1, 0), (0, -1)),
    ((-1, 0), (-1, 1), (0, 1)),
    ((1, 0), (1, 1), (0, 1)),
)


# --- masking positional encoding ---------------------------------------------------------------------------

def mask_distance_grid(mask: torch.Tensor, grid: int = MPE_GRID, steps: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Distance of every hole cell to the known region, and the directions it was reached from, on a grid.

    The authors' ``DynamicFARDataset.load_masked_position_encoding`` (a ``while`` loop in NumPy/OpenCV that runs
    until no hole is left) as a FIXED number of unrolled steps of standard ops:
      1. the mask is reduced to ``grid x grid`` cells; a cell is a hole when any of its pixels is (their
         ``cv2.resize(INTER_AREA)`` then ``> 0``; H/grid and W/grid are integers here, so it is a max-pool);
      2. step i = 1, 2, ... dilates the known region by its 3x3 neighbourhood (their ``cv2.filter2D`` with a ones
         kernel, ``> 0``); the hole cells it reaches get distance i. Their border mode ``BORDER_REFLECT_101`` only
         mirrors cells that are already in the 3x3 window, so a max-pool that ignores the outside is the same.
         Unrolled, distance = the number of steps 0..``steps`` after which a cell is still a hole (one max-pool
         and one add per step).
      3. direction bit k of a hole cell: their quadrant filter k, applied in the step that reaches the cell to
         the known region before that step, touches a known cell. A cell is known before step d exactly when
         its distance is below d, so bit k = (smallest distance among the cell's quadrant-k neighbours, mirrored
         at the border as ``BORDER_REFLECT_101`` does) < the cell's own distance, computed once at the end.

    ``steps`` defaults to ``grid - 1``, the largest distance (Chebyshev, in cells) a grid can hold, so the result
    equals the authors' loop for every mask that leaves at least one known cell. Beyond the unroll limit: a
    cell not reached after ``steps`` steps gets distance ``steps + 1``. With the default that happens only when
    the whole grid is hole, where the authors' loop never ends (nothing to dilate from): then every cell has
    distance ``grid``, which :func:`distance_index` maps to the last (farthest) embedding, and no direction
    bits. (With a smaller ``steps``, cells farther away share distance ``steps + 1``.)

    Args:
        mask: (B, 1, H, W) float, 1 = hole; H and W multiples of ``grid``.
        grid: cells per side (the authors' ``pos_size`` = 32; non-square images get non-square cells).
        steps: dilation steps to unroll (a constant of the graph).
    Returns:
        distance: (B, grid, grid) int64, 0 for known cells, 1.. for holes.
        direction: (B, 4, grid, grid) float32 in {0, 1}, all 0 for known cells.
    """
    b, _, h, w = mask.shape
    steps = grid - 1 if steps is None else steps
    hole = mask.float().reshape(b, 1, grid, h // grid, grid, w // grid).amax(dim=(3, 5)).gt(0).float()  # (B, 1, g, g)
    distance = hole
    for _ in range(steps):
        hole = -F.max_pool2d(-hole, kernel_size=3, stride=1, padding=1)  # known region dilated = hole eroded
        distance = distance + hole  # (B, 1, g, g): steps survived as a hole
    padded = F.pad(distance, (1, 1, 1, 1), mode="reflect")  # (B, 1, g+2, g+2), BORDER_REFLECT_101

    def neighbour(dy: int, dx: int) -> torch.Tensor:
        return padded[:, :, 1 + dy : 1 + dy + grid, 1 + dx : 1 + dx + grid]

    nearest = [torch.minimum(torch.minimum(neighbour(*q[0]), neighbour(*q[1])), neighbour(*q[2])) for q in _QUADRANTS]
    direction = (torch.cat(nearest, dim=1) < distance).float()  # (B, 4, g, g); known cells: nothing is below 0
    return distance[:, 0].long(), direction


def distance_index(distance: torch.Tensor, grid: int = MPE_GRID, num: int = MPE_DISTANCES) -> torch.Tensor:
    """Embedding index of a grid distance: ``min(floor(d / (grid / 2) * num), num - 1)`` (the authors' ``rel_pos``).

    Computed in integers, ``(2 * num * d) // grid``; with grid 32 and 128 embeddings every distance >= 16 cells
    (half the image) shares the last index.
    """
    return torch.clamp((distance * (2 * num)) // grid, max=num - 1)


def sinusoid_table(num: int, dim: int) -> torch.Tensor:
    """(num, dim) float32: row p = [sin(p * w_k) for k < dim/2] + [cos(p * w_k) for k < dim/2], w_k =
    10000 ** (-2k / dim), not interleaved (the authors' ``MaskedSinusoidalPositionalEmbedding._init_weight``,
    computed in float64 as their NumPy code does)."""
    if dim % 2:
        raise ValueError(f"the sinusoid table needs an even width, got {dim}")
    pos = torch.arange(num, dtype=torch.float64)[:, None]
    freq = SINUSOID_BASE ** (-torch.arange(0, dim, 2, dtype=torch.float64) / dim)  # (dim/2,)
    return torch.cat([torch.sin(pos * freq), torch.cos(pos * freq)], dim=1).float()


def upsample_cells(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Nearest upsampling of a (B, C, g, g) grid to (B, C, H, W) for H, W multiples of g (each cell repeated;
    the authors' ``cv2.resize(INTER_NEAREST)``, exact for integer factors)."""
    b, c, gh, gw = x.shape
    fh, fw = height // gh, width // gw
    return x[:, :, :, None, :, None].expand(b, c, gh, fh, gw, fw).reshape(b, c, height, width)


class MaskedPositionalEncoding(nn.Module):
    """The masking positional encoding (MPE; ZITS, Dong et al. CVPR 2022), added after the first conv.

    forward(mask: (B, 1, H, W) float, 1 = hole) -> (B, dim, H, W) float32:
    ``distance_scale * distance_table[index] + direction_scale * (direction @ direction_table)`` per pixel, with
    index and direction from :func:`mask_distance_grid` / :func:`distance_index`, upsampled to pixels; known
    pixels get index 0 and no direction (the authors zero both where the full-resolution mask is known).

    Parameters (the authors' names in brackets): ``distance_table`` (num, dim) fixed sinusoids, frozen
    [``rel_pos_emb.weight``]; ``direction_table`` (4, dim) learned [``direct_emb.weight``]; ``distance_scale``,
    ``direction_scale`` scalars fixed at 1, frozen [``alpha5``, ``alpha6``]. The frozen ones are parameters
    (not buffers) as in the authors' model, so parameter counts and checkpoints match theirs.
    """

    def __init__(self, dim: int, grid: int = MPE_GRID, num: int = MPE_DISTANCES, steps: int | None = None):
        super().__init__()
        self.grid, self.num, self.steps = grid, num, steps
        self.distance_table = nn.Parameter(sinusoid_table(num, dim), requires_grad=False)
        self.direction_table = nn.Parameter(torch.randn(4, dim))  # their MultiLabelEmbedding: normal init
        self.distance_scale = nn.Parameter(torch.tensor(1.0), requires_grad=False)
        self.direction_scale = nn.Parameter(torch.tensor(1.0), requires_grad=False)

    def cells(self, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The encoding on the grid: (hole-cell embeddings (B, dim, g, g), the known pixels' embedding (1, dim, 1, 1)).

        Summed on the grid, upsampled once by the caller: the same float operations per pixel as summing two
        upsampled embeddings (upsampling copies), with one full-resolution tensor instead of five.
        """
        distance, direction = mask_distance_grid(mask, self.grid, self.steps)  # (B, g, g), (B, 4, g, g)
        index = distance_index(distance, self.grid, self.num)
        dist_emb = F.embedding(index, self.distance_table).permute(0, 3, 1, 2)  # (B, dim, g, g)
        dir_emb = torch.einsum("bkyx,kd->bdyx", direction, self.direction_table)  # (B, dim, g, g)
        emb = self.distance_scale * dist_emb + self.direction_scale * dir_emb  # (B, dim, g, g)
        known = self.distance_scale * self.distance_table[0].view(1, -1, 1, 1)  # index 0, no direction
        return emb, known

    def forward(self, mask: torch.Tensor) -> torch.Tensor:
        _, _, h, w = mask.shape
        emb, known = self.cells(mask)
        return torch.where(mask > 0.5, upsample_cells(emb, h, w), known)


def hole_cells(mask: torch.Tensor, cells: torch.Tensor) -> torch.Tensor:
    """``hole * upsample_cells(cells)`` as ONE broadcast multiply, no upsampled copy of ``cells``.

    mask (B, 1, H, W) float, 1 = hole; cells (B, C, g, g) with H, W multiples of g -> (B, C, H, W): the cell's
    value at hole pixels, 0 at known ones.
    """
    b, _, h, w = mask.shape
    c, gh, gw = cells.shape[1:]
    hole = (mask > 0.5).to(cells.dtype).reshape(b, 1, gh, h // gh, gw, w // gw)
    return (hole * cells[:, :, :, None, :, None]).reshape(b, c, h, w)


# --- prior features ----------------------------------------------------------------------------------------

class GatedDeconv(nn.Module):
    """Gated transposed conv (Yu et al. ICCV 2019), x2 upsampling: ConvTranspose2d(k4, s2, p1) to 2*C_out
    channels, split (feature, gate), feature * sigmoid(gate).

    forward(x: (B, C_in, h, w)) -> (B, C_out, 2h, 2w); ``forward(x, then)`` applies the pointwise ``then`` after the
    gating, inside the transposed conv's output phases when exporting (:func:`~inpaint.ops.conv_transpose.conv_transpose2d`),
    so the (B, 2C_out, 2h, 2w) pre-gate tensor never exists whole.
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.out_ch = out_ch
        self.conv = nn.ConvTranspose2d(in_ch, 2 * out_ch, kernel_size=4, stride=2, padding=1)

    def gate(self, y: torch.Tensor) -> torch.Tensor:
        """(B, 2C_out, ...) -> (B, C_out, ...): feature * sigmoid(gate), pixel by pixel."""
        feature, gate = torch.split(y, self.out_ch, dim=1)
        return feature * torch.sigmoid(gate)

    def forward(self, x: torch.Tensor, then: Callable[[torch.Tensor], torch.Tensor] | None = None) -> torch.Tensor:
        pointwise = self.gate if then is None else (lambda y: then(self.gate(y)))
        return conv_transpose2d(x, self.conv, pointwise)  # exported as 4 phase convs, gated phase by phase


def coordinate_grid(height: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """(1, 2, H, W) pixel-centre coordinates in (-1, 1): channel 0 the row (y), channel 1 the column (x); value
    ``-1 + (2i + 1) / n`` (the authors' ``make_coord``, per axis, so non-square grids are right)."""
    ys = (2 * torch.arange(height, device=like.device, dtype=torch.float32) + 1) / height - 1
    xs = (2 * torch.arange(width, device=like.device, dtype=torch.float32) + 1) / width - 1
    grid = torch.stack(torch.meshgrid(ys, xs, indexing="ij"), dim=0)  # (2, H, W)
    return grid[None].to(like.dtype)


class PriorLevel(nn.Module):
    """Gated deconv -> BN -> ReLU, and the level's output ``scale`` (zero-initialised: the prior starts switched off).

    forward(x: (B, C_in, h, w)) -> (next input (B, C_out, 2h, 2w), scaled prior feature (B, C_out, 2h, 2w)).
    """

    def __init__(self, in_ch: int, out_ch: int):
        super().__init__()
        self.deconv = GatedDeconv(in_ch, out_ch)
        self.bn = nn.BatchNorm2d(out_ch)
        self.scale = nn.Parameter(torch.tensor(0.0))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.deconv(x, lambda y: F.relu(self.bn(y)))  # BN (eval: per channel) and ReLU are pointwise
        return x, x * self.scale

    def prior_only(self, x: torch.Tensor) -> torch.Tensor:
        """``forward(x)[1]`` without the unscaled output: the scale is applied phase by phase in exported graphs
        (FAR's finest level: one (B, ngf, H, W) tensor less at the graph's memory peak)."""
        return self.deconv(x, lambda y: F.relu(self.bn(y)) * self.scale)


class PriorEncoder(nn.Module):
    """The MAE prior features for the ACR encoder (the authors' ``GCEncoder`` minus the MPE, which lives in
    :class:`MaskedPositionalEncoding`, and the attention scales, which live in :class:`ACRGenerator`).

    forward(features: (B, C_prior, 16, 16), height, width) -> four tensors, finest first:
    (B, ngf, H, W), (B, 2ngf, H/2, W/2), (B, 4ngf, H/4, W/4), (B, 8ngf, H/8, W/8).
    The features are bilinearly resized to (H/16, W/16) (``align_corners=False``), concatenated with
    :func:`coordinate_grid`, and go through four :class:`PriorLevel` (C_prior+2 -> 8ngf -> 4ngf -> 2ngf -> ngf).
    """

    def __init__(self, prior_ch: int, ngf: int):
        super().__init__()
        widths = (prior_ch + 2, 8 * ngf, 4 * ngf, 2 * ngf, ngf)
        self.levels = nn.ModuleList(PriorLevel(widths[i], widths[i + 1]) for i in range(4))

    def forward(self, features: torch.Tensor, height: int, width: int) -> list[torch.Tensor]:
        h, w = height // 16, width // 16
        x = F.interpolate(features, size=(h, w), mode="bilinear", align_corners=False)
        x = torch.cat([x, coordinate_grid(h, w, x).expand(x.shape[0], -1, -1, -1)], dim=1)  # (B, C_prior+2, H/16, W/16)
        out = []
        for level in self.levels[:-1]:
            x, prior = level(x)
            out.append(prior)
        out.append(self.levels[-1].prior_only(x))  # the finest level feeds no further level: no unscaled copy
        return out[::-1]


# --- the generator -----------------------------------------------------------------------------------------

class ConvLevel(nn.Module):
    """conv (3x3, stride 2, zero padding) or transposed conv (3x3, stride 2, output_padding 1) -> BN -> ReLU.

    forward(x: (B, C_in, h, w)) -> (B, C_out, h/2, w/2) down, (B, C_out, 2h, 2w) up.
    """

    def __init__(self, in_ch: int, out_ch: int, up: bool):
        super().__init__()
        if up:
            self.conv = nn.ConvTranspose2d(in_ch, out_ch, kernel_size=3, stride=2, padding=1, output_padding=1)
        else:
            self.conv = nn.Conv2d(in_ch, out_ch, kernel_size=3, stride=2, padding=1)
        self.bn = nn.BatchNorm2d(out_ch)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if isinstance(self.conv, nn.ConvTranspose2d):  # exported: BN and ReLU per phase, fused into each phase's Conv
            return conv_transpose2d(x, self.conv, lambda y: F.relu(self.bn(y)))
        return F.relu(self.bn(self.conv(x)))

    def phases(self, x: torch.Tensor) -> list[list[torch.Tensor]]:
        """An up level's output as its four phases, not interleaved: rows[b_y][b_x] (B, C_out, h, w), pixel
        (2i + b_y, 2j + b_x) of ``forward(x)`` (:func:`~inpaint.ops.conv_transpose.conv_transpose2d_phase_outputs`)."""
        return conv_transpose2d_phase_outputs(x, self.conv, lambda y: F.relu(self.bn(y)))


class ACRGenerator(nn.Module):
    """The ACR: LaMa-style FFC generator with MAE prior features, prior attention and the MPE.

    forward(image, mask, prior, attention):
        image:     (B, 3, H, W) float32 RGB in [0, 1]; H, W multiples of 128
        mask:      (B, 1, H, W) float32, 1 = hole
        prior:     (B, C_prior, 16, 16) MAE decoder features (:meth:`inpaint.models.mae.MAE.prior`)
        attention: (B, 256, 256) MAE prior attention, row = query token, softmax over key tokens
    returns (B, 3, H, W) in [0, 1] (sigmoid), not composited.

    Layers: reflect-pad 3 + 7x7 conv 4 -> ngf (+ MPE) -> BN -> ReLU; three stride-2 convs to 8ngf at H/8, each
    taking ``x + prior`` of its input's size; prior-attention aggregation ``x + attn_scale_in * A(x)``; ``n_blocks``
    FFC residual blocks on ``x + prior_{H/8}``; aggregation ``x + attn_scale_out * A(x)``; three transposed
    convs; reflect-pad 3 + 7x7 conv -> 3; sigmoid. ``A`` is :func:`masked_attention_aggregate` with rate
    (H/128, W/128); both attention scales start at 0. Paper preset: ngf 64, 9 blocks, C_prior 512.
    """

    def __init__(self, ngf: int = 64, n_blocks: int = 9, prior_ch: int = 512, global_ratio: float = GLOBAL_RATIO,
                 mpe_grid: int = MPE_GRID, mpe_distances: int = MPE_DISTANCES, mpe_steps: int | None = None):
        super().__init__()
        self.mpe = MaskedPositionalEncoding(ngf, mpe_grid, mpe_distances, mpe_steps)
        self.prior = PriorEncoder(prior_ch, ngf)
        self.stem = nn.Conv2d(4, ngf, kernel_size=7)
        self.stem_bn = nn.BatchNorm2d(ngf)
        self.down = nn.ModuleList(ConvLevel(ngf * 2**i, ngf * 2 ** (i + 1), up=False) for i in range(3))
        self.attn_scale_in = nn.Parameter(torch.tensor(0.0))
        self.blocks = nn.Sequential(*(FFCResnetBlock(8 * ngf, global_ratio) for _ in range(n_blocks)))
        self.attn_scale_out = nn.Parameter(torch.tensor(0.0))
        self.up = nn.ModuleList(ConvLevel(ngf * 2 ** (3 - i), ngf * 2 ** (2 - i), up=True) for i in range(3))
        self.head = nn.Conv2d(ngf, 3, kernel_size=7)

    def encode_input(self, image: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """ReLU(BN(stem(cat(image * (1 - mask), mask)) + MPE(mask))): (B, ngf, H, W).

        Exported (eval mode) as one convolution with the BatchNorm folded into its weights, plus the MPE's
        hole term (:func:`hole_cells`) added before the ReLU, which ONNX Runtime fuses into that convolution;
        the known pixels' embedding is a constant, folded into the bias. Same sums in another order: the two forms
        agree to float rounding (the full-resolution Where, BatchNorm and upsampled embeddings of the eager form
        are 4 passes over (B, ngf, H, W) more, and 2 more such tensors alive; README "FAR on the CPU").
        """
        x = F.pad(torch.cat([image * (1 - mask), mask], dim=1), (3, 3, 3, 3), mode="reflect")  # (B, 4, H+6, W+6)
        if not (exporting() and not self.training):
            return F.relu(self.stem_bn(self.stem(x) + self.mpe(mask)))
        scale, shift = batchnorm_affine(self.stem_bn)  # (ngf,) each: BN(y) = scale * y + shift
        emb, known = self.mpe.cells(mask)  # (B, ngf, g, g), (1, ngf, 1, 1)
        bias = scale * (self.stem.bias + known.flatten()) + shift
        y = F.conv2d(x, self.stem.weight * scale.view(-1, 1, 1, 1), bias)  # (B, ngf, H, W): BN(stem + known)
        return F.relu(y + hole_cells(mask, scale.view(1, -1, 1, 1) * (emb - known)))

    def aggregate(self, x: torch.Tensor, attention: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        """x + scale * prior-attention aggregation of x (x at 1/8 of the image, 16 * r per axis)."""
        return x + scale * masked_attention_aggregate(x, attention.to(x.dtype), None)

    def forward(self, image: torch.Tensor, mask: torch.Tensor, prior: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        _, _, h, w = image.shape
        priors = self.prior(prior, h, w)  # finest first: H, H/2, H/4, H/8
        x = self.encode_input(image, mask)  # (B, ngf, H, W)
        for level, p in zip(self.down, priors):
            x = level(x + p)  # (B, 8ngf, H/8, W/8) after the last
        x = self.aggregate(x, attention, self.attn_scale_in)
        x = self.blocks(x + priors[3])
        x = self.aggregate(x, attention, self.attn_scale_out)
        for level in self.up[:-1]:
            x = level(x)  # (B, 2ngf, H/2, W/2) after the last
        if exporting():  # the head's space-to-depth straight from the last up conv's phases: inpaint.ops.conv_s2d
            rows = self.up[-1].phases(x)  # 2 x 2 of (B, ngf, H/2, W/2)
            return torch.sigmoid(conv2d_few_outputs_of_phases(rows, HEAD_PAD, self.head.weight, self.head.bias))
        x = F.pad(self.up[-1](x), (HEAD_PAD,) * 4, mode="reflect")  # (B, ngf, H+6, W+6)
        return torch.sigmoid(F.conv2d(x, self.head.weight, self.head.bias))


def count_parameters(module: nn.Module) -> int:
    """All parameters, frozen ones included (how the authors' ``test.py`` counts: ``sum(p.numel())``)."""
    return sum(p.numel() for p in module.parameters())

