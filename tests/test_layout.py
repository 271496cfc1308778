"""The layout keeps its rules: a framework-free core, backends that import only core and their own framework, panels
that see the contract only, no private names imported across modules. Read from every module's imports (its AST)."""
import ast, tomllib
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT/'tlnb'
FRAMEWORKS = {'fastai', 'fastprogress', 'keras', 'tensorflow', 'ipywidgets', 'bqplot', 'IPython', 'jax'}
TORCH = {'torch', 'torchvision', 'timm'}
TORCH_IN_CORE = {'tlnb.core.weights', 'tlnb.core.similarity'}  # the weights (PyTorch files) and the BatchNorm measurement

def modules()->dict[str, Path]:
    return {'.'.join(f.relative_to(ROOT).with_suffix('').parts).removesuffix('.__init__'): f
            for f in PKG.rglob('*.py') if f.name != '_modidx.py'}

def imports(f:Path)->list[tuple[str, list[str]]]:
    "Every (module, names) imported anywhere in `f`, relative imports resolved."
    mod = '.'.join(f.relative_to(ROOT).with_suffix('').parts)
    out = []
    for n in ast.walk(ast.parse(f.read_text())):
        if isinstance(n, ast.Import): out += [(a.name, []) for a in n.names]
        elif isinstance(n, ast.ImportFrom):
            base = n.module or ''
            if n.level: base = '.'.join(mod.split('.')[:-n.level] + ([base] if base else []))
            out.append((base, [a.name for a in n.names]))
    return out

def top(m:str)->str: return m.split('.')[0]

MODS = modules()

def test_the_layout_is_there():
    assert {'tlnb.core.data', 'tlnb.core.contract', 'tlnb.core.learner', 'tlnb.fastai_backend.learner', 'tlnb.keras_backend.learner',
            'tlnb.panels', 'tlnb.plots', 'tlnb.cli', 'tlnb.all'} <= set(MODS)
    assert 'tlnb*' in tomllib.loads((ROOT/'pyproject.toml').read_text())['tool']['setuptools']['packages']['find']['include']

@pytest.mark.parametrize('mod', sorted(m for m in MODS if m.startswith('tlnb.core')))
def test_core_imports_no_framework(mod):
    for m, _ in imports(MODS[mod]):
        assert top(m) not in FRAMEWORKS, f'{mod} imports {m}: the core is framework-free'
        assert not m.startswith(('tlnb.fastai_backend', 'tlnb.keras_backend', 'tlnb.panels', 'tlnb.plots', 'tlnb.cli')), f'{mod} imports {m}'
        if top(m) in TORCH: assert mod in TORCH_IN_CORE, f'{mod} imports {m}: torch in core only for the weights and the similarity measurement'

@pytest.mark.parametrize('mod,own,other', [(m, own, other) for m in sorted(MODS) for own, other in
                                           (('fastai_backend', 'keras_backend'), ('keras_backend', 'fastai_backend')) if m.startswith(f'tlnb.{own}')])
def test_backend_imports_core_and_its_framework(mod, own, other):
    banned = {'keras', 'tensorflow'} if own == 'fastai_backend' else {'fastai'}
    for m, _ in imports(MODS[mod]):
        assert not m.startswith((f'tlnb.{other}', 'tlnb.panels', 'tlnb.plots', 'tlnb.cli', 'tlnb.all')), f'{mod} imports {m}'
        assert top(m) not in banned | {'ipywidgets', 'bqplot'}, f'{mod} imports {m}: not its framework'

@pytest.mark.parametrize('mod', ['tlnb.panels', 'tlnb.plots', 'tlnb.cleaner'])
def test_panels_see_the_contract_only(mod):
    for m, _ in imports(MODS[mod]):
        assert top(m) not in {'fastai', 'keras', 'tensorflow', 'torch'}, f'{mod} imports {m}'
        if top(m) == 'tlnb': assert m.startswith(('tlnb.core', 'tlnb.plots', 'tlnb.cleaner')), f'{mod} imports {m}: the panels see the core only'

@pytest.mark.parametrize('mod', sorted(MODS))
def test_no_private_names_across_modules(mod):
    for m, names in imports(MODS[mod]):
        if top(m) == 'tlnb':
            assert not [n for n in names if n.startswith('_') and not n.endswith('__')], f'{mod} imports private names {names} from {m}'

@pytest.mark.parametrize('mod', sorted(modules()))
def test_no_undefined_names(mod):
    "Every name an exported module uses is defined or imported in it (a name imported only in a notebook's hidden cell is not)."
    from pyflakes.api import check
    from pyflakes.reporter import Reporter
    import io
    out = io.StringIO()
    check(modules()[mod].read_text(), str(modules()[mod]), Reporter(out, out))
    undefined = [l for l in out.getvalue().splitlines() if 'undefined name' in l and 'unable to detect' not in l]
    assert not undefined, '\n'.join(undefined)
