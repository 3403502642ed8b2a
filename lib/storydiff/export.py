"""Export executed notebooks to self-contained HTML (nothing loaded from the network)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import nbformat
from nbconvert import HTMLExporter

TEMPLATES = resources.files("storydiff") / "templates"
# Inline styles and data: images only: no script, no request leaves the page
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:"


def read_report_css() -> str:
    """The report's own style sheet (``templates/storydiff.css``), to inline in a page."""
    return (TEMPLATES / "storydiff.css").read_text(encoding="utf-8")


def export_html(notebook: str | Path, html_path: str | Path, *, exclude_code: bool = False) -> Path:
    """Write ``notebook`` as one HTML file with every image and style inline.

    ``exclude_code=True`` drops code cells' input and prompts (the shareable report).
    """
    exporter = HTMLExporter(
        template_name="storydiff",
        extra_template_basedirs=[str(TEMPLATES)],
        exclude_input=exclude_code,
        exclude_input_prompt=exclude_code,
        exclude_output_prompt=exclude_code,
        embed_images=True,
    )
    nb = nbformat.read(str(notebook), as_version=4)
    body, _ = exporter.from_notebook_node(
        nb, resources={"storydiff_css": read_report_css(), "storydiff_csp": CONTENT_SECURITY_POLICY}
    )
    html_path = Path(html_path)
    html_path.parent.mkdir(parents=True, exist_ok=True)
    html_path.write_text(body, encoding="utf-8")
    return html_path
