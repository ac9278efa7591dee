"""The kisubstrate plugin dialog (wxPython) and the two IPC actions that use it.

The form is generated from the family's spec model (:mod:`kisubstrate.plugin_support.form`):
no per-family code here. As parameters change the dialog re-validates, re-checks and
re-draws the preview; OK is enabled only for a valid, rule-clean package.

Test mode (no person needed): ``KISUBSTRATE_PLUGIN_SPEC=spec.yaml`` pre-fills the dialog from a
spec file and ``KISUBSTRATE_PLUGIN_AUTO=1`` accepts it as soon as it is shown.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

import wx

from kisubstrate.model.errors import SpecError
from kisubstrate.plugin_support import actions
from kisubstrate.plugin_support.form import (
    FormField,
    family_choices,
    first_package,
    form_fields,
    texts_from_values,
)

PREVIEW_SIZE = (360, 280)
OK_COLOUR = wx.Colour(0, 110, 0)
BAD_COLOUR = wx.Colour(170, 0, 0)
BAD_FIELD = wx.Colour(255, 215, 215)


def _example_values(family: str) -> tuple[dict[str, Any], str]:
    """The bundled example of a family (a valid starting point), or nothing."""
    try:
        from kisubstrate.model.examples import examples_dir

        path = examples_dir() / f"{family}.yaml"
        if path.is_file():
            fam, values, base = first_package(path)
            if fam == family:
                return values, base
    except Exception:  # noqa: BLE001 - examples are a convenience only
        pass
    return {}, os.getcwd()


class SpecDialog(wx.Dialog):
    """A package-spec dialog generated from the spec models.

    Args:
        mode: ``footprint`` (place on the board, optionally save into a .pretty) or
            ``substrate`` (write a substrate project into a folder).
        family, values, base_dir: the initial spec (``values`` as in a YAML package).
        output: the default .pretty (footprint mode) or output folder (substrate mode).
    """

    def __init__(self, parent: wx.Window | None, *, mode: str = "footprint", family: str | None = None,
                 values: dict[str, Any] | None = None, base_dir: str | None = None, output: str = "",
                 save_library: bool = False) -> None:
        title = "Package footprint" if mode == "footprint" else "Package substrate"
        super().__init__(parent, title=title, style=wx.DEFAULT_DIALOG_STYLE | wx.RESIZE_BORDER)
        self.mode = mode
        self.families = [(n, s) for n, s, fp, sub in family_choices() if (fp if mode == "footprint" else sub)]
        self.base_dir = base_dir or os.getcwd()
        self.controls: dict[str, wx.Window] = {}
        self.fields: dict[str, FormField] = {}
        self.evaluation: actions.Evaluation | None = None
        self._timer = wx.CallLater(250, self._refresh)
        self._timer.Stop()

        root = wx.BoxSizer(wx.VERTICAL)
        top = wx.BoxSizer(wx.HORIZONTAL)
        top.Add(wx.StaticText(self, label="Family"), 0, wx.ALIGN_CENTER_VERTICAL | wx.RIGHT, 6)
        self.family_choice = wx.Choice(self, choices=[f"{n} — {s}" for n, s in self.families])
        self.family_choice.Bind(wx.EVT_CHOICE, self._on_family)
        top.Add(self.family_choice, 1, wx.EXPAND)
        root.Add(top, 0, wx.EXPAND | wx.ALL, 8)

        body = wx.BoxSizer(wx.HORIZONTAL)
        self.form = wx.ScrolledWindow(self, size=(460, 420), style=wx.VSCROLL)
        self.form.SetScrollRate(0, 12)
        body.Add(self.form, 1, wx.EXPAND | wx.RIGHT, 8)
        side = wx.BoxSizer(wx.VERTICAL)
        self.preview = wx.StaticBitmap(self, size=PREVIEW_SIZE)
        side.Add(self.preview, 0, wx.BOTTOM, 6)
        self.status = wx.TextCtrl(self, style=wx.TE_MULTILINE | wx.TE_READONLY | wx.TE_RICH2,
                                  size=(PREVIEW_SIZE[0], 130))
        side.Add(self.status, 1, wx.EXPAND)
        body.Add(side, 0, wx.EXPAND)
        root.Add(body, 1, wx.EXPAND | wx.LEFT | wx.RIGHT, 8)

        out = wx.BoxSizer(wx.HORIZONTAL)
        if mode == "footprint":
            self.save_check = wx.CheckBox(self, label="Also save into library (.pretty)")
            self.save_check.SetValue(save_library)
            out.Add(self.save_check, 0, wx.ALIGN_CENTER_VERTICAL | wx.RIGHT, 6)
        else:
            self.save_check = None
            out.Add(wx.StaticText(self, label="Output folder"), 0, wx.ALIGN_CENTER_VERTICAL | wx.RIGHT, 6)
        self.output = wx.TextCtrl(self, value=output)
        out.Add(self.output, 1, wx.EXPAND | wx.RIGHT, 4)
        browse = wx.Button(self, label="Browse…")
        browse.Bind(wx.EVT_BUTTON, self._on_browse)
        out.Add(browse, 0)
        root.Add(out, 0, wx.EXPAND | wx.ALL, 8)

        buttons = self.CreateStdDialogButtonSizer(wx.OK | wx.CANCEL)
        self.ok_button = self.FindWindowById(wx.ID_OK)
        self.ok_button.SetLabel("Place footprint" if mode == "footprint" else "Write substrate")
        root.Add(buttons, 0, wx.EXPAND | wx.ALL, 8)
        self.SetSizerAndFit(root)

        names = [n for n, _ in self.families]
        if family not in names:
            family = names[0] if names else None
            if family:
                values, self.base_dir = _example_values(family)
        self.family = family
        if family:
            self.family_choice.SetSelection(names.index(family))
            self.build_form(family, values or {})
        else:
            self.status.SetValue("No package family can do this in this kisubstrate version."
                                 if mode == "substrate" else "No footprint families registered.")
            self.ok_button.Disable()
        self.Layout()

    # -- form -----------------------------------------------------------------------------------
    def build_form(self, family: str, values: dict[str, Any]) -> None:
        """(Re)build the inputs for ``family`` from its spec model and fill them with ``values``."""
        self.family = family
        self.form.DestroyChildren()
        self.controls.clear()
        self.fields = {f.name: f for f in form_fields(family)}
        grid = wx.FlexGridSizer(cols=3, hgap=6, vgap=4)
        grid.AddGrowableCol(1)
        texts = texts_from_values(family, values)
        for name, f in self.fields.items():
            label = f.label + (f" [{f.unit}]" if f.unit else "") + (" *" if f.required else "")
            lab = wx.StaticText(self.form, label=label)
            if f.kind == "choice":
                ctrl: wx.Window = wx.Choice(self.form, choices=[c or "(default)" for c in f.choices])
                ctrl.Bind(wx.EVT_CHOICE, self._on_change)
            elif f.kind == "bool":
                ctrl = wx.CheckBox(self.form)
                ctrl.Bind(wx.EVT_CHECKBOX, self._on_change)
            else:
                ctrl = wx.TextCtrl(self.form, size=(170, -1))
                ctrl.Bind(wx.EVT_TEXT, self._on_change)
                if not f.required and f.default not in (None, "", [], ()):
                    ctrl.SetHint(f.format(f.default))
            tip = f.tooltip()
            lab.SetToolTip(tip)
            ctrl.SetToolTip(tip)
            ctrl.SetName(name)
            hint = wx.StaticText(self.form, label=f.limits_text())
            hint.SetForegroundColour(wx.Colour(110, 110, 110))
            grid.Add(lab, 0, wx.ALIGN_CENTER_VERTICAL)
            grid.Add(ctrl, 1, wx.EXPAND)
            grid.Add(hint, 0, wx.ALIGN_CENTER_VERTICAL)
            self.controls[name] = ctrl
        self.form.SetSizer(grid)
        self.form.FitInside()
        self.set_texts(texts)
        self._refresh()

    def set_texts(self, texts: dict[str, str]) -> None:
        """Fill the inputs with texts (as typed by a user) without re-evaluating each keystroke."""
        for name, text in texts.items():
            ctrl, f = self.controls.get(name), self.fields.get(name)
            if ctrl is None or f is None:
                continue
            if isinstance(ctrl, wx.Choice):
                choices = list(f.choices)
                ctrl.SetSelection(choices.index(text) if text in choices else (0 if choices else -1))
            elif isinstance(ctrl, wx.CheckBox):
                ctrl.SetValue(text in ("yes", "true", "1", True))
            else:
                ctrl.ChangeValue(text)

    def set_values(self, family: str, values: dict[str, Any], base_dir: str | None = None) -> None:
        """Switch to ``family`` and fill the form from a spec dict (as in a YAML package)."""
        if base_dir:
            self.base_dir = base_dir
        names = [n for n, _ in self.families]
        self.family_choice.SetSelection(names.index(family))
        self.build_form(family, values)

    def get_texts(self) -> dict[str, Any]:
        """The current text of every input (what :func:`actions.evaluate` parses)."""
        out: dict[str, Any] = {}
        for name, ctrl in self.controls.items():
            if isinstance(ctrl, wx.Choice):
                idx = ctrl.GetSelection()
                out[name] = self.fields[name].choices[idx] if idx >= 0 else ""
            elif isinstance(ctrl, wx.CheckBox):
                out[name] = ctrl.GetValue()
            else:
                out[name] = ctrl.GetValue()
        return out

    # -- evaluation -----------------------------------------------------------------------------
    def evaluate_now(self) -> actions.Evaluation:
        """Validate + build + check the current form and update status, preview and OK button."""
        self._timer.Stop()
        self._refresh()
        assert self.evaluation is not None
        return self.evaluation

    def _refresh(self) -> None:
        if not self.family:
            return
        try:
            ev = actions.evaluate(self.family, self.get_texts(), base_dir=self.base_dir)
        except Exception as exc:  # noqa: BLE001 - an internal error still must not kill the dialog
            ev = actions.Evaluation(family=self.family, error=f"internal error: {type(exc).__name__}: {exc}")
        self.evaluation = ev
        for name, ctrl in self.controls.items():
            bad = bool(ev.field) and ev.field.split(".")[0] == name
            if isinstance(ctrl, wx.TextCtrl):
                ctrl.SetBackgroundColour(BAD_FIELD if bad else wx.NullColour)
                ctrl.Refresh()
        self.status.SetValue(ev.summary())
        self.status.SetForegroundColour(OK_COLOUR if ev.ok else BAD_COLOUR)
        self.status.SetStyle(0, self.status.GetLastPosition(),
                             wx.TextAttr(OK_COLOUR if ev.ok else BAD_COLOUR))
        self._draw_preview(ev)
        self.ok_button.Enable(ev.ok)

    def _draw_preview(self, ev: actions.Evaluation) -> None:
        w, h = PREVIEW_SIZE
        if ev.result is not None:
            from kisubstrate.plugin_support.preview import render

            pic = render(ev.result.geometry, w, h)
            bmp = wx.Bitmap.FromBuffer(w, h, pic.tobytes())
        else:
            bmp = wx.Bitmap(w, h)
            dc = wx.MemoryDC(bmp)
            dc.SetBackground(wx.Brush(wx.Colour(0, 16, 35)))
            dc.Clear()
            dc.SetTextForeground(wx.Colour(230, 120, 120))
            dc.DrawText("no preview: fix the input", 10, 10)
            dc.SelectObject(wx.NullBitmap)
        self.preview.SetBitmap(bmp)

    # -- events ---------------------------------------------------------------------------------
    def _on_change(self, _event: wx.Event) -> None:
        self._timer.Start(250)

    def _on_family(self, _event: wx.Event) -> None:
        family = self.families[self.family_choice.GetSelection()][0]
        if family != self.family:
            values, self.base_dir = _example_values(family)
            self.build_form(family, values)
            self.Layout()

    def _on_browse(self, _event: wx.Event) -> None:
        msg = "Library folder (.pretty)" if self.mode == "footprint" else "Substrate output folder"
        with wx.DirDialog(self, msg, defaultPath=self.output.GetValue() or self.base_dir) as dlg:
            if dlg.ShowModal() == wx.ID_OK:
                self.output.SetValue(dlg.GetPath())
                if self.save_check is not None:
                    self.save_check.SetValue(True)

    def accept_if_valid(self) -> bool:
        """Evaluate now; close with OK when valid (test mode); returns whether it did."""
        ev = self.evaluate_now()
        if ev.ok:
            self.EndModal(wx.ID_OK)
            return True
        return False


# ---------------------------------------------------------------------------------------------
def _initial(mode: str) -> tuple[str | None, dict[str, Any], str]:
    spec = (os.environ.get(actions.TEST_SUBSTRATE_SPEC_ENV) if mode == "substrate" else None) \
        or os.environ.get(actions.TEST_SPEC_ENV)
    if spec:
        family, values, base = first_package(spec)
        return family, values, base
    return None, {}, os.getcwd()


def _connect():
    from kipy import KiCad

    kicad = KiCad()
    return kicad, kicad.get_board()


def _release(kicad: Any) -> int | None:
    """The release to write files for: the running KiCad's (9 or 10), None when it does not say."""
    from kisubstrate.kicad.target import release_for

    try:
        return release_for(int(kicad.get_version().major))
    except Exception:  # noqa: BLE001 - an older API without the version: the CLI's default
        return None


def _board_dir(board: Any) -> Path:
    try:
        path = board.document.project.path
        if path:
            return Path(path)
    except Exception:  # noqa: BLE001
        pass
    return Path.cwd()


def run_action(mode: str) -> int:
    """Entry point of both IPC actions: connect to KiCad, show the dialog, do the work."""
    app = wx.App(False)
    auto = os.environ.get(actions.TEST_AUTO_ENV) == "1"
    import kisubstrate

    record: dict[str, Any] = {"action": mode, "ok": False, "kisubstrate": kisubstrate.__file__}
    try:
        kicad, board = _connect()
        record["kicad"] = _release(kicad)
    except Exception as exc:  # noqa: BLE001
        message = (f"kisubstrate could not talk to KiCad ({type(exc).__name__}: {exc}).\n"
                   "Open a board in the PCB editor and enable Preferences ▸ Plugins ▸ Enable KiCad API.")
        record["error"] = message
        actions.log_action(record)
        if not auto:
            wx.MessageBox(message, "kisubstrate", wx.OK | wx.ICON_ERROR)
        return 1
    try:
        family, values, base = _initial(mode)
    except SpecError as exc:
        family, values, base = None, {}, os.getcwd()
        record["spec_error"] = str(exc)
    project = _board_dir(board)
    if mode == "footprint":
        default_out = os.environ.get(actions.TEST_LIBRARY_ENV) or str(project / "kisubstrate.pretty")
    else:
        default_out = os.environ.get(actions.TEST_OUTPUT_ENV) or str(project / "substrate")
    dlg = SpecDialog(None, mode=mode, family=family, values=values, base_dir=base, output=default_out,
                     save_library=bool(os.environ.get(actions.TEST_LIBRARY_ENV)))
    if auto:
        wx.CallAfter(lambda: dlg.accept_if_valid() or dlg.EndModal(wx.ID_CANCEL))
    answer = dlg.ShowModal()
    ev = dlg.evaluation
    record["summary"] = ev.summary() if ev else ""
    if answer != wx.ID_OK or ev is None or not ev.ok:
        record["error"] = record["summary"] if (auto or answer == wx.ID_OK) else "cancelled"
        actions.log_action(record)
        dlg.Destroy()
        return 0 if answer != wx.ID_OK else 1
    output = dlg.output.GetValue().strip()
    save = dlg.save_check.GetValue() if dlg.save_check is not None else False
    texts, base_dir = dlg.get_texts(), dlg.base_dir
    dlg.Destroy()
    try:
        if mode == "footprint":
            from kisubstrate.kicad.ipc import place_footprint

            geom = ev.result.geometry
            notes = []
            if save and output:
                path = actions.save_to_library(ev.result, output, kicad=record["kicad"])
                notes.append(f"saved {path}")
                record["library_file"] = str(path)
            # the model that save_to_library wrote beside the library; none when nothing was saved
            model = actions.library_model_path(output, geom.name) if save and output else ""
            created = place_footprint(board, geom, library=Path(output).stem if save and output else "kisubstrate",
                                      model_path=model)
            record.update(ok=True, footprint=geom.name, pads=geom.pad_count,
                          reference=created.reference_field.text.value if created is not None else "")
            if not auto and created is not None:
                try:
                    board.interactive_move(created.id)
                except Exception:  # noqa: BLE001 - not every KiCad version has this handler
                    pass
        else:
            from kisubstrate.plugin_support.form import values_from_texts

            outcome = actions.write_substrate(values_from_texts(ev.family, texts), output, base_dir=base_dir,
                                              kicad=record["kicad"])
            record.update(ok=outcome.ok, message=outcome.message, output=str(outcome.output or ""))
            if not auto:
                wx.MessageBox(outcome.message, "kisubstrate",
                              wx.OK | (wx.ICON_INFORMATION if outcome.ok else wx.ICON_WARNING))
    except Exception as exc:  # noqa: BLE001 - show, never crash silently
        record["error"] = f"{type(exc).__name__}: {exc}"
        record["traceback"] = traceback.format_exc()
        if not auto:
            wx.MessageBox(f"kisubstrate failed: {record['error']}", "kisubstrate", wx.OK | wx.ICON_ERROR)
    actions.log_action(record)
    del app
    return 0 if record.get("ok") else 1


if __name__ == "__main__":
    sys.exit(run_action(sys.argv[1] if len(sys.argv) > 1 else "footprint"))
