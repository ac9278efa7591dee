"""Shared fixtures: KiCad oracles (kicad-cli, pcbnew through Debian's python3), example specs.

KiCad tests skip with a reason when KiCad is absent, unless ``KISUBSTRATE_REQUIRE_KICAD=1``
(CI), where a missing KiCad is a failure. The oracle is KiCad 9 or 10, whichever ``kicad-cli``
on PATH is (CI runs the suite once with each; the header names the one used); tests that write
boards for KiCad to judge write them for that release (``kicad_target``), and the scripts run in
pcbnew's Python get :data:`PCBNEW_COMPAT` first (KiCad 10's SWIG 4.5 bindings).

Layout: one folder per feature (``footprints/``, ``substrates/``, ``library/``, ``plugin/``,
``cli/``, ``core/``, ``families/``), none of them a package (no ``__init__.py``): pytest imports
each test module by its base name, so base names are unique across folders. This file puts
``tests/`` on ``sys.path``, so every test imports the shared helpers (``conftest``,
``kicad_util``, ``stack_util``, ``property_util``) by name from any folder; a folder's own
helpers (``plugin/plugin_harness.py``) sit beside its tests. There is one conftest.py: a second
one would replace the ``conftest`` module the tests import from.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "footprints" / "examples"
SYSTEM_PYTHON = "/usr/bin/python3"
sys.path.insert(0, str(ROOT / "generators"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

# Property tests: random examples on a developer's machine (new cases each run, failures kept in the local
# database); in CI (KISUBSTRATE_REQUIRE_KICAD=1) the same examples each run, so a CI result can be replayed.
# The wide random runs are in benchmarks/ (bench_connectivity.py, fuzz.py), with the seed printed.
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
if os.environ.get("KISUBSTRATE_REQUIRE_KICAD") == "1":
    settings.load_profile("ci")


def pytest_addoption(parser) -> None:
    """``--update-golden``: rewrite the golden files from the current output (then review the diff)."""
    parser.addoption("--update-golden", action="store_true", default=False,
                     help="rewrite golden files in tests/*/golden/ (the tests then fail asking for review)")


PCBNEW_COMPAT = """import pcbnew
if not hasattr(pcbnew.SwigPyIterator, "next"):  # KiCad 10 (SWIG 4.5): GetTracks() etc. call it.next()
    pcbnew.SwigPyIterator.next = pcbnew.SwigPyIterator.__next__
VIA_KINDS = {int(pcbnew.VIATYPE_THROUGH): "through", int(pcbnew.VIATYPE_MICROVIA): "micro"}
for _name, _kind in (("VIATYPE_BLIND_BURIED", "blind"), ("VIATYPE_BLIND", "blind"), ("VIATYPE_BURIED", "buried")):
    if hasattr(pcbnew, _name):  # KiCad 9: one blind/buried type; 10: blind and buried
        VIA_KINDS[int(getattr(pcbnew, _name))] = _kind
"""
"""Prepended to every pcbnew script (:func:`run_pcbnew`): the same script runs on KiCad 9 and 10.
``VIA_KINDS`` maps ``GetViaType()`` to our kinds (``buried`` only on KiCad 10)."""


def kicad_cli_version(path: str | None = None) -> str:
    """``kicad-cli version`` of ``path`` (default: the one on PATH), e.g. ``10.0.6``; "" without one."""
    path = path or shutil.which("kicad-cli")
    if not path:
        return ""
    return subprocess.run([path, "version"], capture_output=True, text=True).stdout.strip()


KICAD_VERSION = kicad_cli_version()
"""The KiCad release the oracle tests run against ("" without kicad-cli)."""
KICAD_MAJOR = int(KICAD_VERSION.split(".")[0]) if KICAD_VERSION[:1].isdigit() else 0
"""Its major version (0 without kicad-cli)."""


def pytest_report_header(config) -> str:
    """Name the KiCad the oracle tests use (CI runs the suite with KiCad 9 and with KiCad 10)."""
    where = shutil.which("kicad-cli") or "not on PATH"
    return f"KiCad oracle: kicad-cli {KICAD_VERSION or '-'} ({where}); kicad_target {kicad_target_for()}"


def kicad_target_for() -> int:
    """The release test boards are written for: the oracle's (10 from KiCad 10 on), else 9."""
    from kisubstrate.kicad.target import release_for

    return release_for(KICAD_MAJOR or None)


def require_kicad(what: str) -> None:
    """Skip (or fail in CI) when a KiCad piece is missing."""
    msg = f"KiCad not available: {what}"
    if os.environ.get("KISUBSTRATE_REQUIRE_KICAD") == "1":
        pytest.fail(msg + " (KISUBSTRATE_REQUIRE_KICAD=1)")
    pytest.skip(msg)


@pytest.fixture(scope="session")
def kicad_cli() -> str:
    """Path of kicad-cli (KiCad 9 or 10)."""
    path = shutil.which("kicad-cli")
    if not path:
        require_kicad("kicad-cli not on PATH")
    out = kicad_cli_version(path)
    if not out.startswith(("9.", "10.")):
        require_kicad(f"kicad-cli is {out!r}, need 9.x or 10.x")
    return path


@pytest.fixture(scope="session")
def kicad_target(kicad_cli) -> int:
    """The KiCad release (9 or 10) to write boards for so that the oracle judges its own format."""
    return kicad_target_for()


def _pcbnew_ok() -> bool:
    if not Path(SYSTEM_PYTHON).exists():
        return False
    r = subprocess.run([SYSTEM_PYTHON, "-c", "import pcbnew"], capture_output=True)
    return r.returncode == 0


@pytest.fixture(scope="session")
def pcbnew_python() -> str:
    """An interpreter that imports pcbnew (Debian's python3 with KiCad's bindings)."""
    if not _pcbnew_ok():
        require_kicad("pcbnew does not import in /usr/bin/python3")
    return SYSTEM_PYTHON


def run_pcbnew(python: str, script: str, *args: str, timeout: float = 300) -> dict | list:
    """Run a script with pcbnew's interpreter; it must print one JSON document on stdout's last line.

    :data:`PCBNEW_COMPAT` runs first (``pcbnew`` imported, SWIG 4.5 iteration, ``VIA_KINDS``).
    """
    r = subprocess.run([python, "-c", PCBNEW_COMPAT + script, *args], capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, f"pcbnew script failed:\n{r.stderr[-3000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def example_files() -> list[Path]:
    """Every bundled example spec."""
    return sorted(EXAMPLES.glob("*.yaml"))


@pytest.fixture
def cli_runner():
    """Run the CLI in-process: returns (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from kisubstrate.cli import cli

    runner = CliRunner()

    def run(*args: str):
        result = runner.invoke(cli, [str(a) for a in args], catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    return run


def pytest_ignore_collect(collection_path, config):
    """Only ``test_*.py`` under tests/ are collected: helper scripts (some run inside pcbnew) are not."""
    path = Path(collection_path)
    tests_dir = Path(__file__).resolve().parent
    if path.suffix == ".py" and tests_dir in path.resolve().parents and \
            not path.name.startswith(("test_", "conftest")):
        return True
    return None
