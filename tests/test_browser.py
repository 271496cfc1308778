"""The panels in a real JupyterLab, driven by Playwright in Debian's headless Chromium: the LR finder's plot appears,
a freeze toggle changes the trainable count, and a screenshot is saved under tests/out/."""
import os, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import nbformat, pytest

CHROMIUM = Path('/usr/bin/chromium')
OUT = Path(__file__).parent/'out'
CHROME_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
               '--disable-component-update', '--disable-sync']
CELLS = ["from tlnb.data import make_corpus, tl_dls\nfrom tlnb.learner import tl_learner\nfrom tlnb.panels import FreezePanel, LRFinderPanel",
         "dls = tl_dls(make_corpus('corpus'), size=32, bs=4, verbose=False)\nlearn = tl_learner(dls, strategy=3, seed=0, verbose=False)",
         "FreezePanel(learn).widget",
         "LRFinderPanel(learn, num_it=50).widget"]

def free_port()->int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def wait_http(url:str, timeout:float=90):
    end = time.time() + timeout
    while time.time() < end:
        try:
            with urllib.request.urlopen(url, timeout=2): return
        except OSError: time.sleep(0.5)
    raise TimeoutError(f'JupyterLab did not answer at {url}')

@pytest.fixture
def lab(tmp_path):
    "JupyterLab on a free local port, serving a notebook that builds the panels on a tiny dataset; its URL."
    if not CHROMIUM.exists(): pytest.skip(f'{CHROMIUM} absent: apt-get install chromium (.ci/run installs it)')
    pytest.importorskip('playwright.sync_api', reason='pip install playwright (in the dev extra)')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in CELLS],
                                  metadata={'kernelspec': {'name': 'python3', 'display_name': 'Python 3', 'language': 'python'}})
    nbformat.write(nb, tmp_path/'panels.ipynb')
    port, token = free_port(), 'tlnb-browser-test'
    env = {**os.environ, 'JUPYTER_CONFIG_DIR': str(tmp_path/'jcfg'), 'JUPYTER_RUNTIME_DIR': str(tmp_path/'jrun')}
    log = open(tmp_path/'lab.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--allow-root', '--expose-app-in-browser',
                             '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={port}', f'--IdentityProvider.token={token}',
                             f'--ServerApp.root_dir={tmp_path}'], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f'http://127.0.0.1:{port}/api/status?token={token}')
        yield f'http://127.0.0.1:{port}/lab/tree/panels.ipynb?token={token}'
    finally:
        proc.terminate(); proc.wait(20); log.close()

def test_panels_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS)
        page = browser.new_page(viewport={'width': 1400, 'height': 1600})
        try:
            page.goto(lab)
            page.wait_for_function("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                                   " return w && w.sessionContext && w.sessionContext.isReady; }", timeout=120_000)
            page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
            total = page.locator('text=trainable parameters')
            total.wait_for(timeout=180_000)
            before = total.inner_text()
            page.locator('button:has-text("high")').click()  # the freeze toggle of the 'high' layer group
            page.wait_for_function(f"() => !document.body.innerText.includes({before!r})", timeout=30_000)
            assert total.inner_text() != before
            page.locator('button:has-text("Find learning rate")').click()
            page.locator('text=done: pick a suggestion').wait_for(timeout=180_000)
            width = page.evaluate("() => Math.max(...[...document.querySelectorAll('img.widget-image')].map(i => i.naturalWidth))")
            assert width > 100  # the loss-versus-rate plot is drawn
        finally:
            page.screenshot(path=str(OUT/'panels.png'), full_page=True)
            browser.close()
