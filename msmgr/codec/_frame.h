/* msmgr/codec/_frame.h: framing one *ordinary* MSNP command, in C.
 *
 * Shared by the two optional C accelerators: msmgr.codec._cframe (Command objects for
 * the Framer) and msproxy.capture._scan (the proxy's capture records). Include it after
 * Python.h. The Python framer (msmgr/codec/framer.py) stays the definition of framing:
 * this repeats its common case only, and the tests hold the two equal.
 *
 * Ordinary means: a line ended by CRLF, shorter than max_line, of printable ASCII
 * (0x20-0x7E) only; a verb of three letters A-Z not named in ``slow`` (line prefixes,
 * each matched as whole tokens: "XFR", "MSG Hotmail"); at most FRAME_MAX_TOKENS tokens;
 * a TrID, when there is one, of at most 18 digits; for a payload command, a byte count
 * of at most 9 digits, not above max_payload, with the whole payload in the buffer.
 * Anything else is left to the Python framer (frame_next returns 0).
 *
 * Which tokens are the TrID and the byte count follows the rules of msmgr/codec/tables.py
 * (payload_tokens, has_trid), the only statement of them: the verb sets come from there,
 * packed by msmgr.codec.framer.fast_rules, and for a letter verb the rules reduce to what
 * follows. The count is the last token when the verb is one of ``payload_verbs`` and that
 * token is all digits; then the TrID is the first remaining argument when it is all
 * digits and the verb is not one of ``no_trid``. Verbs whose framing depends on the
 * negotiated version (numeric errors, LSG and VER from the server) must be excluded by
 * the caller (numeric verbs never pass the A-Z test; the others go in ``slow``).
 * tests/codec/test_rules.py holds this to those rules for every verb, direction and
 * version.
 */

#ifndef MSMGR_CODEC_FRAME_H
#define MSMGR_CODEC_FRAME_H

#include <string.h>
#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h> /* SSE2: every x86-64 processor has it */
#define FRAME_SSE2 1
#endif

#define FRAME_MAX_TOKENS 64
#define FRAME_MAX_SLOW 32

/* The rules of one direction: which verbs carry a payload or no TrID, what to leave to
 * Python, the limits. Read without the GIL (pointers into objects the caller holds). */
typedef struct {
    const unsigned char *payload_verbs; /* packed three-letter verbs: "MSGQRY..." */
    Py_ssize_t payload_verbs_len;
    const unsigned char *no_trid; /* packed the same way */
    Py_ssize_t no_trid_len;
    const char *slow[FRAME_MAX_SLOW];
    Py_ssize_t slow_len[FRAME_MAX_SLOW];
    Py_ssize_t nslow;
    Py_ssize_t max_line;
    Py_ssize_t max_payload;
} FrameRules;

/* One framed command at s[pos:next]. */
typedef struct {
    Py_ssize_t next;      /* the first byte after the command (and its payload) */
    Py_ssize_t line_size; /* the line without its CRLF is s[pos:pos + line_size] */
    int ntok;             /* tokens of the line: s[start[i]:stop[i]]; token 0 is the verb */
    Py_ssize_t start[FRAME_MAX_TOKENS];
    Py_ssize_t stop[FRAME_MAX_TOKENS];
    int first_arg; /* the arguments are tokens first_arg..last (2 when there is a TrID) */
    int last;
    Py_ssize_t trid_start; /* with a TrID: its digits without leading zeros */
    Py_ssize_t trid_stop;
    const unsigned char *payload; /* NULL: no payload */
    Py_ssize_t payload_size;
    int canonical; /* 0 when the TrID or the count has leading zeros */
} Frame;

/* 1 when the three bytes at verb are one of the packed verbs. */
static inline int
frame_verb_in(const unsigned char *verb, const unsigned char *set, Py_ssize_t len)
{
    for (Py_ssize_t i = 0; i + 3 <= len; i += 3) {
        if (set[i] == verb[0] && set[i + 1] == verb[1] && set[i + 2] == verb[2]) {
            return 1;
        }
    }
    return 0;
}

/* 1 when the line (without its line end) starts with one of the ``slow`` prefixes,
 * followed by a space or the end of the line. */
static inline int
frame_is_slow(const unsigned char *line, Py_ssize_t size, const FrameRules *rules)
{
    for (Py_ssize_t i = 0; i < rules->nslow; i++) {
        Py_ssize_t n = rules->slow_len[i];
        /* (the first byte alone rules out nearly every prefix: no call to memcmp) */
        if (n <= size && n > 0 && line[0] == (unsigned char)rules->slow[i][0] &&
            memcmp(line, rules->slow[i], (size_t)n) == 0 &&
            (n == size || line[n] == ' ')) {
            return 1;
        }
    }
    return 0;
}

static inline int
frame_all_digits(const unsigned char *s, Py_ssize_t n)
{
    if (n == 0) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return 0;
        }
    }
    return 1;
}

/* Fills rules from Python objects (with the GIL): packed verb sets as buffers, ``slow``
 * a tuple of bytes (kept alive by the caller while rules is used). Returns -1 with an
 * exception set when ``slow`` is not a tuple of at most FRAME_MAX_SLOW bytes. */
static int
frame_rules_init(FrameRules *rules, const Py_buffer *payload_verbs, const Py_buffer *no_trid,
                 PyObject *slow, Py_ssize_t max_line, Py_ssize_t max_payload)
{
    rules->payload_verbs = payload_verbs->buf;
    rules->payload_verbs_len = payload_verbs->len;
    rules->no_trid = no_trid->buf;
    rules->no_trid_len = no_trid->len;
    rules->max_line = max_line;
    rules->max_payload = max_payload;
    if (!PyTuple_Check(slow)) {
        PyErr_SetString(PyExc_TypeError, "slow must be a tuple of bytes");
        return -1;
    }
    rules->nslow = PyTuple_GET_SIZE(slow);
    if (rules->nslow > FRAME_MAX_SLOW) {
        PyErr_SetString(PyExc_ValueError, "too many slow prefixes");
        return -1;
    }
    for (Py_ssize_t i = 0; i < rules->nslow; i++) {
        PyObject *prefix = PyTuple_GET_ITEM(slow, i);
        if (!PyBytes_Check(prefix)) {
            PyErr_SetString(PyExc_TypeError, "slow must be a tuple of bytes");
            return -1;
        }
        rules->slow[i] = PyBytes_AS_STRING(prefix);
        rules->slow_len[i] = PyBytes_GET_SIZE(prefix);
    }
    return 0;
}

/* Records the token that starts at *token and ends at the space (or line end) at ``at``;
 * 0 when the line has too many tokens to be ordinary. */
static inline int
frame_token_ends(Frame *f, int *ntok, Py_ssize_t *token, Py_ssize_t at)
{
    if (*ntok == FRAME_MAX_TOKENS) {
        return 0;
    }
    f->start[*ntok] = *token;
    f->stop[*ntok] = at;
    (*ntok)++;
    *token = at + 1;
    return 1;
}

/* Frames the command at s[pos:]: 1 and *f filled when it is ordinary and complete, else
 * 0 (not ordinary, or not all in the buffer yet: the Python framer decides). No Python
 * API: may run without the GIL. */
static int
frame_next(const FrameRules *rules, const unsigned char *s, Py_ssize_t size, Py_ssize_t pos,
           Frame *f)
{
    const unsigned char *found = memchr(s + pos, '\n', (size_t)(size - pos));
    if (found == NULL) {
        return 0;
    }
    Py_ssize_t nl = found - s;
    if (nl - pos >= rules->max_line || nl - pos < 4 || s[nl - 1] != '\r') {
        return 0;
    }
    Py_ssize_t end = nl - 1; /* the line is s[pos:end] */
    const unsigned char *line = s + pos;
    f->line_size = end - pos;
    if (line[0] < 'A' || line[0] > 'Z' || line[1] < 'A' || line[1] > 'Z' || line[2] < 'A' ||
        line[2] > 'Z' || (f->line_size > 3 && line[3] != ' ')) {
        return 0;
    }
    /* printable ASCII only, split on single spaces */
    int ntok = 0;
    Py_ssize_t token = pos;
    Py_ssize_t i = pos;
#ifdef FRAME_SSE2
    /* sixteen bytes at a time: none below 0x20, from 0x80 on (one signed compare: those
     * are negative) or DEL; a token ends at each space */
    for (; i + 16 <= end; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(s + i));
        __m128i other = _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                                     _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7F)));
        if (_mm_movemask_epi8(other)) {
            return 0;
        }
        unsigned int spaces =
            (unsigned int)_mm_movemask_epi8(_mm_cmpeq_epi8(x, _mm_set1_epi8(' ')));
        while (spaces) {
            if (!frame_token_ends(f, &ntok, &token, i + __builtin_ctz(spaces))) {
                return 0;
            }
            spaces &= spaces - 1;
        }
    }
#endif
    for (; i <= end; i++) {
        if (i == end || s[i] == ' ') {
            if (!frame_token_ends(f, &ntok, &token, i)) {
                return 0;
            }
        }
        else if (s[i] < 0x20 || s[i] > 0x7E) {
            return 0;
        }
    }
    if (frame_is_slow(line, f->line_size, rules)) {
        return 0;
    }
    f->ntok = ntok;
    int last = ntok - 1;
    f->canonical = 1;
    f->payload = NULL;
    f->payload_size = 0;
    Py_ssize_t next = nl + 1;
    if (ntok > 1 && frame_verb_in(line, rules->payload_verbs, rules->payload_verbs_len) &&
        frame_all_digits(s + f->start[last], f->stop[last] - f->start[last])) {
        Py_ssize_t digits = f->stop[last] - f->start[last];
        if (digits > 9) {
            return 0;
        }
        Py_ssize_t n = 0;
        for (Py_ssize_t i = f->start[last]; i < f->stop[last]; i++) {
            n = n * 10 + (s[i] - '0');
        }
        if (n > rules->max_payload || n > size - next) {
            return 0; /* over the limit, or not all here */
        }
        if (digits > 1 && s[f->start[last]] == '0') {
            f->canonical = 0;
        }
        f->payload = s + next;
        f->payload_size = n;
        next += n;
        last--;
    }
    f->first_arg = 1;
    f->trid_start = f->trid_stop = 0;
    if (last >= 1 && frame_all_digits(s + f->start[1], f->stop[1] - f->start[1]) &&
        !frame_verb_in(line, rules->no_trid, rules->no_trid_len)) {
        if (f->stop[1] - f->start[1] > 18) {
            return 0;
        }
        f->trid_start = f->start[1];
        f->trid_stop = f->stop[1];
        while (f->trid_start < f->trid_stop - 1 && s[f->trid_start] == '0') {
            f->trid_start++;
            f->canonical = 0;
        }
        f->first_arg = 2;
    }
    f->last = last;
    f->next = next;
    return 1;
}

#endif /* MSMGR_CODEC_FRAME_H */
