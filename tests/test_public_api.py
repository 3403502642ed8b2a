"""The names `import storydiff` offers resolve, lazily, to the functions they name."""

from __future__ import annotations

import subprocess
import sys

import storydiff


def test_every_export_resolves() -> None:
    for name in storydiff.__all__:
        assert callable(getattr(storydiff, name)), name


def test_import_is_cheap() -> None:
    code = "import sys, storydiff; print(any(m in sys.modules for m in ('torch', 'spacy', 'pandas')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
