"""Helpers for the plugin tests: a wx/pcbnew-capable venv with kisubstrate, Xvfb, a hermetic KiCad HOME.

Everything here drives the real KiCad (9 or 10, the one on PATH: ``pcbnew`` under Xvfb); nothing is mocked.
``KISUBSTRATE_TEST_KIPY`` replaces the kicad-python requirement (e.g. ``kicad-python==0.7.1``) to try
another release by hand.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

from conftest import KICAD_MAJOR
from kisubstrate.plugin_support.pcm import KIPY_REQUIREMENT as PLUGIN_KIPY_REQUIREMENT

ROOT = Path(__file__).resolve().parents[2]
SYSTEM_PYTHON = "/usr/bin/python3"
KICAD_VERSION_DIR = f"{KICAD_MAJOR or 9}.0"  # KiCad's per-release config / data / cache folders
IPC_IDENTIFIER = "kisubstrate.plugin.ipc"
# versions the IPC plugin's venv and the test venv install next to kisubstrate (the plugin's own line)
KIPY_REQUIREMENT = os.environ.get("KISUBSTRATE_TEST_KIPY") or PLUGIN_KIPY_REQUIREMENT


def _source_digest() -> str:
    h = hashlib.sha256()
    for path in sorted((ROOT / "generators" / "kisubstrate").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            h.update(str(path.relative_to(ROOT)).encode())
            h.update(path.read_bytes())
    h.update((ROOT / "pyproject.toml").read_bytes())
    return h.hexdigest()[:16]


def build_wheel(cache: Path) -> Path:
    """A wheel of the checkout (rebuilt when the sources change), cached under ``cache``."""
    out = cache / f"wheel-{_source_digest()}"
    wheels = sorted(out.glob("kisubstrate-*.whl"))
    if wheels:
        return wheels[0]
    for old in cache.glob("wheel-*"):
        shutil.rmtree(old, ignore_errors=True)
    tmp = cache / "wheel-build"
    build_dir = tmp / "src"
    shutil.copytree(ROOT, build_dir, ignore=shutil.ignore_patterns(
        ".git", ".venv", "*.egg-info", "build", "__pycache__", ".pytest_cache", ".hypothesis", "kisubstrate-demo"))
    r = subprocess.run([SYSTEM_PYTHON, "-m", "pip", "wheel", "-q", "--no-deps", str(build_dir),
                        "-w", str(tmp / "dist")],
                       capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError(f"building the kisubstrate wheel failed:\n{r.stdout[-2000:]}\n{r.stderr[-3000:]}")
    out.mkdir(parents=True, exist_ok=True)
    wheel = next((tmp / "dist").glob("kisubstrate-*.whl"))
    final = out / wheel.name
    shutil.move(str(wheel), final)
    shutil.rmtree(tmp, ignore_errors=True)
    return final


def wheelhouse(cache: Path, wheel: Path) -> Path:
    """Wheels of kisubstrate's dependencies + kicad-python, downloaded from PyPI once per cache.

    The IPC plugin's requirements in the tests install from here with ``--no-index``: KiCad's
    venv build is then local and takes seconds, not a minute of downloads.
    """
    house = cache / "wheelhouse"
    done = house / ".complete"
    if not done.exists():
        r = subprocess.run([SYSTEM_PYTHON, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "-w", str(house),
                            str(wheel), KIPY_REQUIREMENT], capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise RuntimeError(f"pip wheel failed:\n{r.stderr[-3000:]}")
        done.write_text("ok\n")
    for stale in house.glob("kisubstrate-*.whl"):  # the checkout's wheel is passed by path instead
        stale.unlink()
    return house


def system_venv(cache: Path, wheel: Path, house: Path) -> Path:
    """A ``/usr/bin/python3 -m venv --system-site-packages`` venv (wx + pcbnew + kisubstrate + kipy).

    The dependencies come from the wheelhouse; the kisubstrate wheel is reinstalled when it changes.
    """
    venv = cache / "sysvenv"
    py = venv / "bin" / "python"
    marker = venv / ".kisubstrate-wheel"
    if not py.exists():
        subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=300)
    if not marker.exists() or marker.read_text() != str(wheel):
        pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-index",
               "--find-links", str(house)]
        for args in ([str(wheel), KIPY_REQUIREMENT], ["--force-reinstall", "--no-deps", str(wheel)]):
            r = subprocess.run(pip + args, capture_output=True, text=True, timeout=900)
            if r.returncode != 0:
                raise RuntimeError(f"pip install failed:\n{r.stderr[-3000:]}")
        marker.write_text(str(wheel))
    return venv


class Xvfb:
    """A private X server (``Xvfb -displayfd``: no display-number races with other jobs)."""

    def __init__(self, size: str = "1600x1000x24") -> None:
        r, w = os.pipe()
        self.proc = subprocess.Popen(["Xvfb", "-displayfd", str(w), "-screen", "0", size, "-nolisten", "tcp"],
                                     pass_fds=(w,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        os.close(w)
        data = b""
        deadline = time.time() + 20
        while not data.endswith(b"\n") and time.time() < deadline:
            chunk = os.read(r, 16)
            if not chunk:
                break
            data += chunk
        os.close(r)
        if not data.strip():
            self.stop()
            raise RuntimeError("Xvfb did not start")
        self.display = ":" + data.decode().strip()
        sock = Path(f"/tmp/.X11-unix/X{data.decode().strip()}")
        while not sock.exists() and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the socket exists a moment before the first client is served reliably

    def env(self) -> dict[str, str]:
        return {"DISPLAY": self.display}

    def screenshot(self, python: str, path: Path, rect: tuple[int, int, int, int]) -> None:
        """Save a screen rectangle (x, y, w, h) as PNG, grabbed with wx (no ImageMagick needed)."""
        r = subprocess.run([python, "-c", SCREENSHOT, str(path), *map(str, rect)], capture_output=True, text=True,
                           timeout=120, env={**os.environ, "DISPLAY": self.display})
        if r.returncode != 0 or not path.is_file():
            raise RuntimeError(f"screenshot failed: {r.stderr[-2000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()


def hermetic_home(base: Path, *, pip_cache: Path | None = None,
                  kicad_envs: Path | None = None) -> tuple[Path, Path]:
    """(HOME, TMPDIR) for one KiCad run: API server on, no first-run dialogs, private plugin dirs.

    ``pip_cache`` and ``kicad_envs`` (KiCad's python-environments folder) may be shared between
    runs to save downloads; KiCad still runs pip on every start, and the kisubstrate installed in
    a shared environment is removed first so the checkout's wheel is always the one tested.
    """
    home, tmp = base / "home", base / "t"
    cfg = home / ".config" / "kicad" / KICAD_VERSION_DIR
    cfg.mkdir(parents=True, exist_ok=True)
    tmp.mkdir(parents=True, exist_ok=True)
    # KiCad 10's setup wizard shows until first run, update check and crash-report prompts are answered
    (cfg / "kicad_common.json").write_text(json.dumps({
        "api": {"enable_server": True, "interpreter_path": SYSTEM_PYTHON},
        "system": {"first_run_shown": True, "check_for_kicad_updates": False},
        "do_not_show_again": {"data_collection_prompt": True, "update_check_prompt": True},
        "pcm": {"check_for_updates": False},
        "meta": {"filename": "kicad_common.json", "version": 3}}))
    # empty global library tables: KiCad 9 asks for the footprint table, KiCad 10's setup wizard for each
    (cfg / "fp-lib-table").write_text("(fp_lib_table\n\t(version 7)\n)\n")
    (cfg / "sym-lib-table").write_text("(sym_lib_table\n\t(version 7)\n)\n")
    (cfg / "design-block-lib-table").write_text("(design_block_lib_table\n\t(version 7)\n)\n")
    (cfg / "kicad_advanced").write_text("EnableAPILogging=1\n")
    if pip_cache is not None:  # pip (run by KiCad with --isolated) still uses ~/.cache/pip: share it
        pip_cache.mkdir(parents=True, exist_ok=True)
        (home / ".cache").mkdir(parents=True, exist_ok=True)
        os.symlink(pip_cache, home / ".cache" / "pip")
    if kicad_envs is not None:
        kicad_envs.mkdir(parents=True, exist_ok=True)
        for site in kicad_envs.glob(f"{IPC_IDENTIFIER}/lib/python3*/site-packages"):
            for old in list(site.glob("kisubstrate")) + list(site.glob("kisubstrate-*.dist-info")):
                shutil.rmtree(old, ignore_errors=True)
        envs = home / ".cache" / "kicad" / KICAD_VERSION_DIR / "python-environments"
        envs.parent.mkdir(parents=True, exist_ok=True)
        os.symlink(kicad_envs, envs)
    return home, tmp


def documents_dir(home: Path) -> Path:
    return home / ".local" / "share" / "kicad" / KICAD_VERSION_DIR


def install_ipc_plugin(home: Path, wheel: Path, house: Path) -> Path:
    """Copy ``plugin/ipc`` into the user plugins dir with requirements pointing at the checkout's wheel."""
    dest = documents_dir(home) / "plugins" / "kisubstrate"
    shutil.copytree(ROOT / "plugin" / "ipc", dest, ignore=shutil.ignore_patterns("__pycache__"))
    (dest / "requirements.txt").write_text(
        f"--no-index\n--find-links {house.resolve().as_uri()}\n"
        f"kisubstrate @ {wheel.resolve().as_uri()}\n{KIPY_REQUIREMENT}\n")
    return dest


def install_swig_plugin(home: Path) -> Path:
    """Copy ``plugin/swig`` into the SWIG action-plugin folder."""
    dest = documents_dir(home) / "scripting" / "plugins" / "kisubstrate_swig"
    shutil.copytree(ROOT / "plugin" / "swig", dest, ignore=shutil.ignore_patterns("__pycache__"))
    return dest


def install_presser(home: Path) -> Path:
    """The test-only button presser (tests/plugin/plugin_presser.py)."""
    dest = documents_dir(home) / "scripting" / "plugins" / "zz_kisubstrate_test_presser.py"
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(__file__).with_name("plugin_presser.py"), dest)
    return dest


def ipc_venv(home: Path) -> Path:
    """Where KiCad builds the IPC plugin's venv."""
    return home / ".cache" / "kicad" / KICAD_VERSION_DIR / "python-environments" / IPC_IDENTIFIER


def make_board(python: str, path: Path, *, size_mm: float = 40.0) -> None:
    """A small empty board with a square outline, written by pcbnew itself."""
    script = f"""
import pcbnew
b = pcbnew.BOARD()
r = pcbnew.PCB_SHAPE(b, pcbnew.SHAPE_T_RECTANGLE)
r.SetLayer(pcbnew.Edge_Cuts)
r.SetStart(pcbnew.VECTOR2I(pcbnew.FromMM(100), pcbnew.FromMM(80)))
r.SetEnd(pcbnew.VECTOR2I(pcbnew.FromMM(100 + {size_mm}), pcbnew.FromMM(80 + {size_mm})))
r.SetWidth(pcbnew.FromMM(0.1))
b.Add(r)
pcbnew.SaveBoard({str(path)!r}, b)
"""
    subprocess.run([python, "-c", script], check=True, capture_output=True, timeout=120)


class Pcbnew:
    """pcbnew running on a board under a private Xvfb, in its own process group."""

    def __init__(self, board: Path, home: Path, tmp: Path, xvfb: Xvfb, extra_env: dict[str, str]) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("KICAD", "PYTHON", "VIRTUAL_ENV"))}
        env.update(HOME=str(home), TMPDIR=str(tmp), **xvfb.env(), **extra_env)
        env.pop("XAUTHORITY", None)
        self.log = open(tmp.parent / "pcbnew.log", "w")
        self.proc = subprocess.Popen(["pcbnew", str(board)], env=env, cwd=str(board.parent),
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # SIGTERM: a graceful close would ask "Save changes?"
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
        self.log.close()


def wait_status(path: Path, until, timeout: float, proc: Pcbnew | None = None) -> dict:
    """Poll the presser's status JSON until ``until(status)`` or the timeout; returns the last status."""
    deadline = time.time() + timeout
    status: dict = {}
    while time.time() < deadline:
        try:
            status = json.loads(path.read_text())
        except (OSError, ValueError):
            pass
        if status and until(status):
            return status
        if proc is not None and proc.proc.poll() is not None:
            status["exited"] = proc.proc.returncode
            return status
        time.sleep(0.25)
    status["timed_out"] = True
    return status


READ_BOARD = r"""
import json, sys, pcbnew
b = pcbnew.LoadBoard(sys.argv[1])
out = []
for fp in b.GetFootprints():
    pads = sorted((p.GetNumber(), round(pcbnew.ToMM(p.GetPosition().x - fp.GetPosition().x), 6),
                   round(pcbnew.ToMM(p.GetPosition().y - fp.GetPosition().y), 6),
                   round(pcbnew.ToMM(p.GetSizeX()), 6), p.GetNetname()) for p in fp.Pads())
    out.append({"ref": fp.GetReference(), "lib": str(fp.GetFPID().GetLibNickname()),
                "name": str(fp.GetFPID().GetLibItemName()), "ref_visible": fp.Reference().IsVisible(),
                "value": fp.GetValue(), "value_visible": fp.Value().IsVisible(), "pads": pads})
print(json.dumps(out))
"""


SCREENSHOT = r"""
import sys, wx
app = wx.App(False)
path, x, y, w, h = sys.argv[1], *map(int, sys.argv[2:6])
bmp = wx.Bitmap(w, h)
mem = wx.MemoryDC(bmp)
mem.Blit(0, 0, w, h, wx.ScreenDC(), x, y)
mem.SelectObject(wx.NullBitmap)
assert bmp.SaveFile(path, wx.BITMAP_TYPE_PNG)
"""

COUNT_COLOUR = r"""
import json, sys, wx
app = wx.App(False)
img = wx.Image(sys.argv[1])
rects = json.loads(sys.argv[2]); rgb = json.loads(sys.argv[3]); tol = int(sys.argv[4])
data = img.GetData(); width = img.GetWidth()
out = []
for x, y, w, h in rects:
    n = 0
    for row in range(y, y + h):
        for col in range(x, x + w):
            i = 3 * (row * width + col)
            if all(abs(data[i + k] - rgb[k]) <= tol for k in range(3)):
                n += 1
    out.append(n)
print(json.dumps(out))
"""
