"""Hostile input, point by point (issue 15): each limit refused one step past it and accepted at it.

Every refusal is exit 2 with one ``error:`` line naming the file (and the package and field where
there is one), at most ~300 characters, nothing written. The limits: :data:`yamlio.MAX_DEPTH`,
:data:`yamlio.MAX_NODES` (alias expansion), :data:`base.MAX_TEXT`, :data:`base.MAX_NUMBER`,
the paste grid (1..20) and the file sizes of :mod:`kisubstrate.model.datafile`.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from kisubstrate.model import yamlio
from kisubstrate.model.base import MAX_NUMBER, MAX_TEXT
from kisubstrate.model.datafile import MAX_YAML_BYTES
from kisubstrate.model.errors import MAX_MESSAGE, SpecError, clip

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "footprints" / "examples"
BGA = "  - family: bga\n    body: [5, 5]\n    pitch: 0.8\n    layout: [5, 5]\n    ball_diameter: 0.4\n"
QFN = ('  - family: qfn\n    leads: 32\n    pitch: 0.5\n    body: "5 +/- 0.1"\n    lead_width: "0.18 .. 0.30"\n'
       '    lead_length: "0.30 .. 0.50"\n    exposed_pad: "2.95 .. 3.10 .. 3.25"\n')


def refused(cli_runner, tmp_path: Path, text: str | bytes, *, command: str = "footprint", reason: str,
            field: str | None = None, name: str = "spec.yaml") -> str:
    spec = tmp_path / name
    spec.write_bytes(text.encode() if isinstance(text, str) else text)
    _side_files(tmp_path)
    before = sorted(tmp_path.rglob("*"))
    out = tmp_path / ("out.pretty" if command == "footprint" else "out")
    code, stdout, err = cli_runner(command, spec, "-o", out)
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert (code, stdout, len(lines)) == (2, "", 1), (code, stdout, err[:2000])
    line = lines[0]
    assert line.startswith(f"error: {spec}: ") and "Traceback" not in err
    assert len(line) <= len("error: ") + MAX_MESSAGE, len(line)
    assert reason in line, line
    if field:
        assert f"field '{field}'" in line, line
    assert sorted(tmp_path.rglob("*")) == before, "nothing may be written"
    return line


def _side_files(folder: Path) -> None:
    """The examples' CSV files beside a spec made from an example."""
    for csv in EXAMPLES.glob("*.csv"):
        if not (folder / csv.name).exists():
            (folder / csv.name).write_bytes(csv.read_bytes())


def accepted(cli_runner, tmp_path: Path, text: str, command: str = "footprint") -> None:
    _side_files(tmp_path)
    spec = tmp_path / "ok.yaml"
    spec.write_text(text)
    out = tmp_path / ("ok.pretty" if command == "footprint" else "ok")
    code, _, err = cli_runner(command, spec, "-o", out, *(["--no-models"] if command == "footprint" else []))
    assert code == 0, err


# -- YAML --------------------------------------------------------------------------------------------
def nested(depth: int) -> str:
    """A spec whose `missing` list nests ``depth`` levels in all (packages list and package map included)."""
    inner = depth - 3  # the top-level mapping, the packages list and the package mapping hold `missing`
    return "packages:\n" + BGA + "    missing: " + "[" * inner + "]" * inner + "\n"


def test_nesting_limit(tmp_path: Path, cli_runner) -> None:
    # at the limit the YAML loads (the model then refuses the value); one level more is refused as YAML
    line = refused(cli_runner, tmp_path, nested(yamlio.MAX_DEPTH), reason="must be text", field="missing[0]")
    assert "nested deeper" not in line
    refused(cli_runner, tmp_path, nested(yamlio.MAX_DEPTH + 1),
            reason=f"invalid YAML at line 7, column {14 + yamlio.MAX_DEPTH - 3}: nested deeper than "
                   f"{yamlio.MAX_DEPTH} levels (the limit)")
    refused(cli_runner, tmp_path, "packages: " + "[" * 100_000, reason="nested deeper than")


def test_recursive_alias_and_alias_bomb(tmp_path: Path, cli_runner) -> None:
    refused(cli_runner, tmp_path, "packages:\n" + BGA + "    missing: &r [*r]\n",
            reason="an alias refers to the list or mapping that holds it")
    levels = ["&a0 [" + ", ".join(["lol"] * 10) + "]"] + \
        [f"&a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    bomb = "defaults:\n  source: [" + ", ".join(levels) + "]\npackages:\n" + BGA
    refused(cli_runner, tmp_path, bomb, reason="aliases expand to more than 200,000 values (the limit)")


def test_alias_budget_boundary() -> None:
    """An alias tree of exactly MAX_NODES values loads; one more value is refused."""
    n = yamlio.MAX_NODES
    # root map (1) + key 'a' (1) + list (1) + leaves, and key 'b' (1) + alias of the list
    leaves = (n - 4) // 2 - 1
    text = f"a: &x [{', '.join(['0'] * leaves)}]\nb: *x\n"
    size = 1 + 2 * (1 + (1 + leaves))
    assert size <= n
    assert len(yamlio.safe_load(text)["b"]) == leaves
    over = f"a: &x [{', '.join(['0'] * (leaves + (n - size) // 2 + 1))}]\nb: *x\n"
    with pytest.raises(yamlio.YamlLimitError, match="aliases expand"):
        yamlio.safe_load(over)


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system ['touch pwned']", "!!binary aGk=", "!foo 1",
                                 "!!str 0.8"])
def test_tags_refused(tmp_path: Path, cli_runner, tag: str) -> None:
    refused(cli_runner, tmp_path, "packages:\n" + BGA + f"    source: {tag}\n", reason="YAML tags are not allowed")
    assert not (tmp_path / "pwned").exists()


def test_duplicate_keys_at_every_level(tmp_path: Path, cli_runner) -> None:
    refused(cli_runner, tmp_path, "packages:\n" + BGA + "packages:\n" + BGA,
            reason="key 'packages' given twice (lines 1 and 7); keep one")
    cavity = (EXAMPLES / "cavity.yaml").read_text().replace("        face: up\n",
                                                          "        face: up\n        face: down\n")
    refused(cli_runner, tmp_path, cavity, command="substrate", reason="key 'face' given twice")


# -- text -------------------------------------------------------------------------------------------
def test_control_characters_refused_in_every_text(tmp_path: Path, cli_runner) -> None:
    refused(cli_runner, tmp_path, "packages:\n" + BGA + '    source: "x\\0y"\n', field="source",
            reason="must not hold control characters (\\x00 at character 2)")
    line = refused(cli_runner, tmp_path, "packages:\n" + BGA + '    source: "line\\nbreak"\n', field="source",
                   reason="must not hold control characters")
    assert "'line\\nbreak'" in line  # shown escaped, on one line
    # a material name of a substrate stack-up, parsed text (a toleranced size)
    pop = (EXAMPLES / "pop_side_trace.yaml").read_text().replace("material: BT", 'material: "B\\0T"', 1)
    refused(cli_runner, tmp_path, pop, command="substrate", reason="must not hold control characters")
    refused(cli_runner, tmp_path, "packages:\n" + QFN.replace('"0.18 .. 0.30"', '"0.1\\n8 .. 0.30"'),
            field="lead_width", reason="must not hold control characters")


def test_csv_cells_checked(tmp_path: Path, cli_runner) -> None:
    (tmp_path / "nets.csv").write_text("ball,net\nA1,GND\nA2,V\x00CC\n")
    refused(cli_runner, tmp_path, "packages:\n" + BGA + "    ball_map: nets.csv\n", field="ball_map",
            reason="nets.csv' line 3: a cell must not hold control characters")


def test_text_length_limit(tmp_path: Path, cli_runner) -> None:
    accepted(cli_runner, tmp_path, "packages:\n" + BGA + f"    source: {'é' * 500}\n")  # the field's own limit
    line = refused(cli_runner, tmp_path, "packages:\n" + BGA + f"    source: {'é' * 400_000}\n", field="source",
                   reason=f"must be at most {MAX_TEXT} characters (got 'éé")
    assert line.endswith("…' (400,000 characters))")
    refused(cli_runner, tmp_path, "packages:\n" + BGA + f"    source: {'é' * 501}\n", field="source",
            reason="must be at most 500 characters")
    # every text (here a CSV net name) at most MAX_TEXT characters
    (tmp_path / "nets.csv").write_text(f"ball,net\nA1,{'N' * MAX_TEXT}\n")
    accepted(cli_runner, tmp_path, "packages:\n" + BGA + "    ball_map: nets.csv\n")
    (tmp_path / "nets.csv").write_text(f"ball,net\nA1,{'N' * (MAX_TEXT + 1)}\n")
    refused(cli_runner, tmp_path, "packages:\n" + BGA + "    ball_map: nets.csv\n", field="ball_map",
            reason=f"line 2: a cell must be at most {MAX_TEXT} characters")
    # a 100,000-character rule profile name: the field is named, not "cannot write"
    refused(cli_runner, tmp_path, "packages:\n" + BGA + f"    rules: {'r' * 100_000}\n", field="rules",
            reason="(100,000 characters)")


def test_file_size_limit(tmp_path: Path, cli_runner) -> None:
    text = "packages:\n" + BGA
    refused(cli_runner, tmp_path, text + "#" * (MAX_YAML_BYTES - len(text) + 1),
            reason=f"spec file is {MAX_YAML_BYTES + 1:,} bytes; the limit is {MAX_YAML_BYTES:,} bytes")
    accepted(cli_runner, tmp_path, text + "#" * (MAX_YAML_BYTES - len(text)))


# -- numbers ------------------------------------------------------------------------------------------
def test_paste_grid_limit(tmp_path: Path, cli_runner) -> None:
    refused(cli_runner, tmp_path, "packages:\n" + QFN + "    ep_paste_grid: [1000000000, 3]\n",
            field="ep_paste_grid[0]", reason="must be between -1,000,000 and 1,000,000 (got 1e+09)")
    refused(cli_runner, tmp_path, "packages:\n" + QFN + "    ep_paste_grid: [21, 3]\n", field="ep_paste_grid[0]",
            reason="must be <= 20 (got 21)")
    accepted(cli_runner, tmp_path, "packages:\n" + QFN + "    ep_paste_grid: [20, 3]\n")


def test_decimal_limit(tmp_path: Path, cli_runner) -> None:
    qfn = QFN.replace("    pitch: 0.5\n", "")
    refused(cli_runner, tmp_path, "packages:\n" + qfn + f"    pitch: 0.5\n    pad_span: [{MAX_NUMBER + 0.001}, 1]\n",
            field="pad_span[0]", reason="must be between -1000 and 1000")
    refused(cli_runner, tmp_path, "packages:\n" + BGA + "    height: .nan\n", field="height",
            reason="must be a finite number")


# -- substrate, cavity, PoP ---------------------------------------------------------------------------
def test_substrate_loads_footprint_rules(tmp_path: Path, cli_runner) -> None:
    (tmp_path / "fp.yaml").write_text("copper_clearance: .nan\n")
    spec = (EXAMPLES / "buildup.yaml").read_text()
    spec = spec.replace("    rules: ", "    footprint_rules: fp.yaml\n    rules: ", 1)
    assert "footprint_rules: fp.yaml" in spec
    refused(cli_runner, tmp_path, spec, command="substrate", field="footprint_rules",
            reason="rule 'copper_clearance': must be a finite number")


def test_unknown_nested_key_lists_that_level(tmp_path: Path, cli_runner) -> None:
    spec = (EXAMPLES / "cavity.yaml").read_text()
    spec = spec.replace("          size: 0.08\n", "          size: 0.08\n          colour: 1\n")
    line = refused(cli_runner, tmp_path, spec, command="substrate", reason="unknown key (known keys: peripheral, area")
    assert "family" not in line.split("unknown key")[1]


def test_cavity_ball_map_land_net_list(tmp_path: Path, cli_runner) -> None:
    data = yaml.safe_load((EXAMPLES / "cavity.yaml").read_text())
    # the example's pinout as a land,net list (header "land"), with its net IO4 (land A4) renamed VCC
    rows = (EXAMPLES / "cavity_balls.csv").read_text().replace("ball,net", "land,net", 1)
    (tmp_path / "lands.csv").write_text(rows.replace("\nA4,IO4\n", "\nA4,VCC\n", 1))
    (tmp_path / "cavity_pads.csv").write_text((EXAMPLES / "cavity_pads.csv").read_text().replace(",IO4\n", ",VCC\n"))
    data["packages"][0]["lands"]["ball_map"] = "lands.csv"
    spec = tmp_path / "ok.yaml"
    spec.write_text(yaml.safe_dump(data))
    code, _, err = cli_runner("substrate", spec, "-o", tmp_path / "out")
    assert code == 0, err
    board = (tmp_path / "out" / (data["packages"][0]["name"] + ".kicad_pcb")).read_text()
    assert '"VCC"' in board  # the net of land A2, from the land,net list


def test_pop_top_land_pitch_below_ball(tmp_path: Path, cli_runner) -> None:
    spec = (EXAMPLES / "pop.yaml").read_text()
    spec = spec.replace("    top_lands:                   # PoP lands on the second carrier (L1) for the memory "
                        "package\n      pitch: 0.65\n", "    top_lands:\n      pitch: 0.25\n")
    assert "pitch: 0.25" in spec
    refused(cli_runner, tmp_path, spec, command="footprint", field="top_lands.ball_diameter",
            reason="ball_diameter 0.3 mm must be smaller than the pitch 0.25 mm")
    refused(cli_runner, tmp_path, spec, command="substrate", field="top_lands", reason="top land A1")


def test_models_template_checked(tmp_path: Path, cli_runner) -> None:
    (tmp_path / "spec.yaml").write_text("packages:\n" + BGA)
    code, out, err = cli_runner("footprint", tmp_path / "spec.yaml", "-o", tmp_path / "o" / "L.pretty", "--models",
                                "x\x01/{lib}/{name}")
    assert (code, out) == (2, "")
    assert err.strip() == ("error: field 'models': models template must not hold control characters (\\x01 at "
                           "character 2) (got 'x\\x01/{lib}/{name}')")
    assert not (tmp_path / "o").exists()


# -- properties ---------------------------------------------------------------------------------------
text_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=300),
                           lambda inner: st.lists(inner, max_size=10) | st.dictionaries(st.text(max_size=10), inner,
                                                                                        max_size=5),
                           max_leaves=30)


@settings(max_examples=100, deadline=None)
@given(value=text_values, limit=st.integers(8, 120))
def test_clip_is_one_bounded_line(value, limit: int) -> None:
    """Any value a file can hold is shown on one line, bounded by the limit (plus the length note)."""
    shown = clip(value, limit)
    assert "\n" not in shown and "\r" not in shown and "\x00" not in shown
    assert len(shown) <= 2 * limit + 30


@settings(max_examples=100, deadline=None)
@given(reason=st.text(max_size=1000), field=st.text(max_size=200), package=st.text(max_size=200))
def test_spec_error_is_one_line_of_bounded_length(reason: str, field: str, package: str) -> None:
    text = str(SpecError(reason, file="/a/spec.yaml", package=package or None, field=field or None))
    assert len(text.splitlines()) <= 1 and not any(c in text for c in "\x00\r\n\x1b\u2028")
    assert len(text) <= MAX_MESSAGE + 20


@settings(max_examples=100, deadline=None)
@given(text=st.text(alphabet=st.sampled_from(list("[]{}&*!:,- \n'\"ab1#|>")), max_size=200))
def test_yaml_loader_raises_only_yaml_errors(text: str) -> None:
    """Arbitrary YAML-ish text loads or raises a yaml error — never RecursionError, MemoryError or a hang."""
    try:
        yamlio.safe_load(text)
    except yaml.YAMLError:
        pass
