"""Deterministic "remixes" with Pillow: real image bytes, cheap to make, cached.

A result image is described by an :class:`ImageRecipe` (reference image, prompt, seed,
remixStrength, style, size, format, quality); :meth:`ImageRenderer.render` turns it into
bytes. The same recipe always gives the same bytes. The picture is the reference image
(decoded when inline, a stand-in derived from its text for UUID/URL references) shrunk to
a small working size, blended with a seed-dependent colour field (more of it the higher
``remixStrength``), tinted by the prompt and style, then scaled to ``width`` x ``height`` and
encoded. Work happens at 1/16 scale, so the encode dominates; encoded bytes and decoded
references are cached (LRU, bounded).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import io
import random
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

from PIL import Image

__all__ = ["FORMATS", "ImageFormat", "ImageRecipe", "ImageRenderer", "data_uri"]


@dataclass(frozen=True)
class ImageFormat:
    """How one ``outputFormat`` is encoded and served."""

    pillow: str
    extension: str
    content_type: str


#: outputFormat → Pillow codec, URL extension, MIME type.
FORMATS: dict[str, ImageFormat] = {
    "JPG": ImageFormat("JPEG", "jpg", "image/jpeg"),
    "PNG": ImageFormat("PNG", "png", "image/png"),
    "WEBP": ImageFormat("WEBP", "webp", "image/webp"),
}

_WORK_DIVISOR = 16  # the picture is composed at 1/16 of the output size, then scaled up
_REFERENCE_SIZE = 96  # decoded references are kept as thumbnails of at most this size
_MAX_REFERENCE_PIXELS = 64_000_000


class ImageRecipe(NamedTuple):
    """Everything that determines one result image's bytes (a named tuple: cheap to make and to copy)."""

    reference: str
    prompt: str
    seed: int
    strength: int
    style: str
    width: int
    height: int
    output_format: str
    quality: int

    @property
    def format(self) -> ImageFormat:
        return FORMATS[self.output_format]


def _digest(*parts: object) -> bytes:
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()


class ImageRenderer:
    """Renders recipes to encoded bytes, caching encoded images within a byte budget.

    ``lookup`` maps an image UUID the mock issued earlier to its recipe, so a result can be
    remixed again by UUID or URL. Thread-safe: renders may run in worker threads.
    """

    def __init__(self, cache_bytes: int, lookup: Callable[[str], ImageRecipe | None] | None = None) -> None:
        self.cache_bytes = cache_bytes
        self._lookup = lookup or (lambda _uuid: None)
        self._encoded: OrderedDict[ImageRecipe, bytes] = OrderedDict()
        self._encoded_size = 0
        self._references: OrderedDict[str, Image.Image] = OrderedDict()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._encoded.clear()
            self._encoded_size = 0
            self._references.clear()

    def render(self, recipe: ImageRecipe) -> bytes:
        """The encoded image of ``recipe`` (from the cache when it is there)."""
        with self._lock:
            data = self._encoded.get(recipe)
            if data is not None:
                self._encoded.move_to_end(recipe)
                return data
        data = self._encode(self.picture(recipe), recipe)
        with self._lock:
            if recipe not in self._encoded and len(data) <= self.cache_bytes:
                self._encoded[recipe] = data
                self._encoded_size += len(data)
                while self._encoded_size > self.cache_bytes:
                    _, old = self._encoded.popitem(last=False)
                    self._encoded_size -= len(old)
        return data

    def picture(self, recipe: ImageRecipe) -> Image.Image:
        """The full-size picture of ``recipe``, before encoding."""
        # smooth up to 1/4 scale, then blocks of 4x4: a quarter of the cost of one bilinear pass
        quarter = (max(recipe.width // 4, 1), max(recipe.height // 4, 1))
        smooth = self.work_picture(recipe).resize(quarter, Image.Resampling.BILINEAR)
        return smooth.resize((recipe.width, recipe.height), Image.Resampling.NEAREST)

    def work_picture(self, recipe: ImageRecipe, depth: int = 0) -> Image.Image:
        """The picture at working scale (1/16 of the output size)."""
        size = (max(recipe.width // _WORK_DIVISOR, 4), max(recipe.height // _WORK_DIVISOR, 4))
        base = self.reference(recipe.reference, depth).resize(size, Image.Resampling.BILINEAR)
        rng = random.Random(_digest("seed", recipe.seed))
        cells = (6, 6)
        field_ = Image.frombytes("RGB", cells, rng.randbytes(cells[0] * cells[1] * 3))
        field_ = field_.resize(size, Image.Resampling.BICUBIC)
        alpha = 0.2 + 0.75 * recipe.strength / 100
        mixed = Image.blend(base, field_, alpha)
        tint = _digest("tint", recipe.prompt, recipe.style)
        overlay = Image.new("RGB", size, (tint[0], tint[1], tint[2]))
        return Image.blend(mixed, overlay, 0.15)

    def reference(self, ref: str, depth: int = 0) -> Image.Image:
        """A small RGB version of the reference image ``ref`` (cached)."""
        with self._lock:
            cached = self._references.get(ref)
            if cached is not None:
                self._references.move_to_end(ref)
                return cached
        image = self._load_reference(ref, depth)
        with self._lock:
            self._references[ref] = image
            while len(self._references) > 64:
                self._references.popitem(last=False)
        return image

    def _load_reference(self, ref: str, depth: int) -> Image.Image:
        earlier = self._earlier_result(ref) if depth < 4 else None
        if earlier is not None:
            return self.work_picture(earlier, depth + 1)
        raw = _inline_bytes(ref)
        if raw is not None:
            decoded = _decode(raw)
            if decoded is not None:
                return decoded
        return _stand_in(ref)

    def _earlier_result(self, ref: str) -> ImageRecipe | None:
        """A reference naming an image this mock issued (its UUID or its /images/ URL)."""
        if ref.startswith(("http://", "https://")) and "/images/" in ref:
            ref = ref.rsplit("/images/", 1)[1].split("?", 1)[0].rsplit(".", 1)[0]
        if len(ref) == 36 and ref.count("-") == 4:
            return self._lookup(ref.lower())
        return None

    @staticmethod
    def _encode(picture: Image.Image, recipe: ImageRecipe) -> bytes:
        out = io.BytesIO()
        fmt = recipe.format.pillow
        if fmt == "JPEG":
            picture.save(out, fmt, quality=recipe.quality)
        elif fmt == "WEBP":
            picture.save(out, fmt, quality=recipe.quality, method=2)
        else:  # PNG is lossless: outputQuality does not apply
            picture.save(out, fmt, compress_level=1)
        return out.getvalue()


def _inline_bytes(ref: str) -> bytes | None:
    """The bytes of a data URI or raw base64 reference; None for UUIDs and URLs."""
    if ref.startswith("data:"):
        ref = ref.partition(",")[2]
    elif ref.startswith(("http://", "https://")) or (len(ref) == 36 and ref.count("-") == 4):
        return None
    try:
        return base64.b64decode(ref, validate=True)
    except (binascii.Error, ValueError):
        return None


def _decode(raw: bytes) -> Image.Image | None:
    """Decode inline image bytes to a thumbnail; None when they are not an image Pillow reads."""
    try:
        with Image.open(io.BytesIO(raw)) as img:
            if img.width * img.height > _MAX_REFERENCE_PIXELS:
                return None
            img.draft("RGB", (_REFERENCE_SIZE * 2, _REFERENCE_SIZE * 2))
            rgb: Image.Image = img.convert("RGB")
    except Exception:  # any undecodable input falls back to a stand-in
        return None
    rgb.thumbnail((_REFERENCE_SIZE, _REFERENCE_SIZE), Image.Resampling.BILINEAR)
    return rgb


def _stand_in(ref: str) -> Image.Image:
    """A deterministic picture standing in for a reference the mock cannot see."""
    digest = hashlib.sha256(ref.encode()).digest() * 2
    return Image.frombytes("RGB", (4, 4), digest[:48]).resize((64, 64), Image.Resampling.BICUBIC)


def data_uri(data: bytes, recipe: ImageRecipe) -> str:
    return f"data:{recipe.format.content_type};base64,{base64.b64encode(data).decode('ascii')}"
