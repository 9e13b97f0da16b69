"""Report files: created, complete, and the HTML self-contained."""
from __future__ import annotations

import json
import re

from evalutil import KeywordGuard

from routeguard.eval import run, write_reports
from routeguard.eval.guards import EvalGuard, Prediction


class Binary(EvalGuard):
    """A peer-like guard: a score, no categories, no router; fails on one record."""

    name = "binary-peer"

    def predict(self, records):
        return [Prediction.failed("timeout") if r.id == "s3" else
                Prediction(0.7 if "bomb" in r.messages[-1]["content"] else 0.3, "bomb" in r.messages[-1]["content"])
                for r in records]


def test_reports_are_written_and_self_contained(records, tmp_path):
    res = run([KeywordGuard(), Binary()], {"test": records, "ood": records[:3]}, warmup=False)
    paths = write_reports(res, tmp_path / "out")
    assert {p.name for p in paths.values()} == {"results.json", "report.md", "report.html"}
    assert json.loads(paths["json"].read_text())["results"]["keywords"]["test"]["binary"]["tp"] == 2

    html = paths["html"].read_text()
    # self-contained: no external scripts, styles, images or fonts
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "url(" not in html and "@import" not in html and "<script" not in html
    imgs = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    # PR curve (test only: ood is one class), category bars x2, confusion x2, routing x2
    assert len(imgs) == 7
    assert all(len(i) > 1000 for i in imgs)
    for text in ("Summary", "Precision–recall", "Per-category F1", "Routing", "Per source", "binary-peer",
                 "keywords", "counted as flagged", "timeout"):
        assert text in html
    assert html.index("Summary") < html.index("Precision–recall")       # summary first

    md = paths["markdown"].read_text()
    assert md.startswith("# RouteGuard evaluation report")
    assert "| keywords | **0.571** |" in md        # F1 = 2*2/(2*2+1+2) on test, best of the two
    assert "## Per source" in md and "src_b" in md


def test_html_without_plots_still_has_every_table(records, tmp_path):
    res = run([KeywordGuard()], {"test": records}, warmup=False)
    paths = write_reports(res, tmp_path, plots=False)
    html = paths["html"].read_text()
    assert "data:image/png" not in html and "<table" in html and "router recall" in html
