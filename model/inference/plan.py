"""Plan stage of the engine: one evidence pattern's cliques, factors and messages.

:func:`build_plan` slices observed nodes, triangulates what is left, places every factor in
a clique and schedules the collect and distribute passes.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from legnumb.inference.graph import (
    _check_running_intersection,
    _junction_tree,
    _product_order,
    _reduce_plan,
    _triangulate,
)
from legnumb.inference.kernels import _EXPAND_MIN_STATES, _INNER_MIN, _ROW_MODE_STATES

__all__ = ["build_plan"]


@dataclass
class _CliquePlan:
    """Everything one clique does in one plan."""

    shape: tuple[int, ...]  # (*clique cards)
    factors: list[tuple]  # runtime factor specs, see Engine._factor
    products: list[tuple[int, int]]
    expanded: list[tuple]  # (leaf, code -> expanded row or -1, row axes, broadcast shape)
    block: tuple[int, ...]  # the trailing block of leaf parents the expanded rows cover
    msg_axes: tuple[int, ...] | None  # axes summed for the upward message (None: root)
    msg_shape: tuple[int, ...] | None  # (-1, *broadcast shape in the parent)
    keep_raw: bool  # upward message needed again in the distribute pass
    reduce_ops: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    reduce_where: dict[frozenset, int] = field(default_factory=dict)
    down_shape: tuple[int, ...] | None = None  # (-1, *separator broadcast shape here)
    # Row mode (large roots): products from index ``row_from`` on, the leaf rows and the
    # reductions of the clique tensor run one row at a time in a reused buffer.
    row_from: int = -1
    row_shapes: list[tuple[int, ...]] = field(default_factory=list)
    # Split root: axes [0, split) form the half L, the others R. Factors inside one half are
    # multiplied into that half's vector; the first reductions are two matrix-vector products.
    split: int = -1
    halves: tuple = ()  # per half: (factors, products, expanded, reduce_ops, reduce_where, dims)


@dataclass
class _Plan:
    """A compiled query plan for one evidence pattern, target set and set of overrides."""

    sliced: frozenset  # observed in every row of the plan, removed from the graph
    cliques: list[tuple[int, ...]]
    root: int
    collect: list[int]  # post-order
    parent: list[int]
    distribute: list[int]  # pre-order, root first
    steps: dict[int, _CliquePlan]
    down: dict[int, frozenset]  # child clique -> separator request in the parent
    targets: list[tuple]  # (name, var, clique, kind, request, table spec)
    r1: tuple | None  # rank-1 unaries: (leaf columns, mods, offsets, table)
    bytes_per_row: int
    fixed_bytes: int = 0  # per chunk, whatever its rows (row-mode scratch buffers)


# ---------------------------------------------------------------------------------- engine


def build_plan(
    eng, sliced: frozenset, indicators: frozenset, targets: tuple, overridden: frozenset
) -> _Plan:
    """Compile the plan of one evidence pattern (observed nodes ``sliced``) for an engine.

    Stages, in order: slice the observed nodes out of the graph; triangulate what is left
    (greedy heuristics, two-phase order, cheapest kept); join the cliques by a maximum
    spanning tree; give every factor and leaf likelihood to the smallest clique holding its
    scope; lay out each clique's axes; schedule the collect and distribute messages and the
    reductions that give the targets' marginals.
    """
    card, scopes, folded, lp = eng._card, eng._scopes, eng._folded, eng._leaf_parents
    gpos = eng._pos
    n = len(eng._names)

    def by_gpos(vs: Iterable[int]) -> tuple[int, ...]:
        return tuple(sorted(vs, key=lambda a: gpos[a]))

    # ---- factors before the junction tree: (kind, remaining scope, payload)
    pre: list[tuple[str, frozenset, tuple]] = []
    for v in range(n):
        scope = scopes[v]
        if folded[v]:
            gat = by_gpos(a for a in scope[1:] if a in sliced)
            rest = frozenset(a for a in scope[1:] if a not in sliced)
            kind = "leaf_ovr" if v in overridden else "leaf"
            pre.append((kind, rest, (v, gat)))
            continue
        gat = by_gpos(a for a in scope if a in sliced)
        rest = frozenset(a for a in scope if a not in sliced)
        if v in overridden:
            pre.append(("ovr", rest, (v, gat)))
        elif gat:
            pre.append(("gather", rest, (v, gat)))
        else:
            pre.append(("static", rest, (v,)))
    for v in sorted(indicators):
        pre.append(("ind", frozenset([v]), (v,)))

    # ---- junction tree (independent of the axis order)
    core = [v for v in eng._core if v not in sliced]
    adj: dict[int, set[int]] = {v: set() for v in core}
    for _, rest, _ in pre:
        for a in rest:
            adj[a].update(rest)
    for a in adj:
        adj[a].discard(a)
    loads = [
        (rest, 1.0)
        for kind, rest, payload in pre
        if kind == "leaf" and not payload[1] and len(scopes[payload[0]]) > 1
    ]
    csets = _triangulate(
        adj,
        card,
        late=frozenset(core) & lp,
        loads=loads,
        heuristics=(
            ("weighted_min_fill",)
            if sliced
            else ("weighted_min_fill", "min_fill", "min_weight", "min_neighbors")
        ),
    )
    csize = [math.prod(card[v] for v in c) for c in csets]
    tree = _junction_tree(csets, card)
    _check_running_intersection(csets, tree)
    n_c = len(csets)

    def needs(t: int) -> frozenset | None:
        if t in sliced:
            return None
        if folded[t]:
            return frozenset(a for a in scopes[t][1:] if a not in sliced)
        return frozenset([t])

    wanted = [s for s in (needs(t) for t in targets) if s is not None]
    root = max(range(n_c), key=lambda i: (sum(s <= csets[i] for s in wanted), csize[i], -i))
    parent = [-1] * n_c
    depth = [0] * n_c
    order = [root]
    for i in order:
        for j in tree[i]:
            if j != root and parent[j] == -1:
                parent[j] = i
                depth[j] = depth[i] + 1
                order.append(j)
    collect = order[::-1]

    def home(scope: frozenset) -> int:
        return min((i for i in range(n_c) if scope <= csets[i]), key=lambda i: (csize[i], i))

    def top(scope: frozenset) -> int:
        return min((i for i in range(n_c) if scope <= csets[i]), key=lambda i: (depth[i], i))

    # ---- assign factors to cliques; leaves of large cliques get expanded rows
    assigned: dict[int, list[tuple[str, frozenset, tuple]]] = {i: [] for i in range(n_c)}
    expanded: dict[int, list[int]] = {i: [] for i in range(n_c)}
    r1_leaves: list[int] = []
    for kind, rest, payload in pre:
        c = home(rest)
        f = payload[0]
        if (
            kind == "leaf"
            and not payload[1]
            and len(scopes[f]) > 1
            and csize[c] >= _EXPAND_MIN_STATES
            and rest <= lp
        ):
            expanded[c].append(f)
            if any(r is not None for r in eng._rank1[f]):
                r1_leaves.append(f)
            continue
        assigned[c].append((kind, rest, payload))
    r1_parents = {a for f in r1_leaves for a in scopes[f][1:]}
    for a in sorted(r1_parents, key=lambda a: gpos[a]):
        assigned[home(frozenset([a]))].append(("unary", frozenset([a]), (a,)))

    # ---- axis order of this plan: other nodes first, then the leaf parents, grouped so
    # that the multi-node factors and separators of the large cliques are contiguous runs.
    group: dict[int, int] = {}
    for c in sorted(range(n_c), key=lambda i: -csize[i]):
        if csize[c] < _EXPAND_MIN_STATES:
            break
        scs = [rest & lp for _, rest, _ in assigned[c]]
        scs += [csets[c] & csets[j] & lp for j in tree[c]]
        scs = [x for x in scs if len(x) > 1]
        scs.sort(key=lambda x: (-math.prod(card[a] for a in x), by_gpos(x)))
        for x in scs:
            g = len(group) + 1
            for a in by_gpos(x):
                group.setdefault(a, g)
    pos = {
        v: i
        for i, v in enumerate(
            sorted(
                range(n),
                key=lambda v: (
                    folded[v],
                    v in lp,
                    eng._split is not None and v in lp and v not in eng._split,
                    v in group,
                    -group.get(v, 0),
                    gpos[v],
                ),
            )
        )
    }
    cliques = [tuple(sorted(c, key=lambda a: pos[a])) for c in csets]

    def bshape(scope: Iterable[int], clique: tuple[int, ...]) -> tuple[int, ...]:
        s = set(scope)
        return tuple(card[a] if a in s else 1 for a in clique)

    # ---- targets: where each is read, and the distribute set
    target_specs = []
    in_dist = {root}
    requests: dict[int, list[frozenset]] = {root: [frozenset()]}
    for t in targets:
        need = needs(t)
        name = eng._names[t]
        if need is None:
            target_specs.append((name, t, -1, "sliced", None, None))
            continue
        c = top(need)
        req = frozenset(cliques[c].index(a) for a in need)
        requests.setdefault(c, []).append(req)
        while c not in in_dist:
            in_dist.add(c)
            c = parent[c]
        c = top(need)
        if folded[t]:
            gat = by_gpos(a for a in scopes[t][1:] if a in sliced)
            if t in overridden:
                perm = eng._ovr_perm(t, gat, pos, leaf=False, keep_self=True)
                spec = ("ovr", t, perm, gat)
            else:
                spec = ("table", t, eng._marg_table(t, gat, pos), gat)
            target_specs.append((name, t, c, "leaf", req, spec))
        else:
            target_specs.append((name, t, c, "var", req, None))
    distribute = [c for c in order if c in in_dist]
    down: dict[int, frozenset] = {}
    for c in distribute[1:]:
        p = parent[c]
        req = frozenset(cliques[p].index(a) for a in csets[c] & csets[p])
        down[c] = req
        requests.setdefault(p, []).append(req)

    # ---- rank-1 slices of expanded leaves: one unary factor per parent
    r1 = None
    col0: dict[int, int] = {}
    if r1_leaves:
        c_off = 0
        for a in sorted(r1_parents, key=lambda a: gpos[a]):
            col0[a] = c_off
            c_off += card[a]
        offsets, rows_total = [], 0
        for f in r1_leaves:
            offsets.append(rows_total)
            rows_total += card[f] + 1
        tab = np.ones((rows_total, c_off))
        for f, off in zip(r1_leaves, offsets, strict=True):
            for s, vecs in enumerate(eng._rank1[f]):
                if vecs is not None:  # one vector per parent, in CPT parent order
                    for a, vec in zip(scopes[f][1:], vecs, strict=True):
                        tab[off + s, col0[a] : col0[a] + card[a]] = vec
        r1 = (
            np.asarray(r1_leaves, dtype=np.int64),
            np.asarray([card[f] + 1 for f in r1_leaves], dtype=np.int64),
            np.asarray(offsets, dtype=np.int64),
            tab,
        )

    # ---- per-clique steps
    steps: dict[int, _CliquePlan] = {}
    elems = 0
    fixed = 0
    for c in collect:
        clique = cliques[c]
        cpos = {a: i for i, a in enumerate(clique)}
        specs: list[tuple] = []
        masks: list[int] = []
        static = None
        static_scope: set[int] = set()
        for kind, rest, payload in assigned[c]:
            v = payload[0]
            bs = bshape(rest, clique)
            if kind == "static":
                f = eng._gather_table(v, (), False, pos).reshape(bs)
                static = f if static is None else static * f
                static_scope |= rest
                continue
            if kind in ("gather", "leaf", "ind"):
                if kind == "ind":
                    table = np.vstack([np.eye(card[v]), np.ones((1, card[v]))])
                    cols, mods = (v,), (card[v] + 1,)
                else:
                    leaf = kind == "leaf"
                    table = eng._gather_table(v, payload[1], leaf, pos)
                    cols = ((v,) if leaf else ()) + payload[1]
                    mods = tuple(card[a] + (1 if a == v and leaf else 0) for a in cols)
                mults = np.cumprod((1, *mods[:0:-1]))[::-1].astype(np.int64)
                skip = v if kind in ("leaf", "ind") else -1
                cols_a = np.asarray(cols, dtype=np.int64)
                mods_a = np.asarray(mods, dtype=np.int64)
                spec = ("gather", table.reshape(-1, *bs), cols_a, mods_a, mults, skip)
            elif kind in ("ovr", "leaf_ovr"):
                leaf = kind == "leaf_ovr"
                perm = eng._ovr_perm(v, payload[1], pos, leaf=leaf)
                spec = ("ovr", v, payload[1], perm, bs, leaf)
            else:  # unary
                spec = ("unary", col0[v], col0[v] + card[v], bs)
            specs.append(spec)
            masks.append(sum(1 << cpos[a] for a in rest))
        for spec in specs:  # per-row factor arrays (gathers, overrides) use the buffers
            if spec[0] == "gather":
                elems += math.prod(spec[1].shape[1:])
            elif spec[0] == "ovr":
                elems += math.prod(spec[4])
        for j in tree[c]:
            if parent[j] == c:
                specs.append(("msg", j))
                masks.append(sum(1 << cpos[a] for a in csets[c] & csets[j]))
        if static is not None:
            specs.append(("static", static[None]))
            masks.append(sum(1 << cpos[a] for a in static_scope))
        # Factors sorted by their last axis, so neighbours merge first.
        keys = [(m.bit_length(), -m, i) for i, m in enumerate(masks)]
        perm_f = sorted(range(len(specs)), key=lambda i: keys[i])
        specs = [specs[i] for i in perm_f]
        masks = [masks[i] for i in perm_f]
        products = _product_order(masks, [card[a] for a in clique])
        shape = tuple(card[a] for a in clique)
        size_c = math.prod(shape)
        row_mode = size_c >= _ROW_MODE_STATES and (c == root or c not in in_dist)
        all_masks = list(masks)
        row_from = len(products) if row_mode else -1
        out_sizes = []
        for a_, b_ in products:
            m = all_masks[a_] | all_masks[b_]
            all_masks.append(m)
            out_sizes.append(math.prod(card[a] for i, a in enumerate(clique) if m >> i & 1))
        if row_mode:  # the trailing run of large products goes row by row
            while row_from > 0 and out_sizes[row_from - 1] * 8 >= size_c:
                row_from -= 1
        if not row_mode:
            elems += size_c  # a materialized copy
        block_vars = tuple(a for a in clique if a in lp)
        if c == root:
            msg_axes = msg_shape = None
        else:
            p = parent[c]
            sep = csets[c] & csets[p]
            msg_axes = tuple(i + 1 for i, a in enumerate(clique) if a not in sep)
            msg_shape = (-1, *bshape(sep, cliques[p]))
            elems += 3 * math.prod(card[a] for a in sep)
        tail: list[int] = []  # trailing clique axes the expanded rows also cover
        for a in reversed(clique):
            if math.prod(card[x] for x in tail) >= _INNER_MIN:
                break
            tail.append(a)
        exp_specs = []
        for f in expanded[c]:
            axes = tuple(a for a in clique if a in scopes[f][1:] or a in tail)
            exp_specs.append((f, eng._code_rows(f), axes, bshape(axes, clique)))
        split = -1
        if row_mode and eng._split is not None and c in in_dist:
            split = sum(1 for a in clique if a not in lp or a in eng._split)
            reqs = requests.get(c, [])
            if not 0 < split < len(clique) or any(r and min(r) < split <= max(r) for r in reqs):
                split = -1
        halves: tuple = ()
        if split > 0:
            mask_l = (1 << split) - 1
            mask_r = ((1 << len(clique)) - 1) ^ mask_l
            sides: list[tuple] = []
            for lo, hi, side_mask in ((0, split, mask_l), (split, len(clique), mask_r)):
                keep = [i for i, m_ in enumerate(masks) if m_ & ~side_mask == 0 and (m_ or lo == 0)]
                f_side = [specs[i] for i in keep]
                p_side = _product_order([masks[i] for i in keep], [card[a] for a in clique])
                side_masks = [masks[i] for i in keep]
                for a_, b_ in p_side:  # the half's intermediate products
                    side_masks.append(side_masks[a_] | side_masks[b_])
                    elems += math.prod(
                        card[a] for i, a in enumerate(clique) if side_masks[-1] >> i & 1
                    )
                axes = clique[lo:hi]
                e_side = [
                    (f, eng._code_rows(f), axes)
                    for f in expanded[c]
                    if all(lo <= cpos[a] < hi for a in scopes[f][1:])
                ]
                reqs_side = [
                    frozenset(i - lo for i in r)
                    for r in requests.get(c, [])
                    if (r and min(r) >= lo and max(r) < hi) or (not r and lo == 0)
                ]
                ops_s, where_s, axes_of = _reduce_plan(hi - lo, reqs_side)
                dims = tuple(card[a] for a in axes)
                sides.append((f_side, p_side, e_side, ops_s, where_s, dims))
                elems += 2 * math.prod(dims) + sum(
                    math.prod(dims[a] for a in ax) for ax in axes_of[1:]
                )
            taken = {id(x) for side in sides for x in side[0]}
            rest_i = [i for i in range(len(specs)) if id(specs[i]) not in taken]
            specs = [specs[i] for i in rest_i]
            masks = [masks[i] for i in rest_i]
            products = _product_order(masks, [card[a] for a in clique])
            halved = {f for side in sides for f, _, _ in side[2]}
            exp_specs = [e for e in exp_specs if e[0] not in halved]
            halves = tuple(sides)
            all_masks = list(masks)
            out_sizes = []
            for a_, b_ in products:
                m_ = all_masks[a_] | all_masks[b_]
                all_masks.append(m_)
                out_sizes.append(math.prod(card[a] for i, a in enumerate(clique) if m_ >> i & 1))
            row_from = len(products)
            while row_from > 0 and out_sizes[row_from - 1] * 8 >= size_c:
                row_from -= 1
        elems += sum(out_sizes[: row_from if row_mode else len(out_sizes)])
        step = _CliquePlan(
            shape=shape,
            factors=specs,
            products=products,
            expanded=exp_specs,
            block=block_vars,
            msg_axes=msg_axes,
            msg_shape=msg_shape,
            keep_raw=c in in_dist and c != root,
        )
        if row_mode:
            fixed += size_c * (len(products) - row_from + 2)
            step.row_from = row_from
            step.row_shapes = [
                tuple(
                    card[a] if all_masks[len(masks) + k] >> i & 1 else 1
                    for i, a in enumerate(clique)
                )
                for k in range(len(products))
            ]
        if split > 0:
            step.split, step.halves = split, halves
        elif row_mode and c != root:  # the upward message is its only reduction
            step.reduce_ops = [(0, msg_axes)]
        elif c in in_dist:
            ops, where, axes_of = _reduce_plan(len(clique), requests.get(c, []))
            step.reduce_ops, step.reduce_where = ops, where
            elems += sum(math.prod(card[clique[a]] for a in ax) for ax in axes_of[1:])
            if not row_mode or 0 in where.values():
                elems += size_c  # the distributed belief (or the whole root, kept)
            if c != root:
                step.down_shape = (-1, *bshape(csets[c] & csets[parent[c]], clique))
        steps[c] = step
    bytes_per_row = 8 * (elems + 2 * sum(card[t] for t in targets) + 2 * n + 64)
    return _Plan(
        sliced=sliced,
        cliques=cliques,
        root=root,
        collect=collect,
        parent=parent,
        distribute=distribute,
        steps=steps,
        down=down,
        targets=target_specs,
        r1=r1,
        bytes_per_row=bytes_per_row,
        fixed_bytes=8 * fixed,
    )
