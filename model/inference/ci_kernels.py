# ruff: noqa: N803, N806, C901, SIM109  (kernel code keeps the maths names: K bits, H history nodes...; one long row function)
"""Numba kernels of :class:`~legnumb.inference.independent.IndependentEngine`.

One evidence row is answered by a forward-backward pass of variable elimination over the
causes, one cause at a time, in an order chosen per row (greedy: the cause that leaves the
smallest state, then the smallest state while it is processed; when that order costs more than
``SEARCH_MIN_COST`` entries, a local search moves single causes while the exact cost of the
pass, the sum of its state tables, goes down; a pass still over ``2 * RESTART_COST`` entries
is searched again from a few random orders, and the cheapest order is kept). A row is planned
once: its order is kept for a later call with a larger workspace. The state of the pass is a
table over the *open* variables:

* history blocks (connected groups of history nodes, e.g. ``sex, pregnant, postpartum``), open
  from the first cause child of an unobserved member to the last one, over the configurations
  of their unobserved members (an observed block, or one whose unobserved members have no cause
  children, is a constant: the causes of an observed member see its value);
* one bit per finding observed at a non-bottom state ``s_r`` (a *positive* finding), open from
  its first parent cause to its last: given that the largest value produced so far is at most
  ``s_r``, the bit says whether ``s_r`` has been reached. The leak opens the bit
  (``Lcum(r-1)``, ``Lpmf(r)``); a present parent moves it ``0 -> 0`` with ``Qcum(r-1)``,
  ``0 -> 1`` with ``Qpmf(r)``, ``1 -> 1`` with ``Qcum(r)``; an absent parent leaves it; the
  finding closes on bit 1. This is the sequential (divorced) decomposition of noisy-MAX
  (Díez & Galán 2003) with the auxiliary variable cut to two states, so every number in the
  pass is a sum of non-negative products: no signed sums, no cancellation (unlike Quickscore,
  Heckerman 1989, whose ``2^K`` alternating sum loses about ``log10(2 / P(finding))`` digits per
  positive finding).

An observed cause opens no bit: a present one moves the bits of its findings at once (folded
into their leak weights; the moves of different causes commute), an absent one leaves them.
A finding observed at its bottom state is a unary factor ``Qcum_i(0)`` on each present parent
(and ``Lcum(0)``); an unobserved finding is barren. A cause step runs with the closes of the
findings whose last parent it is: their bits' bit-1 rows are taken first, so the cause's other
bits are swept over a table half as large per closed finding. The pass is rescaled after a cause step
when its scale drifts (the log of the scale is accumulated), so nothing underflows. The
backward pass (the transposes of the same linear steps) gives every cause's and history
node's posterior.

:func:`run_rows` is compiled on first call (``cache=True``); ``run_rows.py_func`` is the same
code run by the Python interpreter (the reference path the tests compare against).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic, overload

__all__ = [
    "STATUS_DEFERRED",
    "STATUS_OK",
    "STATUS_TOO_LARGE",
    "run_rows",
    "run_rows_reference",
]

STATUS_OK = 0
STATUS_TOO_LARGE = 1
STATUS_DEFERRED = 2

_OPEN_BLOCK = 0
_OPEN_FIND = 1
_CAUSE = 2
_CLOSE_FIND = 3
_CLOSE_BLOCK = 4
_AX_BLOCK = 0
#: Rows whose greedy order costs more than this many entries get a local search on the order.
SEARCH_MIN_COST = 1e5
SEARCH_MIN_K = 8  # ... and at least this many finding bits (below, the greedy order is cheap)
SEARCH_PASSES = 8  # at most this many sweeps over the causes
#: Rows whose searched order still costs more than this many entries get ``cost // RESTART_COST``
#: more searches (at most ``MAX_RESTARTS``), each from a random order (one search costs about
#: as much as 1e5 entries of the pass; on rows over 1e6 entries two more cut the pass by about
#: a quarter).
RESTART_COST = 5e5
MAX_RESTARTS = 8
_AX_FIND = 1
#: A table is rescaled when its sum (forward) or largest entry (backward) leaves
#: [1 / _SCALE, _SCALE]. Forward, bounds on the sum are carried through the steps (an open
#: multiplies it by the sum of its weights, a cause step by a factor :func:`_sum_factors`
#: bounds) and the sum is taken only when they leave the range, and after the last step;
#: backward, the largest entry is found after every cause step and when the bounds kept
#: through the opens leave the range (a close keeps it).
_SCALE = 1e100


@njit(cache=True, nogil=True)
def _stride(lay_card, n_ax, pos):
    s = 1
    for a in range(pos + 1, n_ax):
        s *= lay_card[a]
    return s


@njit(cache=True, nogil=True)
def _find_axis(lay_kind, lay_id, n_ax, kind, ident):
    for a in range(n_ax):
        if lay_kind[a] == kind and lay_id[a] == ident:
            return a
    return -1


@njit(cache=True, nogil=True)
def _cause_weights(
    c,
    nb,
    lay_id,
    lay_card,
    hval,
    hcard,
    hblk,
    mstride,
    cpar_ptr,
    cpar,
    params,
    base,
    uc,
    cobs,
    d0,
    d1,
):
    """P(c = absent | h) and u_c * P(c = present | h) for every open history configuration.

    The open history blocks are the first ``nb`` axes; returns the number of configurations.
    """
    n_hc = 1
    for a in range(nb):
        n_hc *= lay_card[a]
    npar = cpar_ptr[c + 1] - cpar_ptr[c]
    prod = 1
    for j in range(npar):
        prod *= hcard[cpar[cpar_ptr[c] + j]]
    w0 = 0.0 if cobs == 1 else 1.0
    w1 = 0.0 if cobs == 0 else uc
    for hc in range(n_hc):
        idx = 0
        m = prod
        for j in range(npar):
            h = cpar[cpar_ptr[c] + j]
            m //= hcard[h]
            if hval[h] >= 0:
                x = hval[h]
            else:
                st = 1
                v = -1
                for a in range(nb - 1, -1, -1):
                    if lay_id[a] == hblk[h]:
                        v = (hc // st) % lay_card[a]
                        break
                    st *= lay_card[a]
                x = (v // mstride[h]) % hcard[h]
            idx += x * m
        d0[hc] = params[base + idx] * w0
        d1[hc] = params[base + prod + idx] * w1
    return n_hc


# ----------------------------------------------------------------------- butterflies
# A present cause moves an open finding bit (axis with stride ``stv`` inside a block) by the
# upper-triangular 2x2 map ``T: (g0, g1) -> (a g0, b g0 + c g1)``; the maps of different bits
# act on different axes, so they commute. Every kernel reads one array and writes another
# (several bits go back and forth between two buffers), over contiguous slices, so that the
# compiler vectorizes the loops. A bit of stride under 32 is swept in one loop over the whole
# range, the partner entry ``j -+ stv`` read through a view of its own and the map's entries
# picked by whether ``j`` has the bit (as written per pair, such short runs do not vectorize:
# 0.55 against 0.18 ns an entry). Sums are taken by ``_sum8`` and ``_dot4`` with several
# accumulators in a fixed order, so results do not depend on the machine. When a cause moves two or more bits, each bit's ``a`` (forward) or ``c``
# (backward) is taken out as one scalar, ``T = a (T / a)``: the scaled maps leave half the
# entries as they are, so all bits after the first are applied in place, writing only the other
# half, and the forward pass applies its last bit and adds ``y0 fin`` in one sweep (the plain maps
# remain for a link that makes ``a`` or ``c`` zero).


@njit(cache=True, nogil=True)
def _fw_mid(gin, gout, lo, hi, stv, a, b, c):
    """Set gout = T gin on ``[lo, hi)`` for the bit of stride ``stv``."""
    if stv < 32:  # one sweep with the shifted input as a view of its own: it vectorizes
        n = hi - lo
        x = gin[lo:hi]
        xs = gin[lo : hi - stv]
        xq = gin[lo + stv : hi]
        y = gout[lo:hi]
        ys = gout[lo + stv : hi]
        for j in range(stv):
            y[j] = a * x[j]
        for j in range(n - stv):
            s = (j & stv) == 0  # entry j + stv has the bit set
            ys[j] = (c if s else a) * xq[j] + (b if s else 0.0) * xs[j]
        return
    for i0 in range(lo, hi, 2 * stv):
        x0 = gin[i0 : i0 + stv]
        x1 = gin[i0 + stv : i0 + 2 * stv]
        y0 = gout[i0 : i0 + stv]
        y1 = gout[i0 + stv : i0 + 2 * stv]
        for j in range(stv):
            p0 = x0[j]
            y0[j] = a * p0
            y1[j] = c * x1[j] + b * p0


@njit(cache=True, nogil=True)
def _bw_mid(yin, gout, lo, hi, stv, a, b, c):
    """Set gout = T' yin (the transpose: ``(y0, y1) -> (a y0 + b y1, c y1)``)."""
    if stv < 32:
        n = hi - lo
        x = yin[lo : hi - stv]
        xq = yin[lo + stv : hi]
        y = gout[lo:hi]
        for j in range(n - stv):
            s = (j & stv) != 0
            y[j] = (c if s else a) * x[j] + (0.0 if s else b) * xq[j]
        for j in range(n - stv, n):
            y[j] = c * yin[lo + j]
        return
    for i0 in range(lo, hi, 2 * stv):
        x0 = yin[i0 : i0 + stv]
        x1 = yin[i0 + stv : i0 + 2 * stv]
        y0 = gout[i0 : i0 + stv]
        y1 = gout[i0 + stv : i0 + 2 * stv]
        for j in range(stv):
            q0 = x1[j]
            y0[j] = a * x0[j] + b * q0
            y1[j] = c * q0


@njit(cache=True, nogil=True)
def _in_place(g, lo, hi, stv, w, p, q):
    """Apply a scaled bit map in place, writing one half: ``g_w = p g_w + q g_(1-w)``.

    Forward, ``T / a`` (``w = 1``, ``p = c / a``, ``q = b / a``) leaves the entries with the
    bit unset as they are; backward, ``T' / c`` (``w = 0``, ``p = a / c``, ``q = b / c``)
    leaves those with the bit set.
    """
    dw = w * stv
    dr = (1 - w) * stv
    if stv == 1:
        for i in range(lo, hi, 2):
            g[i + dw] = p * g[i + dw] + q * g[i + dr]
    elif stv == 2:
        for i in range(lo, hi, 4):
            g[i + dw] = p * g[i + dw] + q * g[i + dr]
            g[i + dw + 1] = p * g[i + dw + 1] + q * g[i + dr + 1]
    else:
        for i0 in range(lo, hi, 2 * stv):
            xw = g[i0 + dw : i0 + dw + stv]
            xr = g[i0 + dr : i0 + dr + stv]
            for j in range(stv):
                xw[j] = p * xw[j] + q * xr[j]


@njit(cache=True, nogil=True)
def _take_out(nbit, den, num, num1, r, r1):
    """Divide each bit's map by ``den[j]`` (``r = num / den``, ``r1 = num1 / den``).

    Returns the product of the ``den`` taken out, or 0.0 when one of them is 0 or the product
    underflows: the caller then keeps the plain maps.
    """
    prod = 1.0
    for j in range(nbit):
        if not den[j] > 0.0:
            return 0.0
        prod *= den[j]
        r[j] = num[j] / den[j]
        r1[j] = num1[j] / den[j]
    return prod


@njit(cache=True, nogil=True)
def _fw_last(fin, g, fout, lo, hi, stv, r, r1, y0):
    """Set fout = y0 fin + (T / a) g on ``[lo, hi)``: the last bit and the combine at once."""
    if stv < 32:
        n = hi - lo
        f = fin[lo:hi]
        fq = fin[lo + stv : hi]
        x = g[lo:hi]
        xs = g[lo : hi - stv]
        xq = g[lo + stv : hi]
        o = fout[lo:hi]
        oq = fout[lo + stv : hi]
        for j in range(stv):
            o[j] = y0 * f[j] + x[j]
        for j in range(n - stv):
            s = (j & stv) == 0
            oq[j] = y0 * fq[j] + ((r1 if s else 1.0) * xq[j] + (r if s else 0.0) * xs[j])
        return
    for i0 in range(lo, hi, 2 * stv):
        x0 = g[i0 : i0 + stv]
        x1 = g[i0 + stv : i0 + 2 * stv]
        f0 = fin[i0 : i0 + stv]
        f1 = fin[i0 + stv : i0 + 2 * stv]
        o0 = fout[i0 : i0 + stv]
        o1 = fout[i0 + stv : i0 + 2 * stv]
        for j in range(stv):
            p0 = x0[j]
            o0[j] = y0 * f0[j] + p0
            o1[j] = y0 * f1[j] + (r1 * x1[j] + r * p0)


@njit(cache=True, nogil=True)
def _axpby(x, y, out, lo, hi, p, q):
    """Set out = p x + q y on ``[lo, hi)`` (``out`` may be ``y``)."""
    xs = x[lo:hi]
    ys = y[lo:hi]
    os = out[lo:hi]
    for i in range(hi - lo):
        os[i] = q * ys[i] + p * xs[i]


@njit(cache=True, nogil=True)
def _bw_combine(fin, bout, h, bin_, lo, hi, y0, y1):
    """Set bin_ = y0 bout + y1 h; return ``y1 fin . h`` (the cause's present term).

    The product by :func:`_dot4` (four accumulators in a fixed order), then the sweep.
    """
    n = hi - lo
    f = fin[lo:hi]
    o = bout[lo:hi]
    g = h[lo:hi]
    m1 = y1 * _dot4(f, g, n)
    b = bin_[lo:hi]
    for i in range(n):
        b[i] = y1 * g[i] + y0 * o[i]
    return m1


@njit(cache=True, nogil=True)
def _open_axis(fin, fout, n_in, low, w, k):
    """Insert an axis of ``k`` states with weights ``w`` above runs of ``low`` entries."""
    if low == 1:
        for hi in range(n_in):
            x = fin[hi]
            for v in range(k):
                fout[hi * k + v] = x * w[v]
        return
    for hi in range(n_in // low):
        src = fin[hi * low : (hi + 1) * low]
        for v in range(k):
            wv = w[v]
            dst = fout[(hi * k + v) * low : (hi * k + v + 1) * low]
            for lo in range(low):
                dst[lo] = src[lo] * wv


@njit(cache=True, nogil=True)
def _open_axis_t(bout, bin_, n_in, low, w, k):
    """The transpose of :func:`_open_axis`: ``bin_ = sum_v w[v] bout[.., v, ..]``."""
    if low == 1:
        for hi in range(n_in):
            x = w[0] * bout[hi * k]
            for v in range(1, k):
                x += w[v] * bout[hi * k + v]
            bin_[hi] = x
        return
    for hi in range(n_in // low):
        dst = bin_[hi * low : (hi + 1) * low]
        src = bout[hi * k * low : (hi * k + 1) * low]
        wv = w[0]
        for lo in range(low):
            dst[lo] = wv * src[lo]
        for v in range(1, k):
            wv = w[v]
            src = bout[(hi * k + v) * low : (hi * k + v + 1) * low]
            for lo in range(low):
                dst[lo] += wv * src[lo]


# A cause step followed by the closes of findings whose last parent it is runs as one op: the
# closed bits are taken first, keeping only their bit-1 half (``_mix_half``: the row of ``T``
# that reaches the finding's state), so the cause's other bits are swept over a table
# ``2^m`` times smaller; the absent-cause term is added by a gather of the entries whose
# closed bits are all 1. Backward, the transposes: ``_expand`` and a scatter.


@njit(cache=True, nogil=True)
def _mix_half(gin, gout, n_out, stv, p, q):
    """Set gout = p gin[bit 0] + q gin[bit 1] for the bit of stride ``stv`` (it is removed)."""
    if stv == 1:
        for i in range(n_out):
            gout[i] = p * gin[2 * i] + q * gin[2 * i + 1]
        return
    for hi in range(n_out // stv):
        s0 = gin[2 * hi * stv : (2 * hi + 1) * stv]
        s1 = gin[(2 * hi + 1) * stv : (2 * hi + 2) * stv]
        d = gout[hi * stv : (hi + 1) * stv]
        for lo in range(stv):
            d[lo] = p * s0[lo] + q * s1[lo]


@njit(cache=True, nogil=True)
def _expand(gin, gout, n_in, stv, p, q):
    """The transpose of :func:`_mix_half`: gout[bit 0] = p gin, gout[bit 1] = q gin."""
    if stv == 1:
        for i in range(n_in):
            x = gin[i]
            gout[2 * i] = p * x
            gout[2 * i + 1] = q * x
        return
    for hi in range(n_in // stv):
        src = gin[hi * stv : (hi + 1) * stv]
        d0 = gout[2 * hi * stv : (2 * hi + 1) * stv]
        d1 = gout[(2 * hi + 1) * stv : (2 * hi + 2) * stv]
        for lo in range(stv):
            x = src[lo]
            d0[lo] = p * x
            d1[lo] = q * x


@njit(cache=True, nogil=True, inline="always")
def _ones_index(j, lg, m):
    """Index, before ``m`` closes of bits of strides ``2^lg[k]``, of entry ``j`` after them."""
    i = j
    for k in range(m - 1, -1, -1):
        sh = lg[k]
        i = ((i >> sh) << (sh + 1)) | (np.int64(1) << sh) | (i & ((np.int64(1) << sh) - 1))
    return i


@njit(cache=True, nogil=True)
def _gather_add(fin, g, out, n_out, lg, m, y0):
    """Set out = g + y0 fin[closed bits all 1] (``out`` may be ``g``)."""
    if m == 1:
        stv = np.int64(1) << lg[0]
        for hi in range(n_out // stv):
            src = fin[(2 * hi + 1) * stv : (2 * hi + 2) * stv]
            gs = g[hi * stv : (hi + 1) * stv]
            d = out[hi * stv : (hi + 1) * stv]
            for lo in range(stv):
                d[lo] = gs[lo] + y0 * src[lo]
        return
    for j in range(n_out):
        out[j] = g[j] + y0 * fin[_ones_index(j, lg, m)]


@njit(cache=True, nogil=True)
def _scatter(bout, bin_, n_out, lg, m, y0):
    """Add y0 bout to bin_[closed bits all 1]."""
    if m == 1:
        stv = np.int64(1) << lg[0]
        if stv == 1:
            for j in range(n_out):
                bin_[2 * j + 1] += y0 * bout[j]
            return
        for hi in range(n_out // stv):
            d = bin_[(2 * hi + 1) * stv : (2 * hi + 2) * stv]
            src = bout[hi * stv : (hi + 1) * stv]
            for lo in range(stv):
                d[lo] += y0 * src[lo]
        return
    for j in range(n_out):
        bin_[_ones_index(j, lg, m)] += y0 * bout[j]


@njit(cache=True, nogil=True)
def _dot4(x, y, n):
    """``x . y`` over ``[0, n)`` with four accumulators in a fixed order."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    n4 = n - n % 4
    for i in range(0, n4, 4):
        a0 += x[i] * y[i]
        a1 += x[i + 1] * y[i + 1]
        a2 += x[i + 2] * y[i + 2]
        a3 += x[i + 3] * y[i + 3]
    for i in range(n4, n):
        a0 += x[i] * y[i]
    return (a0 + a1) + (a2 + a3)


@njit(cache=True, nogil=True, inline="always")
def _sum8(x, lo, hi):
    """Sum of ``x[lo:hi]`` with eight accumulators in a fixed order."""
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    a4 = 0.0
    a5 = 0.0
    a6 = 0.0
    a7 = 0.0
    n8 = hi - (hi - lo) % 8
    for i in range(lo, n8, 8):
        a0 += x[i]
        a1 += x[i + 1]
        a2 += x[i + 2]
        a3 += x[i + 3]
        a4 += x[i + 4]
        a5 += x[i + 5]
        a6 += x[i + 6]
        a7 += x[i + 7]
    for i in range(n8, hi):
        a0 += x[i]
    return ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7))


@njit(cache=True, nogil=True, inline="always")
def _max4(x, n):
    """max(0, x[:n]) with four independent running maxima."""
    m0 = 0.0
    m1 = 0.0
    m2 = 0.0
    m3 = 0.0
    n4 = n - n % 4
    for i in range(0, n4, 4):
        m0 = max(m0, x[i])
        m1 = max(m1, x[i + 1])
        m2 = max(m2, x[i + 2])
        m3 = max(m3, x[i + 3])
    for i in range(n4, n):
        m0 = max(m0, x[i])
    return max(max(m0, m1), max(m2, m3))


def _popcount(x):
    """Set bits of a non-negative int64 (compiled: one ``popcnt`` instruction)."""
    return bin(x).count("1")


@intrinsic
def _ctpop(typingctx, x):
    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [ir.IntType(64)])
        fn = cgutils.get_or_insert_function(builder.module, fnty, "llvm.ctpop.i64")
        return builder.call(fn, args)

    return types.int64(types.int64), codegen


@overload(_popcount, inline="always")
def _popcount_compiled(x):
    return lambda x: _ctpop(x)


@njit(cache=True, nogil=True)
def _step_cost(P, c, K, fmask, n_ab, bm, bkf):
    """Entries the op list writes for cause ``c`` after the causes in ``P`` (see ``_row``).

    Every count of entries is an integer below 2^53, so the sum is exact. For ``K <= 62``
    findings :func:`_step_cost_sets` gives the same number from bit sets kept by the caller.
    """
    bit = np.int64(1) << c
    P2 = P | bit
    n_before = 0
    n_open = 0
    n_close = 0
    for q in range(K):
        m = fmask[q]
        touched = (m & P) != 0
        n_before += touched and (m & ~P) != 0
        n_open += (not touched) and (m & bit) != 0
        n_close += (m & bit) != 0 and (m & ~P2) == 0
    return _step_entries(P, c, n_before, n_open, n_close, n_ab, bm, bkf)


@njit(cache=True, nogil=True, inline="always")
def _step_cost_sets(P, c, touched, rest, rest2, fc, n_ab, bm, bkf):
    """:func:`_step_cost` from bit sets over the findings.

    ``touched``: the findings with a parent in ``P``; ``rest``: with a parent outside ``P``;
    ``rest2``: with a parent outside ``P | c``; ``fc``: ``c``'s findings.
    """
    n_before = _popcount(touched & rest)
    n_open = _popcount(fc & ~touched)
    n_close = _popcount(fc & ~rest2)
    return _step_entries(P, c, n_before, n_open, n_close, n_ab, bm, bkf)


@njit(cache=True, nogil=True, inline="always")
def _step_entries(P, c, n_before, n_open, n_close, n_ab, bm, bkf):
    """The entries of cause ``c``'s step, given its counts of finding bits.

    The counts are of the bits open before the step, opened by ``c`` and closed after it.
    """
    bit = np.int64(1) << c
    P2 = P | bit
    s = 1.0
    for q in range(n_ab):
        m = bm[q]
        if (m & P) != 0 and (m & ~P) != 0:
            s *= bkf[q]
    s *= float(np.int64(1) << n_before)
    tot = 0.0
    for q in range(n_ab):
        m = bm[q]
        if (m & P) == 0 and (m & bit) != 0:
            s *= bkf[q]
            tot += s
    grow = float(np.int64(1) << n_open)
    tot += s * (2.0 * grow - 2.0)  # the opened bits: 2 s + 4 s + ... + grow s
    s *= grow
    tot += s  # the cause
    shrink = float(np.int64(1) << n_close)
    tot += s - s / shrink  # the closed bits: s / 2 + s / 4 + ... + s / shrink
    s /= shrink
    for q in range(n_ab):
        m = bm[q]
        if (m & bit) != 0 and (m & ~P2) == 0:
            s /= bkf[q]
            tot += s
    return tot


@njit(cache=True, nogil=True)
def _improve_order(order, K, fmask, n_ab, bm, bkf, max_passes):
    """Local search on ``order`` (in place): move single causes while the pass gets cheaper.

    Moving a cause by one place changes only the cost of the two steps swapped, so every
    insertion move of one cause is priced in one sweep. Each step's cost in the current order
    is kept (computed again only after a move), and the moved cause's cost at one place is
    the one priced at the place before, so each candidate place costs two prices. A price is
    a few bit operations (:func:`_step_cost_sets`): the sets of findings touched by a prefix
    and left open by a suffix of the order are kept as the search goes. A row with more than
    62 finding bits keeps its order. Returns the cost of the final order.
    """
    C = order.shape[0]
    passes = max_passes if K <= 62 else 0  # beyond 62 finding bits the sets would not fit
    fc = np.zeros(C, np.int64)  # each cause's findings, as a bit set
    for q in range(K if passes else 0):
        for c in range(C):
            if (fmask[q] >> c) & 1:
                fc[c] |= np.int64(1) << q
    pre = np.zeros(C + 1, np.int64)  # causes before each place
    tpre = np.zeros(C + 1, np.int64)  # findings touched by them
    suf = np.zeros(C + 2, np.int64)  # findings of the causes from each place on
    here = np.empty(C)  # each step's cost in the current order
    stale = True
    for _ in range(passes):
        improved = False
        for i in range(C):
            if stale:  # after a move (the prefixes and step costs between its ends change)
                for j in range(C):
                    pre[j + 1] = pre[j] | (np.int64(1) << order[j])
                    tpre[j + 1] = tpre[j] | fc[order[j]]
                for j in range(C - 1, -1, -1):
                    suf[j] = suf[j + 1] | fc[order[j]]
                for j in range(C):
                    here[j] = _step_cost_sets(
                        pre[j], order[j], tpre[j], suf[j], suf[j + 1], fc[order[j]],
                        n_ab, bm, bkf,
                    )  # fmt: skip
                stale = False
            x = order[i]
            xb = np.int64(1) << x
            fx = fc[x]
            best = -0.5
            bj = i
            cum = 0.0
            Q = pre[i]
            T = tpre[i]  # findings touched by Q
            x_at = here[i]  # x's cost after the prefix Q
            for j in range(i, C - 1):  # move x right past order[j + 1]
                y = order[j + 1]
                yb = np.int64(1) << y
                old = x_at + here[j + 1]  # y's prefix in the current order is Q | xb
                # outside Q: x and order[j + 1:]; outside Q | y: x and order[j + 2:]
                y_at = _step_cost_sets(
                    Q, y, T, fx | suf[j + 1], fx | suf[j + 2], fc[y], n_ab, bm, bkf
                )
                x_at = _step_cost_sets(
                    Q | yb, x, T | fc[y], fx | suf[j + 2], suf[j + 2], fx, n_ab, bm, bkf
                )
                cum += (y_at + x_at) - old
                Q |= yb
                T |= fc[y]
                if cum < best:
                    best = cum
                    bj = j + 1
            cum = 0.0
            x_at = here[i]  # x's cost after the prefix pre[i]
            seg = np.int64(0)  # findings of order[j:i]
            for j in range(i, 0, -1):  # move x left past order[j - 1]
                y = order[j - 1]
                Q = pre[j - 1]
                old = here[j - 1] + x_at  # y's cost after Q, then x's after Q | y
                # outside Q: order[j - 1:]; outside Q | x: order[j - 1:i] and order[i + 1:]
                seg_y = seg | fc[y]
                x_at = _step_cost_sets(
                    Q, x, tpre[j - 1], suf[j - 1], seg_y | suf[i + 1], fx, n_ab, bm, bkf
                )
                y_at = _step_cost_sets(
                    Q | xb, y, tpre[j - 1] | fx, seg_y | suf[i + 1], seg | suf[i + 1], fc[y],
                    n_ab, bm, bkf,
                )  # fmt: skip
                seg = seg_y
                cum += (x_at + y_at) - old
                if cum < best:
                    best = cum
                    bj = j - 1
            if bj > i:
                for j in range(i, bj):
                    order[j] = order[j + 1]
                order[bj] = x
                improved = stale = True
            elif bj < i:
                for j in range(i, bj, -1):
                    order[j] = order[j - 1]
                order[bj] = x
                improved = stale = True
        if not improved:
            break
    tot = 1.0
    P = np.int64(0)
    for j in range(C):
        tot += _step_cost(P, order[j], K, fmask, n_ab, bm, bkf)
        P |= np.int64(1) << order[j]
    return tot


@njit(cache=True, nogil=True)
def _restarts(order, cost, K, fmask, n_ab, bm, bkf):
    """Search again from ``min(MAX_RESTARTS, cost // RESTART_COST)`` random orders; keep the best.

    The random orders come from a xorshift generator with a fixed seed, so a row gets the same
    order whatever the thread or chunk that answers it.
    """
    C = order.shape[0]
    n = min(MAX_RESTARTS, int(cost // RESTART_COST))
    x = np.uint64(88172645463325252)
    trial = np.empty(C, np.int64)
    for _ in range(n):
        for j in range(C):
            trial[j] = j
        for j in range(C - 1, 0, -1):  # Fisher-Yates
            x ^= x << np.uint64(13)
            x ^= x >> np.uint64(7)
            x ^= x << np.uint64(17)
            k = np.int64(x % np.uint64(j + 1))
            t = trial[j]
            trial[j] = trial[k]
            trial[k] = t
        c = _improve_order(trial, K, fmask, n_ab, bm, bkf, SEARCH_PASSES)
        if c < cost:
            cost = c
            order[:] = trial
    return cost


@njit(cache=True, nogil=True)
def _plan_order(order, K, fmask, n_ab, bm, bkf, restarts):
    """Fill ``order`` with the order in which a row's pass eliminates the causes.

    Greedy (the cause that leaves the fewest open finding bits and history states, then the
    fewest while it is processed), then, for a pass over ``SEARCH_MIN_COST`` entries, a local
    search (:func:`_improve_order`) and, with ``restarts``, :func:`_restarts` for a pass still
    over ``2 * RESTART_COST``. (A plan made only to price a split skips the restarts.)
    """
    lk = np.empty(n_ab)
    for q in range(n_ab):
        lk[q] = math.log2(bkf[q])
    C = order.shape[0]
    P = np.int64(0)
    for step in range(C):
        best = -1
        bd = 1e300
        ba = 1e300
        for c in range(C):
            if (P >> c) & 1:
                continue
            Pc = P | (np.int64(1) << c)
            during = 0.0
            after = 0.0
            for q in range(K):
                m = fmask[q]
                if (m & Pc) != 0 and (m & ~P) != 0:
                    during += 1.0
                    if (m & ~Pc) != 0:
                        after += 1.0
            for q in range(n_ab):
                m = bm[q]
                if (m & Pc) != 0 and (m & ~P) != 0:
                    during += lk[q]
                    if (m & ~Pc) != 0:
                        after += lk[q]
            if after < ba or (after == ba and during < bd):
                best = c
                bd = during
                ba = after
        order[step] = best
        P |= np.int64(1) << best
    if K >= SEARCH_MIN_K:
        cost = 1.0
        P = np.int64(0)
        for step in range(C):
            cost += _step_cost(P, order[step], K, fmask, n_ab, bm, bkf)
            P |= np.int64(1) << order[step]
        if cost > SEARCH_MIN_COST:
            cost = _improve_order(order, K, fmask, n_ab, bm, bkf, SEARCH_PASSES)
        if restarts and cost > 2 * RESTART_COST:
            _restarts(order, cost, K, fmask, n_ab, bm, bkf)


@njit(cache=True, nogil=True)
def _cause_bits(tl, c, lay_n, lay_nb, lay_id, lay_card, fmask, a0, a1, a2, bst, ba, bb, bc):
    """The strides (in layout ``tl``, largest first) and maps of ``c``'s open bits; their count."""
    bit = np.int64(1) << c
    na = lay_n[tl]
    nbit = 0
    for a in range(lay_nb[tl], na):
        q = lay_id[tl, a]
        if (fmask[q] & bit) != 0:
            bst[nbit] = _stride(lay_card[tl], na, a)
            ba[nbit] = a0[q, c]
            bb[nbit] = a1[q, c]
            bc[nbit] = a2[q, c]
            nbit += 1
    return nbit


@njit(cache=True, nogil=True)
def _swap_bits(i, j, bst, ba, bb, bc):
    """Swap bits ``i`` and ``j`` of a step (the maps commute: only the sweep order changes)."""
    bst[i], bst[j] = bst[j], bst[i]
    ba[i], ba[j] = ba[j], ba[i]
    bb[i], bb[j] = bb[j], bb[i]
    bc[i], bc[j] = bc[j], bc[i]


@njit(cache=True, nogil=True)
def _fused_bits(
    t, m, c, op_id, op_pos, lay_n, lay_nb, lay_id, lay_card, fmask, a0, a1, a2, cq, clg,
    bst, ba, bb, bc,
):  # fmt: skip
    """Set up cause step ``t`` run with the ``m`` closes that follow it.

    Fills ``cq``/``clg`` with the closed findings and log2 of their strides (each in the layout
    before its close), and ``bst``, ``ba``, ``bb``, ``bc`` with the strides (in the layout
    after the closes) and maps of the cause's bits that stay open; returns how many those are.
    """
    for k2 in range(m):
        u2 = t + 1 + k2
        cq[k2] = op_id[u2]
        sv = _stride(lay_card[u2], lay_n[u2], op_pos[u2])
        lg = 0
        while (np.int64(1) << lg) < sv:  # finding axes have 2 states: strides are powers of 2
            lg += 1
        clg[k2] = lg
    return _cause_bits(
        t + m + 1, c, lay_n, lay_nb, lay_id, lay_card, fmask, a0, a1, a2, bst, ba, bb, bc
    )


@njit(cache=True, nogil=True)
def _sum_factors(n_hc, d0, d1, nbit, bc, m, cq, c, a1, a2):
    """Bounds on the factor by which a cause step (with its ``m`` closes) moves a table's sum.

    A bit's map keeps ``a + b = c`` (``Qcum(r - 1) + Qpmf(r) = Qcum(r)``), so it multiplies the
    sum by ``c``; a closed bit keeps its bit-1 row (``p g0 + q g1``, between ``p`` and ``q``
    times the sum) and the absent-cause term adds between 0 and ``y0`` times the sum. The
    forward pass takes an exact sum only when these bounds leave ``[1 / _SCALE, _SCALE]``.
    """
    pc = 1.0
    for j in range(nbit):
        pc *= bc[j]
    p_lo = 1.0
    p_hi = 1.0
    for k2 in range(m):
        p = a1[cq[k2], c]
        q = a2[cq[k2], c]
        p_lo *= min(p, q)
        p_hi *= max(p, q)
    f_lo = math.inf
    f_hi = 0.0
    for hc in range(n_hc):
        lo = d1[hc] * pc * p_lo + (0.0 if m > 0 else d0[hc])
        hi = d0[hc] + d1[hc] * pc * p_hi
        f_lo = min(f_lo, lo)
        f_hi = max(f_hi, hi)
    return f_lo, f_hi


@njit(cache=True, nogil=True)
def _max_factors(n_hc, d0, d1, nbit, ba, bc, m, cq, c, a1, a2):
    """Bounds on the factor by which a cause step's transpose moves the largest entry.

    A bit's transpose ``(y0, y1) -> (a y0 + b y1, c y1)`` keeps every entry between
    ``min(a, c)`` and ``c = a + b`` times the largest; a closed bit's expansion multiplies by
    ``p`` or ``q``; the absent-cause term adds ``y0`` times the message (with closes, only
    where the closed bits are all 1).
    """
    pc = 1.0
    pa = 1.0
    for j in range(nbit):
        pc *= bc[j]
        pa *= min(ba[j], bc[j])
    p_hi = 1.0
    for k2 in range(m):
        p_hi *= max(a1[cq[k2], c], a2[cq[k2], c])
    f_lo = math.inf
    f_hi = 0.0
    for hc in range(n_hc):
        lo = d0[hc] + (0.0 if m > 0 else d1[hc] * pa)
        hi = d0[hc] + d1[hc] * pc * p_hi
        f_lo = min(f_lo, lo)
        f_hi = max(f_hi, hi)
    return f_lo, f_hi


@njit(cache=True, nogil=True)
def _fw_fused(fi, gbuf, gbuf2, run, m, cq, clg, c, a1, a2, sy):
    """The closed bits' bit-1 rows of ``sy T`` on one run of ``fi``, into gbuf or gbuf2.

    Returns 0 when the result is in ``gbuf``, 1 in ``gbuf2``.
    """
    nn = run
    for k2 in range(m):
        nn //= 2
        q = cq[k2]
        p = a1[q, c]
        r = a2[q, c]
        stv = np.int64(1) << clg[k2]
        dst = gbuf if k2 % 2 == 0 else gbuf2
        if k2 == 0:
            _mix_half(fi, dst, nn, stv, p * sy, r * sy)
        else:
            _mix_half(gbuf2 if k2 % 2 == 0 else gbuf, dst, nn, stv, p, r)
    return (m - 1) % 2


@njit(cache=True, nogil=True)
def _bw_fused(
    fi, bo, bi, gbuf, gbuf2, run, ro, m, cq, clg, c, a1, a2, nbit, bst, ba, bb, bc, br, br1,
    prod_c, y0, y1,
):  # fmt: skip
    """The transpose of a fused cause step on one run: bi = y0 E bo + y1 X T'_open bo.

    ``E`` puts ``bo`` where the closed bits are all 1 (zeros elsewhere), ``X`` expands it
    through the closed bits' rows; returns ``fi . y1 X T'_open bo``.
    """
    # h = T' bout over the bits that stay open (on the small table)
    where = -1  # h is in: -1 bo, 0 gbuf, 1 gbuf2
    sc = y1
    if nbit > 0 and prod_c > 0.0:
        _bw_mid(bo, gbuf, 0, ro, bst[0], br1[0], br[0], 1.0)
        for j in range(1, nbit):
            _in_place(gbuf, 0, ro, bst[j], 0, br1[j], br[j])
        where = 0
        sc = y1 * prod_c
    elif nbit > 0:
        for j in range(nbit):
            src = bo if where == -1 else (gbuf if where == 0 else gbuf2)
            dst = gbuf2 if where == 0 else gbuf
            _bw_mid(src, dst, 0, ro, bst[j], ba[j], bb[j], bc[j])
            where = 1 if where == 0 else 0
    # expand through the closed bits, the last closed first; the first closed writes bi
    nn = ro
    for k2 in range(m - 1, -1, -1):
        q = cq[k2]
        p = a1[q, c]
        r = a2[q, c]
        if k2 == m - 1:
            p *= sc
            r *= sc
        src = bo if where == -1 else (gbuf if where == 0 else gbuf2)
        dst = bi if k2 == 0 else (gbuf2 if where == 0 else gbuf)
        _expand(src, dst, nn, np.int64(1) << clg[k2], p, r)
        where = 1 if where == 0 else 0
        nn *= 2
    m1 = _dot4(fi, bi, run)
    _scatter(bo, bi, ro, clg, m, y0)
    return m1


@njit(cache=True, nogil=True)
def _row(
    b,
    code,
    params,
    offr,
    st,
    force_absent,
    want_marg,
    out_logz,
    out_c1,
    out_h,
    out_status,
    out_work,
    caps,
    ws,
    order_io,
):
    (
        hcol,
        hcard,
        hpar_ptr,
        hpar,
        hblk,
        blk_ptr,
        blk_mem,
        ccol,
        cpar_ptr,
        cpar,
        fcol,
        fS,
        fpar_ptr,
        fpar,
        ford_ptr,
        ford,
        frank,
        hcmask,
    ) = st
    H = hcol.shape[0]
    C = ccol.shape[0]
    NF = fcol.shape[0]
    G = blk_ptr.shape[0] - 1
    logc = 0.0
    impossible = False

    hval = np.empty(H, np.int64)
    for i in range(H):
        hval[i] = code[hcol[i]]
    # ---------------------------------------------------------------- history blocks
    bk = np.ones(G, np.int64)
    mstride = np.ones(H, np.int64)
    for g in range(G):
        k = 1
        for p in range(blk_ptr[g + 1] - 1, blk_ptr[g] - 1, -1):
            h = blk_mem[p]
            if hval[h] < 0:
                mstride[h] = k
                k *= hcard[h]
        bk[g] = k
    wptr = np.zeros(G + 1, np.int64)
    for g in range(G):
        wptr[g + 1] = wptr[g] + bk[g]
    W = np.empty(wptr[G])
    for g in range(G):
        for v in range(bk[g]):
            w = 1.0
            for p in range(blk_ptr[g], blk_ptr[g + 1]):
                h = blk_mem[p]
                x = hval[h] if hval[h] >= 0 else (v // mstride[h]) % hcard[h]
                idx = x
                for q in range(hpar_ptr[h], hpar_ptr[h + 1]):
                    ph = hpar[q]
                    pv = hval[ph] if hval[ph] >= 0 else (v // mstride[ph]) % hcard[ph]
                    idx = idx * hcard[ph] + pv
                w *= params[offr[hcol[h]] + idx]
            W[wptr[g] + v] = w
    # a block's axis is needed from the first cause of an unobserved member to the last one
    # (an observed member's causes see a constant)
    blk_cmask = np.zeros(G, np.int64)
    for g in range(G):
        for p in range(blk_ptr[g], blk_ptr[g + 1]):
            if hval[blk_mem[p]] < 0:
                blk_cmask[g] |= hcmask[blk_mem[p]]
    is_axis = np.zeros(G, np.bool_)
    n_ab = 0
    for g in range(G):
        if bk[g] > 1 and blk_cmask[g] != 0:
            is_axis[g] = True
            n_ab += 1
            continue
        s = 0.0
        for v in range(bk[g]):
            s += W[wptr[g] + v]
        if s <= 0.0:
            impossible = True
            continue
        logc += math.log(s)
        if want_marg == 2:
            for v in range(bk[g]):
                pv = W[wptr[g] + v] / s
                for p in range(blk_ptr[g], blk_ptr[g + 1]):
                    h = blk_mem[p]
                    x = hval[h] if hval[h] >= 0 else (v // mstride[h]) % hcard[h]
                    out_h[b, h, x] += pv
    ab = np.empty(n_ab, np.int64)
    n_ab = 0
    for g in range(G):
        if is_axis[g]:
            ab[n_ab] = g
            n_ab += 1

    # ---------------------------------------------------------------- causes, findings
    cobs = np.empty(C, np.int64)
    for c in range(C):
        cobs[c] = code[ccol[c]]
        if force_absent:
            if cobs[c] == 1:
                impossible = True
            cobs[c] = 0
    u = np.ones(C)
    fmask = np.zeros(NF, np.int64)
    L0 = np.empty(NF)
    L1 = np.empty(NF)
    a0 = np.empty((NF, C))
    a1 = np.empty((NF, C))
    a2 = np.empty((NF, C))
    K = 0
    for f in range(NF):
        s = code[fcol[f]]
        if s < 0:
            continue
        base = offr[fcol[f]]
        S = fS[f]
        op = ford_ptr[f]
        r = frank[op + s]
        n = fpar_ptr[f + 1] - fpar_ptr[f]
        if force_absent or r == 0:
            x = params[base + s]
            if x <= 0.0:
                impossible = True
            else:
                logc += math.log(x)
            if not force_absent:
                for j in range(n):
                    u[fpar[fpar_ptr[f] + j]] *= params[base + (1 + j) * S + s]
            continue
        lc = 0.0
        for t in range(r):
            lc += params[base + ford[op + t]]
        l1 = params[base + s]
        m = 0
        for j in range(n):
            c = fpar[fpar_ptr[f] + j]
            row = base + (1 + j) * S
            q = 0.0
            for t in range(r):
                q += params[row + ford[op + t]]
            p = params[row + s]
            if cobs[c] == 0:  # an absent cause leaves the bit as it is
                continue
            if cobs[c] == 1:  # a present one moves it at once: folded into the leak's weights
                l1 = lc * p + l1 * (q + p)  # (the moves of the causes commute)
                lc = lc * q
                continue
            a0[K, c] = q
            a1[K, c] = p
            a2[K, c] = q + p
            m |= np.int64(1) << c
        if m == 0:
            x = l1
            if x <= 0.0:
                impossible = True
            else:
                logc += math.log(x)
            continue
        L0[K] = lc
        L1[K] = l1
        fmask[K] = m
        K += 1
    if impossible:
        out_logz[b] = -math.inf
        return 0

    # ---------------------------------------------------------------- order
    order = order_io
    if order[0] < 0:  # not planned yet by an earlier call for this row
        bm = np.empty(n_ab, np.int64)  # the open blocks' cause sets and sizes, for the planner
        bkf = np.empty(n_ab)
        for q in range(n_ab):
            bm[q] = blk_cmask[ab[q]]
            bkf[q] = bk[ab[q]]
        _plan_order(order, K, fmask, n_ab, bm, bkf, caps[1] > 0)

    # ---------------------------------------------------------------- op list, sizes
    max_ops = 2 * (n_ab + K) + C
    op_kind = np.empty(max_ops, np.int64)
    op_id = np.empty(max_ops, np.int64)
    n_ops = 0
    f_open = np.zeros(K, np.bool_)
    b_open = np.zeros(n_ab, np.bool_)
    P = np.int64(0)
    for step in range(C):
        c = order[step]
        bit = np.int64(1) << c
        for q in range(n_ab):
            if not b_open[q] and (blk_cmask[ab[q]] & bit) != 0:
                op_kind[n_ops] = _OPEN_BLOCK
                op_id[n_ops] = ab[q]
                n_ops += 1
                b_open[q] = True
        for q in range(K):
            if not f_open[q] and (fmask[q] & bit) != 0:
                op_kind[n_ops] = _OPEN_FIND
                op_id[n_ops] = q
                n_ops += 1
                f_open[q] = True
        op_kind[n_ops] = _CAUSE
        op_id[n_ops] = c
        n_ops += 1
        P |= bit
        for q in range(K):
            if f_open[q] and (fmask[q] & ~P) == 0:
                op_kind[n_ops] = _CLOSE_FIND
                op_id[n_ops] = q
                n_ops += 1
                f_open[q] = False
        for q in range(n_ab):
            if b_open[q] and (blk_cmask[ab[q]] & ~P) == 0:
                op_kind[n_ops] = _CLOSE_BLOCK
                op_id[n_ops] = ab[q]
                n_ops += 1
                b_open[q] = False
    # the closes of findings that follow a cause step run with it (ncl: how many)
    ncl = np.zeros(n_ops, np.int64)
    for t in range(n_ops):
        if op_kind[t] == _CAUSE:
            u2 = t + 1
            while u2 < n_ops and op_kind[u2] == _CLOSE_FIND:
                u2 += 1
            ncl[t] = u2 - t - 1
    # layouts (axes before each op): open history blocks first, then finding bits. A new axis
    # goes right after the open blocks, so the bit opened last has the largest stride: an open
    # then copies long contiguous runs, and the short strides (whose sweeps do not vectorize
    # as well) fall to the oldest bits, which close soonest (20,000 random rows: 9.0 -> 8.4 s)
    max_ax = n_ab + K + 1
    lay_kind = np.empty((n_ops + 1, max_ax), np.int64)
    lay_id = np.empty((n_ops + 1, max_ax), np.int64)
    lay_card = np.empty((n_ops + 1, max_ax), np.int64)
    lay_n = np.zeros(n_ops + 1, np.int64)
    lay_nb = np.zeros(n_ops + 1, np.int64)
    op_pos = np.zeros(n_ops, np.int64)
    size = np.ones(n_ops + 1, np.int64)
    for t in range(n_ops):
        na = lay_n[t]
        nb = lay_nb[t]
        kind = op_kind[t]
        if kind == _OPEN_BLOCK or kind == _OPEN_FIND:
            pos = nb
            k = bk[op_id[t]] if kind == _OPEN_BLOCK else 2
            for a in range(pos):
                lay_kind[t + 1, a] = lay_kind[t, a]
                lay_id[t + 1, a] = lay_id[t, a]
                lay_card[t + 1, a] = lay_card[t, a]
            lay_kind[t + 1, pos] = _AX_BLOCK if kind == _OPEN_BLOCK else _AX_FIND
            lay_id[t + 1, pos] = op_id[t]
            lay_card[t + 1, pos] = k
            for a in range(pos, na):
                lay_kind[t + 1, a + 1] = lay_kind[t, a]
                lay_id[t + 1, a + 1] = lay_id[t, a]
                lay_card[t + 1, a + 1] = lay_card[t, a]
            lay_n[t + 1] = na + 1
            lay_nb[t + 1] = nb + (1 if kind == _OPEN_BLOCK else 0)
            size[t + 1] = size[t] * k
        elif kind == _CAUSE:
            pos = 0
            for a in range(na):
                lay_kind[t + 1, a] = lay_kind[t, a]
                lay_id[t + 1, a] = lay_id[t, a]
                lay_card[t + 1, a] = lay_card[t, a]
            lay_n[t + 1] = na
            lay_nb[t + 1] = nb
            size[t + 1] = size[t]
        else:
            ak = _AX_FIND if kind == _CLOSE_FIND else _AX_BLOCK
            pos = _find_axis(lay_kind[t], lay_id[t], na, ak, op_id[t])
            k = lay_card[t, pos]
            for a in range(pos):
                lay_kind[t + 1, a] = lay_kind[t, a]
                lay_id[t + 1, a] = lay_id[t, a]
                lay_card[t + 1, a] = lay_card[t, a]
            for a in range(pos, na - 1):
                lay_kind[t + 1, a] = lay_kind[t, a + 1]
                lay_id[t + 1, a] = lay_id[t, a + 1]
                lay_card[t + 1, a] = lay_card[t, a + 1]
            lay_n[t + 1] = na - 1
            lay_nb[t + 1] = nb - (1 if kind == _CLOSE_BLOCK else 0)
            size[t + 1] = size[t] // k
        op_pos[t] = pos
    tptr = np.zeros(n_ops + 2, np.int64)
    big = 1
    for t in range(n_ops + 1):
        tptr[t + 1] = tptr[t] + size[t]
        if size[t] > big:
            big = size[t]
    out_work[b] = tptr[n_ops + 1]
    # workspace: the tape of forward tables (or, without marginals, two tables that take
    # turns), then buffers: gbuf, bout, bin_, gbuf2 (without marginals: gbuf, gbuf2)
    top = tptr[n_ops + 1] if want_marg else 2 * big
    need = top + (4 if want_marg else 2) * big
    if big > caps[0] or tptr[n_ops + 1] > caps[1]:
        out_status[b] = STATUS_TOO_LARGE
        out_logz[b] = math.nan
        return 0
    if need > ws.shape[0]:
        return need  # the caller grows the workspace (or defers the row) and calls again
    n_hc_max = 1
    for g in range(G):
        if is_axis[g]:
            n_hc_max *= bk[g]
    tape = ws[: tptr[n_ops + 1]] if want_marg else ws[: 2 * big]
    d0 = np.empty(n_hc_max)
    d1 = np.empty(n_hc_max)
    gbuf = ws[top : top + big]
    gbuf2 = ws[top + 3 * big : top + 4 * big] if want_marg else ws[top + big : top + 2 * big]
    w2 = np.empty(2)
    bst = np.empty(K + 1, np.int64)
    ba = np.empty(K + 1)
    bb = np.empty(K + 1)
    bc = np.empty(K + 1)
    br = np.empty(K + 1)
    br1 = np.empty(K + 1)
    cq = np.empty(K + 1, np.int64)  # the closed findings of a fused step
    clg = np.empty(K + 1, np.int64)  # and log2 of their strides

    # ---------------------------------------------------------------- forward
    tape[0] = 1.0
    logs = 0.0
    s_lo = 1.0  # bounds on the current table's sum (exact after a sum; see _sum_factors)
    s_hi = 1.0
    fsc = np.ones(n_ops)  # the scale taken out of the table after op t (and its closes)
    cur = 0  # without marginals: the half of the tape that holds the current table
    for t in range(n_ops):
        kind = op_kind[t]
        if kind == _CLOSE_FIND:
            continue  # run with its cause step
        ident = op_id[t]
        na = lay_n[t]
        m = ncl[t]
        t_end = t + m
        n_in = size[t]
        n_out = size[t_end + 1]
        if want_marg:
            fin = tape[tptr[t] : tptr[t] + n_in]
            fout = tape[tptr[t_end + 1] : tptr[t_end + 1] + n_out]
        else:
            fin = tape[cur * big : cur * big + n_in]
            fout = tape[(1 - cur) * big : (1 - cur) * big + n_out]
            cur = 1 - cur
        if kind == _OPEN_BLOCK or kind == _OPEN_FIND:
            if kind == _OPEN_BLOCK:
                k = bk[ident]
                w = W[wptr[ident] : wptr[ident] + k]
            else:
                k = 2
                w2[0] = L0[ident]
                w2[1] = L1[ident]
                w = w2
            _open_axis(fin, fout, n_in, _stride(lay_card[t], na, op_pos[t] - 1), w, k)
            wsum = 0.0
            for v in range(k):
                wsum += w[v]
            s_lo *= wsum  # an open multiplies the sum by its weights' sum: no sweep needed
            s_hi *= wsum
        elif kind == _CAUSE:
            c = ident
            nb = lay_nb[t]
            n_hc = _cause_weights(
                c,
                nb,
                lay_id[t],
                lay_card[t],
                hval,
                hcard,
                hblk,
                mstride,
                cpar_ptr,
                cpar,
                params,
                offr[ccol[c]],
                u[c],
                cobs[c],
                d0,
                d1,
            )
            run = n_in // n_hc
            if m > 0:  # the closes that follow run with the step
                nbit = _fused_bits(
                    t, m, c, op_id, op_pos, lay_n, lay_nb, lay_id, lay_card, fmask,
                    a0, a1, a2, cq, clg, bst, ba, bb, bc,
                )  # fmt: skip
                prod_a = _take_out(nbit, ba, bb, bc, br, br1) if nbit >= 1 else 1.0
                ro = n_out // n_hc
                for hc in range(n_hc):
                    sy = d1[hc] * prod_a if prod_a > 0.0 else d1[hc]
                    fi = fin[hc * run : (hc + 1) * run]
                    wb = _fw_fused(fi, gbuf, gbuf2, run, m, cq, clg, c, a1, a2, sy)
                    for j in range(nbit):  # the cause's bits that stay open, on the small table
                        src = gbuf if wb == 0 else gbuf2
                        if prod_a > 0.0:
                            _in_place(src, 0, ro, bst[j], 1, br1[j], br[j])
                        else:
                            dst = gbuf2 if wb == 0 else gbuf
                            _fw_mid(src, dst, 0, ro, bst[j], ba[j], bb[j], bc[j])
                            wb = 1 - wb
                    src = gbuf if wb == 0 else gbuf2
                    _gather_add(fi, src, fout[hc * ro : (hc + 1) * ro], ro, clg, m, d0[hc])
            else:
                nbit = _cause_bits(
                    t, c, lay_n, lay_nb, lay_id, lay_card, fmask, a0, a1, a2, bst, ba, bb, bc
                )
                # take each bit's a out as a scalar: T = a (T / a)
                if nbit >= 3:  # the two shortest strides to the sweeps out of place
                    _swap_bits(0, nbit - 2, bst, ba, bb, bc)
                prod_a = _take_out(nbit, ba, bb, bc, br, br1) if nbit >= 2 else 0.0
                for hc in range(n_hc):
                    lo = hc * run
                    hi = lo + run
                    y0 = d0[hc]
                    y1 = d1[hc]
                    if nbit == 0:
                        y = y0 + y1
                        for i in range(lo, hi):
                            fout[i] = y * fin[i]
                    elif nbit == 1:  # fout = (y0 + y1 T) fin
                        e00 = y0 + y1 * ba[0]
                        e11 = y0 + y1 * bc[0]
                        _fw_mid(fin, fout, lo, hi, bst[0], e00, y1 * bb[0], e11)
                    elif prod_a > 0.0:  # fout = y0 fin + y1 prod(a) (T_k/a_k) ... (T_0/a_0) fin
                        sy = y1 * prod_a
                        _fw_mid(fin, gbuf, lo, hi, bst[0], sy, sy * br[0], sy * br1[0])
                        for j in range(1, nbit - 1):
                            _in_place(gbuf, lo, hi, bst[j], 1, br1[j], br[j])
                        j = nbit - 1
                        _fw_last(fin, gbuf, fout, lo, hi, bst[j], br[j], br1[j], y0)
                    else:  # fout = y0 fin + T_k ... T_1 (y1 T_0) fin (an a is 0, or prod(a) is)
                        _fw_mid(fin, gbuf, lo, hi, bst[0], ba[0] * y1, bb[0] * y1, bc[0] * y1)
                        src = gbuf
                        dst = gbuf2
                        for j in range(1, nbit - 1):
                            _fw_mid(src, dst, lo, hi, bst[j], ba[j], bb[j], bc[j])
                            src, dst = dst, src
                        j = nbit - 1
                        _fw_mid(src, fout, lo, hi, bst[j], ba[j], bb[j], bc[j])
                        _axpby(fin, fout, fout, lo, hi, y0, 1.0)
            f_lo, f_hi = _sum_factors(n_hc, d0, d1, nbit, bc, m, cq, c, a1, a2)
            s_lo *= f_lo
            s_hi *= f_hi
        else:  # the close of a history block (keeps the sum)
            pos = op_pos[t]
            k = lay_card[t, pos]
            stv = _stride(lay_card[t], na, pos)
            for hi in range(n_out // stv):
                d = fout[hi * stv : (hi + 1) * stv]
                src = fin[hi * k * stv : (hi * k + 1) * stv]
                for lo in range(stv):
                    d[lo] = src[lo]
                for v in range(1, k):
                    src = fin[(hi * k + v) * stv : (hi * k + v + 1) * stv]
                    for lo in range(stv):
                        d[lo] += src[lo]
        if t_end < n_ops - 1 and s_lo >= 1.0 / _SCALE and s_hi <= _SCALE:
            continue
        s = _sum8(fout, 0, n_out)
        if not s > 0.0:
            out_logz[b] = -math.inf
            return 0
        s_lo = s_hi = s
        if s < 1.0 / _SCALE or s > _SCALE or t_end == n_ops - 1:
            inv = 1.0 / s
            for i in range(n_out):
                fout[i] *= inv
            logs += math.log(s)
            s_lo = s_hi = 1.0
            fsc[t] = s
    out_logz[b] = logc + logs
    if not want_marg:
        return 0

    # ---------------------------------------------------------------- backward
    bout = ws[tptr[n_ops + 1] + big : tptr[n_ops + 1] + 2 * big]
    bin_ = ws[tptr[n_ops + 1] + 2 * big : tptr[n_ops + 1] + 3 * big]
    bout[0] = 1.0
    m_lo = 1.0  # bounds on the current message's largest entry
    m_hi = 1.0
    # fin . bin_ is the same for every op (the evidence), up to the scales taken out forward
    # and backward: kept as zz, it is the denominator of every cause's posterior, so the
    # absent-cause term needs no product of its own
    zz = tape[tptr[n_ops]]
    for t in range(n_ops - 1, -1, -1):
        kind = op_kind[t]
        if kind == _CLOSE_FIND:
            continue  # run with its cause step
        ident = op_id[t]
        na = lay_n[t]
        n_in = size[t]
        fin = tape[tptr[t] : tptr[t] + n_in]
        m = ncl[t]
        if kind == _OPEN_BLOCK or kind == _OPEN_FIND:
            if kind == _OPEN_BLOCK:
                k = bk[ident]
                w = W[wptr[ident] : wptr[ident] + k]
            else:
                k = 2
                w2[0] = L0[ident]
                w2[1] = L1[ident]
                w = w2
            low = _stride(lay_card[t], na, op_pos[t] - 1)
            if kind == _OPEN_BLOCK and want_marg == 2:  # the history nodes' marginals
                pv = np.zeros(k)
                for hi in range(n_in // low):
                    for v in range(k):
                        o = (hi * k + v) * low
                        acc = 0.0
                        for lo in range(low):
                            acc += fin[hi * low + lo] * bout[o + lo]
                        pv[v] += acc
                tot = 0.0
                for v in range(k):
                    pv[v] *= w[v]
                    tot += pv[v]
                g = ident
                for v in range(k):
                    for p in range(blk_ptr[g], blk_ptr[g + 1]):
                        h = blk_mem[p]
                        x = hval[h] if hval[h] >= 0 else (v // mstride[h]) % hcard[h]
                        out_h[b, h, x] += pv[v] / tot
            _open_axis_t(bout, bin_, n_in, low, w, k)
            wmin = w[0]
            wsum = 0.0
            for v in range(k):
                wmin = min(wmin, w[v])
                wsum += w[v]
            m_lo *= wmin  # bin_ sums bout's entries weighted by w
            m_hi *= wsum
        elif kind == _CAUSE:
            c = ident
            nb = lay_nb[t]
            n_hc = _cause_weights(
                c,
                nb,
                lay_id[t],
                lay_card[t],
                hval,
                hcard,
                hblk,
                mstride,
                cpar_ptr,
                cpar,
                params,
                offr[ccol[c]],
                u[c],
                cobs[c],
                d0,
                d1,
            )
            run = n_in // n_hc
            m1 = 0.0  # the cause's present term, over every history configuration
            if m > 0:  # the closes that follow run with the step
                nbit = _fused_bits(
                    t, m, c, op_id, op_pos, lay_n, lay_nb, lay_id, lay_card, fmask,
                    a0, a1, a2, cq, clg, bst, ba, bb, bc,
                )  # fmt: skip
                if nbit >= 2:  # the shortest stride to the sweep out of place
                    _swap_bits(0, nbit - 1, bst, ba, bb, bc)
                prod_c = _take_out(nbit, bc, bb, ba, br, br1)
                ro = size[t + m + 1] // n_hc
                for hc in range(n_hc):
                    m1 += _bw_fused(
                        fin[hc * run : (hc + 1) * run], bout[hc * ro : (hc + 1) * ro],
                        bin_[hc * run : (hc + 1) * run], gbuf, gbuf2, run, ro, m, cq, clg, c,
                        a1, a2, nbit, bst, ba, bb, bc, br, br1, prod_c, d0[hc], d1[hc],
                    )  # fmt: skip
            else:
                nbit = _cause_bits(
                    t, c, lay_n, lay_nb, lay_id, lay_card, fmask, a0, a1, a2, bst, ba, bb, bc
                )
                # take each bit's c out as a scalar: T' = c (T' / c)
                if nbit >= 2:  # the shortest stride to the sweep out of place
                    _swap_bits(0, nbit - 1, bst, ba, bb, bc)
                prod_c = _take_out(nbit, bc, bb, ba, br, br1)
                for hc in range(n_hc):
                    lo = hc * run
                    hi = lo + run
                    y0 = d0[hc]
                    y1 = d1[hc]
                    if nbit == 0:  # h = bout
                        m1 += _bw_combine(fin, bout, bout, bin_, lo, hi, y0, y1)
                    elif prod_c > 0.0:  # h = prod(c) (T'/c) bout over every bit
                        _bw_mid(bout, gbuf, lo, hi, bst[0], br1[0], br[0], 1.0)
                        for j in range(1, nbit):
                            _in_place(gbuf, lo, hi, bst[j], 0, br1[j], br[j])
                        m1 += _bw_combine(fin, bout, gbuf, bin_, lo, hi, y0, y1 * prod_c)
                    else:  # h = T' bout over every bit; bin_ = y0 bout + y1 h
                        src = bout
                        for j in range(nbit):
                            dst = gbuf if j % 2 == 0 else gbuf2
                            _bw_mid(src, dst, lo, hi, bst[j], ba[j], bb[j], bc[j])
                            src = dst
                        m1 += _bw_combine(fin, bout, src, bin_, lo, hi, y0, y1)
            out_c1[b, c] = min(1.0, m1 / (zz * fsc[t]))
            f_lo, f_hi = _max_factors(n_hc, d0, d1, nbit, ba, bc, m, cq, c, a1, a2)
            m_lo *= f_lo
            m_hi *= f_hi
        else:
            pos = op_pos[t]
            k = lay_card[t, pos]
            stv = _stride(lay_card[t], na, pos)
            n_out = size[t + 1]
            for hi in range(n_out // stv):  # the close of a history block
                src = bout[hi * stv : (hi + 1) * stv]
                for v in range(k):
                    d = bin_[(hi * k + v) * stv : (hi * k + v + 1) * stv]
                    for lo in range(stv):
                        d[lo] = src[lo]
        zz *= fsc[t]
        # a close's transpose keeps the largest entry; an open's or a cause step's moves it
        # within [m_lo, m_hi]
        if m_lo < 1.0 / _SCALE or m_hi > _SCALE:
            mx = _max4(bin_, n_in)
            m_lo = m_hi = mx
            if mx > 0.0 and (mx < 1.0 / _SCALE or mx > _SCALE):
                inv = 1.0 / mx
                for i in range(n_in):
                    bin_[i] *= inv
                m_lo = m_hi = 1.0
                zz *= inv
        bout, bin_ = bin_, bout
    return 0


@njit(cache=True, nogil=True)
def run_rows(
    codes,
    params,
    off,
    st,
    force_absent,
    want_marg,
    out_logz,
    out_c1,
    out_h,
    out_status,
    out_work,
    caps,
    orders,
    ws,
):
    """Answer every row of ``codes`` (see the module docstring); outputs are filled in place.

    ``off`` is ``(B or 1, n_vars)``: where each node's numbers start in ``params`` for that
    row. ``want_marg`` is 0 for the log evidence alone, 1 for the causes' marginals too
    (``out_c1``), 2 for the history nodes' too (``out_h``, which must be zeroed by the
    caller). ``caps`` is ``(largest state table, largest
    tape, largest workspace of this call)`` in entries of 8 bytes (the engine's
    ``max_state``, ``max_tape`` and memory budget). ``out_status[b]`` is ``STATUS_TOO_LARGE``
    (and ``out_logz[b]`` NaN) when the row would exceed the first two, ``STATUS_DEFERRED``
    (row not answered) when its workspace does not fit in the third, so the caller can
    answer it later with a larger workspace; ``out_work[b]`` is the number of
    state-table entries the row's pass went through (its cost). ``orders`` is ``(B, n_causes)``:
    a row whose ``orders[b, 0]`` is -1 is planned and its order kept there, so that a row
    answered again (with a larger workspace, here or by the caller) is not planned again.
    Caps of 0 stop each row right after its plan (the plan's cost is in ``out_work``).
    ``ws`` is a workspace to start with (any length, its contents unused); the workspace the
    call ends with is returned, for the caller to pass to its next call: a fresh one per call
    would touch every page again (on 20,000 random rows in chunks of 625, 0.5 M page faults
    and 0.9 s of system time).
    """
    if ws.shape[0] > caps[2]:
        ws = ws[: caps[2]]  # a row is deferred exactly when it needs more than the cap
    elif ws.shape[0] < min(1 << 16, caps[2]):
        ws = np.empty(min(1 << 16, caps[2]))
    for b in range(codes.shape[0]):
        orow = b if off.shape[0] > 1 else 0
        while True:  # at most twice: a row that needs a larger workspace says how large
            need = _row(
                b,
                codes[b],
                params,
                off[orow],
                st,
                force_absent,
                want_marg,
                out_logz,
                out_c1,
                out_h,
                out_status,
                out_work,
                caps,
                ws,
                orders[b],
            )
            if need == 0:
                break
            out_h[b] = 0.0  # the first call may have added the constant blocks' marginals
            if need > caps[2]:
                out_status[b] = STATUS_DEFERRED
                out_logz[b] = math.nan
                break
            ws = np.empty(need)
    return ws


def _interpreted(fn, **replace):
    """``fn``'s Python code with the named jitted helpers replaced by their Python code."""
    import types

    env = dict(fn.py_func.__globals__)
    env.update(replace)
    return types.FunctionType(fn.py_func.__code__, env, fn.py_func.__name__)


def run_rows_reference(*args):
    """:func:`run_rows` (same arguments) run by the Python interpreter (slow; the tests' reference).

    Every compiled function of this module is replaced by its Python code.
    """
    import types

    env = dict(globals())
    for name, fn in globals().items():
        if hasattr(fn, "py_func"):  # a numba dispatcher
            py = fn.py_func
            env[name] = types.FunctionType(py.__code__, env, name, py.__defaults__)
    env["run_rows"](*args)
