"""msproxy/inspect/align: align two long sequences of keys in near-linear time.

``difflib.SequenceMatcher`` looks for the longest matching block, then recurses on both
sides of it; on MSNP captures, where a few normalised commands (``PNG``, ``QNG``, one
presence line) repeat thousands of times, every search scans all their occurrences, and
the whole costs about the product of the lengths. This module gets the same kind of
alignment the way patience and histogram diff (Bazaar, git) do:

1. the common prefix and suffix of a window are matched at once (equal inputs cost one
   pass);
2. keys occurring exactly once on each side of the window are anchors: the longest
   increasing run of them (patience sorting, ``O(k log k)``) is matched, and the windows
   between consecutive anchors are aligned the same way;
3. a window without such keys looks for runs of 4, 16, then 64 keys that occur once on
   each side (in repetitive traffic, a run is rarer than any of its keys); failing
   that, its rarest common key is the anchor, its occurrences paired in order
   (histogram diff's idea);
4. a window small enough (``SMALL`` cells) is left to ``SequenceMatcher``, whose
   longest-block result reads best.

Each step costs a pass over its window, so the whole is near-linear in practice: the
windows shrink fast around the few differences of two runs of one session. The result
is a valid alignment, not always a minimal one, when a large window has no rare keys.
Pure and synchronous: no I/O.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Hashable, Sequence
from difflib import SequenceMatcher

SMALL = 40_000  # windows of at most this many cells (len(a) * len(b)) go to SequenceMatcher
GRAMS = (4, 16, 64)  # without unique keys, runs of this many keys that are unique

Block = tuple[int, int, int]  # (i, j, n): a[i:i+n] == b[j:j+n]
Opcode = tuple[str, int, int, int, int]  # difflib's (tag, i1, i2, j1, j2)
Progress = Callable[[int], None]  # told how many elements of ``a`` were settled


def matching_blocks(
    a: Sequence[Hashable], b: Sequence[Hashable], progress: Progress | None = None
) -> list[Block]:
    """The matched blocks, increasing in both ``a`` and ``b``, as ``(i, j, n)``;
    ``progress`` (if given) is called with counts of ``a``'s elements as they are settled."""
    blocks: list[Block] = []
    stack = [(0, len(a), 0, len(b))]
    while stack:
        alo, ahi, blo, bhi = stack.pop()
        found, windows = _split(a, b, alo, ahi, blo, bhi)
        blocks.extend(found)
        stack.extend(reversed(windows))  # left windows first, so blocks come out in order
        if progress is not None:
            progress(ahi - alo - sum(w[1] - w[0] for w in windows))
    blocks.sort()
    return _merge(blocks)


def opcodes(
    a: Sequence[Hashable], b: Sequence[Hashable], progress: Progress | None = None
) -> list[Opcode]:
    """``SequenceMatcher.get_opcodes()`` for the alignment of ``matching_blocks``."""
    out: list[Opcode] = []
    i = j = 0
    for bi, bj, n in [*matching_blocks(a, b, progress), (len(a), len(b), 0)]:
        if i < bi and j < bj:
            out.append(("replace", i, bi, j, bj))
        elif i < bi:
            out.append(("delete", i, bi, j, bj))
        elif j < bj:
            out.append(("insert", i, bi, j, bj))
        if n:
            out.append(("equal", bi, bi + n, bj, bj + n))
        i, j = bi + n, bj + n
    return out


def _split(
    a: Sequence[Hashable], b: Sequence[Hashable], alo: int, ahi: int, blo: int, bhi: int
) -> tuple[list[Block], list[tuple[int, int, int, int]]]:
    """The blocks matched directly in a window and the smaller windows left to align."""
    blocks: list[Block] = []
    start = alo
    while alo < ahi and blo < bhi and a[alo] == b[blo]:
        alo, blo = alo + 1, blo + 1
    if alo > start:
        blocks.append((start, blo - (alo - start), alo - start))
    end = ahi
    while alo < ahi and blo < bhi and a[ahi - 1] == b[bhi - 1]:
        ahi, bhi = ahi - 1, bhi - 1
    if ahi < end:
        blocks.append((ahi, bhi, end - ahi))
    if alo == ahi or blo == bhi:
        return blocks, []
    if (ahi - alo) * (bhi - blo) <= SMALL:
        matcher = SequenceMatcher(None, a[alo:ahi], b[blo:bhi], autojunk=False)
        blocks.extend((alo + i, blo + j, n) for i, j, n in matcher.get_matching_blocks() if n)
        return blocks, []
    anchors = _unique_anchors(a, b, alo, ahi, blo, bhi, 1)
    for width in GRAMS:
        if anchors or min(ahi - alo, bhi - blo) < width:
            break
        anchors = _unique_anchors(a, b, alo, ahi, blo, bhi, width)
    anchors = anchors or _rare_anchors(a, b, alo, ahi, blo, bhi)
    windows = []
    i, j = alo, blo
    for ai, bj, n in anchors:
        blocks.append((ai, bj, n))
        if i < ai or j < bj:
            windows.append((i, ai, j, bj))
        i, j = ai + n, bj + n
    if anchors and (i < ahi or j < bhi):
        windows.append((i, ahi, j, bhi))
    return blocks, windows


def _unique_anchors(
    a: Sequence[Hashable],
    b: Sequence[Hashable],
    alo: int,
    ahi: int,
    blo: int,
    bhi: int,
    width: int,
) -> list[Block]:
    """Blocks of ``width`` keys occurring once on each side of the window, the longest
    run of them increasing (and not overlapping) in both."""
    a_grams = _grams(a, alo, ahi, width)
    b_grams = _grams(b, blo, bhi, width)
    a_count = Counter(a_grams)
    b_count = Counter(b_grams)
    where: dict[Hashable, int] = {}
    for offset, gram in enumerate(b_grams):
        if b_count[gram] == 1 and a_count.get(gram) == 1:
            where[gram] = blo + offset
    pairs = [(alo + offset, where[gram]) for offset, gram in enumerate(a_grams) if gram in where]
    blocks: list[Block] = []
    i_end = j_end = 0
    for i, j in _longest_increasing(pairs):
        if i >= i_end and j >= j_end and a[i : i + width] == b[j : j + width]:
            blocks.append((i, j, width))
            i_end, j_end = i + width, j + width
    return blocks


def _grams(keys: Sequence[Hashable], lo: int, hi: int, width: int) -> list[Hashable]:
    """The keys of ``keys[lo:hi]`` (``width`` 1), or the hashes of its runs of ``width``."""
    if width == 1:
        return list(keys[lo:hi])
    hashes = [hash(key) for key in keys[lo:hi]]
    return [hash(tuple(hashes[k : k + width])) for k in range(len(hashes) - width + 1)]


def _rare_anchors(
    a: Sequence[Hashable], b: Sequence[Hashable], alo: int, ahi: int, blo: int, bhi: int
) -> list[Block]:
    """The occurrences of the rarest key common to both sides, paired in order."""
    a_count = Counter(a[alo:ahi])
    b_count = Counter(b[blo:bhi])
    common = [key for key in a_count if key in b_count]
    if not common:
        return []
    rarest = min(common, key=lambda key: max(a_count[key], b_count[key]))
    a_at = [i for i in range(alo, ahi) if a[i] == rarest]
    b_at = [j for j in range(blo, bhi) if b[j] == rarest]
    return [(i, j, 1) for i, j in zip(a_at, b_at, strict=False)]


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The longest subsequence of ``pairs`` (increasing in i) also increasing in j."""
    tails: list[int] = []  # tails[k]: the smallest j ending an increasing run of k + 1
    ends: list[int] = []  # the index in pairs of that end
    back: list[int] = []  # the previous pair's index in the run ending at each pair
    for index, (_, j) in enumerate(pairs):
        k = bisect_left(tails, j)
        back.append(ends[k - 1] if k else -1)
        if k == len(tails):
            tails.append(j)
            ends.append(index)
        else:
            tails[k], ends[k] = j, index
    run: list[tuple[int, int]] = []
    index = ends[-1] if ends else -1
    while index >= 0:
        run.append(pairs[index])
        index = back[index]
    run.reverse()
    return run


def _merge(blocks: list[Block]) -> list[Block]:
    """Adjacent blocks joined into one."""
    out: list[Block] = []
    for i, j, n in blocks:
        if out and out[-1][0] + out[-1][2] == i and out[-1][1] + out[-1][2] == j:
            pi, pj, pn = out[-1]
            out[-1] = (pi, pj, pn + n)
        else:
            out.append((i, j, n))
    return out
