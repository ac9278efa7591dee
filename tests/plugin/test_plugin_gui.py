"""The plugins in a real pcbnew under Xvfb, and the wx dialog built from the spec models.

* KiCad builds the IPC plugin's venv (kisubstrate from this checkout's wheel), its button
  appears, a test-only SWIG plugin presses it (``wxEVT_TOOL``, like a click) with the spec
  supplied through ``KISUBSTRATE_PLUGIN_SPEC`` / ``KISUBSTRATE_PLUGIN_AUTO=1``; then the same
  for the SWIG shim's button; the saved board read back with pcbnew holds both footprints
  with the right pads. "Button never appeared" is a failure.
* The dialog, filled programmatically, yields the YAML path's spec; bad input shows the
  message in the dialog.

Set ``KISUBSTRATE_UPDATE_SCREENSHOTS=1`` to refresh the pictures in ``docs/``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace

import plugin_harness as H
import pytest

from conftest import EXAMPLES, ROOT, _pcbnew_ok, kicad_target_for, require_kicad
from kisubstrate.api.footprint import build_footprints
from kisubstrate.api.specs import load_specs

pytestmark = [pytest.mark.gui, pytest.mark.kicad]

IPC_BUTTON = "Package footprint…"
SUBSTRATE_BUTTON = "Package substrate…"
SWIG_BUTTON = "kisubstrate: package footprint from spec"
UNDO, REDO = "Undo (Ctrl+Z)", "Redo (Ctrl+Y)"  # tooltips as the presser reads them (white space folded)
BUTTON_TIMEOUT = float(os.environ.get("KISUBSTRATE_BUTTON_TIMEOUT", "180"))
DOCS = ROOT / "docs"
SPEC = """packages:
  - family: bga
    name: TEST_BGA-4_3x3mm
    body: [3, 3]
    pitch: 1.0
    layout: [2, 2]
    ball_diameter: 0.5
    ball_map: nets.csv
"""
NETS = "ball,net\nA1,GND\nA2,VCC\nB1,SIG\n"


def _update_doc(src: Path, name: str) -> None:
    dest = DOCS / name
    if src.is_file() and (os.environ.get("KISUBSTRATE_UPDATE_SCREENSHOTS") == "1" or not dest.exists()):
        DOCS.mkdir(exist_ok=True)
        shutil.copy(src, dest)


@pytest.fixture(scope="session")
def gui_env(pytestconfig, tmp_path_factory):
    """Xvfb + pcbnew + a /usr/bin/python3 venv with wx, pcbnew, kisubstrate (this checkout) and kipy."""
    for tool, why in (("Xvfb", "Xvfb missing (apt-get install xvfb xauth)"), ("pcbnew", "pcbnew not on PATH")):
        if not shutil.which(tool):
            require_kicad(why)
    if not _pcbnew_ok():
        require_kicad("pcbnew does not import in /usr/bin/python3")
    if subprocess.run([H.SYSTEM_PYTHON, "-c", "import ensurepip, wx"], capture_output=True).returncode:
        require_kicad("python3-venv (ensurepip) or wxPython missing for /usr/bin/python3")
    cache = (Path(pytestconfig.cache.mkdir("kisubstrate-plugin")) if getattr(pytestconfig, "cache", None)
             else tmp_path_factory.mktemp("kisubstrate-plugin"))
    t0 = time.perf_counter()
    wheel = H.build_wheel(cache)
    house = H.wheelhouse(cache, wheel)
    # the test venv is built in the background: the pcbnew test starts at once (KiCad builds its own
    # venv meanwhile) and needs this one only for the SWIG button's command
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(H.system_venv, cache, wheel, house)
    env = GuiEnv(cache=cache, wheel=wheel, house=house, future=future, setup_s=time.perf_counter() - t0)
    yield env
    future.result()
    pool.shutdown()


class GuiEnv(SimpleNamespace):
    """What the GUI tests share; ``venv`` / ``python`` wait for the background venv build."""

    @property
    def venv(self) -> Path:
        return self.future.result()

    @property
    def python(self) -> str:
        return str(self.venv / "bin" / "python")


DISPLAY_ERRORS = ("unable to initialize wxWidgets", "Unable to access the X Display", "cannot open display",
                  "without a display connection")


def _run(python: str, script: str, *args: str, env: dict | None = None, timeout: float = 300) -> dict:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHONPATH", "KISUBSTRATE_PLUGIN"))}
    full_env.update(env or {})
    for _ in range(3):  # a GUI client now and then fails to open a fresh Xvfb display: retry that only
        r = subprocess.run([python, "-c", script, *args], capture_output=True, text=True, timeout=timeout,
                           env=full_env, cwd=str(ROOT))
        if not any(m in r.stderr for m in DISPLAY_ERRORS):
            break
        time.sleep(1)
    assert r.returncode == 0, f"script failed:\n{r.stdout[-2000:]}\n{r.stderr[-4000:]}"
    return json.loads(r.stdout.strip().splitlines()[-1])


def _expected_pads(spec_path: Path, *, nets: bool) -> list[list]:
    geom = build_footprints(load_specs([spec_path])[0].spec)[0].geometry
    net = {}
    for g in geom.pads:
        for i, n in enumerate(g.names):
            net[n] = (g.nets[i] if g.nets else "") if nets else ""
    return sorted([n, round(x, 6), round(y, 6), round(w, 6), net[n]] for n, x, y, w, _ in geom.pad_table())


def _colour_pixels(python: str, png: Path, rects: list[list[int]], rgb: tuple[int, int, int],
                   tol: int = 24, env: dict | None = None) -> list[int]:
    """How many pixels inside each rect (x, y, w, h) of a PNG are within ``tol`` of ``rgb``."""
    return _run(python, H.COUNT_COLOUR, str(png), json.dumps(rects), json.dumps(list(rgb)), str(tol), env=env)


# -------------------------------------------------------------------------------------------------
def test_buttons_in_pcbnew_place_checked_footprints(gui_env, tmp_path):
    """IPC button and SWIG button pressed in a real pcbnew; the saved board holds both footprints."""
    t0 = time.perf_counter()
    home, tmp = H.hermetic_home(tmp_path, pip_cache=gui_env.cache / "pip",
                                kicad_envs=gui_env.cache / "python-environments")
    H.install_ipc_plugin(home, gui_env.wheel, gui_env.house)
    H.install_swig_plugin(home)
    H.install_presser(home)
    work = tmp_path / "project"
    work.mkdir()
    board = work / "board.kicad_pcb"
    H.make_board(H.SYSTEM_PYTHON, board)
    spec = tmp_path / "spec.yaml"
    spec.write_text(SPEC)
    (tmp_path / "nets.csv").write_text(NETS)
    chosen_lib = tmp_path / "Chosen.pretty"
    status, go, log = tmp_path / "status.json", tmp_path / "go", tmp_path / "actions.jsonl"
    env = {"KISUBSTRATE_PLUGIN_SPEC": str(spec), "KISUBSTRATE_PLUGIN_AUTO": "1",
           "KISUBSTRATE_PLUGIN_LOG": str(log), "KISUBSTRATE_PLUGIN_LIBRARY": str(chosen_lib),
           "KISUBSTRATE_CLI": str(gui_env.cache / "sysvenv" / "bin" / "kisubstrate"),
           # the IPC commit is one undo step: Undo removes the whole footprint, Redo brings it back
           "KISUBSTRATE_TEST_PRESS": json.dumps([[IPC_BUTTON, 1], [UNDO, -1], [REDO, 1], [SWIG_BUTTON, 1],
                                                 [SUBSTRATE_BUTTON, "log:3"]]),
           "KISUBSTRATE_PLUGIN_SUBSTRATE_SPEC": str(EXAMPLES / "buildup.yaml"),
           "KISUBSTRATE_PLUGIN_OUTPUT": str(tmp_path / "substrate"),
           "KISUBSTRATE_TEST_STATUS": str(status), "KISUBSTRATE_TEST_GO": str(go)}
    xvfb = H.Xvfb()
    pcb = H.Pcbnew(board, home, tmp, xvfb, env)
    shot = tmp_path / "toolbar.png"
    try:
        st = H.wait_status(status, lambda s: s.get("stage") != "waiting", BUTTON_TIMEOUT, pcb)
        seen = sorted(t for t in st.get("tools", {}) if "kisubstrate" in t or "Package" in t)
        venv_built = (H.ipc_venv(home) / "bin" / "python").exists()
        assert st.get("stage") == "ready", (
            f"button never appeared within {BUTTON_TIMEOUT:.0f} s (IPC venv built: {venv_built}; kisubstrate tools "
            f"seen: {seen}; status: {json.dumps(st)[:1500]}; "
            f"pcbnew log: {(tmp_path / 'pcbnew.log').read_text()[-1500:]})")
        assert SUBSTRATE_BUTTON in st["tools"]
        ready_s = time.perf_counter() - t0
        time.sleep(0.5)  # let the toolbar repaint
        # 1280 x 720 as before, wider when the buttons sit further right (KiCad 10's longer toolbar)
        right = max(x + w for x, _y, w, _h in (st["tools"][n] for n in (IPC_BUTTON, SUBSTRATE_BUTTON, SWIG_BUTTON)))
        xvfb.screenshot(H.SYSTEM_PYTHON, shot, (0, 0, max(1280, min(1600, right + 40)), 720))
        # the icons really are on the toolbar: the light icon's gold balls inside the tool rectangles
        gold = _colour_pixels(H.SYSTEM_PYTHON, shot, [st["tools"][n] for n in (IPC_BUTTON, SWIG_BUTTON)],
                              (214, 160, 60), env=xvfb.env())
        _ = gui_env.venv  # the SWIG button runs this venv's kisubstrate command
        go.write_text("go")
        st = H.wait_status(status, lambda s: s.get("stage") in ("done", "failed"), 180, pcb)
        if st.get("stage") != "done":
            xvfb.screenshot(H.SYSTEM_PYTHON, tmp_path / "failure.png", (0, 0, 1600, 1000))
        assert st.get("stage") == "done", f"{json.dumps(st)[:3000]}\nlog: {log.read_text() if log.exists() else ''}"
    finally:
        pcb.stop()
        xvfb.stop()
    assert min(gold) >= 8, gold
    _update_doc(shot, "pcbnew-toolbar.png")

    steps = [(name, [f[0] for f in fps]) for name, fps in st["after_press"]]
    assert steps == [(IPC_BUTTON, ["U1"]), (UNDO, []), (REDO, ["U1"]), (SWIG_BUTTON, ["U2", "U1"]),
                     (SUBSTRATE_BUTTON, ["U2", "U1"])], steps
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["action"] for r in records] == ["footprint", "swig", "substrate"], records
    assert all(r["ok"] for r in records), records
    # "Package substrate…" wrote the build-up example's substrate project where it said
    boards = sorted((tmp_path / "substrate").rglob("*.kicad_pcb"))
    assert len(boards) == 1 and str(tmp_path / "substrate") in records[2]["message"], records[2]
    assert boards[0].name in records[2]["message"]
    # both IPC actions wrote for the running KiCad (9 or 10: its file format)
    from kisubstrate.kicad.target import format_version

    assert records[0]["kicad"] == records[2]["kicad"] == kicad_target_for(), records
    assert f"(version {format_version(kicad_target_for())})" in boards[0].read_text()
    # the IPC dialog also saved into the chosen library: the same bytes as the CLI writes
    from kisubstrate.api.footprint import footprint_files

    geom = build_footprints(load_specs([spec])[0].spec)[0]
    # KiCad's plugin Python may lack the OpenCascade kernel (the step extra): then it writes VRML only, as the
    # CLI does without it
    step = (chosen_lib / f"{geom.geometry.name}.kicad_mod").read_text().count('.step"') == 1
    for path, text in footprint_files([geom], chosen_lib, kicad=kicad_target_for(), step=step):  # footprint, models
        assert path.read_text() == text, path

    fps = {f["ref"]: f for f in _run(H.SYSTEM_PYTHON, H.READ_BOARD, str(board))}
    assert sorted(fps) == ["U1", "U2"]
    ipc, swig = fps["U1"], fps["U2"]
    assert (ipc["lib"], ipc["name"]) == ("Chosen", "TEST_BGA-4_3x3mm")
    assert ipc["ref_visible"] and ipc["value_visible"] and ipc["value"] == "TEST_BGA-4_3x3mm"
    assert sorted(ipc["pads"]) == _expected_pads(spec, nets=True)  # nets from the ball map
    assert (swig["lib"], swig["name"]) == ("Chosen", "TEST_BGA-4_3x3mm")  # the same chosen library
    assert swig["ref_visible"] and swig["value_visible"]
    assert sorted(swig["pads"]) == _expected_pads(spec, nets=False)
    print(f"pcbnew GUI run: buttons ready after {ready_s:.1f} s, both pressed and board saved after "
          f"{time.perf_counter() - t0:.1f} s (venv/wheel setup {gui_env.setup_s:.1f} s)")
    took = time.perf_counter() - t0
    assert took < 240, f"GUI run took {took:.0f} s (ready after {ready_s:.0f} s)"


# -------------------------------------------------------------------------------------------------
DIALOG_SCRIPT = r"""
import json, os, sys
sys.path.insert(0, os.path.join(os.getcwd(), "plugin", "ipc"))
import wx
from kisubstrate.api.specs import load_specs
from kisubstrate.plugin_support.form import first_package, texts_from_values
from kisubstrate_gui import SpecDialog, _initial

out = {"same": {}, "errors": {}}
app = wx.App(False)
shot = sys.argv[1]
paths = sys.argv[2:]
dlg = SpecDialog(None, family="bga")
names = [n for n, _ in dlg.families]
for path in paths:
    family, values, base = first_package(path)
    if family not in names:
        continue
    dlg.set_values(family, {}, base)            # start from an empty form of that family
    for name, text in texts_from_values(family, values).items():   # type into every control
        ctrl = dlg.controls[name]
        if isinstance(ctrl, wx.Choice):
            choices = list(dlg.fields[name].choices)
            ctrl.SetSelection(choices.index(text) if text in choices else 0)
        elif isinstance(ctrl, wx.CheckBox):
            ctrl.SetValue(text == "yes")
        else:
            ctrl.SetValue(text)
    ev = dlg.evaluate_now()
    yaml_spec = load_specs([path])[0].spec
    out["same"][os.path.basename(path)] = [ev.spec == yaml_spec, ev.ok, dlg.ok_button.IsEnabled(), ev.summary()[:200]]

# invalid input: the message is in the dialog, OK is disabled, nothing raised
fam, values, base = first_package(paths[0])
dlg.set_values(fam, values, base)
for name, text in (("ball_diameter", "abc"), ("ball_diameter", "0.9"), ("layout", "16, 1.5"), ("pitch", "")):
    before = dlg.controls[name].GetValue()
    dlg.controls[name].SetValue(text)
    ev = dlg.evaluate_now()
    out["errors"][f"{name}={text}"] = [dlg.status.GetValue(), dlg.ok_button.IsEnabled(), ev.field]
    dlg.controls[name].SetValue(before)
dlg.evaluate_now()

# a picture of the dialog for the docs
dlg.SetPosition((0, 0))
dlg.Show()
def snap():
    wx.Yield()
    w, h = dlg.GetSize()
    bmp = wx.Bitmap(w, h)
    mem = wx.MemoryDC(bmp)
    mem.Blit(0, 0, w, h, wx.ScreenDC(), *dlg.GetScreenPosition())
    mem.SelectObject(wx.NullBitmap)
    bmp.SaveFile(shot, wx.BITMAP_TYPE_PNG)
    dlg.Hide()
    # test mode: a spec file pre-fills a new dialog and it accepts itself
    os.environ["KISUBSTRATE_PLUGIN_SPEC"] = paths[0]
    family, values, base = _initial("footprint")
    auto = SpecDialog(None, family=family, values=values, base_dir=base)
    wx.CallAfter(auto.accept_if_valid)
    out["auto"] = [auto.ShowModal() == wx.ID_OK, auto.evaluation.spec == load_specs([paths[0]])[0].spec]
    app.ExitMainLoop()
wx.CallLater(700, snap)
app.MainLoop()
print(json.dumps(out))
"""


def test_dialog_is_built_from_the_spec_models(gui_env, tmp_path):
    xvfb = H.Xvfb("1400x1000x24")
    try:
        shot = tmp_path / "dialog.png"
        specs = [str(EXAMPLES / "bga.yaml")] + [str(p) for p in sorted(EXAMPLES.glob("*.yaml")) if p.stem != "bga"]
        out = _run(gui_env.python, DIALOG_SCRIPT, str(shot), *specs, env=xvfb.env())
    finally:
        xvfb.stop()
    # every footprint family's example, typed into the generated form, is the YAML path's spec
    assert len(out["same"]) >= 6, out["same"]
    for name, (same, ok, enabled, summary) in out["same"].items():
        assert same, f"{name}: form spec differs from the YAML spec ({summary})"
        assert ok and enabled, f"{name}: {summary}"
    errs = out["errors"]
    assert errs["ball_diameter=abc"] == ["Invalid input — ball_diameter: 'abc' is not a number", False,
                                         "ball_diameter"]
    assert errs["ball_diameter=0.9"][0].startswith("Invalid input — ball_diameter: ball_diameter 0.9 mm must be "
                                                   "smaller than the pitch") and errs["ball_diameter=0.9"][1] is False
    assert errs["layout=16, 1.5"][:2] == ["Invalid input — layout: '1.5' is not a whole number", False]
    assert errs["pitch="][:2] == ["Invalid input — pitch: required field is missing", False]
    assert not any("Traceback" in e[0] for e in errs.values())
    assert out["auto"] == [True, True]
    assert shot.is_file()
    _update_doc(shot, "plugin-dialog.png")


# -------------------------------------------------------------------------------------------------
SWIG_SCRIPT = r"""
import importlib.util, json, os, sys
import pcbnew
spec = importlib.util.spec_from_file_location("swig_logic", os.path.join("plugin", "swig", "swig_logic.py"))
logic = importlib.util.module_from_spec(spec); sys.modules["swig_logic"] = logic; spec.loader.exec_module(logic)
spec_file, cli, work = sys.argv[1:4]
out = {}
out["no_board"] = logic.run(pcbnew, pcbnew.BOARD(), spec=spec_file).message == logic.NO_BOARD
path = os.path.join(work, "b.kicad_pcb")
pcbnew.SaveBoard(path, pcbnew.BOARD())
board = pcbnew.LoadBoard(path)
missing = logic.run(pcbnew, board, spec=spec_file, env={"PATH": "", "HOME": work})
out["missing"] = [missing.ok, missing.message == logic.INSTALL_HINT, len(board.GetFootprints())]
done = logic.run(pcbnew, board, spec=spec_file, env={"KISUBSTRATE_CLI": cli, "PATH": os.environ["PATH"]})
out["done"] = [done.ok, done.references, done.footprints, done.message]
out["pads"] = [sorted(p.GetNumber() for p in fp.Pads()) for fp in board.GetFootprints()]
print(json.dumps(out))
"""


def test_swig_shim_logic_in_pcbnew(gui_env, tmp_path):
    """Real pcbnew (KiCad's /usr/bin/python3, where kisubstrate does not import): CLI backend, install hint."""
    out = _run(H.SYSTEM_PYTHON, SWIG_SCRIPT, str(EXAMPLES / "lga.yaml"), str(gui_env.venv / "bin" / "kisubstrate"),
               str(tmp_path))
    assert out["no_board"] is True
    assert out["missing"] == [False, True, 0]
    name = load_specs([EXAMPLES / "lga.yaml"])[0].spec.resolved_name
    assert out["done"][:3] == [True, ["U1"], [name]], out["done"]
    assert len(out["pads"][0]) == build_footprints(load_specs([EXAMPLES / "lga.yaml"])[0].spec)[0].geometry.pad_count


KIPY_SCRIPT = r"""
import json, sys
from kisubstrate.api.footprint import generate_footprint
from kisubstrate.kicad.ipc import footprint_instance
from kipy.proto.board.board_types_pb2 import BoardLayer
fp = generate_footprint({"family": "pga", "body": [8, 8], "pitch": 2.54, "layout": [2, 2],
                         "pin_diameter": 0.46}).geometry
inst = footprint_instance(fp, position=(100.0, 50.0), reference="U7", library="Lib")
pads = inst.definition.pads
# mask-defined (SMD) BGA lands: the .kicad_mod writes mask AND paste margins; the kipy pad carries both
smd = generate_footprint({"family": "bga", "body": [3, 3], "pitch": 1, "layout": [2, 2], "ball_diameter": 0.5,
                          "mask": "smd"}).geometry
outer = footprint_instance(smd).definition.pads[0].padstack.front_outer_layers
margins = [outer.solder_mask_settings.solder_mask_margin, outer.solder_paste_settings.solder_paste_margin,
           smd.pads[0].mask_margin, smd.pads[0].paste_margin]
# the 3D model: the saved library's path when given, none for ""
models = [[m.filename for m in footprint_instance(smd, model_path=p).definition.models]
          for p in ("${KIPRJMOD}/Lib.3dshapes/X.wrl", "")]
print(json.dumps({"n": len(pads), "first": [pads[0].number, pads[0].position.x, pads[0].position.y],
                  "drill": pads[0].padstack.drill.diameter.x, "layer": inst.layer == BoardLayer.BL_F_Cu,
                  "ref": [inst.reference_field.text.value, inst.reference_field.visible],
                  "value": [inst.value_field.text.value, inst.value_field.visible],
                  "lib": [inst.definition.id.library, inst.definition.id.name], "want": fp.pad_table()[0],
                  "drill_mm": fp.pads[0].drill, "margins": margins, "models": models}))
"""


def test_kipy_mapping(gui_env):
    out = _run(gui_env.python, KIPY_SCRIPT)
    name, x, y, _, _ = out["want"]
    assert out["n"] == 4 and out["layer"]
    assert out["first"] == [name, round((100 + x) * 1e6), round((50 + y) * 1e6)]
    assert out["drill"] == round(out["drill_mm"] * 1e6)
    assert out["ref"] == ["U7", True] and out["value"][1] is True and out["lib"][0] == "Lib"
    assert out["margins"] == [-50_000, -50_000, -0.05, -0.05]  # nm on the pad, mm in the geometry
    assert out["models"] == [["${KIPRJMOD}/Lib.3dshapes/X.wrl"], []]


def test_pcm_packages_pass_the_kicad_python_validator(gui_env, tmp_path):
    """kicad-python's own packaging validator (schemas bundled with kipy) accepts the IPC and library zips."""
    from kisubstrate.plugin_support.pcm import build_packages

    tool = gui_env.venv / "bin" / "kicad-python-packager"
    if not tool.exists():
        pytest.skip("this kicad-python has no kicad-python-packager")
    zips = build_packages(tmp_path / "pcm")
    checked = 0
    for path in zips:
        if "swig" in path.name:  # the validator only knows IPC plugins and libraries
            continue
        r = subprocess.run([str(tool), "validate", str(path)], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and "Validation passed" in r.stdout + r.stderr, f"{path.name}:\n{r.stdout}{r.stderr}"
        checked += 1
    assert checked == 2


def test_pcm_zip_installs_and_its_button_works(gui_env, tmp_path):
    """The PCM route: the IPC plugin zip unpacked where KiCad's PCM puts it; its vendored kisubstrate
    (no kisubstrate in the venv) places the footprint when the button is pressed."""
    import zipfile

    from kisubstrate.plugin_support.pcm import build_packages

    plugin_zip = next(p for p in build_packages(tmp_path / "pcm") if p.name.startswith("kisubstrate-plugin-"))
    home, tmp = H.hermetic_home(tmp_path, pip_cache=gui_env.cache / "pip",
                                kicad_envs=gui_env.cache / "python-environments")
    dest = H.documents_dir(home) / "3rdparty" / "plugins" / "kisubstrate_plugin"
    with zipfile.ZipFile(plugin_zip) as z:
        for name in z.namelist():
            if name.startswith("plugins/"):
                target = dest / name[len("plugins/"):]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(z.read(name))
    reqs = dest / "requirements.txt"  # install the PyPI dependencies from the local wheelhouse
    reqs.write_text(f"--no-index\n--find-links {gui_env.house.resolve().as_uri()}\n" + reqs.read_text())
    H.install_presser(home)
    board = tmp_path / "project" / "board.kicad_pcb"
    board.parent.mkdir()
    H.make_board(H.SYSTEM_PYTHON, board)
    status, log = tmp_path / "status.json", tmp_path / "actions.jsonl"
    env = {"KISUBSTRATE_PLUGIN_SPEC": str(EXAMPLES / "lga.yaml"), "KISUBSTRATE_PLUGIN_AUTO": "1",
           "KISUBSTRATE_PLUGIN_LOG": str(log), "KISUBSTRATE_TEST_PRESS": json.dumps([[IPC_BUTTON, 1]]),
           "KISUBSTRATE_TEST_STATUS": str(status)}
    xvfb = H.Xvfb()
    pcb = H.Pcbnew(board, home, tmp, xvfb, env)
    try:
        st = H.wait_status(status, lambda s: s.get("stage") in ("done", "failed"), BUTTON_TIMEOUT + 60, pcb)
    finally:
        pcb.stop()
        xvfb.stop()
    assert st.get("stage") == "done", f"PCM-installed button never worked: {json.dumps(st)[:2000]}"
    record = json.loads(log.read_text().splitlines()[0])
    assert record["ok"] and record["kisubstrate"].startswith(str(dest)), record
    fps = _run(H.SYSTEM_PYTHON, H.READ_BOARD, str(board))
    want = build_footprints(load_specs([EXAMPLES / "lga.yaml"])[0].spec)[0].geometry
    assert [(f["name"], len(f["pads"])) for f in fps] == [(want.name, want.pad_count)]
