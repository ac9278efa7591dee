"""IPC land tables are data (kisubstrate/data/ipc/*.yaml): each file cites its source, is read once and
validated by the model layer (kisubstrate.model.ipc), and gives the lands the code gave before."""

from __future__ import annotations

import pytest
import yaml
from kisubstrate.model.datafile import data_path
from kisubstrate.model.errors import SpecError
from kisubstrate.model.ipc import bga_land_factors, bga_land_table, nolead_fillets
from kisubstrate.model.land import land_diameter

IPC_FILES = sorted(data_path("ipc").glob("*.yaml"))


def test_the_tables_are_data_files_that_cite_their_source():
    assert [p.name for p in IPC_FILES] == ["ipc7351b-bga-lands.yaml", "ipc7351b-nolead-fillets.yaml",
                                          "ipc7352-bga-lands.yaml"]
    for path in IPC_FILES:
        text = path.read_text(encoding="utf-8")
        assert "# Source: IPC-735" in text, path.name
        assert yaml.safe_load(text)["source"].startswith("IPC-735"), path.name


def test_the_tables_are_read_once():
    assert bga_land_table() is bga_land_table() and nolead_fillets() is nolead_fillets()
    assert bga_land_factors() is bga_land_factors()


@pytest.mark.parametrize("ball, ball_type, level, land", [
    (0.45, "collapsible", "max", 0.40), (0.45, "collapsible", "nom", 0.35), (0.45, "collapsible", "min", 0.30),
    (0.75, "non_collapsible", "max", 0.90), (0.3, "collapsible", "max", 0.25), (0.15, "non_collapsible", "min", 0.13),
])
def test_ipc7351b_lands_by_hand(ball, ball_type, level, land):
    got = land_diameter(ball, rule="ipc7351b", ball_type=ball_type, level=level)
    assert got.diameter == land and got.rule == "IPC-7351B"
    assert got.source == "IPC-7351B Tables 14-5/14-6 (via KiCad footprint generator data)"


def test_ipc7351b_gaps_are_refused_with_the_table_sizes():
    # Table 14-6 gives no non-collapsible land for 0.65 or 0.35 mm balls
    with pytest.raises(SpecError) as e:
        land_diameter(0.65, rule="ipc7351b", ball_type="non_collapsible")
    assert e.value.field == "ball_diameter"
    assert "table sizes: 0.15, 0.17, 0.2, 0.25, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.75)" in str(e.value)
    assert len(bga_land_table().collapsible) == 13 and len(bga_land_table().non_collapsible) == 11


def test_ipc7352_factors_by_hand():
    got = land_diameter(0.45, rule="ipc7352", ball_type="collapsible")  # 0.8 x 0.45 = 0.36
    assert (got.diameter, got.factor) == (0.36, "0.8 x ball 0.45 mm (collapsible), rounded to 0.01 mm")
    assert land_diameter(0.5, rule="ipc7352", ball_type="non_collapsible").diameter == 0.55  # 1.1 x 0.5
    assert got.source == "IPC-7352 Table 3-11 median material level B (via KiCad footprint generator)"


def test_nolead_goals_come_from_the_fillet_table():
    from kisubstrate.families.nolead import FILLETS, TABLE_NAME

    assert FILLETS["toe"]["nominal"] == {"toe": 0.3, "heel": 0.0, "side": -0.04, "courtyard": 0.25}  # Table 3-15
    assert FILLETS["pull_back"]["most"] == {"toe": 0.05, "heel": 0.05, "side": 0.05, "courtyard": 0.5}  # 3-18
    assert TABLE_NAME == {"toe": "IPC-7351B Table 3-15 (flat no-lead, toe fillet)",
                          "pull_back": "IPC-7351B Table 3-18 (flat no-lead, pull-back)"}
    assert set(FILLETS) == set(nolead_fillets().tables)


def test_a_broken_table_is_one_located_message(tmp_path):
    from kisubstrate.model.ipc import BgaLandFactors
    from kisubstrate.model.loader import validate_model

    data = yaml.safe_load(data_path("ipc", "ipc7352-bga-lands.yaml").read_text())
    data["factors"]["solder_column"] = 1.0
    with pytest.raises(SpecError) as e:
        validate_model(BgaLandFactors, data, file="ipc7352-bga-lands.yaml")
    assert e.value.field == "factors.solder_column" and e.value.file == "ipc7352-bga-lands.yaml"
