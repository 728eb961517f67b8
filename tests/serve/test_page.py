"""The brush page in a real headless browser (Debian's chromium + chromedriver, driven by selenium).

On a phone-sized window: open a photo, paint a stroke with the mouse, undo / redo it from the keyboard,
press Remove, and read the result back through the page's own Download link: it has the photo's size
and differs from the photo inside the stroke only. Then Before / After, and a second stroke removed
from the result. Skipped, with the reason, where no browser is installed (``.ci/run`` installs one).
"""

from __future__ import annotations

import base64
import shutil

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("httpx")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install 'inpaint-toolkit[test]')")

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from tests.serve.server import Server, decode_png, photo, png  # noqa: E402

pytestmark = pytest.mark.slow

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
#: a phone's CSS viewport (an iPhone 12-15: 390 x 844)
PHONE = (390, 844)
H, W = 180, 240
BRUSH_CSS_PX = 100  # over the whole disc (radius H / 6) at the phone's scale


@pytest.fixture(scope="module")
def browser():
    if BROWSER is None or DRIVER is None:
        pytest.skip("no chromium / chromedriver on PATH (Debian: apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = BROWSER
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={PHONE[0]},{PHONE[1]}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=DRIVER))
    driver.set_script_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def server():
    with Server() as running:
        yield running


def _state(driver, name: str, timeout: float = 60) -> None:
    WebDriverWait(driver, timeout).until(lambda d: d.find_element(By.TAG_NAME, "body").get_attribute("data-state") == name,
                                         f"the page never reached state {name!r}")


def _stroke(driver, start: tuple[float, float], end: tuple[float, float]) -> float:
    """Drag the mouse over the mask canvas from ``start`` to ``end`` (image pixels x, y); returns the
    brush's diameter in image pixels."""
    canvas = driver.find_element(By.ID, "mask")
    rect = driver.execute_script("const r = arguments[0].getBoundingClientRect(); return [r.width, r.height];", canvas)
    scale = rect[0] / W  # CSS px per image px

    def offset(p):  # selenium 4 offsets are from the element's centre, in CSS px
        return round((p[0] - W / 2) * scale), round((p[1] - H / 2) * scale)

    (x0, y0), (x1, y1) = offset(start), offset(end)
    chain = ActionChains(driver).move_to_element_with_offset(canvas, x0, y0).click_and_hold()
    steps = 8
    for _ in range(steps):
        chain.move_by_offset((x1 - x0) / steps, (y1 - y0) / steps)
    chain.release().perform()
    return BRUSH_CSS_PX / scale


def _band(start, end, radius: float) -> np.ndarray:
    """(H, W) bool: pixels within ``radius`` of the segment start-end (image pixels)."""
    yy, xx = np.mgrid[0:H, 0:W] + 0.5
    (ax, ay), (bx, by) = start, end
    t = np.clip(((xx - ax) * (bx - ax) + (yy - ay) * (by - ay)) / max((bx - ax) ** 2 + (by - ay) ** 2, 1e-9), 0, 1)
    return np.hypot(xx - (ax + t * (bx - ax)), yy - (ay + t * (by - ay))) <= radius


def _result(driver) -> np.ndarray:
    """The picture behind the Download link, fetched inside the page (RGB)."""
    data = driver.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch(document.getElementById("download").href).then((r) => r.arrayBuffer()).then((b) => {
          let s = ""; const u = new Uint8Array(b);
          for (let i = 0; i < u.length; i++) s += String.fromCharCode(u[i]);
          done(btoa(s));
        });""")
    return decode_png(base64.b64decode(data))


def _shown_pixel(driver, x: int, y: int) -> list[int]:
    """RGB of the photo canvas (what the page shows) at image pixel (x, y)."""
    return driver.execute_script(
        "return Array.from(document.getElementById('photo').getContext('2d').getImageData(arguments[0], arguments[1], 1, 1).data).slice(0, 3);",
        x, y)


def test_brush_remove_before_after_and_continue_on_the_result(browser, server, tmp_path):
    rgb = photo(H, W, seed=5)
    path = tmp_path / "photo.png"
    path.write_bytes(png(rgb))
    browser.get(server.url + "/")
    browser.find_element(By.ID, "file").send_keys(str(path))
    _state(browser, "ready")
    remove = browser.find_element(By.ID, "remove")
    assert not remove.is_enabled()  # nothing painted yet
    fits = browser.execute_script("""
        const r = document.getElementById('mask').getBoundingClientRect(), w = innerWidth, h = innerHeight;
        const bars = [...document.querySelectorAll('header > *')].map((e) => e.getBoundingClientRect().right <= w);
        return r.left >= 0 && r.right <= w && r.bottom <= h && r.width > 0.8 * w && bars.every(Boolean);""")
    assert fits, "the canvas or the toolbar does not fit the phone-sized window"
    browser.execute_script(f"document.getElementById('size').value = '{BRUSH_CSS_PX}';")

    start, end = (W * 0.38, H * 0.5), (W * 0.62, H * 0.5)  # across the red disc in the middle
    brush = _stroke(browser, start, end)
    assert remove.is_enabled()
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.CONTROL, "z")
    assert not remove.is_enabled(), "Ctrl+Z did not undo the stroke"
    body.send_keys(Keys.CONTROL, Keys.SHIFT, "z")
    assert remove.is_enabled(), "Ctrl+Shift+Z did not redo the stroke"
    remove.click()
    _state(browser, "done")

    first = _result(browser)
    assert first.shape == rgb.shape
    changed = (first != rgb).any(axis=-1)
    band = _band(start, end, brush / 2 + 2)  # + 2 px: the stroke's antialiased rim
    assert changed.any()
    assert not (changed & ~band).any(), f"{(changed & ~band).sum()} pixels changed outside the stroke"
    assert changed[band].mean() > 0.5
    cx, cy = W // 2, H // 2
    disc = band & (np.hypot(*np.mgrid[0:H, 0:W] - np.array([H // 2, W // 2])[:, None, None]) < min(H, W) // 6 - 2)
    assert rgb[disc][:, 0].min() == 255 and first[disc][:, 0].mean() < 230, "the red disc is still there"

    before = browser.find_element(By.ID, "before")
    before.click()
    assert _shown_pixel(browser, cx, cy) == rgb[cy, cx].tolist(), "Before does not show the photo as opened"
    before.click()
    assert _shown_pixel(browser, cx, cy) == first[cy, cx].tolist(), "After does not show the result"

    start2, end2 = (W * 0.1, H * 0.15), (W * 0.25, H * 0.15)  # a second stroke, on the result
    brush2 = _stroke(browser, start2, end2)
    remove.click()
    _state(browser, "done")
    second = _result(browser)
    band2 = _band(start2, end2, brush2 / 2 + 2)
    assert np.array_equal(second[~band2], first[~band2]), "the second removal did not start from the first result"
    assert (second != first).any(axis=-1)[band2].any()
