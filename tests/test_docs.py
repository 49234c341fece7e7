"""The documentation: every activation has its page, and the site builds."""

import os
import shutil
import subprocess
import sys

import pytest

import fastact

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DOCS = os.path.join(ROOT, "docs")
pytestmark = pytest.mark.skipif(not os.path.isdir(DOCS), reason="no source tree")


def test_every_activation_has_its_prose():
    """The docs build refuses to start without it; fail here first."""
    have = {f[:-4] for f in os.listdir(os.path.join(DOCS, "prose")) if f.endswith(".rst")}
    assert have == set(fastact.ACTIVATIONS)
    for name in have:
        text = open(os.path.join(DOCS, "prose", name + ".rst")).read()
        for part in ("**Derivation.**", "**Pros.**", "**Cons.**", "**Where it is used.**"):
            assert part in text, (name, part)


def test_every_example_has_a_gallery_title():
    """sphinx-gallery takes each page's title from the script's docstring."""
    import ast

    examples = os.path.join(ROOT, "examples")
    assert os.path.exists(os.path.join(examples, "GALLERY_HEADER.rst"))
    scripts = sorted(f for f in os.listdir(examples) if f.endswith(".py"))
    assert "mlp_digits.py" in scripts
    for name in scripts:
        with open(os.path.join(examples, name)) as f:
            doc = ast.get_docstring(ast.parse(f.read()), clean=True) or ""
        title, underline = (doc.splitlines() + ["", ""])[:2]
        assert title and underline == "=" * len(title), name


@pytest.mark.slow
def test_sphinx_build_without_warnings(tmp_path):
    pytest.importorskip("sphinx")
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    exe = shutil.which("sphinx-build") or f"{sys.executable} -m sphinx"
    r = subprocess.run(exe.split() + ["-W", "-q", "-b", "html", DOCS, str(tmp_path)],
                       capture_output=True, text=True, timeout=1200, cwd=str(tmp_path))
    assert r.returncode == 0, r.stderr[-4000:]
    for name in fastact.ACTIVATIONS:
        page = (tmp_path / "activations" / f"{name}.html").read_text()
        assert f"_images/{name}.png" in page and f"_images/{name}_grad.png" in page
    for guide in ("choosing", "gradients", "stability", "performance", "ecosystem",
                  "threads"):
        assert (tmp_path / "guides" / f"{guide}.html").exists()
    # the gallery: the MLP example ran during the build, the Dask one is shown
    mlp = (tmp_path / "auto_examples" / "mlp_digits.html").read_text()
    assert "numpy formula" in mlp and "test accuracy" in mlp
    assert "_images/sphx_glr_mlp_digits_001.png" in mlp
    dask = (tmp_path / "auto_examples" / "dask_pipeline.html").read_text()
    assert "without running it" in dask
    # MathJax is bundled: formulas typeset without the network
    gelu = (tmp_path / "activations" / "gelu.html").read_text()
    assert 'src="../_static/mathjax/tex-chtml.js"' in gelu
    assert (tmp_path / "_static" / "mathjax" / "tex-chtml.js").is_file()
    for page in tmp_path.rglob("*.html"):
        assert "cdn.jsdelivr.net" not in page.read_text(), page
