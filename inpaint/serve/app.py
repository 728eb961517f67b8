"""The HTTP API and the page: a FastAPI app over one loaded :class:`~inpaint.runtime.inpainter.Inpainter`.

    app = create_app(Inpainter.load(), Limits(max_upload_mb=50), max_batch=4, token=None)
    uvicorn.run(app, host="127.0.0.1", port=8080)           # what ``inpaint serve`` does

    GET  /             the brush page (page.html, self-contained)
    GET  /healthz      200 JSON: model, preset, engine, device, queue, max_batch (open even with a token)
    GET  /openapi.json the OpenAPI document of what these endpoints return
    POST /v1/inpaint   multipart ``image`` + ``mask`` files (+ ``strategy``, ``dilate``, ``texture`` fields)
                       -> image/png of the photo's size; known pixels bit-identical to the decoded photo

Every error is JSON ``{"error": "..."}``: 400 not an image (or one that does not decode), 401 token,
413 body over ``max_upload_mb`` (:class:`~inpaint.serve.guards.BodyLimit`: Content-Length first, then
counted while streaming; the connection is closed) or a picture over ``max_megapixels`` (read from its header, before
decoding), 422 sizes differ / bad option / missing field / a strategy the picture cannot run, 503
queue full, 500 the model failed. An empty mask is not an error: the photo comes back as PNG with the
header ``X-Inpaint-Note: empty mask``, without running the model. A mask of another size with the
photo's aspect ratio is resized to it (nearest neighbour, as ``inpaint run`` does) and says so in
``X-Inpaint-Note``. No endpoint takes a server path: pictures come in the request and go back in
the response.
"""

from __future__ import annotations

import asyncio
import logging
from http import HTTPStatus
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from importlib.resources import files

import numpy as np
from fastapi import FastAPI, File, Form, Request, UploadFile
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from inpaint import __version__
from inpaint.errors import UserError
from inpaint.runtime.image_header import FORMATS, read_header
from inpaint.runtime.io import Picture, decode_image, decode_mask, encode_image, resize_mask
from inpaint.runtime.strategies import check_strategy
from inpaint.runtime.texture import check_texture
from inpaint.serve.guards import BodyLimit, TokenGuard
from inpaint.serve.batcher import Batcher, Options, QueueFull

__all__ = ["ErrorBody", "Health", "Limits", "create_app", "LOOPBACK_HOSTS"]

_log = logging.getLogger(__name__)

MB = 1 << 20
#: Host header values a server bound to the loopback interface answers (others: 400, against DNS rebinding)
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass(frozen=True)
class Limits:
    """What one request may be, and how much the queue may hold.

    max_upload_mb: the request body, in MB (2**20 bytes): photo, mask and the multipart framing. 50 by
        default (issue 21's command line); PNGs of large photos may need more (a 48 MP photo is 144 MB
        as raw 8-bit RGB).
    max_megapixels: width x height of the photo or the mask, read from the file's header before
        decoding. 100 by default: above the largest camera sensors (102 MP medium format); a 100 MP
        8-bit request holds about 700 MB while queued (7 bytes a pixel: photo, hole, result).
    max_queue: requests waiting or running at once; more get 503.
    queue_megapixels: pixels of the requests waiting or running; more get 503 (a request is always
        admitted into an empty queue). Default 4 x max_megapixels (about 2.8 GB of 8-bit pictures).
    """

    max_upload_mb: float = 50
    max_megapixels: float = 100
    max_queue: int = 64
    queue_megapixels: float | None = None

    def __post_init__(self) -> None:
        if self.max_upload_mb <= 0 or self.max_megapixels <= 0 or self.max_queue < 1:
            raise UserError("need --max-upload-mb > 0, --max-megapixels > 0 and a queue of 1 or more")

    @property
    def upload_bytes(self) -> int:
        return int(self.max_upload_mb * MB)

    @property
    def max_pixels(self) -> int:
        return int(self.max_megapixels * 1e6)

    @property
    def queue_pixels(self) -> int:
        return int((self.queue_megapixels or 4 * self.max_megapixels) * 1e6)


class ErrorBody(BaseModel):
    """Every 4xx / 5xx answer."""

    error: str


class Health(BaseModel):
    """GET /healthz. queue: requests waiting or running now."""

    model: str
    preset: str
    engine: str
    device: str
    queue: int
    max_batch: int
    version: str


class ApiError(Exception):
    """An answer other than 200: HTTP ``status`` and the ``{"error": message}`` body."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _errors(*codes: int) -> dict:
    """OpenAPI responses: each of ``codes`` answers an :class:`ErrorBody` as JSON.

    The schema is named by reference (a ``model`` would be filed under the route's own media type,
    text/html for the page); POST /v1/inpaint's ``model=ErrorBody`` puts it in the components.
    """
    schema = {"$ref": "#/components/schemas/ErrorBody"}
    return {code: {"description": HTTPStatus(code).phrase, "content": {"application/json": {"schema": schema}}}
            for code in codes}


_PNG_RESPONSE = {
    200: {
        "description": "The result as PNG, the photo's size (16-bit, alpha and grey kept).",
        "content": {"image/png": {"schema": {"type": "string", "format": "binary"}}},
        "headers": {
            "X-Inpaint-Batch": {"description": "Pictures in the model call this one ran in.",
                                "schema": {"type": "integer"}},
            "X-Inpaint-Note": {"description": "'empty mask' (the photo came back unchanged) or 'mask resized "
                                              "from WxH'.", "schema": {"type": "string"}},
        },
    },
}


def _page() -> str:
    return files("inpaint.serve").joinpath("page.html").read_text(encoding="utf-8")


def _options(strategy: str, dilate: int, texture: str) -> Options:
    try:
        check_strategy(strategy)
        strength = check_texture(texture)
    except UserError as exc:
        raise ApiError(422, str(exc).removeprefix("--")) from None
    if dilate < 0:
        raise ApiError(422, f"dilate {dilate}: must be 0 or more pixels")
    return Options(strategy=strategy, dilate=dilate, texture=strength)


def _check_header(data: bytes, what: str, limits: Limits) -> None:
    """400 for what is not a picture, 413 for one over the pixel limit (from its header: nothing decoded)."""
    if not data:
        raise ApiError(400, f"{what}: empty file")
    try:
        header = read_header(data, what)
    except UserError as exc:
        raise ApiError(400, str(exc)) from None
    if header.pixels > limits.max_pixels:
        raise ApiError(413, f"{what}: {header.width}x{header.height} is {header.pixels / 1e6:.0f} megapixels, over the "
                            f"{limits.max_megapixels:g} MP limit (serve --max-megapixels)")


def _same_aspect(small: tuple[int, int], size: tuple[int, int]) -> bool:
    """True when ``small`` (h, w) is ``size`` (H, W) scaled with each side rounded: |w H - h W| <= (H + W) / 2."""
    (h, w), (big_h, big_w) = small, size
    return abs(w * big_h - h * big_w) <= (big_h + big_w) / 2


def _decode_pair(image: bytes, mask: bytes) -> tuple[Picture, np.ndarray, str | None]:
    """(photo, hole (H, W) bool, note or None); ApiError 400 / 422. Runs in a worker thread."""
    try:
        picture = decode_image(image, "image")
        hole = decode_mask(mask, None, "mask")
    except UserError as exc:
        raise ApiError(400, str(exc)) from None
    size = picture.size
    if hole.shape == size:
        return picture, hole, None
    (h, w), (big_h, big_w) = hole.shape, size
    if not _same_aspect(hole.shape, size):
        raise ApiError(422, f"mask is {w}x{h} but the image is {big_w}x{big_h} (width x height): give a mask of the "
                            "image's size (or of its aspect ratio)")
    return picture, resize_mask(hole, size), f"mask resized from {w}x{h}"


def create_app(inpainter, limits: Limits = Limits(), *, max_batch: int = 4, token: str | None = None,
               allowed_hosts: tuple[str, ...] | None = None, model_name: str | None = None) -> FastAPI:
    """The app over a loaded ``inpainter`` (an :class:`~inpaint.runtime.inpainter.Inpainter`; not closed here).

    limits: request and queue bounds. max_batch: pictures per model call (>= 1).
    token: when given, every path but /healthz needs ``Authorization: Bearer token``.
    allowed_hosts: Host header values answered (None: any); a loopback server passes :data:`LOOPBACK_HOSTS`.
    model_name: what /healthz calls the model (default: the model file's name, never its folder).
    """
    if max_batch < 1:
        raise UserError(f"--max-batch {max_batch}: must be 1 or more")

    def run(rgbs, holes, options: Options) -> list[np.ndarray]:
        return inpainter.inpaint_batch(rgbs, holes, strategy=options.strategy, dilate=options.dilate,
                                       texture=options.texture)

    batcher = Batcher(run, max_batch=max_batch, max_queue=limits.max_queue, max_pixels=limits.queue_pixels)
    info = inpainter.info
    name = model_name or inpainter.runner.path.name

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        batcher.start()
        try:
            yield
        finally:
            await run_in_threadpool(batcher.stop)

    app = FastAPI(
        title="inpaint serve", version=__version__, lifespan=lifespan,
        description="Remove the masked region of a photo (white / non-zero = remove). Errors are JSON {\"error\": ...}.",
        docs_url=None, redoc_url=None,  # FastAPI's doc pages load their scripts from a CDN
        form_limits={"max_files": 2, "max_fields": 8},
    )
    app.state.batcher = batcher
    # the last added runs first: the host, then the token, then the body's size
    app.add_middleware(BodyLimit, max_bytes=limits.upload_bytes,
                       message=f"request body over the {limits.max_upload_mb:g} MB limit (serve --max-upload-mb)")
    if token:
        app.add_middleware(TokenGuard, token=token)
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(allowed_hosts))

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"error": exc.message}, status_code=exc.status)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'body'}: {e.get('msg', 'invalid')}"
                 for e in exc.errors()]
        return JSONResponse({"error": "; ".join(parts) or "invalid request"}, status_code=422)

    auth = (401,) if token else ()

    @app.get("/", response_class=HTMLResponse, summary="The brush page",
             responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}, **_errors(*auth)})
    async def page() -> HTMLResponse:
        return HTMLResponse(_page())

    @app.get("/healthz", response_model=Health, summary="Model, engine, device and queue length")
    async def healthz() -> Health:
        return Health(model=name, preset=info.preset, engine=inpainter.engine, device=inpainter.runner.device,
                      queue=batcher.queued, max_batch=max_batch, version=__version__)

    @app.post("/v1/inpaint", response_class=Response, summary="Remove the masked region of a photo",
              responses={**_PNG_RESPONSE, **{code: {"model": ErrorBody} for code in (400, *auth, 413, 422, 500, 503)}})
    async def inpaint(
        image: UploadFile = File(..., description=f"The photo ({'/'.join(FORMATS)}; 8/16-bit, grey, RGB or RGBA)."),
        mask: UploadFile = File(..., description="The mask: white / non-zero = remove; the photo's size."),
        strategy: str = Form("auto", description="auto | crop | resize | full"),
        dilate: int = Form(0, description="Grow the mask by this many pixels first (>= 0)."),
        texture: str = Form("on", description="on | off | a strength 0-2"),
    ) -> Response:
        image_bytes, mask_bytes = await image.read(), await mask.read()
        _check_header(image_bytes, "image", limits)
        _check_header(mask_bytes, "mask", limits)
        options = _options(strategy, dilate, texture)
        picture, hole, note = await run_in_threadpool(_decode_pair, image_bytes, mask_bytes)
        del image_bytes, mask_bytes
        # a square of half-side max(H, W) from any hole pixel covers the picture: a larger dilate is the same
        options = replace(options, dilate=min(options.dilate, max(picture.size)))
        headers = {} if note is None else {"X-Inpaint-Note": note}
        if not hole.any():
            headers["X-Inpaint-Note"] = "empty mask"
            return Response(await run_in_threadpool(encode_image, picture), media_type="image/png", headers=headers)
        try:
            future = batcher.submit(picture.rgb, hole, options)
        except QueueFull as exc:
            raise ApiError(503, f"busy: {exc}; retry later") from None
        except RuntimeError as exc:
            raise ApiError(503, str(exc)) from None
        try:
            rgb, batch = await asyncio.wrap_future(future)
        except UserError as exc:
            raise ApiError(422, str(exc).removeprefix("--")) from None
        except Exception as exc:  # noqa: BLE001  the model failed on this picture: 500 with the reason
            _log.exception("inference failed")
            raise ApiError(500, f"inference failed: {type(exc).__name__}: {exc}") from None
        result = Picture(rgb=rgb, alpha=picture.alpha, grey=picture.grey)
        headers["X-Inpaint-Batch"] = str(batch)
        return Response(await run_in_threadpool(encode_image, result), media_type="image/png", headers=headers)

    return app
