"""``inpaint serve`` over real HTTP: results, concurrency and batching, bad uploads, limits, the token.

One server for the module (the bundled model on the CPU, loaded once), started as a user would:
``python -m inpaint.cli.main serve --port P --token T --max-upload-mb 1 --max-batch 4``. Every answer
is checked against the server's own /openapi.json.
"""

from __future__ import annotations

import base64
import re
import select
import socket
import struct
import time
import zlib
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
pytest.importorskip("jsonschema")

from tests.serve.openapi_check import check_response  # noqa: E402
from tests.serve.server import Server, box_mask, decode_png, photo, png  # noqa: E402

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MAX_BATCH = 4


@pytest.fixture(scope="module")
def server():
    with Server("--token", TOKEN, "--max-upload-mb", "1", "--max-batch", str(MAX_BATCH)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, headers=AUTH, timeout=60) as c:
        yield c


@pytest.fixture(scope="module")
def openapi(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _post(client, image: bytes, mask: bytes, **fields):
    return client.post("/v1/inpaint", files={"image": ("photo.png", image), "mask": ("mask.png", mask)},
                       data={k: str(v) for k, v in fields.items()})


def _error(response, openapi, status: int, pattern: str) -> None:
    check_response(openapi, "POST", "/v1/inpaint", response)
    assert response.status_code == status, response.text
    assert re.search(pattern, response.json()["error"]), response.json()


# ---------------------------------------------------------------- results


def test_result_is_png_of_the_photo_size_known_pixels_identical(client, openapi):
    rgb, hole = photo(), box_mask()
    response = _post(client, png(rgb), png(hole))
    check_response(openapi, "POST", "/v1/inpaint", response)
    assert response.status_code == 200 and response.headers["content-type"] == "image/png"
    out = decode_png(response.content)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    assert np.array_equal(out[~hole], rgb[~hole])
    assert (out[hole] != rgb[hole]).any(axis=-1).mean() > 0.5  # the red disc under the hole is gone
    assert out[hole][:, 0].mean() < rgb[hole][:, 0].mean() - 40


def test_options_reach_the_model(client, openapi):
    rgb, hole = photo(seed=1), box_mask()
    plain = decode_png(_post(client, png(rgb), png(hole), texture="off").content)
    dilated = _post(client, png(rgb), png(hole), dilate=3, texture="off", strategy="resize")
    check_response(openapi, "POST", "/v1/inpaint", dilated)
    out = decode_png(dilated.content)
    grown = cv2.dilate(hole.astype(np.uint8), np.ones((7, 7), np.uint8)) > 0
    assert np.array_equal(out[~grown], rgb[~grown])
    assert (out[grown & ~hole] != rgb[grown & ~hole]).any()  # the 3-pixel rim was filled too
    assert not np.array_equal(out, plain)


def test_16bit_rgba_photo_keeps_depth_alpha_and_known_pixels(client):
    rgba, hole = photo(64, 80, seed=2, dtype=np.uint16, channels=4), box_mask(64, 80)
    out = decode_png(_post(client, png(rgba), png(hole)).content)
    assert out.dtype == np.uint16 and out.shape == rgba.shape
    assert np.array_equal(out[..., 3], rgba[..., 3])
    assert np.array_equal(out[~hole], rgba[~hole])


def test_jpeg_photo_is_read_like_inpaint_run_reads_it(client):
    rgb, hole = photo(), box_mask()
    ok, jpg = cv2.imencode(".jpg", rgb[:, :, ::-1])
    response = _post(client, jpg.tobytes(), png(hole))
    decoded = cv2.imdecode(jpg, cv2.IMREAD_COLOR)[:, :, ::-1]
    out = decode_png(response.content)
    assert np.array_equal(out[~hole], decoded[~hole])


def test_sixteen_concurrent_clients_all_correct_in_batches_of_equal_size(client, server):
    sizes = [(96, 128), (64, 96)]
    jobs = [(photo(*sizes[i % 2], seed=10 + i), box_mask(*sizes[i % 2])) for i in range(16)]

    def one(job):
        rgb, hole = job
        with httpx.Client(base_url=server.url, headers=AUTH, timeout=120) as own:  # one connection per client
            return _post(own, png(rgb), png(hole), texture="off")  # the network's fill alone: half the time

    with ThreadPoolExecutor(16) as pool:
        responses = list(pool.map(one, jobs))
    batches = []
    for (rgb, hole), response in zip(jobs, responses):
        assert response.status_code == 200, response.text
        out = decode_png(response.content)
        assert out.shape == rgb.shape
        assert np.array_equal(out[~hole], rgb[~hole])
        assert (out[hole] != rgb[hole]).any()
        batches.append(int(response.headers["X-Inpaint-Batch"]))
    assert max(batches) <= MAX_BATCH
    assert max(batches) > 1, f"no two requests ran together: {batches}"
    assert client.get("/healthz").json()["queue"] == 0


def test_healthz_is_open_and_documented(server, openapi):
    response = httpx.get(server.url + "/healthz")  # no token
    check_response(openapi, "GET", "/healthz", response)
    body = response.json()
    assert body["model"] == "default.onnx" and body["engine"] == "onnx" and body["max_batch"] == MAX_BATCH
    assert "/" not in body["model"]  # a file name, never a server path


# ---------------------------------------------------------------- bad uploads


def test_not_an_image_and_damaged_files_are_400(client, openapi):
    hole = png(box_mask())
    _error(_post(client, b"hello, not a picture", hole), openapi, 400, r"^image: not an image")
    _error(_post(client, png(photo()), b"GIF89a..."), openapi, 400, r"^mask: not an image")
    _error(_post(client, png(photo())[:20], hole), openapi, 400, r"image: a png file whose header gives no pixel size")
    damaged = png(photo())[:60] + bytes(200)  # a valid header, then garbage
    _error(_post(client, damaged, hole), openapi, 400, r"image: cannot read image \(a truncated PNG file")
    _error(_post(client, b"", hole), openapi, 400, r"image: empty file")


def test_sizes_that_differ_are_422_and_same_aspect_is_resized(client, openapi):
    rgb, hole = photo(), box_mask()
    _error(_post(client, png(rgb), png(box_mask(96, 100))), openapi, 422,
           r"mask is 100x96 but the image is 128x96")
    half = _post(client, png(rgb), png(hole[::2, ::2]))
    check_response(openapi, "POST", "/v1/inpaint", half)
    assert half.status_code == 200 and half.headers["X-Inpaint-Note"] == "mask resized from 64x48"
    out = decode_png(half.content)
    assert np.array_equal(out[~hole], rgb[~hole])


def test_empty_mask_gives_the_photo_back_with_a_note(client, openapi):
    rgba = photo(seed=3, channels=4)
    response = _post(client, png(rgba), png(np.zeros((96, 128), bool)))
    check_response(openapi, "POST", "/v1/inpaint", response)
    assert response.status_code == 200 and response.headers["X-Inpaint-Note"] == "empty mask"
    assert "X-Inpaint-Batch" not in response.headers  # the model did not run
    assert np.array_equal(decode_png(response.content), rgba)


def test_bad_fields_are_422_naming_the_field(client, openapi):
    image, hole = png(photo()), png(box_mask())
    _error(client.post("/v1/inpaint", files={"image": ("p.png", image)}), openapi, 422, r"mask: Field required")
    _error(_post(client, image, hole, strategy="magic"), openapi, 422, r"strategy magic: unknown strategy")
    _error(_post(client, image, hole, texture="7"), openapi, 422, r"texture 7: .*0-2")
    _error(_post(client, image, hole, dilate=-2), openapi, 422, r"dilate -2: must be 0 or more")
    _error(_post(client, image, hole, dilate="wide"), openapi, 422, r"dilate: .*integer")


def test_a_huge_dilate_is_the_whole_picture(client):
    rgb, hole = photo(), box_mask()
    out = decode_png(_post(client, png(rgb), png(hole), dilate=10**9).content)
    assert (out != rgb).any(axis=-1).mean() > 0.9


# ---------------------------------------------------------------- limits


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height 8-bit RGB and holds one tiny IDAT (what a decompression bomb starts as)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def test_picture_over_the_pixel_limit_is_413_before_decoding(client, openapi):
    started = time.monotonic()
    bomb = _png_header_only(60000, 50000)  # 3000 MP, 9 GB decoded: refused from the header alone
    _error(_post(client, bomb, png(box_mask())), openapi, 413, r"image: 60000x50000 is 3000 megapixels, over the 100 MP")
    _error(_post(client, png(photo()), _png_header_only(20000, 15000)), openapi, 413, r"^mask: 20000x15000")
    assert time.monotonic() - started < 10


def _raw_request(port: int, head: bytes, chunks: list[bytes]) -> tuple[bytes, int]:
    """Send ``head``, then ``chunks`` until the server answers; (the answer, body bytes sent)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(head)
        sent = 0
        for data in chunks:
            if select.select([s], [], [], 0.002)[0]:
                break
            try:
                s.sendall(data)
            except OSError:  # the server closed: its answer is waiting
                break
            sent += len(data)
        answer = b""
        while chunk := s.recv(65536):
            answer += chunk
    return answer, sent


_FORM_HEAD = (b'--B\r\nContent-Disposition: form-data; name="image"; filename="p.png"\r\n'
              b"Content-Type: image/png\r\n\r\n")


def _status_and_json(answer: bytes) -> tuple[int, dict]:
    head, _, body = answer.partition(b"\r\n\r\n")
    import json

    return int(head.split()[1]), json.loads(body)


def test_content_length_over_the_limit_is_413_before_the_body_is_sent(server):
    head = (b"POST /v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN.encode() +
            b"\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 100000000\r\n\r\n")
    answer, sent = _raw_request(server.port, head, [_FORM_HEAD] + [bytes(65536)] * 1600)  # 100 MB announced
    status, body = _status_and_json(answer)
    assert status == 413 and "over the 1 MB limit (serve --max-upload-mb)" in body["error"]
    assert b"connection: close" in answer.lower()
    assert sent < 8 << 20, f"the server let the client send {sent} bytes"


def test_chunked_body_over_the_limit_is_413_once_counted(server):
    head = (b"POST /v1/inpaint HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + TOKEN.encode() +
            b"\r\nContent-Type: multipart/form-data; boundary=B\r\nTransfer-Encoding: chunked\r\n\r\n")

    def chunked(data: bytes) -> bytes:
        return b"%x\r\n" % len(data) + data + b"\r\n"

    answer, sent = _raw_request(server.port, head, [chunked(_FORM_HEAD)] + [chunked(bytes(65536))] * 400)  # 25 MB
    status, body = _status_and_json(answer)
    assert status == 413 and "over the 1 MB limit" in body["error"]
    assert sent < 12 << 20, f"the server let the client send {sent} bytes"


def test_a_body_under_the_limit_is_served(client):
    big = photo(400, 400, seed=4)  # about 0.4 MB as PNG: under the 1 MB limit
    response = _post(client, png(big), png(box_mask(400, 400)), strategy="resize")
    assert response.status_code == 200


# ---------------------------------------------------------------- the token, hosts, paths


def test_token_is_required_everywhere_but_healthz(server, openapi):
    image, hole = png(photo()), png(box_mask())
    for headers, reason in (({}, "missing token"), ({"Authorization": "Bearer wrong"}, "wrong token"),
                            ({"Authorization": TOKEN}, "wrong token")):
        response = httpx.post(server.url + "/v1/inpaint", headers=headers,
                              files={"image": ("p.png", image), "mask": ("m.png", hole)})
        _error(response, openapi, 401, reason)
        assert "Bearer" in response.headers["WWW-Authenticate"]
        for path in ("/", "/openapi.json", "/nowhere"):
            other = httpx.get(server.url + path, headers=headers)
            assert other.status_code == 401 and reason in other.json()["error"]
    check_response(openapi, "GET", "/", httpx.get(server.url + "/"))


def test_browser_basic_auth_with_the_token_as_password_opens_the_page(server, openapi):
    basic = base64.b64encode(f"anyone:{TOKEN}".encode()).decode()
    response = httpx.get(server.url + "/", headers={"Authorization": f"Basic {basic}"})
    check_response(openapi, "GET", "/", response)
    assert response.status_code == 200 and "<canvas" in response.text
    wrong = base64.b64encode(b"anyone:guess").decode()
    assert httpx.get(server.url + "/", headers={"Authorization": f"Basic {wrong}"}).status_code == 401


def test_page_is_self_contained(client):
    html = client.get("/").text
    assert '<meta name="viewport"' in html
    assert not re.search(r"""(src|href|action)\s*=\s*["']?(https?:)?//""", html, re.I), "the page links outside"
    assert not re.search(r"url\(\s*['\"]?(https?:)?//|@import|<script[^>]+src=|<link[^>]+stylesheet", html, re.I)
    assert not re.search(r"""fetch\(\s*["'](https?:)?//|fetch\(\s*["']/""", html), "fetch must stay relative"


def test_only_loopback_host_names_are_answered(server):
    assert httpx.get(server.url + "/healthz", headers={"Host": "evil.example"}).status_code == 400
    assert httpx.get(f"http://localhost:{server.port}/healthz").status_code == 200


def test_no_endpoint_takes_a_path(openapi):
    post = openapi["paths"]["/v1/inpaint"]["post"]
    form = openapi["components"]["schemas"][post["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"].rsplit("/", 1)[1]]
    assert set(form["properties"]) == {"image", "mask", "strategy", "dilate", "texture"}
    assert form["properties"]["image"].get("format") == "binary" or "contentMediaType" in form["properties"]["image"]
    assert set(openapi["paths"]) == {"/", "/healthz", "/v1/inpaint"}
    assert all("parameters" not in op for ops in openapi["paths"].values() for op in ops.values())
