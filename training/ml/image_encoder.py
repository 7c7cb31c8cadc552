"""Image encoders for search by image.  Plain Python + torch, no Django.

- :class:`ImageTower` is the in-platform image encoder: a small CNN (four conv blocks, global
  average and max pooling, plus the picture's mean colour and the Hu moments of its
  silhouette against the backdrop) projected into the text encoder's
  vector space.  :func:`train_image_tower` trains it on a store's (picture, title vector) pairs
  with two contrastive terms: picture ↔ its frozen title vector (CLIP-style, so pictures land
  near their titles) and picture ↔ another augmented view of itself (SimCLR-style, so two
  photographs of one product land together whatever the pose, background and noise).
- :func:`encode_images` turns pictures into normalised vectors with a trained tower;
  :func:`load_clip` / :func:`encode_images_clip` do the same with a Hugging Face CLIP-style
  model (``transformers``; configured by id, never downloaded in tests).
- :func:`colour_histograms` is the baseline a benchmark compares against: a joint RGB
  histogram per picture.

Pictures travel as ``uint8`` arrays of shape (n, size, size, 3).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from training.ml.progress import CancelCheck, ProgressCallback, check_cancel

if TYPE_CHECKING:
    import torch

ARTIFACT_WEIGHTS = "image_tower.pt"
ARTIFACT_META = "image_tower.json"


@dataclass(frozen=True)
class ImageTowerConfig:
    """The tower's shape and its training."""

    size: int = 64
    widths: tuple[int, ...] = (16, 32, 64, 96)
    dim: int = 384  # the text encoder's dimension: pictures land in the titles' space
    epochs: int = 12
    batch_size: int = 128
    lr: float = 2e-3
    weight_decay: float = 1e-4
    temperature: float = 0.07
    text_weight: float = 1.0
    # the two-views term is an aid, not the goal: at full weight it teaches the tower to tell
    # every picture apart (pattern, pose) rather than to group look-alikes
    view_weight: float = 0.3
    # pictures against their group's centroid of title vectors (groups: the catalogue's
    # categories): what a product is, beyond its own title's words; 0 turns it off
    group_weight: float = 1.0
    # the silhouette's seven Hu moments (the object against its backdrop) join the pooled
    # features: a shape descriptor that rotation, scale, shift and flip leave unchanged, which
    # a small CNN trained on a few pictures per category does not learn by itself
    shape_moments: bool = True
    seed: int = 0

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["widths"] = list(self.widths)
        return data


def _tower_class():
    import torch
    from torch import nn

    class ImageTower(nn.Module):
        """Small CNN → (avg ⊕ max pooled features ⊕ colour mean and spread ⊕ the
        silhouette's Hu moments) → projection, L2-normalised."""

        def __init__(self, config: ImageTowerConfig):
            super().__init__()
            # a strided stem, then one conv per block: cheap enough to train on a CPU
            layers: list[nn.Module] = [
                nn.Conv2d(3, config.widths[0], 3, stride=2, padding=1, bias=False),
                nn.BatchNorm2d(config.widths[0]),
                nn.ReLU(inplace=True),
            ]
            channels = config.widths[0]
            for number, width in enumerate(config.widths[1:]):
                layers += [
                    nn.Conv2d(channels, width, 3, padding=1, bias=False),
                    nn.BatchNorm2d(width),
                    nn.ReLU(inplace=True),
                ]
                if number < len(config.widths) - 2:
                    layers.append(nn.MaxPool2d(2))
                channels = width
            self.features = nn.Sequential(*layers)
            self.shape_moments = config.shape_moments
            # the moments' logarithms span very different ranges: a batch norm evens them
            self.moments_norm = nn.BatchNorm1d(7) if config.shape_moments else None
            extra = 6 + (7 if config.shape_moments else 0)
            self.head = nn.Sequential(
                nn.Linear(2 * channels + extra, 512),
                nn.ReLU(inplace=True),
                nn.Linear(512, config.dim),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # colour statistics straight from the pixels: the colour survives pooling intact
            colour = torch.cat([x.mean(dim=(2, 3)), x.std(dim=(2, 3))], dim=1)
            h = self.features(x)
            parts = [h.mean(dim=(2, 3)), h.amax(dim=(2, 3)), colour]
            if self.shape_moments:
                parts.append(self.moments_norm(hu_moments(x)))
            pooled = torch.cat(parts, dim=1)
            return nn.functional.normalize(self.head(pooled), dim=1)

    return ImageTower


def silhouette(x: torch.Tensor, *, threshold: float = 0.25, softness: float = 0.05):
    """(n, h, w) in [0, 1]: how far each pixel stands from the picture's border colour (the
    mean of its outermost rows and columns, where a product photograph shows its backdrop),
    softly thresholded: the object's mask whatever colour it is."""
    import torch

    border = torch.cat([x[:, :, 0, :], x[:, :, -1, :], x[:, :, :, 0], x[:, :, :, -1]], dim=2)
    distance = (x - border.mean(dim=2)[:, :, None, None]).norm(dim=1)
    return torch.sigmoid((distance - threshold) / softness)


def hu_moments(x: torch.Tensor) -> torch.Tensor:
    """(n, 7): the seven Hu moment invariants of each picture's :func:`silhouette`, as
    logarithms of their size (the seventh's sign flips with a mirror image, and the tower
    normalises the seven itself). Coordinates run over [-1, 1], so at 64 px the third and
    higher moments are tiny and mostly sit at the 1e-12 floor: the first two carry the shape."""
    import torch

    mask = silhouette(x.float())
    n, h, w = mask.shape
    ys = torch.linspace(-1, 1, h, device=x.device).view(1, h, 1)
    xs = torch.linspace(-1, 1, w, device=x.device).view(1, 1, w)
    m00 = mask.sum(dim=(1, 2)).clamp_min(1e-6)
    cy = (mask * ys).sum(dim=(1, 2)) / m00
    cx = (mask * xs).sum(dim=(1, 2)) / m00
    dy, dx = ys - cy.view(n, 1, 1), xs - cx.view(n, 1, 1)

    def eta(p: int, q: int) -> torch.Tensor:
        mu = (mask * dx**p * dy**q).sum(dim=(1, 2))
        return mu / m00 ** (1 + (p + q) / 2)

    n20, n02, n11 = eta(2, 0), eta(0, 2), eta(1, 1)
    n30, n03, n21, n12 = eta(3, 0), eta(0, 3), eta(2, 1), eta(1, 2)
    a, b = n30 + n12, n21 + n03
    hu = torch.stack(
        [
            n20 + n02,
            (n20 - n02) ** 2 + 4 * n11**2,
            (n30 - 3 * n12) ** 2 + (3 * n21 - n03) ** 2,
            a**2 + b**2,
            (n30 - 3 * n12) * a * (a**2 - 3 * b**2) + (3 * n21 - n03) * b * (3 * a**2 - b**2),
            (n20 - n02) * (a**2 - b**2) + 4 * n11 * a * b,
            (3 * n21 - n03) * a * (a**2 - 3 * b**2) - (n30 - 3 * n12) * b * (3 * a**2 - b**2),
        ],
        dim=1,
    )
    return torch.log10(hu.abs() + 1e-12)


def build_tower(config: ImageTowerConfig):
    """A fresh tower for ``config``."""
    return _tower_class()(config)


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (n, h, w, 3) → float (n, 3, h, w) in [-1, 1]."""
    import torch

    return (
        torch.from_numpy(np.array(images, dtype=np.uint8, copy=True)).permute(0, 3, 1, 2).float()
        / 127.5
        - 1
    )


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Another photograph of the same things: rotation, scale, shift, flip (the frame's edge
    colour fills the corners, as a background would), a slight light change and pixel noise."""
    import torch
    import torch.nn.functional as F

    n = x.shape[0]
    dev = x.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return torch.rand(n, generator=generator).to(dev) * (high - low) + low

    angle = uniform(-0.75, 0.75)  # radians, about ±43°
    scale = uniform(0.8, 1.25)
    flip = torch.where(torch.rand(n, generator=generator).to(dev) < 0.5, -1.0, 1.0)
    tx, ty = uniform(-0.15, 0.15), uniform(-0.15, 0.15)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    out = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    light = uniform(-0.08, 0.08).view(n, 1, 1, 1)
    sigma = uniform(0.0, 0.18).view(n, 1, 1, 1)
    noise = torch.randn(out.shape, generator=generator).to(dev) * sigma
    return (out + light + noise).clamp(-1, 1)


def cuda_dtype(device: str, dtype: torch.dtype | None = None) -> torch.dtype | None:
    """The autocast dtype on ``device``: None on the CPU (float32) or when ``dtype`` is
    float32; on CUDA ``dtype`` when given, else bfloat16 where the card has it, else float16."""
    import torch

    if not str(device).startswith("cuda") or dtype == torch.float32:
        return None
    if dtype is not None:
        return dtype
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def _info_nce(a: torch.Tensor, b: torch.Tensor, temperature: float) -> torch.Tensor:
    import torch
    import torch.nn.functional as F

    logits = a @ b.T / temperature
    target = torch.arange(a.shape[0], device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


def group_centroids(text_vectors: np.ndarray, groups: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(normalised mean title vector per group, each picture's row in it): the group term's
    targets, which live in the titles' space like every other target of the tower."""
    keys, index = np.unique(np.asarray(groups), return_inverse=True)
    sums = np.zeros((len(keys), text_vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, index, text_vectors)
    norms = np.linalg.norm(sums, axis=1, keepdims=True)
    return (sums / np.maximum(norms, 1e-9)).astype(np.float32), index.astype(np.int64)


def train_image_tower(
    images: np.ndarray,
    text_vectors: np.ndarray,
    config: ImageTowerConfig,
    *,
    groups: np.ndarray | Sequence | None = None,
    device: str = "cpu",
    dtype: torch.dtype | None = None,
    progress_cb: ProgressCallback | None = None,
    should_cancel: CancelCheck | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Train a tower on pictures and their (frozen, normalised) title vectors; returns the
    model (eval mode, on ``device``) and figures (loss per epoch, pairs/s).

    Three terms, each an InfoNCE at ``config.temperature``: a picture against its own title
    vector among the batch's (``text_weight``), against its group's centroid among all groups'
    (``group_weight``; ``groups`` is one label per picture, e.g. its category — left out, or
    with a single group, the term is off) and two augmented views of a picture against each
    other (``view_weight``).  On CUDA the forward passes run under autocast in ``dtype``
    (bfloat16 where the card supports it, else float16 with a gradient scaler)."""
    import torch
    import torch.nn.functional as F

    if len(images) != len(text_vectors):
        raise ValueError("one title vector per picture")
    if len(images) < 2:
        raise ValueError("at least two pictures are needed to train")
    if text_vectors.shape[1] != config.dim:
        config = ImageTowerConfig(**{**config.as_dict(), "dim": int(text_vectors.shape[1])})
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build_tower(config).to(device)
    pixels = to_tensor(images)
    texts = torch.from_numpy(np.ascontiguousarray(text_vectors, dtype=np.float32))
    texts = torch.nn.functional.normalize(texts, dim=1)
    use_groups = groups is not None and config.group_weight > 0 and len(set(groups)) > 1
    if use_groups:
        centroid_array, group_index = group_centroids(texts.numpy(), np.asarray(groups))
        centroids = torch.from_numpy(centroid_array).to(device)
        group_of = torch.from_numpy(group_index)
    n = len(images)
    batch = min(config.batch_size, n)
    steps_per_epoch = max(1, n // batch)
    total = steps_per_epoch * config.epochs
    optimiser = torch.optim.AdamW(
        model.parameters(), lr=config.lr, weight_decay=config.weight_decay
    )
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=config.lr, total_steps=total, pct_start=0.15
    )
    dtype = cuda_dtype(device, dtype)
    use_amp = dtype is not None
    # float16 gradients underflow without a scaler; bfloat16 (and the CPU's float32) need none
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp and dtype == torch.float16)
    losses: list[float] = []
    started = time.monotonic()
    step = 0
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=generator)
        epoch_loss = 0.0
        for b in range(steps_per_epoch):
            check_cancel(should_cancel)
            idx = order[b * batch : (b + 1) * batch]
            x = pixels[idx].to(device)
            t = texts[idx].to(device)
            with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=use_amp):
                v1 = model(augment(x, generator))
                v2 = model(augment(x, generator))
            v1, v2 = v1.float(), v2.float()
            loss = config.text_weight * _info_nce(v1, t, config.temperature)
            loss = loss + config.view_weight * _info_nce(v1, v2, config.temperature)
            if use_groups:
                target = group_of[idx].to(device)
                loss = (
                    loss
                    + config.group_weight
                    * (
                        F.cross_entropy(v1 @ centroids.T / config.temperature, target)
                        + F.cross_entropy(v2 @ centroids.T / config.temperature, target)
                    )
                    / 2
                )
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            schedule.step()
            step += 1
            epoch_loss += float(loss.detach())
            if progress_cb is not None:
                elapsed = time.monotonic() - started
                progress_cb(
                    step / total,
                    step,
                    total,
                    float(loss.detach()),
                    {"epoch": epoch, "pairs_per_sec": step * batch / elapsed if elapsed else 0.0},
                )
        losses.append(round(epoch_loss / steps_per_epoch, 4))
    model.eval()
    seconds = time.monotonic() - started
    return model, {
        "loss_per_epoch": losses,
        "train_s": round(seconds, 2),
        "pairs_per_s": round(total * batch / seconds, 1) if seconds else None,
        "steps": total,
        "config": config.as_dict(),
    }


def encode_images(
    model: Any, images: np.ndarray, *, batch_size: int = 256, dtype: torch.dtype | None = None
) -> np.ndarray:
    """Normalised vectors (float32, one row per picture) from a trained tower; on CUDA under
    autocast in ``dtype`` (default: bfloat16, else float16; ``torch.float32`` turns it off)."""
    import torch

    device = next(model.parameters()).device
    dtype = cuda_dtype(str(device), dtype)
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = to_tensor(images[start : start + batch_size]).to(device)
            with torch.autocast("cuda", dtype=dtype or torch.float32, enabled=dtype is not None):
                vectors = model(x)
            out.append(torch.nn.functional.normalize(vectors.float(), dim=1).cpu().numpy())
    if not out:
        return np.zeros((0, 0), dtype=np.float32)
    return np.concatenate(out).astype(np.float32)


def save_tower(model: Any, config: ImageTowerConfig, directory: str | Path) -> None:
    import torch

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), directory / ARTIFACT_WEIGHTS)
    (directory / ARTIFACT_META).write_text(json.dumps(config.as_dict()), encoding="utf-8")


def load_tower(directory: str | Path, *, device: str = "cpu") -> tuple[Any, ImageTowerConfig]:
    import torch

    directory = Path(directory)
    meta = json.loads((directory / ARTIFACT_META).read_text(encoding="utf-8"))
    meta["widths"] = tuple(meta["widths"])
    meta.setdefault("shape_moments", False)  # towers saved before the moments had none
    config = ImageTowerConfig(**meta)
    model = build_tower(config)
    model.load_state_dict(
        torch.load(directory / ARTIFACT_WEIGHTS, map_location=device, weights_only=True)
    )
    return model.to(device).eval(), config


# --------------------------------------------------------------------------- CLIP-style models


def load_clip(model_id: str, *, device: str = "cpu") -> tuple[Any, Any]:
    """A Hugging Face CLIP-style model and its processor (``transformers``), fp16 on CUDA."""
    import torch
    from transformers import AutoModel, AutoProcessor

    dtype = torch.float16 if device.startswith("cuda") else torch.float32
    model = AutoModel.from_pretrained(model_id, torch_dtype=dtype).to(device).eval()
    return model, AutoProcessor.from_pretrained(model_id)


def encode_images_clip(
    model: Any, processor: Any, images: np.ndarray, *, batch_size: int = 64
) -> np.ndarray:
    """Normalised image vectors from a CLIP-style model's ``get_image_features``."""
    import torch

    device = next(model.parameters()).device
    out = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            inputs = processor(images=list(images[start : start + batch_size]), return_tensors="pt")
            pixel_values = inputs["pixel_values"].to(device, dtype=next(model.parameters()).dtype)
            features = model.get_image_features(pixel_values=pixel_values)
            out.append(torch.nn.functional.normalize(features.float(), dim=1).cpu().numpy())
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 0), np.float32)


# --------------------------------------------------------------------------- baselines


def colour_histograms(images: np.ndarray, *, bins: int = 4) -> np.ndarray:
    """A joint RGB histogram per picture (``bins``³ cells), L2-normalised: the classic
    colour-only baseline of image retrieval."""
    q = (images.astype(np.int32) * bins) // 256
    cells = (q[..., 0] * bins + q[..., 1]) * bins + q[..., 2]
    flat = cells.reshape(len(images), -1)
    hist = np.zeros((len(images), bins**3), dtype=np.float32)
    for i, row in enumerate(flat):
        hist[i] = np.bincount(row, minlength=bins**3)
    norms = np.linalg.norm(hist, axis=1, keepdims=True)
    return hist / np.maximum(norms, 1e-9)


def precision_at_k(
    query_vectors: np.ndarray,
    index_vectors: np.ndarray,
    query_labels: list,
    index_labels: list,
    *,
    k: int = 10,
    exclude: list[int] | None = None,
) -> float:
    """Mean share of each query's top ``k`` (cosine) whose label equals the query's; ``exclude``
    names, per query, an index row left out (the query's own product)."""
    if not len(query_vectors):
        return math.nan
    scores = query_vectors @ index_vectors.T
    if exclude is not None:
        scores[np.arange(len(query_vectors)), exclude] = -np.inf
    top = np.argsort(-scores, axis=1)[:, :k]
    hits = [sum(index_labels[j] == query_labels[i] for j in row) / k for i, row in enumerate(top)]
    return float(np.mean(hits))
