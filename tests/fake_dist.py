"""Installed-looking distributions made on the fly: a dist-info folder with an entry point, on sys.path.

importlib.metadata finds them exactly as it finds a pip-installed plugin, so the real entry-point
loading path is exercised without running pip.
"""

from __future__ import annotations

import textwrap
from pathlib import Path


def make_dist(site: Path, dist: str, module: str, source: str, version: str = "1.0") -> Path:
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[img2img]\n{module} = {module}\n")
    return site
