"""Sphinx configuration of fastact's documentation.

Build: ``pip install ".[docs]" && sphinx-build -W -b html docs docs/_build/html``.
Pages for the activations, the API reference and every figure and measured
number are generated at build time from the installed fastact
(``_ext/fastact_pages.py``); the examples' pages by sphinx-gallery, which runs
the scripts of ``examples/``. The output needs no network: MathJax, the theme's
scripts and fonts are all in ``_static``.
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "_ext"))

import fastact  # noqa: E402

project = "fastact"
author = "the fastact developers"
copyright = "2026, the fastact developers"
release = version = fastact.__version__

# sphinx-mathjax-offline copies MathJax 3 into _static/mathjax and points
# mathjax_path there: the formulas are typeset without the network. (It does
# not declare itself parallel-safe, so `sphinx-build -j N -W` fails on the
# warning Sphinx gives for that; build serially.)
extensions = ["sphinx.ext.mathjax", "sphinx-mathjax-offline", "sphinx.ext.intersphinx",
              "sphinx_gallery.gen_gallery", "fastact_pages"]
intersphinx_mapping = {}   # offline builds: no inventories fetched
exclude_patterns = ["_build", "prose", "_generated", "_data"]
templates_path = []
html_theme = "pydata_sphinx_theme"
html_title = "fastact"
html_theme_options = {
    # the navbar lists the sections of the root toctree (index.rst)
    "navbar_align": "left",
    "header_links_before_dropdown": 6,
    # nothing that needs the network: no icon links, no version switcher
    "navbar_end": ["theme-switcher"],
    "icon_links": [],
    "show_toc_level": 2,
    "use_edit_page_button": False,
    "footer_start": ["copyright"],
    "footer_end": [],          # the default items link to the Sphinx and theme sites
}
html_sidebars = {"index": []}     # the home page is short: no section sidebar
html_static_path = []
nitpicky = False

# The scripts of the repository's examples/ become the gallery of
# docs/auto_examples (gitignored): each page shows its script with the output
# and figures of a run made by this build.
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # run them all but the Dask one, which starts a cluster of worker
    # processes (tests/test_ecosystem.py runs it); its page says so
    "filename_pattern": r"^(?!.*dask_pipeline\.py$)",
    "run_stale_examples": True,        # numbers of this build, never a cached run
    "abort_on_example_error": True,
    "within_subsection_order": "ExampleTitleSortKey",
    "download_all_examples": False,
    "write_computation_times": False,  # no sg_execution_times.rst in docs/
    "show_signature": False,
}

