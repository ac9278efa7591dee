"""Bad input: every malformed spec gives exit 2, one located human message, no traceback, no file.

Table-driven: each case is a small YAML text (plus side files where the mistake is in a
rule profile or ball map). Every case runs through the real CLI (``footprint`` and
``check``) in-process; a few also through a real subprocess (``python -m kisubstrate``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from dataclasses import field as dc_field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

BASE = {
    "bga": {"body": "[5, 5]", "pitch": "0.8", "layout": "[5, 5]", "ball_diameter": "0.4"},
    "wlcsp": {"body": "[2.6, 2.6]", "pitch": "0.4", "layout": "[6, 6]", "ball_diameter": "0.25"},
    "lga": {"body": "[8, 8]", "pitch": "1.27", "layout": "[5, 5]", "land_diameter": "0.75"},
    "pga": {"body": "[20, 20]", "pitch": "2.54", "layout": "[5, 5]", "pin_diameter": "0.46"},
}


def pkg(family: str = "bga", *, drop: tuple[str, ...] = (), **keys: str) -> str:
    """One package as YAML lines: the family's valid base spec with keys replaced (raw YAML values)."""
    values = {k: v for k, v in BASE[family].items() if k not in drop}
    values.update(keys)
    lines = [f"  - family: {family}"] + [f"    {k}: {v}" for k, v in values.items()]
    return "\n".join(lines) + "\n"


def spec(*packages: str) -> str:
    """A spec file text with the given packages."""
    return "packages:\n" + "".join(packages)


@dataclass
class Case:
    """A malformed spec and what the message must say."""

    id: str
    text: str | bytes | None  # None: no spec file is written (path does not exist / is a directory)
    reason: str
    package: str | None = None  # e.g. "#1" or "'X'"; None: file-level mistake
    field: str | None = None
    files: dict[str, str | bytes] = dc_field(default_factory=dict)  # side files next to the spec
    extra_specs: tuple[str, ...] = ()  # more spec files given after spec.yaml (names in ``files``)
    spec_is_dir: bool = False
    message_file: str = "spec.yaml"  # the file the message must name


GRID_CSV_4x4 = "A1,A2,A3,A4\nB1,B2,B3,B4\nC1,C2,C3,C4\nD1,D2,D3,D4\n"

CASES = [
    # -- the file itself ---------------------------------------------------------------------------
    Case("yaml-syntax", "packages:\n  - family: bga\n    body: [5, 5\n", "invalid YAML at line"),
    Case("yaml-tab-indent", "packages:\n\t- family: bga\n", "invalid YAML"),
    Case("yaml-bad-indent", "packages:\n  - family: bga\n   body: [5, 5]\n", "invalid YAML at line 3"),
    Case("empty-file", "", "file is empty"),
    Case("only-comments", "# a spec\n# nothing here\n", "file is empty"),
    Case("top-level-list", "- family: bga\n  body: [5, 5]\n", "top level must be a mapping with 'packages:'"),
    Case("top-level-scalar", "just some text\n", "top level must be a mapping"),
    Case("unknown-top-level-key", "package:\n" + pkg(), "unknown top-level key 'package' (did you mean 'packages'?)"),
    Case("packages-mapping", "packages:\n  family: bga\n", "'packages' must be a non-empty list", field="packages"),
    Case("packages-empty", "packages: []\n", "'packages' must be a non-empty list", field="packages"),
    Case("packages-null", "packages:\n", "'packages' must be a non-empty list", field="packages"),
    Case("defaults-list", "defaults: [1, 2]\n" + spec(pkg()), "'defaults' must be a mapping", field="defaults"),
    Case("file-not-found", None, "file not found", message_file="missing.yaml"),
    Case("directory", None, "is a directory, not a spec file", spec_is_dir=True),
    Case("not-utf8", b"packages:\n  - family: bga\n    name: caf\xe9\n", "not a UTF-8 text file"),
    # -- package shape, family, keys -------------------------------------------------------------
    Case("package-scalar", "packages:\n  - bga\n", "each package must be a mapping of keys, got str", "#1"),
    Case("package-list", "packages:\n  - [bga, 5]\n", "each package must be a mapping of keys, got list", "#1"),
    Case("family-missing", "packages:\n  - body: [5, 5]\n", "required field is missing (one of: ", "#1", "family"),
    Case("family-typo", spec(pkg().replace("family: bga", "family: bgaa")),
         "unknown family 'bgaa' (did you mean 'bga'?)", "#1", "family"),
    Case("family-unknown", spec(pkg().replace("family: bga", "family: xyz")), "unknown family 'xyz'", "#1", "family"),
    Case("family-number", spec(pkg().replace("family: bga", "family: 5")), "unknown family '5'", "#1", "family"),
    Case("key-typo", spec(pkg(ball_diamter="0.3")), "unknown key (did you mean 'ball_diameter'?)", "#1",
         "ball_diamter"),
    Case("key-wrong-case", spec(pkg(drop=("pitch",), Pitch="0.8")), "unknown key (did you mean 'pitch'?)", "#1",
         "Pitch"),
    Case("key-prefix-of-missing", spec(pkg(drop=("ball_diameter",), ball="0.4")),
         "unknown key (did you mean 'ball_diameter'?)", "#1", "ball"),
    Case("family-upper-case", spec(pkg().replace("family: bga", "family: BGA")),
         "unknown family 'BGA' (did you mean 'bga'?)", "#1", "family"),
    Case("mask-upper-case", spec(pkg(mask="NSMD")), "must be 'nsmd' or 'smd' (did you mean 'nsmd'?)", "#1", "mask"),
    Case("key-unknown", spec(pkg(colour="green")), "unknown key (known keys:", "#1", "colour"),
    Case("key-twice", spec(pkg() + "    pitch: 0.5\n"), "key given twice (lines 4 and 7)", "#1", "pitch"),
    Case("required-missing", spec(pkg(drop=("body",))), "required field is missing", "#1", "body"),
    Case("second-package-named", spec(pkg(), pkg(name="MyBGA", pitch="0")), "pitch must be > 0", "'MyBGA'",
         "pitch"),
    # -- wrong types -------------------------------------------------------------------------------
    Case("pitch-string", spec(pkg(pitch="abc")), "expected ball pitch in mm, or [x, y] (got 'abc')", "#1", "pitch"),
    Case("pitch-three", spec(pkg(pitch="[0.8, 0.8, 0.8]")), "expected ball pitch in mm, or [x, y]", "#1", "pitch"),
    Case("body-three", spec(pkg(body="[5, 5, 1]")), "must be a list of 2 values (package body x, y) (got [5, 5, 1])",
         "#1", "body"),
    Case("body-scalar", spec(pkg(body="5")), "must be a list of 2 values (package body x, y) (got 5)", "#1", "body"),
    Case("layout-fraction", spec(pkg(layout="[4.5, 5]")), "must be a whole number (got 4.5)", "#1", "layout[0]"),
    Case("height-string", spec(pkg(height="tall")), "must be a number (got 'tall')", "#1", "height"),
    Case("source-list", spec(pkg(source="[1, 2]")), "must be text (got [1, 2])", "#1", "source"),
    Case("missing-not-list", spec(pkg(missing="A1")), "must be a list (balls not populated, e.g. [A1, B2]", "#1",
         "missing"),
    Case("pitch-null", spec(pkg(pitch="")), "expected ball pitch in mm, or [x, y] (got None)", "#1", "pitch"),
    Case("body-null", spec(pkg(body="[~, 5]")), "must be a number (got None)", "#1", "body[0]"),
    Case("layout-string", spec(pkg(layout='"16x16"')), "must be a list of 2 values (columns, rows", "#1", "layout"),
    Case("missing-number", spec(pkg(missing="[1]")), "must be text (got 1)", "#1", "missing[0]"),
    Case("pitch-yes", spec(pkg(pitch="yes")), "expected a number, got True (YAML reads yes/no", "#1", "pitch"),
    Case("mask-margin-no", spec(pkg(mask_margin="no")), "expected a number, got False", "#1", "mask_margin"),
    Case("body-bool", spec(pkg(body="[on, 5]")), "expected a number, got [True, 5]", "#1", "body"),
    # -- sizes ---------------------------------------------------------------------------------------
    Case("body-negative", spec(pkg(body="[-5, 5]")), "body sides must be > 0 and <= 500 mm", "#1", "body"),
    Case("body-zero", spec(pkg(body="[5, 0]")), "body sides must be > 0 and <= 500 mm", "#1", "body"),
    # YAML 1.1 reads 1e6 (no dot) as a string; it must still be judged as the number 1 000 000
    Case("body-1e6", spec(pkg(body="[1e6, 5]")), "must be between -1000 and 1000 (lengths in mm; got 1e+06)",
         "#1", "body[0]"),
    Case("body-nan", spec(pkg(body="[.nan, 5]")), "must be a finite number (got nan)", "#1", "body[0]"),
    Case("pitch-inf", spec(pkg(pitch=".inf")), "must be a finite number (got inf)", "#1", "pitch"),
    Case("pitch-zero", spec(pkg(pitch="0")), "pitch must be > 0 and <= 100 mm (got 0)", "#1", "pitch"),
    Case("pitch-negative-y", spec(pkg(pitch="[0.8, -0.8]")), "pitch must be > 0", "#1", "pitch"),
    Case("layout-zero", spec(pkg(layout="[0, 5]")), "columns and rows must be between 1 and 400", "#1", "layout"),
    Case("layout-1000", spec(pkg(layout="[1000, 5]")), "columns and rows must be between 1 and 400", "#1",
         "layout"),
    Case("pad-negative", spec(pkg(pad_diameter="-0.3")), "must be > 0 mm (got -0.3)", "#1", "pad_diameter"),
    Case("courtyard-negative", spec(pkg(courtyard="-1")), "must be >= 0 mm (got -1)", "#1", "courtyard"),
    Case("mask-margin-absurd", spec(pkg(mask_margin="5")), "must be <= 1 mm (got 5)", "#1", "mask_margin"),
    Case("ball-equals-pitch", spec(pkg(ball_diameter="0.8")),
         "ball_diameter 0.8 mm must be smaller than the pitch 0.8 mm", "#1", "ball_diameter"),
    # YAML string trap again: '1e0' is read as the number 1.0, which is larger than the pitch
    Case("ball-1e0-string", spec(pkg(ball_diameter="1e0")),
         "ball_diameter 1 mm must be smaller than the pitch 0.8 mm", "#1", "ball_diameter"),
    Case("grid-larger-than-body", spec(pkg(body="[3, 5]")),
         "the grid spans 3.2 mm in x (offset 0) but the body is 3 mm", "#1", "body"),
    Case("offset-outside-body", spec(pkg(offset="[0, 1]")),
         "the grid spans 3.2 mm in y (offset 1) but the body is 5 mm", "#1", "offset"),
    # -- ball names and depopulation --------------------------------------------------------------
    Case("missing-I3", spec(pkg(missing="[I3]")), "ball 'I3' does not exist on a 5x5 grid (rows A..E, columns 1..5)",
         "#1", "missing"),
    Case("missing-Z1", spec(pkg(missing="[A1, Z1]")), "ball 'Z1' does not exist", "#1", "missing"),
    Case("missing-A99", spec(pkg(missing="[A99]")), "ball 'A99' does not exist", "#1", "missing"),
    Case("missing-foo", spec(pkg(missing='["foo"]')), "ball 'foo' does not exist", "#1", "missing"),
    Case("missing-A0", spec(pkg(missing="[A0]")), "ball 'A0' does not exist", "#1", "missing"),
    Case("missing-range", spec(pkg(missing='["C3:Q9"]')), "ball 'Q9' in range 'C3:Q9' does not exist", "#1",
         "missing"),
    Case("missing-everything", spec(pkg(missing='["A1:E5"]')), "every site is depopulated", "#1", "missing"),
    Case("stagger-empties-grid", spec(pkg(layout="[1, 1]", stagger="b1")), "every site is depopulated", "#1",
         "stagger"),
    Case("center-void-too-big", spec(pkg(center_void="[7, 7]")), "center_void [7, 7] is larger than the 5x5 grid",
         "#1", "center_void"),
    Case("center-void-parity", spec(pkg(center_void="[2, 3]")), "cannot be centred on a 5x5 grid", "#1",
         "center_void"),
    Case("center-void-zero", spec(pkg(center_void="[0, 1]")), "block columns and rows must be >= 1", "#1",
         "center_void"),
    Case("perimeter-too-big", spec(pkg(perimeter_rings="3")), "perimeter_rings 3 leaves no void in a 5x5 grid",
         "#1", "perimeter_rings"),
    Case("perimeter-zero", spec(pkg(perimeter_rings="0")), "must be >= 1", "#1", "perimeter_rings"),
    Case("island-without-perimeter", spec(pkg(center_island="[1, 1]")), "center_island needs perimeter_rings",
         "#1", "center_island"),
    Case("stagger-bad", spec(pkg(stagger="c1")), "must be 'a1' or 'b1' (got 'c1')", "#1", "stagger"),
    Case("row-alphabet-lower", spec(pkg(row_alphabet="abc")), "row_alphabet must be distinct upper-case letters",
         "#1", "row_alphabet"),
    # -- land rules, masks, families ---------------------------------------------------------------
    Case("ipc7351b-no-table-entry", spec(pkg(ball_diameter="0.275", land_rule="ipc7351b")),
         "IPC-7351B has no collapsible land for a 0.275 mm ball", "#1", "ball_diameter"),
    Case("land-rule-unknown", spec(pkg(land_rule="ipc9999")), "must be 'ipc7352' or 'ipc7351b'", "#1",
         "land_rule"),
    Case("ball-type-bad", spec(pkg(ball_type="hard")), "must be 'collapsible' or 'non_collapsible'", "#1",
         "ball_type"),
    Case("mask-bad", spec(pkg(mask="xyz")), "must be 'nsmd' or 'smd' (got 'xyz')", "#1", "mask"),
    Case("pga-pad-not-above-drill", spec(pkg("pga", pad_diameter="0.6")),
         "pad_diameter 0.6 mm must be larger than the drill 0.7 mm", "#1", "pad_diameter"),
    Case("pga-drill-below-pin", spec(pkg("pga", drill="0.4")), "drill 0.4 mm must be larger than pin_diameter 0.46",
         "#1", "drill"),
    Case("pga-pin-above-pitch", spec(pkg("pga", pin_diameter="2.6")),
         "pin_diameter 2.6 mm must be smaller than the pitch", "#1", "pin_diameter"),
    Case("pga-pin-absurd", spec(pkg("pga", pin_diameter="30")), "must be <= 5 mm (got 30)", "#1", "pin_diameter"),
    Case("lga-without-land", spec(pkg("lga", drop=("land_diameter",))), "an LGA needs pad_diameter", "#1",
         "pad_diameter"),
    Case("lga-land-above-pitch", spec(pkg("lga", land_diameter="1.3")), "land 1.3 mm must be smaller than the pitch",
         "#1", "land_diameter"),
    Case("lga-pad-shape", spec(pkg("lga", pad_shape="hexagon")), "must be 'circle', 'rect' or 'roundrect'", "#1",
         "pad_shape"),
    Case("wlcsp-ball-above-pitch", spec(pkg("wlcsp", ball_diameter="0.45")),
         "ball_diameter 0.45 mm must be smaller than the pitch 0.4 mm", "#1", "ball_diameter"),
    # -- rule profiles -----------------------------------------------------------------------------
    Case("rules-unknown-profile", spec(pkg(rules="ipc-defualt")), "unknown rule profile 'ipc-defualt' (shipped:",
         "#1", "rules"),
    Case("rules-substrate-profile", spec(pkg(rules="substrate-hdi")),
         "'substrate-hdi' is a substrate rule profile; footprint profiles: hdi-fine, ipc-default", "#1", "rules"),
    Case("rules-file-missing", spec(pkg(rules="my-fab.yaml")), "cannot read rule profile: No such file", "#1",
         "rules"),
    Case("rules-file-bad-yaml", spec(pkg(rules="fab.yaml")), "rule profile is not valid YAML at line 2", "#1",
         "rules", files={"fab.yaml": "copper_clearance: [0.1\n"}),
    Case("rules-file-list", spec(pkg(rules="fab.yaml")), "rule profile must be a mapping", "#1", "rules",
         files={"fab.yaml": "- 0.1\n"}),
    Case("rules-file-negative", spec(pkg(rules="fab.yaml")), "rule 'copper_clearance': must be >= 0 mm", "#1",
         "rules", files={"fab.yaml": "copper_clearance: -0.1\n"}),
    Case("rules-file-typo", spec(pkg(rules="fab.yaml")),
         "rule 'copper_clearence': unknown key (did you mean 'copper_clearance'?)", "#1", "rules",
         files={"fab.yaml": "copper_clearence: 0.1\n"}),
    # -- ball maps ---------------------------------------------------------------------------------
    Case("ball-map-missing", spec(pkg(ball_map="balls.csv")), "cannot read ball map", "#1", "ball_map"),
    Case("ball-map-shape", spec(pkg(ball_map="balls.csv")), "is 4x4 (columns x rows) but layout is 5x5", "#1",
         "ball_map", files={"balls.csv": GRID_CSV_4x4}),
    Case("ball-map-duplicate-names", spec(pkg(ball_map="balls.csv", layout="[4, 4]")), "names used twice: A2",
         "#1", "ball_map", files={"balls.csv": GRID_CSV_4x4.replace("A1,", "A2,")}),
    Case("ball-map-list-unknown-ball", spec(pkg(ball_map="nets.csv")),
         "names balls that do not exist on a 5x5 grid: Z9", "#1", "ball_map",
         files={"nets.csv": "ball,net\nA1,GND\nZ9,VCC\n"}),
    Case("ball-map-list-depopulated-ball", spec(pkg(ball_map="nets.csv", missing="[A1]")),
         "ball map names balls that are not on the footprint: A1", "#1", "ball_map",
         files={"nets.csv": "ball,net\nA1,GND\nA2,VCC\n"}),
    Case("ball-map-list-twice", spec(pkg(ball_map="nets.csv")), "ball A1 listed twice", "#1", "ball_map",
         files={"nets.csv": "ball,net\nA1,GND\nA1,VCC\n"}),
    Case("ball-map-bad-header", spec(pkg(ball_map="nets.csv")), "a list map needs the header 'ball,net'", "#1",
         "ball_map", files={"nets.csv": "ball,colour\nA1,red\n"}),
    Case("ball-map-empty", spec(pkg(ball_map="nets.csv")), "is empty", "#1", "ball_map", files={"nets.csv": "\n"}),
    Case("ball-map-not-utf8", spec(pkg(ball_map="nets.csv")), "is not UTF-8 text", "#1", "ball_map",
         files={"nets.csv": b"ball,net\nA1,caf\xe9\n"}),
    # -- names and files ---------------------------------------------------------------------------
    Case("duplicate-names", spec(pkg(name="X"), pkg(name="X", pitch="0.9")),
         "two packages produce the same name 'X' (#1 and #2)", "'X'", "name"),
    Case("duplicate-default-names", spec(pkg(), pkg()), "two packages produce the same name 'BGA-25_5.0x5.0mm",
         "#2", "name"),
    Case("duplicate-across-files", spec(pkg(name="X")), "name 'X' is also produced by", "'X'", "name",
         files={"other.yaml": spec(pkg(name="X", pitch="0.9"))}, extra_specs=("other.yaml",),
         message_file="other.yaml"),
    Case("name-slash", spec(pkg(name="../evil")), "no spaces or slashes: it becomes the file name", "'../evil'",
         "name"),
    Case("name-absolute", spec(pkg(name="/tmp/evil")), "no spaces or slashes", "'/tmp/evil'", "name"),
    Case("name-too-long", spec(pkg(name="A" * 300)), "must be at most 200 characters",
         "'" + "A" * 37 + "…' (300 characters)",
         "name"),
    Case("name-spaces", spec(pkg(name='"my part"')), "no spaces or slashes", "'my part'", "name"),
]

IDS = [c.id for c in CASES]
assert len(set(IDS)) == len(IDS), "case ids must be unique"
assert len(CASES) >= 40


def _materialise(case: Case, tmp: Path) -> list[Path]:
    """Write the case's files into ``tmp``; return the spec paths to pass to the CLI."""
    for name, content in case.files.items():
        data = content.encode() if isinstance(content, str) else content
        (tmp / name).write_bytes(data)
    main = tmp / ("missing.yaml" if case.text is None and not case.spec_is_dir else "spec.yaml")
    if case.spec_is_dir:
        main.mkdir()
    elif case.text is not None:
        main.write_bytes(case.text.encode() if isinstance(case.text, str) else case.text)
    return [main] + [tmp / n for n in case.extra_specs]


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def assert_one_located_error(case: Case, tmp: Path, code: int, out: str, err: str) -> str:
    """Exit 2, nothing on stdout, exactly one ``error:`` line naming file / package / field + reason."""
    assert code == 2, f"exit {code}\nstdout: {out}\nstderr: {err}"
    assert "Traceback" not in out + err and "internal error" not in err
    assert out.strip() == ""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, lines
    line = lines[0]
    assert line.startswith("error: ")
    assert f"{tmp / case.message_file}: " in line, line
    if case.package is not None:
        assert f"package {case.package}" in line, line
    if case.field is not None:
        assert f"field '{case.field}'" in line, line
    assert case.reason in line, line
    return line


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_bad_input_footprint_and_check(case: Case, tmp_path: Path, cli_runner) -> None:
    specs = _materialise(case, tmp_path)
    before = _tree(tmp_path)
    out_lib = tmp_path / "out" / "Lib.pretty"
    code, out, err = cli_runner("footprint", *specs, "-o", out_lib)
    assert_one_located_error(case, tmp_path, code, out, err)
    assert not out_lib.exists(), "nothing may be written on invalid input"
    assert _tree(tmp_path) == before, "no file may appear anywhere (names must never escape the folder)"
    code, out, err = cli_runner("check", *specs, "--format", "json")
    assert_one_located_error(case, tmp_path, code, out, err)


def test_messages_name_the_package_line(tmp_path: Path, cli_runner) -> None:
    """The package label carries the YAML line of the offending key (easy to find in a long file)."""
    (tmp_path / "spec.yaml").write_text(spec(pkg(), pkg(name="Second", pitch="0")))
    code, _, err = cli_runner("check", tmp_path / "spec.yaml")
    assert code == 2
    assert err.strip() == (f"error: {tmp_path / 'spec.yaml'}: package 'Second' (line 9): field 'pitch': "
                           "pitch must be > 0 and <= 100 mm (got 0)")


def test_yaml_exponent_without_dot_is_a_number(tmp_path: Path, cli_runner) -> None:
    """YAML 1.1 reads ``8e-1`` as a string; the spec must still mean 0.8 mm (same file as ``0.8``)."""
    (tmp_path / "a.yaml").write_text(spec(pkg(pitch="8e-1", name="P")))
    (tmp_path / "b.yaml").write_text(spec(pkg(pitch="0.8", name="P")))
    # the same library name (the 3D model path names it), two folders
    assert cli_runner("footprint", tmp_path / "a.yaml", "-o", tmp_path / "a" / "L.pretty")[0] == 0
    assert cli_runner("footprint", tmp_path / "b.yaml", "-o", tmp_path / "b" / "L.pretty")[0] == 0
    assert (tmp_path / "a" / "L.pretty" / "P.kicad_mod").read_bytes() == \
        (tmp_path / "b" / "L.pretty" / "P.kicad_mod").read_bytes()


def test_output_folder_must_be_pretty(tmp_path: Path, cli_runner) -> None:
    (tmp_path / "spec.yaml").write_text(spec(pkg()))
    code, out, err = cli_runner("footprint", tmp_path / "spec.yaml", "-o", tmp_path / "out")
    assert code == 2 and err.startswith("error: output ") and "ending in .pretty" in err
    assert not (tmp_path / "out").exists()


def test_valid_base_specs_pass(tmp_path: Path, cli_runner) -> None:
    """The base specs the cases mutate are valid themselves (so each case fails for its own reason)."""
    (tmp_path / "spec.yaml").write_text(spec(*(pkg(f) for f in BASE)))
    code, out, err = cli_runner("check", tmp_path / "spec.yaml")
    assert (code, err) == (0, ""), out + err
    assert out.count(": OK (") == len(BASE)


# -- through a real process ---------------------------------------------------------------------------
SUBPROCESS_CASES = ["yaml-syntax", "key-typo", "missing-I3", "name-slash", "rules-file-negative", "pitch-yes"]


def _run_cli(*args: str, entry: list[str]) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT / "generators"))
    env.pop("KISUBSTRATE_DEBUG", None)
    return subprocess.run([*entry, *args], capture_output=True, text=True, env=env, timeout=120)


@pytest.mark.parametrize("case_id", SUBPROCESS_CASES)
def test_bad_input_subprocess(case_id: str, tmp_path: Path) -> None:
    case = CASES[IDS.index(case_id)]
    specs = _materialise(case, tmp_path)
    before = _tree(tmp_path)
    r = _run_cli("footprint", *map(str, specs), "-o", str(tmp_path / "o.pretty"), entry=[sys.executable, "-m",
                                                                                        "kisubstrate"])
    assert_one_located_error(case, tmp_path, r.returncode, r.stdout, r.stderr)
    assert _tree(tmp_path) == before


def test_bad_input_console_script(tmp_path: Path) -> None:
    """The ``kisubstrate`` console script (pyproject [project.scripts]) behaves the same.

    Uses the installed script when present (CI installs the project); otherwise runs the
    entry point the script would call, as the script does.
    """
    import tomllib

    target = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]["kisubstrate"]
    module, func = target.split(":")
    exe = shutil.which("kisubstrate")
    beside = Path(sys.executable).parent / "kisubstrate"
    if exe is None and beside.exists():
        exe = str(beside)
    entry = [exe] if exe else [sys.executable, "-c",
                               f"import sys; sys.argv[0] = 'kisubstrate'; from {module} import {func}; {func}()"]
    case = CASES[IDS.index("missing-Z1")]
    specs = _materialise(case, tmp_path)
    r = _run_cli("check", *map(str, specs), entry=entry)
    assert_one_located_error(case, tmp_path, r.returncode, r.stdout, r.stderr)


def test_footprint_and_substrate_profiles_are_kept_apart(tmp_path: Path, cli_runner) -> None:
    """The shipped folder holds both kinds; messages list only the kind the field takes."""
    from kisubstrate.model.errors import SpecError
    from kisubstrate.model.rules import available_profiles, load_rules
    from kisubstrate.model.substrate import load_substrate_rules

    assert available_profiles() == ["hdi-fine", "ipc-default"]
    with pytest.raises(SpecError) as e:
        load_rules("ipc-defualt")
    assert "shipped: hdi-fine, ipc-default;" in str(e.value) and "substrate-" not in str(e.value)
    with pytest.raises(SpecError) as e:
        load_substrate_rules("ipc-default")
    assert "'ipc-default' is a footprint rule profile; substrate profiles: substrate-buildup, substrate-hdi, " \
        "substrate-wlp" in str(e.value) and e.value.field == "rules"
    assert load_substrate_rules("substrate-hdi").name == "substrate-hdi"
    from conftest import EXAMPLES

    code, out, err = cli_runner("check", EXAMPLES / "bga.yaml", "--rules", "substrate-buildup")
    assert code == 2 and "no substrate families in the given specs ('substrate-buildup' is a substrate rule " \
        "profile" in err and err.count("\n") == 1, (out, err)


@pytest.mark.parametrize("command", ["fab", "render"])
def test_kicad_cli_exit_0_without_output_is_an_input_error(command: str, tmp_path: Path, cli_runner,
                                                           monkeypatch) -> None:
    """kicad-cli's exit code is not trusted (KiCad 10 exits 0 after "Failed to create file"): a run that
    wrote nothing stops the command with one message naming what is missing (exit 2)."""
    from conftest import EXAMPLES

    assert cli_runner("substrate", EXAMPLES / "buildup.yaml", "-o", tmp_path / "b")[0] == 0
    fake = tmp_path / "bin" / "kicad-cli"
    fake.parent.mkdir()
    fake.write_text('#!/bin/sh\nif [ "$1" = version ]; then echo 10.0.6; exit 0; fi\n'
                    'echo "Failed to create file" >&2; exit 0\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    code, _out, err = cli_runner(command, tmp_path / "b")
    assert code == 2 and err.count("\n") == 1 and "wrote no" in err and "Failed to create file" in err, err
