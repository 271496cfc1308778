"The README is generated from nbs/index.ipynb and its commands are the ones CI runs."
import re, sys
from pathlib import Path
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
from make_readme import render

def readme_commands()->list[str]:
    return re.findall(r'```sh\n(.+?)\n```', (ROOT/'README.md').read_text())

def test_readme_in_step_with_index_notebook():
    assert (ROOT/'README.md').read_text() == render(), 'run: python tools/make_readme.py'

def test_two_setup_commands_and_ci_runs_the_test_one():
    demo, tests = readme_commands()
    assert demo == 'pip install -e ".[dev]" && tlnb demo'
    assert tests.startswith('pip install -e ".[dev]" && ')
    assert tests in (ROOT/'.ci'/'run').read_text().splitlines()
