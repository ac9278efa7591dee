"""IPC action "Package footprint…": KiCad runs this file with the plugin's venv Python."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

if __name__ == "__main__":
    from kisubstrate_gui import run_action

    sys.exit(run_action("footprint"))
