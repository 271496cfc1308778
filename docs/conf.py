# Sphinx configuration for the tlnb docs. Not run directly: `python tools/build_docs.py` processes nbs/ into
# _docs/src/ (nbdev's processors, show_doc executed) and runs sphinx-build -c docs _docs/src _docs/html.
import re, tomllib
from pathlib import Path

root = Path(__file__).resolve().parents[1]
meta = tomllib.loads((root/'pyproject.toml').read_text())['project']
project = meta['name']
author = meta['authors'][0]['name']
copyright = author
release = version = re.search(r'__version__\s*=\s*["\']([^"\']+)', (root/'tlnb'/'__init__.py').read_text()).group(1)

extensions = ['myst_nb']
root_doc = 'index'
highlight_language = 'text'         # unlabelled ``` blocks stay plain (code cells use the notebook's language)
exclude_patterns = ['**.ipynb_checkpoints']

# MyST-NB: render the outputs stored in the notebooks; never execute them
nb_execution_mode = 'off'
nb_render_markdown_format = 'myst'   # text/markdown outputs parsed as MyST (tables too)
nb_merge_streams = True
nb_output_stderr = 'show'
nb_ipywidgets_js = {}                # no ipywidgets JS from a CDN (tools/build_docs.py drops widget views)
myst_enable_extensions = ['attrs_inline', 'attrs_block', 'colon_fence']
myst_all_links_external = True       # links are written as final .html URLs by tools/build_docs.py, checked after the build
suppress_warnings = ['myst.header']  # nbdev pages put show_doc's level-3 headings straight under the title

html_theme = 'sphinx_book_theme'
html_title = f'{project} {release}'
html_static_path = ['_static']
html_css_files = ['nbdev.css']
html_copy_source = False             # no _sources/*.ipynb copies (they would carry every output twice)
html_show_sourcelink = False
html_theme_options = {
    'repository_url': meta['urls']['Repository'],
    'repository_branch': 'main',
    'path_to_docs': 'nbs',
    'use_repository_button': True,
    'home_page_in_toc': True,
    'show_toc_level': 2,
    'navigation_with_keys': False,
    'use_download_button': False,     # it would link to _sources/, which html_copy_source = False leaves out
}
