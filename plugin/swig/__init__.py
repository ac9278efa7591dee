"""kisubstrate SWIG action plugin (KiCad 8/9 without the IPC API): a thin shim over swig_logic."""

import os

import pcbnew

from . import swig_logic

HERE = os.path.dirname(os.path.abspath(__file__))


class KisubstrateFootprintAction(pcbnew.ActionPlugin):
    """The toolbar button: a package footprint from a kisubstrate spec, added to the open board."""

    def defaults(self):
        """Name, category, description and icons that pcbnew shows for the action."""
        self.name = "kisubstrate: package footprint from spec"
        self.category = "Footprint generation"
        self.description = "Generate a rule-checked package footprint from a kisubstrate spec (YAML) and add it"
        self.show_toolbar_button = True
        self.icon_file_name = os.path.join(HERE, "icon.png")
        self.dark_icon_file_name = os.path.join(HERE, "icon_dark.png")

    def Run(self):
        """Ask for a spec (unless the test environment names one), generate, add, and say what happened."""
        import wx

        def choose(start):
            with wx.FileDialog(None, "kisubstrate spec", defaultDir=start,
                               wildcard="kisubstrate spec (*.yaml;*.yml)|*.yaml;*.yml") as dlg:
                return dlg.GetPath() if dlg.ShowModal() == wx.ID_OK else None

        try:
            outcome = swig_logic.run(pcbnew, pcbnew.GetBoard(), choose_spec=choose)
        except Exception as exc:  # noqa: BLE001 - a message in KiCad, not a traceback dialog
            outcome = swig_logic.Outcome(False, f"kisubstrate failed: {type(exc).__name__}: {exc}")
        swig_logic.log(outcome)
        if not os.environ.get("KISUBSTRATE_PLUGIN_AUTO"):
            wx.MessageBox(outcome.message, "kisubstrate",
                          wx.OK | (wx.ICON_INFORMATION if outcome.ok else wx.ICON_WARNING))


KisubstrateFootprintAction().register()
