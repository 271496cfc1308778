#!/usr/bin/env python
"""Build the documentation site offline from the notebooks in nbs/ (no Quarto, no network).

    python tools/build_docs.py                # build _docs/html/; exits non-zero on any error, warning or broken internal link
    python tools/build_docs.py serve          # build, then serve _docs/html/ on http://127.0.0.1:8000
    python tools/build_docs.py build --force  # reprocess every notebook (default: only those changed since the last build)
    python tools/build_docs.py check          # only check the links of the built _docs/html/

1. nbdev's own doc processors (`nbdev.processors.FilterDefaults`, what `nbdev-proc-nbs`/`nbdev-docs` use) turn each
   notebook into its docs version: `#| hide` cells and `#| default_exp`/`#| exporti` cells removed, a `show_doc(...)`
   cell added after every exported function/class and *executed* (only those cells, the exported code and the imports
   run: the notebook itself is never re-executed, its stored outputs are kept as they are), symbol names in backticks
   linked to their docs, frontmatter (title, description) read from the first markdown cell.
   Changed from nbdev's defaults: `#| export` cells keep their code (`EXPORT_CODE` below), shown after their `show_doc`.
2. `to_myst` turns the Quarto-flavoured result into plain MyST-NB input in _docs/src/: frontmatter -> title heading,
   `show_doc` outputs (`#| output: asis`) -> markdown cells with the nbdev anchors (`heads.html#get_head`, as in
   tlnb/_modidx.py), links to this site made relative, `NN_name.ipynb` links -> `name.html`, Quarto cell options
   -> MyST-NB tags, a toctree added to index.
3. Sphinx + MyST-NB (`nb_execution_mode = "off"`, config in docs/conf.py) renders _docs/src/ to _docs/html/ with `-W --keep-going`.
4. `check_links` reads every built page and fails on a link or image to this site that points nowhere
   (missing page/file or missing `#anchor`), or on an absolute link to this site's own URL.
"""
import os, re, sys, shutil, subprocess, argparse, html.parser
from pathlib import Path
from urllib.parse import urlsplit, unquote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))   # document this working tree's package (worker processes inherit sys.path)
BUILD = ROOT/'_docs'                               # everything generated goes here (git-ignored):
SRC_OUT, SITE = BUILD/'src', BUILD/'html'          # processed notebooks (Sphinx's input), the site
# (Sphinx also writes _docs/doctrees, and MyST-NB _docs/jupyter_execute: it puts that beside the output folder)
CONF_DIR = ROOT/'docs'                             # conf.py, _static/
EXPORT_CODE = 'show'   # `#| export` cells: 'show' the code after its show_doc, 'fold' it (collapsed, click to open), 'hide' (nbdev's default)

# ---------------------------------------------------------------- 1+2. processing (runs in worker processes)

def _nbdev_procs():
    "nbdev's doc processors, with `exec_show_docs` and `rm_export` replaced, and `to_myst` added at the end"
    from nbdev.processors import FilterDefaults, rm_export, exec_show_docs
    swap = {exec_show_docs: _exec_show_docs(), **({rm_export: _rm_export} if EXPORT_CODE != 'hide' else {})}
    return [swap.get(p, p) for p in FilterDefaults().procs()] + [_mv_export, _ToMyst]

def _exec_show_docs():
    from nbdev.processors import exec_show_docs
    import ast
    class _exec(exec_show_docs):
        """nbdev's `exec_show_docs`, except that a cell mixing imports and other code (which nbdev runs whole, warning
        "Found cells containing imports and other code") has only its top-level imports run: the docs never run tests;
        and the cells it runs keep their stored outputs (only `show_doc` cells get new ones)"""
        def __call__(self, cell):
            if cell.cell_type == 'code' and cell.source and not (getattr(cell, 'directives_', {}).keys() & {'export', 'exports', 'exporti', 'exec_doc'}):
                try: tree = ast.parse(cell.source)
                except SyntaxError: tree = None
                imps = [t for t in tree.body if isinstance(t, (ast.Import, ast.ImportFrom))] if tree else []
                if imps and len(imps) < len(tree.body) and not any(
                        isinstance(t, ast.Expr) and getattr(getattr(t.value, 'func', None), 'id', '') == 'show_doc' for t in tree.body):
                    if not self.nb.has_docs_ or not hasattr(self, 'k'): return
                    self.k.run('\n'.join(ast.unparse(t) for t in imps))   # execnb's run: sets self.k.exc
                    if (e := self.k.exc): raise Exception(f'Error in cell {cell.idx_} (imports only):\n{cell.source}\n{type(e).__name__}: {e}') from e
                    return
            if cell.cell_type != 'code' or getattr(cell, 'has_sd', False) or re.match(r'\s*show_doc', cell.source or ''):
                return super().__call__(cell)
            # any other cell it runs (imports, exported code) keeps the outputs stored in the notebook
            saved = {k: cell[k] for k in ('outputs', 'execution_count') if k in cell}
            super().__call__(cell)
            cell.update(saved)
    _exec.__name__ = 'exec_show_docs'
    return _exec

_hide_dirs = {'exporti', 'hide', 'default_exp'}
def _rm_export(cell):
    "Like `nbdev.processors.rm_export`, but keep the code of `export` cells"
    d = getattr(cell, 'directives_', None)
    if cell.cell_type == 'code' and d and (d.keys() & _hide_dirs): del cell['source']

class _mv_export:
    "Like `nbdev.processors.mv_exports` for `export` cells: the `show_doc` cells added after one go before its code"
    def __init__(self, nb): self.nb = nb
    def begin(self):
        cells, i = self.nb.cells, 0
        while i < len(cells):
            j = i + 1
            if cells[i].cell_type == 'code' and 'export' in getattr(cells[i], 'directives_', {}):
                while j < len(cells) and getattr(cells[j], 'has_sd', 0): j += 1
                cells[i:j] = cells[i+1:j] + [cells[i]]
            i = j
    def __call__(self, cell): pass

def _site_prefix():
    from nbdev.config import get_config
    cfg = get_config()
    return (cfg.doc_host.rstrip('/') + '/' + cfg.doc_baseurl.strip('/')).rstrip('/') + '/'

def page_name(nb_path):
    "`nbs/03_heads.ipynb` -> `heads`: the page name nbdev gives it (`output-file`)"
    from nbdev.config import nbpath2html
    return nbpath2html(Path(nb_path)).stem

_re_md_link = re.compile(r'(\]\()([^)\s]+)(\))')
def _fix_links(md, prefix):
    "Links to this site -> relative; `[x](03_heads.ipynb#a)` -> `[x](heads.html#a)` (what Quarto does)"
    up = '../' * int(os.environ.get('TLNB_DOCS_DEPTH', '0'))  # a page in a sub-folder (tutorials/) links up to the API pages
    def f(m):
        url = m.group(2)
        if url.startswith(prefix): url = up + (url[len(prefix):] or 'index.html')
        else:
            u = urlsplit(url)
            if not u.scheme and not u.netloc and u.path.endswith('.ipynb'):
                d = Path(u.path).parent
                url = ('' if d == Path('.') else d.as_posix() + '/') + page_name(u.path) + '.html' + (f'#{u.fragment}' if u.fragment else '')
        return m.group(1) + url + m.group(3)
    return _re_md_link.sub(f, md)

_re_src_link = re.compile(r'\[source\]\(([^)]+)\)\{[^}]*\}')
_re_heading = re.compile(r'^(#{1,6}) (\S.*)$', re.MULTILINE)
def _showdoc_md(md, prefix):
    "show_doc's markdown (Quarto flavour) -> MyST: no leading rule, source link as a class, nbdev's anchor on the heading"
    from docutils.nodes import make_id
    md = re.sub(r'^\s*---\s*\n', '', md)
    src = _re_src_link.search(md)                  # the source link goes under the heading (inside its section)
    if src: md = md[:src.start()] + md[src.end():]
    def anchor(m):
        a = m.group(2).strip().lower()    # nbdev's anchor: what tlnb/_modidx.py and other projects link to
        anc = '' if make_id(a) == a else f'<a class="nbdev-anchor" id="{a}"></a>\n\n'
        srcl = f'\n\n[source]({src.group(1)}){{.nbdev-source}}' if src else ''
        return f'{anc}{{.nbdev-showdoc}}\n{m.group(0)}{srcl}'
    md = _re_heading.sub(anchor, md, count=1)
    return _fix_links(md, prefix)

def _tags(cell, *tags):
    cell.metadata.setdefault('tags', [])
    cell.metadata['tags'] += [t for t in tags if t not in cell.metadata['tags']]

def _src(cell): return ''.join(cell.source) if isinstance(cell.source, list) else cell.source

def to_myst(nb):
    "Last processor: make nbdev's Quarto-ready notebook plain MyST-NB input"
    from fastcore.nbio import mk_cell
    import yaml
    prefix, cells = _site_prefix(), []
    for cell in nb.cells:
        src = _src(cell)
        if cell.cell_type == 'raw' and src.lstrip().startswith('---'):   # FrontmatterProc's YAML -> title + description
            fm = yaml.safe_load(src.strip().strip('-')) or {}
            nb.metadata['nbdev_frontmatter'] = fm
            if fm.get('title'):
                md = f"# {fm['title']}"
                if fm.get('description'): md += f"\n\n{{.nbdev-description}}\n{fm['description']}"
                cells.append(mk_cell(md, 'markdown'))
            continue
        if cell.cell_type == 'markdown':
            if src.strip().startswith('<!-- WARNING: THIS FILE WAS AUTOGENERATED'): continue
            cell.source = _fix_links(src, prefix)
            cells.append(cell); continue
        if cell.cell_type != 'code': cells.append(cell); continue
        opts = {}                                              # Quarto cell options (`#| echo: false`) left by nbdev
        lines = src.splitlines(keepends=True)
        while lines and lines[0].startswith('#|'):
            k, _, v = lines.pop(0)[2:].partition(':')
            opts[k.strip()] = v.strip().lower()
        cell.source = ''.join(lines).strip('\n')
        if opts.get('output') == 'asis':                      # show_doc and other raw-markdown output: becomes markdown
            md = [''.join(o['data']['text/markdown']) for o in cell.get('outputs', [])
                  if 'text/markdown' in o.get('data', {})]
            if md: cells.append(mk_cell('\n\n'.join(_showdoc_md(m, prefix) for m in md), 'markdown'))
            continue
        if opts.get('include') == 'false': continue
        if opts.get('echo') == 'false': _tags(cell, 'remove-input')
        if opts.get('output') == 'false': _tags(cell, 'remove-output')
        if 'export' in getattr(cell, 'directives_', {}):
            _tags(cell, 'nbdev-export', *(['hide-input'] if EXPORT_CODE == 'fold' else []))
        for o in cell.get('outputs', []):                     # markdown outputs: same link fixes as markdown cells
            d = o.get('data', {})
            if 'text/markdown' in d: d['text/markdown'] = _fix_links(''.join(d['text/markdown']), prefix)
        if not cell.source.strip() and not cell.get('outputs'): continue
        cells.append(cell)
    nb.cells = cells
    # widget views need ipywidgets' JS from a CDN: drop them (text/plain fallback) and the empty state nbdev adds
    nb.metadata.pop('widgets', None)
    for c in nb.cells:
        c.metadata.pop('execution', None)   # timings nbdev's shell adds (floats: invalid nbformat)
        for o in c.get('outputs', []): o.get('data', {}).pop('application/vnd.jupyter.widget-view+json', None)

class _ToMyst:
    def __init__(self, nb): self.nb = nb
    def begin(self): to_myst(self.nb)
    def __call__(self, cell): pass

def proc_nb(args):
    "Process one notebook `src` -> `dst` (in a worker process: it executes the exported cells and imports)"
    src, dst = args
    import time; t0 = time.perf_counter()
    from fastcore.nbio import read_nb, write_nb
    from nbdev.process import NBProcessor
    os.environ['IN_TEST'] = '1'   # as nbdev.serve_drv does
    os.environ['TLNB_DOCS_DEPTH'] = str(len(Path(dst).relative_to(SRC_OUT).parts) - 1)
    nb = read_nb(src)
    NBProcessor(nb=nb, procs=_nbdev_procs(), rm_directives='quarto').process()
    nb.metadata['language_info'] = {'name': 'python', 'pygments_lexer': 'ipython3'}  # cells may hold `!tlnb ...` and `%magics`
    dst.parent.mkdir(parents=True, exist_ok=True)
    write_nb(nb, dst)
    return f'{Path(dst).relative_to(ROOT)} ({time.perf_counter() - t0:.0f} s)'

TOC_MARK = 'nbdev-toctree'
def _set_toctree(index, pages):
    "(Re)write the hidden toctree cell at the end of the index page"
    from fastcore.nbio import read_nb, write_nb, mk_cell
    nb = read_nb(index)
    src = '```{toctree}\n:hidden:\n:maxdepth: 1\n\n' + '\n'.join(pages) + '\n```'
    old = [c for c in nb.cells if c.get('metadata', {}).get(TOC_MARK)]
    if len(old) == 1 and ''.join(old[0].source) == src: return    # unchanged: leave the file (and Sphinx's cache) alone
    nb.cells = [c for c in nb.cells if not c.get('metadata', {}).get(TOC_MARK)]
    cell = mk_cell(src, 'markdown')
    cell.metadata[TOC_MARK] = True
    nb.cells.append(cell)
    write_nb(nb, index)

def process(force=False, n_workers=2):
    from nbdev.config import get_config
    from nbdev.doclinks import nbglob
    os.chdir(ROOT)
    nbs = get_config().nbs_path
    srcs = sorted(nbglob(nbs, func=Path))
    dsts = {s: SRC_OUT/s.relative_to(nbs).with_name(page_name(s) + '.ipynb') for s in srcs}
    if len(set(dsts.values())) != len(dsts): sys.exit(f'two notebooks give the same page name: {sorted(dsts.values())}')
    if force and SRC_OUT.exists(): shutil.rmtree(SRC_OUT)
    newest_code = max(Path(__file__).stat().st_mtime, (ROOT/'pyproject.toml').stat().st_mtime)
    todo = [(s, d) for s, d in dsts.items() if not d.exists() or d.stat().st_mtime < max(s.stat().st_mtime, newest_code)]
    keep = set(dsts.values())
    for f in SRC_OUT.rglob('*.ipynb') if SRC_OUT.exists() else []:       # pages whose notebook is gone
        if f not in keep: f.unlink()
    for f in nbs.rglob('*'):                                           # images and other files the notebooks use
        rel = f.relative_to(nbs)
        if f.is_file() and f.suffix != '.ipynb' and not any(p.startswith(('.', '_')) for p in rel.parts):
            d = SRC_OUT/rel
            if not d.exists() or d.stat().st_mtime < f.stat().st_mtime:
                d.parent.mkdir(parents=True, exist_ok=True); shutil.copy2(f, d)
    print(f'docs: processing {len(todo)} of {len(srcs)} notebooks with nbdev', flush=True)
    if todo:
        import multiprocessing as mp, importlib
        from concurrent.futures import ProcessPoolExecutor, as_completed
        # `proc_nb` by its module name: IPython's shell replaces a worker's __main__. Workers are reused (torch and
        # TensorFlow imported once per worker), as in nbdev-proc-nbs; 'spawn' as torch/TensorFlow do not survive fork;
        # a crashed worker (segfault) fails the build (BrokenProcessPool) rather than hanging it.
        worker = importlib.import_module(Path(__file__).stem).proc_nb
        with ProcessPoolExecutor(min(n_workers, len(todo)), mp_context=mp.get_context('spawn')) as ex:
            for f in as_completed([ex.submit(worker, t) for t in todo]): print('  ', f.result(), flush=True)
    pages = [d.relative_to(SRC_OUT).with_suffix('').as_posix() for d in dsts.values()]
    _set_toctree(SRC_OUT/'index.ipynb', [p for p in pages if p != 'index'])

# ---------------------------------------------------------------- 3. Sphinx

def sphinx(n_jobs='auto'):
    # -E: read every page again each time (~15 s); incremental Sphinx only warns on pages it re-reads, so an
    # unchanged page whose warning failed the last build would pass the next one
    cmd = [sys.executable, '-m', 'sphinx', '-b', 'html', '-W', '--keep-going', '-E', '-j', str(n_jobs), '-q',
           '-c', str(CONF_DIR), '-d', str(BUILD/'doctrees'), str(SRC_OUT), str(SITE)]
    print('docs:', ' '.join(cmd[2:]), flush=True)
    shutil.rmtree(SITE, ignore_errors=True)   # no stale pages of removed notebooks (-E rewrites every page anyway)
    r = subprocess.run(cmd)
    if r.returncode: sys.exit(f'docs: sphinx-build failed ({r.returncode})')

# ---------------------------------------------------------------- 4. internal link check

class _Page(html.parser.HTMLParser):
    _attrs = {'a': 'href', 'link': 'href', 'img': 'src', 'script': 'src', 'source': 'src', 'iframe': 'src'}
    def __init__(self):
        super().__init__(); self.ids, self.links = set(), []
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if a.get('id'): self.ids.add(a['id'])
        if tag == 'a' and a.get('name'): self.ids.add(a['name'])
        url = a.get(self._attrs.get(tag, ''))
        if url is not None and not (tag == 'link' and 'alternate' in (a.get('rel') or '')): self.links.append((tag, url, self.getpos()[0]))

def check_links(site=SITE, own_prefix=None):
    "Fail on internal links/images/scripts of the built site that point nowhere; return the number checked"
    site = Path(site).resolve()
    own_prefix = own_prefix or _site_prefix()
    pages = {}
    for f in site.rglob('*.html'):
        if f.relative_to(site).parts[0] in ('_static', '_images'): continue   # theme's template snippets, not pages
        p = _Page(); p.feed(f.read_text(encoding='utf-8', errors='replace')); pages[f] = p
    errors, n = [], 0
    for f, p in sorted(pages.items()):
        for tag, url, line in p.links:
            where = f'{f.relative_to(site)}:{line}: <{tag}> {url}'
            if url.startswith(own_prefix): errors.append(f'{where}: absolute link to this site (make it relative)'); continue
            u = urlsplit(url)
            if u.scheme or u.netloc or url in ('', '#'): continue  # external, mailto:, data:, javascript:, ...
            n += 1
            target = (f.parent/unquote(u.path)).resolve() if u.path else f
            if target.is_dir(): target = target/'index.html'
            if site not in target.parents and target != site:
                errors.append(f'{where}: outside the site'); continue
            if not target.exists():
                errors.append(f'{where}: no such file {target.relative_to(site)}'); continue
            frag = unquote(u.fragment)
            if frag and target.suffix == '.html' and frag not in pages.get(target, _Page()).ids:
                errors.append(f'{where}: no anchor #{frag} in {target.relative_to(site)}')
    for e in errors: print('BROKEN', e)
    print(f'docs: {n} internal links checked in {len(pages)} pages, {len(errors)} broken', flush=True)
    if errors: sys.exit(1)
    return n

# ----------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('cmd', nargs='?', default='build', choices=['build', 'serve', 'check'])
    ap.add_argument('--force', action='store_true', help='reprocess all notebooks')
    ap.add_argument('--port', type=int, default=8000)
    a = ap.parse_args()
    os.chdir(ROOT)   # nbdev reads its settings from the pyproject.toml above the working directory
    if a.cmd in ('build', 'serve'):
        process(force=a.force)
        sphinx()
    check_links()
    if a.cmd == 'serve':
        print(f'docs: serving {SITE} on http://127.0.0.1:{a.port}/ (Ctrl-C to stop)', flush=True)
        subprocess.run([sys.executable, '-m', 'http.server', '-b', '127.0.0.1', '-d', str(SITE), str(a.port)])

if __name__ == '__main__': main()
