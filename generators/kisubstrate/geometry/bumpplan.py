"""Nets for the sites of a flip-chip bump plan, from the package's ball nets.

Every signal net gets exactly one bump, on the outermost rings of the bump array, matched to the
signal's balls by angle so straight escape traces keep their angular order. Every site left over
goes to a power or ground (plane) net: the rest of the last signal ring to the ground net, the
core sites spatially coherent with the plane balls and in proportion to their counts. The sites
come from :func:`kisubstrate.model.bumpplan.plan_sites`.

Example:
    >>> from kisubstrate.model.bumpplan import BumpPlan, plan_sites
    >>> sites = plan_sites(0.6, 0.6, BumpPlan(pitch=0.2), 0.1)  # 3 x 3 bumps
    >>> nets = assign_plan_nets(sites, np.array([-2.0, 2.0, 0.0, 0.0, 0.0]), np.array([0.0, 0.0, 0.0, 0.5, -0.5]),
    ...                         ["L", "R", "GND", "VDD", "VDD"], {"GND", "VDD"})
    >>> [nets[i:i + 3] for i in (0, 3, 6)]
    [['GND', 'GND', 'GND'], ['L', 'VDD', 'R'], ['GND', 'GND', 'GND']]
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence

import numpy as np

from kisubstrate.geometry.assign import assign_by_angle
from kisubstrate.model.bumpplan import Sites
from kisubstrate.model.errors import SpecError

GROUND_NAME = re.compile(r"GND|VSS|GROUND", re.IGNORECASE)
"""Plane nets whose name matches this are ground nets (they take the rest of the last signal ring)."""

_BLOCK = 4_000_000  # distance-matrix entries per block (memory bound)
_PHASES = 8  # rotations of the last signal ring's picks compared


def _no_connect(net: str) -> bool:
    return net == "" or net.upper() == "NC"


def _bbox_map(px: np.ndarray, py: np.ndarray, qx: np.ndarray, qy: np.ndarray):
    """Affine map (per axis) of the bounding box of points p onto that of points q; a flat axis maps to q's middle."""
    def axis(p: np.ndarray, q: np.ndarray):
        p0, p1, q0, q1 = float(p.min()), float(p.max()), float(q.min()), float(q.max())
        if p1 - p0 <= 1e-12:
            return lambda v: np.full_like(v, (q0 + q1) / 2, dtype=float)
        return lambda v: q0 + (v - p0) * ((q1 - q0) / (p1 - p0))
    fx, fy = axis(px, qx), axis(py, qy)
    return lambda x, y: (fx(np.asarray(x, float)), fy(np.asarray(y, float)))


def _nearest(sx: np.ndarray, sy: np.ndarray, bx: np.ndarray, by: np.ndarray) -> np.ndarray:
    """Index of the nearest point b for every point s (first index on exact ties), blockwise."""
    out = np.empty(len(sx), np.int64)
    step = max(1, _BLOCK // max(1, len(bx)))
    for s0 in range(0, len(sx), step):
        d = (sx[s0:s0 + step, None] - bx[None, :]) ** 2 + (sy[s0:s0 + step, None] - by[None, :]) ** 2
        out[s0:s0 + step] = np.argmin(d, axis=1)
    return out


def _shift_cost(a: np.ndarray, b: np.ndarray) -> float:
    """Least squared angular error (rad²) of matching sorted angles ``a`` to sorted ``b`` up to a cyclic shift."""
    a, b = np.sort(a), np.sort(b)
    n = len(a)
    k = np.arange(n)
    best = np.inf
    step = max(1, _BLOCK // max(1, n))
    for s0 in range(0, n, step):
        shifts = np.arange(s0, min(n, s0 + step))
        d = np.remainder(a[(k[None, :] + shifts[:, None]) % n] - b[None, :] + np.pi, 2 * np.pi) - np.pi
        best = min(best, float(np.einsum("ij,ij->i", d, d).min()))
    return best


def _spread(m: int, sig_ang: np.ndarray, full_ang: np.ndarray, ring_ang: np.ndarray) -> np.ndarray:
    """Indices of ``m`` sites evenly spaced around a ring (``ring_ang`` sorted, rad), rotated to suit the signals.

    The picks are every n/m-th site; of up to :data:`_PHASES` rotations within one spacing the one
    whose angle matching with the signals (beside the ``full_ang`` sites of the full rings) costs
    least wins (the first on ties); without a choice, or when the matching would be too costly to
    compare, rotation 0.
    """
    n = len(ring_ang)
    base = np.floor(np.arange(m) * n / m).astype(np.int64)
    phases = min(_PHASES, n // m) if m < n and len(sig_ang) ** 2 <= _BLOCK * 4 else 1
    if phases <= 1:
        return base
    offsets = np.floor(np.arange(phases) * (n / m) / phases).astype(np.int64)
    costs = [_shift_cost(sig_ang, np.concatenate([full_ang, ring_ang[(base + o) % n]])) for o in offsets]
    best = min(range(phases), key=lambda i: (costs[i] > min(costs) + 1e-12, i))
    return np.sort((base + offsets[best]) % n)


def assign_plan_nets(sites: Sites, ball_x: np.ndarray, ball_y: np.ndarray, ball_net: Sequence[str],
                     plane_nets: Collection[str], *, signal_rings: int | None = None,
                     escape_x: np.ndarray | None = None, escape_y: np.ndarray | None = None) -> list[str]:
    """The net of every bump-plan site (same order as ``sites``).

    Rules:

    * every signal net (a net with a ball, not in ``plane_nets``) gets exactly one bump; every
      plane net with a ball gets at least one; every site gets a net;
    * signals take the outermost rings first; in the last, partly used ring the signal sites are
      spread evenly around the ring (every n/m-th site in order of angle about the die centre,
      of a few rotations the one that best fits the signals' angles) and the rest of that ring
      goes to the ground net (a plane net named like GND, VSS or GROUND, the one with most balls;
      else the plane net with most balls);
    * signals are matched to their sites by angle (:func:`~kisubstrate.geometry.assign.assign_by_angle`):
      a signal's position is the centroid of its balls, measured about the centre of the balls'
      bounding box; sites are measured about the die centre;
    * the core sites (inside the signal rings) go to the plane nets: the plane balls' bounding
      box is scaled onto the core sites' bounding box and each core site takes the net of the
      nearest scaled plane ball (exact ties to the first net by name); a plane net left without
      a bump then takes, from the net with most bumps, its core site nearest the net's scaled
      centroid.

    The result depends only on the input (nets sorted by name, stable sorts, first index on ties).

    Args:
        sites: the bump sites (:func:`~kisubstrate.model.bumpplan.plan_sites`; mm, relative to the die centre).
        ball_x, ball_y: ball centres (1-D arrays, mm) in the frame of the sites (relative to the die centre).
        ball_net: the net of each ball; ``""`` or ``NC`` (no connection) balls are ignored.
        plane_nets: names of the power and ground nets; every other net with a ball is a signal.
        signal_rings: at most this many outer rings carry signals; None (default) for as many as needed.
        escape_x, escape_y: where each site's escape trace leaves the die (mm, same frame); the
            signals are matched to sites by the angle of these points (default: the sites).

    Raises:
        SpecError: (field ``pads.plan``) more signals than sites (in the allowed rings), fewer sites
            than signals plus plane nets, or sites left over with no plane net to take them.

    Example:
        >>> from kisubstrate.model.bumpplan import BumpPlan, plan_sites
        >>> sites = plan_sites(0.6, 0.6, BumpPlan(pitch=0.2), 0.1)
        >>> try:
        ...     assign_plan_nets(sites, np.zeros(10), np.arange(10.0), [f"S{k}" for k in range(10)], set())
        ... except SpecError as err:
        ...     print(err.field, "|", err.reason)
        pads.plan | 10 signal nets need one bump each but the bump plan has 9 sites; use a finer pitch or a larger die
    """
    bx, by = np.asarray(ball_x, float).ravel(), np.asarray(ball_y, float).ravel()
    names = [str(n).strip() for n in ball_net]
    if not (len(bx) == len(by) == len(names)):
        raise ValueError(f"ball_x, ball_y and ball_net differ in length ({len(bx)}, {len(by)}, {len(names)})")
    live = np.array([not _no_connect(n) for n in names], bool)
    nets, inv = np.unique(np.array(names, dtype=str)[live] if live.any() else np.array([], str),
                          return_inverse=True)
    inv = inv.ravel()
    bx, by = bx[live], by[live]
    count = np.bincount(inv, minlength=len(nets))
    planes = set(plane_nets)
    is_plane = np.array([str(n) in planes for n in nets], bool)
    n_sites, n_sig, n_plane = len(sites), int((~is_plane).sum()), int(is_plane.sum())
    ring = np.asarray(sites.ring)
    sx, sy = np.asarray(sites.x, float), np.asarray(sites.y, float)
    ex = sx if escape_x is None else np.asarray(escape_x, float)
    ey = sy if escape_y is None else np.asarray(escape_y, float)

    allowed = n_sites if signal_rings is None else int((ring < signal_rings).sum())
    if n_sig > allowed:
        where = "" if signal_rings is None else f" in its {signal_rings} outer ring(s)"
        raise SpecError(f"{n_sig} signal nets need one bump each but the bump plan has {allowed} sites{where}; "
                        "use a finer pitch or a larger die" + ("" if signal_rings is None else
                                                               ", or allow more signal rings"), field="pads.plan")
    if n_sites - n_sig < n_plane:
        raise SpecError(f"{n_sig} signal and {n_plane} power/ground nets need a bump each but the bump plan has "
                        f"{n_sites} sites; use a finer pitch or a larger die", field="pads.plan")
    if n_plane == 0 and n_sites > n_sig:
        raise SpecError(f"{n_sites - n_sig} bump sites are left after {n_sig} signals but no power or ground net "
                        "has a ball to take them; name the plane nets or give the plan a layout", field="pads.plan")

    out = np.full(n_sites, "", dtype=object)
    # --- signal sites: full outer rings, then every n/m-th site of the last (partial) ring
    order = np.argsort(ring, kind="stable")
    full = order[:0]
    chosen = order[:0]
    spare = order[:0]  # rest of the last signal ring
    if n_sig:
        cum = np.cumsum(np.bincount(ring))
        k = int(np.searchsorted(cum, n_sig, side="left"))
        full = np.flatnonzero(ring < k)
        on_k = np.flatnonzero(ring == k)
        on_k = on_k[np.argsort(np.arctan2(ey[on_k], ex[on_k]), kind="stable")]
        sig = np.flatnonzero(~is_plane)
        sig_of_ball = ~is_plane[inv]
        cx = (bx[sig_of_ball].min() + bx[sig_of_ball].max()) / 2
        cy = (by[sig_of_ball].min() + by[sig_of_ball].max()) / 2
        gx = np.bincount(inv, weights=bx, minlength=len(nets))[sig] / count[sig]
        gy = np.bincount(inv, weights=by, minlength=len(nets))[sig] / count[sig]
        sig_ang = np.arctan2(gy - cy, gx - cx)
        pick = _spread(n_sig - len(full), sig_ang, np.arctan2(ey[full], ex[full]), np.arctan2(ey[on_k], ex[on_k]))
        chosen = on_k[pick]
        spare = np.delete(on_k, pick)
        sig_sites = np.concatenate([full, chosen])
        site_of = assign_by_angle(sig_ang, np.arctan2(ey[sig_sites], ex[sig_sites]))
        out[sig_sites[site_of]] = nets[sig]
    if not n_plane:
        return [str(n) for n in out]

    # --- plane sites: the spare ring to ground, the core by nearest scaled plane ball
    plane = np.flatnonzero(is_plane)
    ground_like = np.array([bool(GROUND_NAME.search(str(nets[p]))) for p in plane], bool)
    pool = plane[ground_like] if ground_like.any() else plane
    ground = int(pool[np.argmax(count[pool])])  # first (by name) of the most balls
    net_idx = np.full(n_sites, -1, np.int64)
    net_idx[spare] = ground
    used = np.zeros(n_sites, bool)
    used[full], used[chosen], used[spare] = True, True, True
    core = np.flatnonzero(~used)
    pb = np.flatnonzero(is_plane[inv])
    pb = pb[np.argsort(inv[pb], kind="stable")]  # by net name, so ties go to the first name
    if len(core):
        to_core = _bbox_map(bx[pb], by[pb], sx[core], sy[core])
        qx, qy = to_core(bx[pb], by[pb])
        net_idx[core] = inv[pb][_nearest(sx[core], sy[core], qx, qy)]
    else:
        to_core = _bbox_map(bx[pb], by[pb], sx[spare], sy[spare])
    bumps = np.bincount(net_idx[net_idx >= 0], minlength=len(nets))
    for p in plane[bumps[plane] == 0]:  # a loop over nets, not sites
        donor = int(plane[np.argmax(bumps[plane])])
        cand = np.flatnonzero(net_idx == donor)
        in_core = cand[~used[cand]]
        cand = in_core if len(in_core) else cand
        mine = inv[pb] == p
        gx, gy = to_core(np.array([bx[pb][mine].mean()]), np.array([by[pb][mine].mean()]))
        take = cand[int(np.argmin((sx[cand] - gx[0]) ** 2 + (sy[cand] - gy[0]) ** 2))]
        net_idx[take] = p
        bumps[donor] -= 1
        bumps[p] += 1
    planned = net_idx >= 0
    out[planned] = nets[net_idx[planned]]
    return [str(n) for n in out]


__all__ = ["GROUND_NAME", "assign_plan_nets"]
