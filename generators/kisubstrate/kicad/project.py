"""``.kicad_pro`` (partial JSON: rule minima, net classes, severities) and ``.kicad_dru`` writers.

Every DRC severity is written (:data:`KICAD_SEVERITIES`): KiCad 10 changed some defaults and added
checks, and a board must give the same DRC result in KiCad 9 and 10.

KiCad fills every key the partial project leaves out with its defaults. Board-setup
minima apply even when a custom rule is looser, so they are set from the substrate
profile. Creepage is switched off (new in KiCad 9, on by default, and super-linear).
Every number in the ``.kicad_dru`` carries a unit: one bare number makes KiCad drop the
whole file silently (a test appends a canary rule to prove the file is applied).

Example:
    >>> from kisubstrate.model.substrate import load_substrate_rules
    >>> text = write_dru(load_substrate_rules("substrate-buildup"))
    >>> "(constraint hole_size (min 0.06mm))" in text
    True
"""

from __future__ import annotations

import json
import math

from kisubstrate.model.units import fmt

KICAD_SEVERITIES = {
    "annular_width": "error", "clearance": "error", "connection_width": "warning", "copper_edge_clearance": "error",
    "copper_sliver": "warning", "courtyards_overlap": "error", "creepage": "error",
    "diff_pair_gap_out_of_range": "error", "diff_pair_uncoupled_length_too_long": "error",
    "drill_out_of_range": "error", "duplicate_footprints": "warning", "extra_footprint": "warning",
    "footprint": "error", "footprint_filters_mismatch": "ignore", "footprint_symbol_mismatch": "warning",
    "footprint_type_mismatch": "ignore", "hole_clearance": "error", "hole_to_hole": "warning",
    "holes_co_located": "warning", "invalid_outline": "error", "isolated_copper": "warning",
    "item_on_disabled_layer": "error", "items_not_allowed": "error", "length_out_of_range": "error",
    "lib_footprint_issues": "warning", "lib_footprint_mismatch": "warning", "malformed_courtyard": "error",
    "microvia_drill_out_of_range": "error", "mirrored_text_on_front_layer": "warning", "missing_courtyard": "ignore",
    "missing_footprint": "warning", "net_conflict": "warning", "nonmirrored_text_on_back_layer": "warning",
    "npth_inside_courtyard": "ignore", "padstack": "warning", "pth_inside_courtyard": "ignore",
    "shorting_items": "error", "silk_edge_clearance": "warning", "silk_over_copper": "warning",
    "silk_overlap": "warning", "skew_out_of_range": "error", "solder_mask_bridge": "error",
    "starved_thermal": "error", "text_height": "warning", "text_on_edge_cuts": "error",
    "text_thickness": "warning", "through_hole_pad_without_hole": "error", "too_many_vias": "error",
    "track_angle": "error", "track_dangling": "warning", "track_segment_length": "error", "track_width": "error",
    "tracks_crossing": "error", "unconnected_items": "error", "unresolved_variable": "error",
    "via_dangling": "warning", "zones_intersect": "error",
    # new in KiCad 10 (its defaults; KiCad 9 ignores keys it does not know)
    "footprint_symbol_field_mismatch": "warning", "missing_tuning_profile": "warning",
    "track_not_centered_on_via": "ignore", "track_on_post_machined_layer": "error",
    "tuning_profile_track_geometries": "ignore",
}
"""Every DRC rule severity of KiCad 9 and 10 (``board.design_settings.rule_severities``): KiCad 9.0.8's
defaults, and KiCad 10.0.6's for its new checks. KiCad 10 raised ``pth_inside_courtyard`` and
``npth_inside_courtyard`` from ignore to error; they stay at 9's ``ignore`` here. Every key is written
into the ``.kicad_pro``, so a board's DRC result does not depend on the release's defaults."""
SEVERITY_OVERRIDES = {"creepage": "ignore", "lib_footprint_issues": "ignore", "lib_footprint_mismatch": "ignore",
                      "missing_courtyard": "ignore", "isolated_copper": "warning", "hole_to_hole": "error"}
"""What a substrate project changes: creepage off (super-linear, no high voltage), no library checks (board
footprints are generated, not from a library), ``hole_to_hole`` an error."""
SEVERITY_KEYS = tuple(sorted(KICAD_SEVERITIES))
"""DRC rule-severity keys of KiCad 9 and 10."""


def write_project(name: str, rules, *, width: float, micro, only: tuple[str, ...] | None = None) -> str:
    """The partial ``.kicad_pro`` JSON text.

    Args:
        name: the project name (the file stem of ``<name>.kicad_pro``).
        rules: a :class:`~kisubstrate.model.substrate.SubstrateRules`; its minima (mm) become the
            board's design-rule minima and the Default net class clearance and via sizes.
        width: routed trace width (mm) for the Default net class.
        micro: microvia :class:`~kisubstrate.model.substrate.ViaSize`.
        only: if given, every DRC test except these is set to ``ignore`` (e.g. ``("clearance",)``).
    """
    severities = {**KICAD_SEVERITIES, **SEVERITY_OVERRIDES}
    if only is not None:
        severities = {k: ("error" if k in only else "ignore") for k in SEVERITY_KEYS}
    # always the profile's minima: a spec may choose bigger vias / wider traces, never weaker rules
    min_via = min(rules.via_pad, rules.microvia_pad)
    data = {
        "board": {"design_settings": {
            "rules": {
                "min_clearance": rules.clearance, "min_track_width": rules.trace_width,
                "min_via_annular_width": rules.annular_ring, "min_via_diameter": min_via,
                "min_through_hole_diameter": min(rules.via_drill, rules.microvia_drill),
                "min_microvia_diameter": rules.microvia_pad, "min_microvia_drill": rules.microvia_drill,
                "min_hole_to_hole": rules.hole_to_hole, "min_hole_clearance": rules.clearance,
                "min_copper_edge_clearance": rules.copper_to_edge, "min_connection": 0.0,
                "min_text_height": 0.1, "min_text_thickness": 0.01, "solder_mask_to_copper_clearance": 0.0,
                "min_groove_width": 0.0, "min_resolved_spokes": 1, "min_silk_clearance": 0.0},
            "rule_severities": dict(sorted(severities.items()))}},
        "meta": {"filename": f"{name}.kicad_pro", "version": 3},
        "net_settings": {"classes": [{
            "name": "Default", "clearance": rules.clearance, "track_width": width,
            "via_diameter": rules.via_pad, "via_drill": rules.via_drill,
            "microvia_diameter": micro.pad, "microvia_drill": micro.drill,
            "diff_pair_gap": rules.clearance, "diff_pair_width": width, "diff_pair_via_gap": rules.clearance,
            "wire_width": 6, "bus_width": 12, "line_style": 0, "priority": 2147483647,
            "pcb_color": "rgba(0, 0, 0, 0.000)", "schematic_color": "rgba(0, 0, 0, 0.000)"}],
            "meta": {"version": 4}},
    }
    return json.dumps(data, indent=2) + "\n"


def mm(value: float) -> str:
    """A length with its unit for ``.kicad_dru`` (never a bare number)."""
    return f"{fmt(value)}mm"


def write_dru(rules, *, micro=None, width: float | None = None, extra: str = "",
              pairs: tuple[tuple[str, str, float], ...] = ()) -> str:
    """The ``.kicad_dru`` text: microvia sizes, trace width, clearance and hole rules (units on every number).

    The rules are always the profile's minima, whatever sizes the spec chose.

    Args:
        rules: a :class:`~kisubstrate.model.substrate.SubstrateRules` (lengths in mm).
        micro: the spec's microvia :class:`~kisubstrate.model.substrate.ViaSize`; accepted for the
            callers' signature, not used (the profile's microvia minima are written).
        width: the spec's routed trace width (mm); accepted likewise, not used (the profile's
            ``trace_width`` is written).
        extra: text appended as it is (e.g. a family's own rules, every number with its unit).
        pairs: (upper KiCad layer, lower KiCad layer, microvia depth in mm) per microvia layer pair;
            each gets a rule whose minimum hole is depth / aspect ratio (IPC-2226), so KiCad 9 enforces
            the aspect ratio per layer pair with a plain ``hole_size`` constraint.
    """
    # the profile's minima, whatever the spec chose (``micro`` / ``width`` are kept for the signature)
    micro_drill, micro_pad = rules.microvia_drill, rules.microvia_pad
    lines = [
        "(version 1)",
        f"# kisubstrate substrate rules, profile {rules.name}",
        '(rule "microvia_size"',
        "\t(condition \"A.Via_Type == 'Micro'\")",
        f"\t(constraint hole_size (min {mm(micro_drill)}))",
        f"\t(constraint via_diameter (min {mm(micro_pad)}))",
        f"\t(constraint annular_width (min {mm(rules.annular_ring)})))",
        '(rule "substrate_trace_width"',
        "\t(condition \"A.Type == 'Track'\")",
        f"\t(constraint track_width (min {mm(rules.trace_width)})))",
        '(rule "substrate_clearance"',
        f"\t(constraint clearance (min {mm(rules.clearance)}))",
        f"\t(constraint hole_to_hole (min {mm(rules.hole_to_hole)}))",
        f"\t(constraint edge_clearance (min {mm(rules.copper_to_edge)})))",
    ]
    for upper, lower, depth in pairs:
        min_drill = max(micro_drill, math.ceil(depth / rules.microvia_aspect_ratio * 1e6 - 1e-6) / 1e6)
        lines += [f'(rule "microvia_{upper}_{lower}"',
                  f"\t(condition \"A.Via_Type == 'Micro' && A.existsOnLayer('{upper}') && "
                  f"A.existsOnLayer('{lower}')\")",
                  f"\t(constraint hole_size (min {mm(min_drill)})))"]
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def via_protection_dru(prot, lm) -> str:
    """``.kicad_dru`` block of the filled and capped vias (IPC-4761 Type VII), "" when none.

    KiCad's rules cannot test a via's filling, capping or whether it sits in a pad, so the block
    states the requirement in comments (counts, per via span) and binds what KiCad can test: per
    via span holding protected vias, one rule ``via_fill_<top>_<bottom>`` that names the span by its
    layers (``existsOnLayer`` on both ends, not on the layer above or below) and disallows a via of
    that span whose drill exceeds the largest filled drill of the span (the fill the fab qualifies).

    Args:
        prot: a :class:`~kisubstrate.geometry.protection.Protection` of the board.
        lm: the board's :class:`~kisubstrate.kicad.layers.LayerMap`.

    Example:
        >>> from kisubstrate.geometry.protection import Protection
        >>> from kisubstrate.kicad.layers import LayerMap
        >>> text = via_protection_dru(Protection(2, 0, 2, 0, ((1, 2, 2, 3, 0.06),)), LayerMap(4))
        >>> text.splitlines()[-3]
        '(rule "via_fill_In1.Cu_In2.Cu"'
        >>> text.splitlines()[-2].split(" && ")[1:3]
        ["A.existsOnLayer('In1.Cu')", "A.existsOnLayer('In2.Cu')"]
        >>> text.splitlines()[-2].split(" && ")[3:5]
        ["!A.existsOnLayer('F.Cu')", "!A.existsOnLayer('B.Cu')"]
        >>> text.splitlines()[-2].endswith("A.Hole > 0.06mm" + chr(34) + ")"), text.splitlines()[-1].strip()
        (True, '(constraint disallow via micro_via buried_via))')
    """
    if not prot.total:
        return ""
    from kisubstrate.kicad.layers import kicad_copper_name

    lines = [f"# via protection (IPC-4761 Type VII, copper filled and capped): {prot.total} via(s), "
             f"{prot.in_pad} via-in-pad, {prot.stacked} in stacked microvia columns ({prot.both} both);",
             "# KiCad 10 boards carry (filling yes) (capping yes) on each of them. Per via span: a via wider",
             "# than the span's largest filled drill is not covered by the fill and is disallowed."]
    for top, bottom, count, of, drill in prot.spans:
        a, b = lm.kicad_index(top), lm.kicad_index(bottom)
        upper, lower = kicad_copper_name(a, lm.kicad_count), kicad_copper_name(b, lm.kicad_count)
        outside = [kicad_copper_name(k, lm.kicad_count) for k in (a - 1, b + 1) if 0 <= k < lm.kicad_count]
        cond = " && ".join([f"A.existsOnLayer('{upper}')", f"A.existsOnLayer('{lower}')",
                            *(f"!A.existsOnLayer('{x}')" for x in outside)])
        lines += [f"# {upper}-{lower}: {count} of {of} via(s) filled and capped, drill up to {mm(drill)}",
                  f'(rule "via_fill_{upper}_{lower}"',
                  f"\t(condition \"A.Type == 'Via' && {cond} && A.Hole > {mm(drill)}\")",
                  "\t(constraint disallow via micro_via buried_via))"]
    return "\n".join(lines)
