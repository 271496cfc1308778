"""The panels in a real JupyterLab, driven by Playwright in Debian's headless Chromium: the quadrant tab follows a
`freeze_to` run in another cell; the learning-rate finder's progress and curve advance during its run, in a thread,
while a cell that tries to train the same learner is refused; the plots fill the panel's width, with no broken image;
fine-tuning runs; the results tab shows its tables and pictures. Screenshots of each tab go to tests/out/ (and to nbs/tutorials/images/ with TLNB_SAVE_SCREENSHOTS=1,
for the tutorials)."""
import os, shutil, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import nbformat, pytest

CHROMIUM = Path('/usr/bin/chromium')
OUT = Path(__file__).parent/'out'
TUTORIAL_IMAGES = Path(__file__).resolve().parents[1]/'nbs'/'tutorials'/'images'
CHROME_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
               '--disable-component-update', '--disable-sync']
CELLS = ["from tlnb.all import *\nfrom tlnb.panels import tl_panel",
         "learn = tl_learner(make_corpus('corpus'), size=32, bs=4, seed=0, verbose=False)  # quadrant 3: strategy 2",
         "tab = tl_panel(learn)\ntab.panels['lr_find'].num_it = 150\ntab.panels['fine_tune'].epochs.value = 2\ntab",
         "learn.freeze_to(2)",
         "try: learn.fit(1, 1e-3)\nexcept LearnerBusy as e: print('REFUSED:', e)"]
CURVE_POINTS = "() => { const p = document.querySelector('.tlnb-lrfind g.curve path.line'); return p ? ((p.getAttribute('d') || '').match(/[ML]/g) || []).length : 0; }"
STEPS = "() => { const m = document.body.innerText.match(/(\\d+)\\/(\\d+) · /); return m ? +m[1] : 0; }"
WIDTH = "(c) => { const e = document.querySelector('.' + c); return e ? e.getBoundingClientRect().width : 0; }"
PANEL_WIDTH = "() => document.querySelector('.jupyter-widget-Tab, .widget-tab').getBoundingClientRect().width"
BROKEN_IMAGES = "() => [...document.querySelectorAll('.jp-OutputArea img')].filter(i => i.offsetParent !== null && i.complete && i.naturalWidth === 0).length"
SHOWN_IMAGES = "() => [...document.querySelectorAll('.jp-OutputArea img')].filter(i => i.offsetParent !== null && i.complete && i.naturalWidth > 0).length"

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
    env = {**os.environ, 'JUPYTER_CONFIG_DIR': str(tmp_path/'jcfg'), 'JUPYTER_RUNTIME_DIR': str(tmp_path/'jrun'),
           'XDG_CACHE_HOME': str(tmp_path/'xdg')}
    log = open(tmp_path/'lab.log', 'w')
    proc = subprocess.Popen([sys.executable, '-m', 'jupyter', 'lab', '--no-browser', '--allow-root', '--expose-app-in-browser',
                             '--ServerApp.ip=127.0.0.1', f'--ServerApp.port={port}', f'--IdentityProvider.token={token}',
                             f'--ServerApp.root_dir={tmp_path}', f'--LabApp.workspaces_dir={tmp_path/"ws"}'],
                            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_http(f'http://127.0.0.1:{port}/api/status?token={token}')
        yield f'http://127.0.0.1:{port}/lab/tree/panels.ipynb?token={token}'
    finally:
        proc.terminate(); proc.wait(20); log.close()

def run_cell(page, i:int):
    page.evaluate(f"() => {{ const nb = window.jupyterapp.shell.currentWidget.content; nb.activeCellIndex = {i};"
                  " return window.jupyterapp.commands.execute('notebook:run-cell'); }")

def shot(page, name:str):
    OUT.mkdir(exist_ok=True)
    tab = page.locator('.jupyter-widget-Tab, .widget-tab').first
    tab.screenshot(path=str(OUT/f'{name}.png'))
    if os.environ.get('TLNB_SAVE_SCREENSHOTS'):
        TUTORIAL_IMAGES.mkdir(parents=True, exist_ok=True); shutil.copy(OUT/f'{name}.png', TUTORIAL_IMAGES/f'{name}.png')

def test_panels_in_jupyterlab(lab):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROME_ARGS)
        page = browser.new_page(viewport={'width': 1100, 'height': 1400})
        try:
            page.goto(lab)
            page.wait_for_function("() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
                                   " return w && w.sessionContext && w.sessionContext.isReady; }", timeout=120_000)
            for i in range(3): run_cell(page, i)
            page.locator('text=base groups frozen').wait_for(timeout=240_000)
            assert '1 of 4 base groups frozen' in page.inner_text('.jupyter-widget-Tab, .widget-tab')
            shot(page, 'panel_quadrant')
            run_cell(page, 3)  # learn.freeze_to(2) in another cell: the quadrant tab follows
            page.locator('text=2 of 4 base groups frozen').wait_for(timeout=60_000)

            page.locator('.lm-TabBar-tabLabel:text-is("2 Freeze")').click()
            page.locator('.widget-html-content:text-matches("^[0-9,]+ trainable parameters$")').wait_for(timeout=30_000)
            shot(page, 'panel_freeze')

            page.locator('.lm-TabBar-tabLabel:text-is("3 LR finder")').click()
            assert page.evaluate(WIDTH, 'tlnb-lrfind') == 0  # nothing drawn before there is data
            page.locator('button:has-text("Find learning rate")').click()
            steps, points = [], []
            page.wait_for_function(f"() => ({STEPS})() > 0", timeout=120_000)
            run_cell(page, 4)  # a cell that trains the same learner meanwhile: refused
            for _ in range(12):
                steps.append(page.evaluate(STEPS)); points.append(page.evaluate(CURVE_POINTS)); time.sleep(0.5)
            page.locator('text=REFUSED: fit refused: this learner is busy with lr_find').wait_for(timeout=60_000)
            assert len(set(steps)) >= 3 and steps == sorted(steps), steps  # the progress advances during the run
            assert len(set(points)) >= 3 and points[-1] > points[0] > 0, points  # so does the curve
            assert page.locator('button:has-text("Train")').is_disabled()  # the other panels wait for the run
            page.locator('text=done: pick a suggestion').wait_for(timeout=300_000)
            assert page.evaluate(WIDTH, 'tlnb-lrfind') > 0.8 * page.evaluate(PANEL_WIDTH)  # the plot fills the panel
            assert page.evaluate(BROKEN_IMAGES) == 0
            shot(page, 'panel_lrfind')

            page.locator('.lm-TabBar-tabLabel:text-is("4 Fine-tune")').click()
            page.locator('button:has-text("Train")').click()
            page.locator('text=done: 2 epochs').wait_for(timeout=300_000)
            assert page.evaluate(WIDTH, 'tlnb-history') > 0.8 * page.evaluate(PANEL_WIDTH)
            assert page.evaluate(BROKEN_IMAGES) == 0
            shot(page, 'panel_finetune')

            page.locator('.lm-TabBar-tabLabel:text-is("5 Results")').click()
            page.locator('button:has-text("Show results")').click()
            page.locator('text=/top [0-9]+ losses/').wait_for(timeout=300_000)
            text = page.inner_text('.jupyter-widget-Tab, .widget-tab')
            assert 'confusion matrix' in text and 'validation accuracy' in text, text
            assert page.evaluate(SHOWN_IMAGES) >= 1 and page.evaluate(BROKEN_IMAGES) == 0  # the top losses, drawn
            shot(page, 'panel_results')
        finally:
            OUT.mkdir(exist_ok=True)
            page.screenshot(path=str(OUT/'panels.png'), full_page=True)
            browser.close()
