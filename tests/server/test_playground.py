"""The playground page at GET /: served self-contained, and rendered by headless Chromium."""
from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from srvutil import app_client, live, settings

from routeguard.server import create_app

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
                 if os.path.exists(p)), shutil.which("chromium"))


def test_page_served_self_contained(anchor_guard):
    with app_client(anchor_guard) as c:
        r = c.get("/")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
        html = r.text
        assert "/v1/guard" in html and "<script>" in html
        assert "http://" not in html and "https://" not in html.replace("https://example", "")  # nothing remote
        assert "default-src 'self'" in r.headers["content-security-policy"]
    with app_client(anchor_guard, playground=False) as c:
        assert c.get("/").status_code == 404


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium at /usr/bin/chromium (apt-get install chromium)")
def test_playground_in_headless_chromium(anchor_guard, tmp_path):
    shot = tmp_path / "playground.png"
    with live(create_app(guard=anchor_guard, settings=settings())) as srv:
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--hide-scrollbars", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
               "--window-size=1280,860", "--virtual-time-budget=8000", f"--screenshot={shot}",
               srv.url + "/?autorun=1"]
        proc = subprocess.run(cmd, capture_output=True, timeout=60)
        assert shot.is_file(), proc.stderr.decode(errors="replace")[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    keep = os.environ.get("ROUTEGUARD_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(shot, Path(keep) / "playground.png")
    try:
        from PIL import Image
    except ImportError:
        return
    img = Image.open(shot).convert("RGB")
    assert img.size == (1280, 860)
    colours = img.getcolors(maxcolors=1 << 20) or []
    assert len(colours) > 200, "screenshot looks blank"
    # the verdict was rendered: the 'FLAGGED' badge uses the red (#d92d20) text colour
    red = sum(n for n, (r, g, b) in colours if r > 200 and g < 80 and b < 60)
    assert red > 200, "no flagged verdict visible in the screenshot"
