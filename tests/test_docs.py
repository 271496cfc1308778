"The docs site (tools/build_docs.py): the link checker fails on broken internal links, show_doc becomes MyST, the build passes."
import subprocess, sys, importlib.util
from pathlib import Path
import pytest
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
import build_docs as bd

PREFIX = 'https://tlnb.github.io/tlnb/'

def _site(tmp_path, pages:dict)->Path:
    for name, body in pages.items():
        (tmp_path/name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path/name).write_text(f'<html><body>{body}</body></html>')
    return tmp_path

def test_check_links_passes_good_links(tmp_path):
    site = _site(tmp_path, {'index.html': '<a href="heads.html#get_head">x</a><a href="#top">t</a><p id="top"></p>'
                                          '<a href="https://example.com/nothere.html">ext</a><img src="_images/a.png">',
                            'heads.html': '<a id="get_head"></a>', '_images/a.png': ''})
    assert bd.check_links(site, own_prefix=PREFIX) == 3

@pytest.mark.parametrize('link', ['heads.html#nothere', 'nothere.html', '#nothere', 'img/missing.png', PREFIX + 'heads.html'])
def test_check_links_fails_on_a_broken_one(tmp_path, link):
    site = _site(tmp_path, {'index.html': f'<a href="{link}">x</a>', 'heads.html': '<a id="get_head"></a>'})
    with pytest.raises(SystemExit): bd.check_links(site, own_prefix=PREFIX)

def test_showdoc_markdown_to_myst():
    md = ('---\n\n[source](https://github.com/tlnb/tlnb/blob/main/tlnb/heads.py#L69){target="_blank" style="float:right; '
          'font-size:smaller"}\n\n### get_head\n\n```python\ndef get_head(\n    name:str | Head, strategy:int\n)->Head:\n```\n\n'
          f'*The head called `name`; see [`Head`]({PREFIX}heads.html#head) and [it](03_heads.ipynb#tlhead).*')
    res = bd._showdoc_md(md, PREFIX)
    assert not res.startswith('---')
    assert '<a class="nbdev-anchor" id="get_head"></a>' in res          # nbdev's anchor, as in tlnb/_modidx.py
    assert '{.nbdev-showdoc}\n### get_head\n\n[source](https://github.com/tlnb/tlnb/blob/main/tlnb/heads.py#L69){.nbdev-source}' in res
    assert '[`Head`](heads.html#head)' in res and '[it](heads.html#tlhead)' in res

@pytest.mark.skipif(importlib.util.find_spec('myst_nb') is None, reason='docs extra not installed: pip install -e ".[docs]"')
def test_docs_build():
    r = subprocess.run([sys.executable, str(ROOT/'tools'/'build_docs.py')], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    pages = {f.name: f.read_text() for f in (ROOT/'_docs'/'html').glob('*.html')}
    assert 'index.html' in pages and any('class="nbdev-showdoc' in h for h in pages.values())  # show_doc sections
    assert not any('nbdev_export()' in h for h in pages.values())   # the `#| hide` cells that call it

CHROMIUM = Path('/usr/bin/chromium')

@pytest.fixture(scope='module')
def site():
    "The built site (`test_docs_build` builds it first), served on a free local port; its URL."
    import http.server, socketserver, threading, functools
    html_dir = ROOT/'_docs'/'html'
    if not (html_dir/'index.html').exists(): pytest.skip('the site is not built: run tools/build_docs.py (test_docs_build does)')
    if not CHROMIUM.exists(): pytest.skip(f'{CHROMIUM} absent: apt-get install chromium (.ci/run installs it)')
    pytest.importorskip('playwright.sync_api', reason='pip install playwright (in the dev extra)')
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html_dir))
    handler.log_message = lambda *a: None
    with socketserver.TCPServer(('127.0.0.1', 0), handler) as srv:
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        yield f'http://127.0.0.1:{srv.server_address[1]}/'
        srv.shutdown()

def _page_with(html_dir:Path, folder:str, needs=('<img', '<table')):
    "The first page under `folder` of the site whose HTML holds a stored plot image and a table."
    for f in sorted((html_dir/folder).glob('*.html')):
        h = f.read_text()
        if all(n in h for n in needs) and '_images/' in h: return f.relative_to(html_dir).as_posix()
    raise AssertionError(f'no page in {folder or "the top folder"} of the site shows both a plot and a table')

def test_site_in_a_browser(site):
    "Home, a tutorial and an API page, opened in Chromium: each shows its tables, and the pages with plots show them loaded."
    from playwright.sync_api import sync_playwright
    html_dir = ROOT/'_docs'/'html'
    pages = ['index.html', _page_with(html_dir, 'tutorials'), _page_with(html_dir, '')]
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=['--no-sandbox', '--disable-gpu'])
        pg = b.new_page(viewport={'width': 1200, 'height': 900})
        seen = {}
        for page in pages:
            r = pg.goto(site + page)
            assert r.status == 200, page
            pg.wait_for_load_state('load')
            tables = pg.locator('article table, main table').count()
            plots = pg.evaluate("""() => [...document.querySelectorAll('img')].filter(i => i.src.includes('_images/'))
                                           .map(i => [i.complete && i.naturalWidth > 0, i.getBoundingClientRect().width])""")
            seen[page] = (tables, plots)
            assert tables > 0, f'{page}: no rendered table'
            if page != 'index.html': assert plots and all(ok and w > 50 for ok, w in plots), f'{page}: a plot image did not load: {plots}'
        (ROOT/'tests'/'out').mkdir(exist_ok=True)
        pg.goto(site + pages[1]); pg.screenshot(path=str(ROOT/'tests'/'out'/'docs_tutorial.png'))
        b.close()
    print(seen)
