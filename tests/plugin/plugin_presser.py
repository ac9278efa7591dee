"""TEST-ONLY SWIG plugin: presses pcbnew toolbar buttons from inside pcbnew, then saves the board.

Copied by tests/plugin/test_plugin_gui.py into a hermetic HOME's scripting/plugins folder; never
shipped. Driven by environment variables:

* ``KISUBSTRATE_TEST_PRESS``: JSON list of ``[tooltip, change]`` to press in order: the tooltip
  (SWIG plugin ``name`` / IPC action ``name`` / a KiCad tool such as ``Undo  (Ctrl+Z)``) and the
  change in the number of footprints to wait for after the press (+1 for a plugin, -1 for undo),
  or ``"log:N"``: wait until ``$KISUBSTRATE_PLUGIN_LOG`` has N lines (actions that add nothing);
* ``KISUBSTRATE_TEST_STATUS``: JSON file this writes its progress to (tools seen with their screen
  rectangles, presses, footprints on the board, errors);
* ``KISUBSTRATE_TEST_GO``: file whose existence lets it start pressing (the test takes its
  screenshot of the idle toolbar first).

A press posts ``wxEVT_TOOL`` for the tool to the frame: the same path as a click (undo entry,
view refresh); KiCad's own tools get it on their toolbar. After each press it waits for the
expected change in the number of footprints.
"""

import json
import os
import time

try:
    import pcbnew
    import wx
    import wx.aui
except ImportError:  # imported outside pcbnew (pytest's doctest collection): stay inert
    pcbnew = None

PRESS = [[" ".join(name.split()), change]  # tooltips with white space folded, as _norm reads them
         for name, change in json.loads(os.environ.get("KISUBSTRATE_TEST_PRESS", "[]"))]
STATUS = os.environ.get("KISUBSTRATE_TEST_STATUS", "")
GO = os.environ.get("KISUBSTRATE_TEST_GO", "")
PRESS_TIMEOUT = float(os.environ.get("KISUBSTRATE_TEST_PRESS_TIMEOUT", "90"))

state = {"stage": "waiting", "tools": {}, "pressed": [], "footprints": [], "errors": [], "t0": time.time()}


def _write():
    if STATUS:
        tmp = STATUS + ".tmp"
        with open(tmp, "w") as fh:
            json.dump(state, fh, indent=1, default=str)
        os.replace(tmp, STATUS)


def _walk(win):
    for child in win.GetChildren():
        yield child
        yield from _walk(child)


def _norm(tooltip):
    """A tooltip's first line with runs of white space as one space: ``Undo  (Ctrl+Z)`` (KiCad 9) and
    ``Undo\t(Ctrl+Z)`` (KiCad 10) both read ``Undo (Ctrl+Z)``."""
    return " ".join(tooltip.split("\n")[0].split())


def _tools():
    """tooltip (:func:`_norm`) -> (frame, toolbar, tool id, screen rect) of every toolbar tool in every frame."""
    found = {}
    for top in wx.GetTopLevelWindows():
        for win in _walk(top):
            if not isinstance(win, wx.aui.AuiToolBar):
                continue
            for i in range(win.GetToolCount()):
                item = win.FindToolByIndex(i)
                if item is None or not item.GetShortHelp():
                    continue
                rect = win.GetToolRect(item.GetId())
                pos = win.ClientToScreen(rect.GetPosition())
                found[_norm(item.GetShortHelp())] = (top, win, item.GetId(), [pos.x, pos.y, rect.width, rect.height])
    return found


def _footprints():
    board = pcbnew.GetBoard()
    return [(fp.GetReference(), str(fp.GetFPID().GetLibItemName()), len(fp.Pads())) for fp in board.GetFootprints()]


def _press(tool, kicad_tool):
    top, toolbar, tool_id, _ = tool
    evt = wx.CommandEvent(wx.wxEVT_TOOL, tool_id)
    evt.SetEventObject(toolbar)
    evt.SetInt(0)
    wx.PostEvent(toolbar if kicad_tool else top, evt)


def _changed(footprints, cur):
    change = cur["change"]
    if isinstance(change, str) and change.startswith("log:"):
        log = os.environ.get("KISUBSTRATE_PLUGIN_LOG", "")
        lines = open(log).read().splitlines() if log and os.path.exists(log) else []
        return len(lines) >= int(change[4:])
    return len(footprints) == cur["count"] + change


pending = [tuple(p) for p in PRESS]
current = {"name": None, "since": 0.0, "count": 0, "change": 1}


def _poll():
    try:
        board = pcbnew.GetBoard()
        ready = board is not None and bool(board.GetFileName())
        if ready and not state.get("resized"):  # the whole screen: KiCad 10's top toolbar outgrows 1280 px
            width, height = wx.GetDisplaySize()
            for top in wx.GetTopLevelWindows():
                if isinstance(top, wx.Frame) and top.IsShown():
                    top.SetSize(0, 0, width, height)
            state["resized"] = [width, height]
            _write()
            wx.CallLater(500, _poll)
            return
        tools = _tools() if ready else {}
        state["tools"] = {k: v[3] for k, v in tools.items()}
        if not tools:  # diagnostics while waiting: is the board there, which windows exist
            kinds = {}
            for top in wx.GetTopLevelWindows():
                for win in [top, *_walk(top)]:
                    kinds[type(win).__name__] = kinds.get(type(win).__name__, 0) + 1
            dialogs = [[type(top).__name__, top.GetTitle() if hasattr(top, "GetTitle") else "", top.IsShown(),
                        [w.GetLabel()[:70] for w in _walk(top) if isinstance(w, wx.StaticText)][:40]]
                       for top in wx.GetTopLevelWindows() if top.IsShown()]
            state["waiting_for"] = {"board": board is not None, "file": board.GetFileName() if board else "",
                                    "windows": kinds, "shown": dialogs}
        state["footprints"] = _footprints() if ready else []
        if state["stage"] == "waiting" and ready and all(p[0] in tools for p in PRESS):
            state["stage"] = "ready"
            state["ready_after_s"] = round(time.time() - state["t0"], 2)
        if state["stage"] == "ready" and (not GO or os.path.exists(GO)):
            state["stage"] = "pressing"
        if state["stage"] == "pressing":
            if current["name"] is None:
                if not pending:
                    pcbnew.SaveBoard(board.GetFileName(), board)
                    state["stage"] = "done"
                    state["saved"] = board.GetFileName()
                    _write()
                    return
                name, change = pending.pop(0)
                current.update(name=name, since=time.time(), count=len(state["footprints"]), change=change)
                _press(tools[name], kicad_tool=name.startswith(("Undo", "Redo")))
                state["pressed"].append(name)
            elif _changed(state["footprints"], current):
                state.setdefault("after_press", []).append([current["name"], list(state["footprints"])])
                current["name"] = None
            elif time.time() - current["since"] > PRESS_TIMEOUT:
                state["errors"].append(f"footprints did not change by {current['change']} within {PRESS_TIMEOUT:.0f} s "
                                       f"after pressing {current['name']!r}")
                state["stage"] = "failed"
                _write()
                return
    except Exception:  # noqa: BLE001 - report, keep polling
        import traceback

        state["errors"].append(traceback.format_exc())
        if len(state["errors"]) > 20:
            state["stage"] = "failed"
            _write()
            return
    _write()
    wx.CallLater(250, _poll)


if pcbnew is not None and PRESS and STATUS:
    wx.CallLater(500, _poll)
