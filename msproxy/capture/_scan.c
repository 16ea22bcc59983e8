/* msproxy/capture/_scan.c: the capture's fast path, in C (optional accelerator).
 *
 * scan() walks a buffer of one direction's MSNP bytes from a position, and turns every
 * *ordinary* complete command it finds into its ``cmd`` capture record (JSON, one line
 * each), exactly as ``msproxy.capture.format.command_record`` followed by
 * ``msproxy.capture.encode.encode_records`` would. It stops, without consuming it, at
 * the first command that is not ordinary, so that the pure-Python framer deals with it
 * (and with every rule that depends on state): the caller then parses one command
 * there and calls scan() again. The Python code stays the single definition of the
 * format; this only repeats its common case, and the tests hold the two byte-equal.
 *
 * Ordinary is defined in msproxy/capture/ordinary.py, and so is where runs split (the
 * records' stretches); msmgr/codec/_frame.h frames it in C (shared with the codec's
 * accelerator): CRLF-ended printable-ASCII lines with a three-letter verb, nothing near
 * a limit, nothing the caller names in ``slow``. Anything else ends the scan.
 *
 * scan(work, pos, head, payload_verbs, no_trid_verbs, slow, max_line, max_payload)
 *     -> (new_pos, count, records)
 *
 *   work           bytes-like: the buffered bytes of one direction
 *   pos            where to start (a command boundary)
 *   head           the start of every record, up to and including the comma after
 *                  "dir" (``{"type":"cmd","t":1.5,"conn":3,"dir":"c2s",``); None:
 *                  frame only (no records: ``records`` holds where each command ends,
 *                  from pos, as native uint32 values, for runs())
 *   payload_verbs  the direction's payload verbs, packed: b"MSGQRYPAG..."
 *   no_trid_verbs  the direction's verbs that never carry a TrID, packed the same way
 *   slow           tuple of bytes: line prefixes left to the Python framer
 *   new_pos        the first byte not consumed (== pos when nothing was)
 *   count          how many commands were consumed
 *   records        their JSON Lines records, each ended by "\n"
 *
 * runs(work, pos, keys, payload_verbs, no_trid_verbs, slow, max_line, max_payload)
 *     -> (new_pos, count, records)
 *
 *   The same for format version 2: ``run`` records, each holding the exact bytes of
 *   consecutive commands (``data``: JSON text while they are UTF-8 text, ``data_b64``
 *   for consecutive ones that are not) and their ``count``; a stretch of one command
 *   is written as its ``cmd`` record. ``keys`` is what follows the type in every record
 *   (``"t":1.5,"conn":3,"dir":"c2s",``). An optional last argument, ``ends`` (what a
 *   frame-only scan() returned for these bytes, pos 0), spares framing them again.
 *
 * A payload is written as JSON text when it is UTF-8 text (valid UTF-8 with no control
 * character other than TAB, LF and CR), else as base64 in ``payload_b64``; JSON text
 * escapes as Python's json module does with ensure_ascii=False.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>
#if defined(__SSE2__) && (defined(__GNUC__) || defined(__clang__))
#include <emmintrin.h> /* SSE2: every x86-64 processor has it */
#define SCAN_SSE2 1
#endif

#include "_frame.h" /* msmgr/codec/_frame.h: framing one ordinary command */

#define RELEASE_GIL_FROM 4096 /* bytes: smaller scans keep the GIL (not worth a switch) */

/* What one scan() call works with, read without the GIL. */
typedef struct {
    const unsigned char *s;
    Py_ssize_t size;
    const char *head; /* NULL: frame only */
    Py_ssize_t head_len;
    const uint32_t *ends; /* runs(): where each command ends, from a frame-only scan; or NULL */
    Py_ssize_t nends;
    FrameRules rules;
} Scan;

typedef struct {
    char *buf;
    Py_ssize_t len;
    Py_ssize_t cap;
} Out;

static int
out_reserve(Out *out, Py_ssize_t extra)
{
    if (out->len + extra <= out->cap) {
        return 0;
    }
    Py_ssize_t cap = out->cap ? out->cap : 65536;
    while (cap < out->len + extra) {
        cap *= 2;
    }
    char *buf = PyMem_RawRealloc(out->buf, (size_t)cap); /* no GIL needed */
    if (buf == NULL) {
        return -1;
    }
    out->buf = buf;
    out->cap = cap;
    return 0;
}

static inline void
put(Out *out, const char *data, Py_ssize_t size)
{
    memcpy(out->buf + out->len, data, (size_t)size);
    out->len += size;
}

#define PUT_LITERAL(out, text) put((out), (text), (Py_ssize_t)(sizeof(text) - 1))

static const char HEX[] = "0123456789abcdef";

/* JSON string body of data (no quotes), as json.dumps(..., ensure_ascii=False) writes it
 * for a str holding these bytes decoded: '"', '\\' and control characters < 0x20 escaped.
 * Needs 6 * size bytes reserved. */
static void
put_escaped(Out *out, const unsigned char *data, Py_ssize_t size)
{
    char *dst = out->buf + out->len;
    for (Py_ssize_t i = 0; i < size; i++) {
        unsigned char c = data[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *dst++ = (char)c;
            continue;
        }
        *dst++ = '\\';
        switch (c) {
        case '"': *dst++ = '"'; break;
        case '\\': *dst++ = '\\'; break;
        case '\b': *dst++ = 'b'; break;
        case '\f': *dst++ = 'f'; break;
        case '\n': *dst++ = 'n'; break;
        case '\r': *dst++ = 'r'; break;
        case '\t': *dst++ = 't'; break;
        default:
            *dst++ = 'u';
            *dst++ = '0';
            *dst++ = '0';
            *dst++ = HEX[c >> 4];
            *dst++ = HEX[c & 0xF];
        }
    }
    out->len = dst - out->buf;
}

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static char B64_PAIRS[4096][2]; /* the two base64 characters of every 12-bit value */

static void
init_base64(void)
{
    for (int v = 0; v < 4096; v++) {
        B64_PAIRS[v][0] = B64[v >> 6];
        B64_PAIRS[v][1] = B64[v & 63];
    }
}

/* Standard base64 with padding (base64.b64encode). Needs 4 * ((size + 2) / 3) bytes. */
static void
put_base64(Out *out, const unsigned char *data, Py_ssize_t size)
{
    char *dst = out->buf + out->len;
    Py_ssize_t i = 0;
    /* six bytes (eight characters) at a time: eight read as one big-endian word (a
     * single load and byte swap where the compiler sees the idiom), the first six used */
    for (; i + 8 <= size; i += 6) {
        const unsigned char *d = data + i;
        uint64_t w = ((uint64_t)d[0] << 56) | ((uint64_t)d[1] << 48) | ((uint64_t)d[2] << 40) |
                     ((uint64_t)d[3] << 32) | ((uint64_t)d[4] << 24) | ((uint64_t)d[5] << 16) |
                     ((uint64_t)d[6] << 8) | (uint64_t)d[7];
        memcpy(dst, B64_PAIRS[w >> 52], 2);
        memcpy(dst + 2, B64_PAIRS[(w >> 40) & 0xFFF], 2);
        memcpy(dst + 4, B64_PAIRS[(w >> 28) & 0xFFF], 2);
        memcpy(dst + 6, B64_PAIRS[(w >> 16) & 0xFFF], 2);
        dst += 8;
    }
    for (; i + 2 < size; i += 3) {
        unsigned int v = ((unsigned int)data[i] << 16) | ((unsigned int)data[i + 1] << 8) |
                         data[i + 2];
        memcpy(dst, B64_PAIRS[v >> 12], 2); /* two characters per 12 bits */
        memcpy(dst + 2, B64_PAIRS[v & 0xFFF], 2);
        dst += 4;
    }
    if (i < size) {
        unsigned int v = (unsigned int)data[i] << 16;
        if (i + 1 < size) {
            v |= (unsigned int)data[i + 1] << 8;
        }
        *dst++ = B64[(v >> 18) & 63];
        *dst++ = B64[(v >> 12) & 63];
        *dst++ = i + 1 < size ? B64[(v >> 6) & 63] : '=';
        *dst++ = '=';
    }
    out->len = dst - out->buf;
}

static inline int
is_continuation(unsigned char c)
{
    return (c & 0xC0) == 0x80;
}

/* Bytes copied as they are into JSON text: printable ASCII but '"' and '\\'. */
static unsigned char PLAIN[256];

static void
init_plain(void)
{
    for (int c = 0x20; c < 0x7F; c++) {
        PLAIN[c] = c != '"' && c != '\\';
    }
}

/* The length of the well-formed UTF-8 sequence starting at s[0] (a byte >= 0x80), as
 * Python's strict decoder accepts it (no overlong forms, no surrogates, nothing above
 * U+10FFFF), or 0 when there is none. */
static Py_ssize_t
utf8_sequence(const unsigned char *s, Py_ssize_t n)
{
    unsigned char c = s[0];
    if (c >= 0xC2 && c <= 0xDF) {
        return n >= 2 && is_continuation(s[1]) ? 2 : 0;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (n < 3) {
            return 0;
        }
        unsigned char c1 = s[1];
        if (c == 0xE0 ? (c1 < 0xA0 || c1 > 0xBF)
                      : c == 0xED ? (c1 < 0x80 || c1 > 0x9F) : !is_continuation(c1)) {
            return 0;
        }
        return is_continuation(s[2]) ? 3 : 0;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (n < 4) {
            return 0;
        }
        unsigned char c1 = s[1];
        if (c == 0xF0 ? (c1 < 0x90 || c1 > 0xBF)
                      : c == 0xF4 ? (c1 < 0x80 || c1 > 0x8F) : !is_continuation(c1)) {
            return 0;
        }
        return is_continuation(s[2]) && is_continuation(s[3]) ? 4 : 0;
    }
    return 0;
}

/* A mask with the high bit of each byte of x that is not PLAIN (0x20-0x7E but '"' and
 * '\\') set, by the classic bit tricks of "Bit Twiddling Hacks". A borrow or carry can
 * flag a byte above a flagged one by mistake, never below: the lowest flag is exact. */
static inline uint64_t
not_plain8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t below_space = (x - ones * 0x20) & ~x & highs; /* a byte < 0x20 */
    uint64_t above_tilde = ((x + ones * (127 - 0x7E)) | x) & highs; /* a byte > 0x7E */
    uint64_t quote = x ^ (ones * '"');
    uint64_t backslash = x ^ (ones * '\\');
    uint64_t has_quote = (quote - ones) & ~quote & highs;
    uint64_t has_backslash = (backslash - ones) & ~backslash & highs;
    return below_space | above_tilde | has_quote | has_backslash;
}

/* How many bytes of the little-endian word x come before its first non-PLAIN byte,
 * given its not_plain8 mask (non-zero). */
static inline Py_ssize_t
plain_prefix8(uint64_t x, uint64_t mask)
{
#if PY_LITTLE_ENDIAN && (defined(__GNUC__) || defined(__clang__))
    (void)x;
    return (Py_ssize_t)(__builtin_ctzll(mask) >> 3);
#else
    Py_ssize_t k = 0;
    const unsigned char *b = (const unsigned char *)&x;
    while (PLAIN[b[k]]) {
        k++;
    }
    (void)mask;
    return k;
#endif
}

/* Writes data as a JSON string body when it is UTF-8 text (well-formed UTF-8 holding no
 * control character other than TAB, LF and CR: C0 controls and DEL), escaped as
 * Python's json module does with ensure_ascii=False; returns 1. Returns 0, with
 * out->len unchanged, when it is not text. Needs 2 * size bytes reserved. */
static int
put_text(Out *out, const unsigned char *data, Py_ssize_t size)
{
    char *dst = out->buf + out->len;
    Py_ssize_t i = 0;
    while (i < size) {
#ifdef SCAN_SSE2
        /* sixteen plain bytes at a time, then the plain ones before the first other: a
         * byte below 0x20 or from 0x80 on (one signed compare: those are negative), DEL,
         * a quote or a backslash */
        while (i + 16 <= size) {
            __m128i x = _mm_loadu_si128((const __m128i *)(data + i));
            _mm_storeu_si128((__m128i *)dst, x); /* (room for it: 2 per byte reserved) */
            __m128i other = _mm_or_si128(
                _mm_or_si128(_mm_cmplt_epi8(x, _mm_set1_epi8(0x20)),
                             _mm_cmpeq_epi8(x, _mm_set1_epi8(0x7F))),
                _mm_or_si128(_mm_cmpeq_epi8(x, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'))));
            unsigned int mask = (unsigned int)_mm_movemask_epi8(other);
            if (mask) {
                Py_ssize_t k = (Py_ssize_t)__builtin_ctz(mask);
                dst += k;
                i += k;
                break;
            }
            dst += 16;
            i += 16;
        }
#endif
        /* eight plain bytes at a time, then the plain ones before the first other */
        while (i + 8 <= size) {
            uint64_t word;
            memcpy(&word, data + i, 8);
            memcpy(dst, &word, 8); /* (room for it: 2 bytes per byte are reserved) */
            uint64_t mask = not_plain8(word);
            if (mask) {
                Py_ssize_t k = plain_prefix8(word, mask);
                dst += k;
                i += k;
                break;
            }
            dst += 8;
            i += 8;
        }
        if (i >= size) {
            break;
        }
        unsigned char c = data[i];
        if (PLAIN[c]) {
            *dst++ = (char)c;
            i++;
            continue;
        }
        if (c >= 0x80) {
            Py_ssize_t k = utf8_sequence(data + i, size - i);
            if (k == 0) {
                return 0;
            }
            memcpy(dst, data + i, (size_t)k);
            dst += k;
            i += k;
            continue;
        }
        if (c == '\r' && i + 1 < size && data[i + 1] == '\n') {
            memcpy(dst, "\\r\\n", 4); /* a line end: the commonest escape by far */
            dst += 4;
            i += 2;
            continue;
        }
        char escape;
        switch (c) {
        case '"': escape = '"'; break;
        case '\\': escape = '\\'; break;
        case '\n': escape = 'n'; break;
        case '\r': escape = 'r'; break;
        case '\t': escape = 't'; break;
        default: return 0; /* another control character: not text */
        }
        *dst++ = '\\';
        *dst++ = escape;
        i++;
    }
    out->len = dst - out->buf;
    return 1;
}

/* The fields of the ``cmd`` record of the command f frames at s[pos:], after its head:
 * from "cmd" to the closing brace and line end. */
static int
put_command(Out *out, const unsigned char *s, Py_ssize_t pos, const Frame *f)
{
    /* worst case: fixed keys and numbers, every line byte escaped twice (args and line:
     * 6 bytes each at most), the payload as text (2 bytes per byte at most: text has no
     * \u00XX escapes) or in base64 (4 per 3, rounded up) */
    if (out_reserve(out, 128 + 12 * f->line_size + 2 * f->payload_size + 8) < 0) {
        return -1;
    }
    PUT_LITERAL(out, "\"cmd\":\"");
    put(out, (const char *)s + pos, 3);
    if (f->first_arg == 2) {
        PUT_LITERAL(out, "\",\"trid\":");
        put(out, (const char *)s + f->trid_start, f->trid_stop - f->trid_start);
        PUT_LITERAL(out, ",\"args\":[");
    }
    else {
        PUT_LITERAL(out, "\",\"trid\":null,\"args\":[");
    }
    for (int t = f->first_arg; t <= f->last; t++) {
        if (t > f->first_arg) {
            PUT_LITERAL(out, ",");
        }
        PUT_LITERAL(out, "\"");
        put_escaped(out, s + f->start[t], f->stop[t] - f->start[t]);
        PUT_LITERAL(out, "\"");
    }
    PUT_LITERAL(out, "]");
    if (f->payload != NULL) {
        Py_ssize_t mark = out->len;
        PUT_LITERAL(out, ",\"payload\":\"");
        if (!put_text(out, f->payload, f->payload_size)) {
            out->len = mark;
            PUT_LITERAL(out, ",\"payload_b64\":\"");
            put_base64(out, f->payload, f->payload_size);
        }
        PUT_LITERAL(out, "\"");
    }
    if (!f->canonical) {
        PUT_LITERAL(out, ",\"line\":\"");
        put_escaped(out, s + pos, f->line_size + 2); /* with its CRLF */
        PUT_LITERAL(out, "\"");
    }
    PUT_LITERAL(out, "}\n");
    return 0;
}

/* The scan loop (format version 1): one ``cmd`` record per ordinary command, or
 * framing only without a head. No Python API here (it may run without the GIL).
 * Returns -1 when out of memory, else 0, with *pos_io and *count_out set. */
static int
scan_run(const Scan *sc, Py_ssize_t *pos_io, Py_ssize_t *count_out, Out *out)
{
    const unsigned char *s = sc->s;
    Py_ssize_t pos = *pos_io;
    Py_ssize_t count = 0;
    Frame f;

    const Py_ssize_t start = pos;
    while (pos < sc->size && frame_next(&sc->rules, s, sc->size, pos, &f)) {
        if (sc->head != NULL) {
            if (out_reserve(out, sc->head_len) < 0) {
                return -1;
            }
            put(out, sc->head, sc->head_len);
            if (put_command(out, s, pos, &f) < 0) {
                return -1;
            }
        }
        else {
            /* frame only: where the command ends, from the start (for runs()) */
            uint32_t end = (uint32_t)(f.next - start);
            if (f.next - start > UINT32_MAX || out_reserve(out, sizeof end) < 0) {
                return -1;
            }
            put(out, (const char *)&end, sizeof end);
        }
        count++;
        pos = f.next;
    }
    *pos_io = pos;
    *count_out = count;
    return 0;
}

/* A stretch of consecutive commands of one kind (text or not) for run_records. */
typedef struct {
    int text;         /* 1: UTF-8 text, written as it goes; 0: binary, written at the end */
    Py_ssize_t start; /* its first byte in s */
    Py_ssize_t count; /* its commands; 0: none open */
    Py_ssize_t mark;  /* text: where its record starts in out */
} Stretch;

static void
put_head(const Scan *sc, Out *out, int run)
{
    if (run) {
        PUT_LITERAL(out, "{\"type\":\"run\",");
    }
    else {
        PUT_LITERAL(out, "{\"type\":\"cmd\",");
    }
    put(out, sc->head, sc->head_len);
}

/* Writes the record of the stretch ending at stop (its text record is already open in
 * out): a ``run`` record, or the ``cmd`` record of its command when it has only one.
 * Returns 0, -1 when out of memory, -2 when that one command does not frame to stop. */
static int
close_stretch(const Scan *sc, Out *out, Stretch *st, Py_ssize_t stop)
{
    if (st->count == 0) {
        return 0;
    }
    if (st->count == 1) {
        Frame f;
        if (st->text) {
            out->len = st->mark; /* drop the open run record */
        }
        /* framed before, so this succeeds, ending where the stretch does (unless the
         * caller's ends were wrong) */
        if (!frame_next(&sc->rules, sc->s, sc->size, st->start, &f) || f.next != stop) {
            return -2;
        }
        if (out_reserve(out, sc->head_len + 32) < 0) {
            return -1;
        }
        put_head(sc, out, 0);
        if (put_command(out, sc->s, st->start, &f) < 0) {
            return -1;
        }
    }
    else {
        Py_ssize_t size = stop - st->start;
        if (out_reserve(out, sc->head_len + 64 + (st->text ? 0 : 4 * ((size + 2) / 3))) < 0) {
            return -1;
        }
        if (!st->text) {
            put_head(sc, out, 1);
            PUT_LITERAL(out, "\"data_b64\":\"");
            put_base64(out, sc->s + st->start, size);
        }
        char digits[32];
        int n = snprintf(digits, sizeof digits, "%zd", st->count);
        PUT_LITERAL(out, "\",\"count\":");
        put(out, digits, n);
        PUT_LITERAL(out, "}\n");
    }
    st->count = 0;
    return 0;
}

/* The run loop (format version 2): consecutive ordinary commands go into one ``run``
 * record, ``data`` while they are UTF-8 text (the rule of put_text), ``data_b64`` for
 * consecutive ones that are not; a stretch of a single command is written as its
 * ``cmd`` record (as readable, no bigger). sc->head holds the record's keys after
 * "type"; sc->ends, when set, says where each command ends (no framing then). No Python
 * API (may run without the GIL). Returns -1 when out of memory, -2 when sc->ends do not
 * fit the bytes, else 0, with *pos_io and *count_out set. */
static int
run_records(const Scan *sc, Py_ssize_t *pos_io, Py_ssize_t *count_out, Out *out)
{
    const unsigned char *s = sc->s;
    Py_ssize_t pos = *pos_io;
    Py_ssize_t count = 0;
    Stretch st = {0, 0, 0, 0};
    Frame f;

    Py_ssize_t index = 0;
    for (;;) {
        Py_ssize_t next;
        if (sc->ends != NULL) {
            /* the commands' ends, from the relay's frame-only scan: no framing again */
            if (index == sc->nends) {
                break;
            }
            next = sc->ends[index++];
            if (next <= pos || next > sc->size) {
                return -2;
            }
        }
        else if (pos < sc->size && frame_next(&sc->rules, s, sc->size, pos, &f)) {
            next = f.next;
        }
        else {
            break;
        }
        Py_ssize_t size = next - pos;
        /* text takes 2 bytes per byte at most (CR, LF, '"' and '\\' escaped), plus the
         * head of a record opened here */
        if (out_reserve(out, sc->head_len + 64 + 2 * size) < 0) {
            return -1;
        }
        Py_ssize_t mark = out->len;
        if (!(st.text && st.count)) {
            put_head(sc, out, 1);
            PUT_LITERAL(out, "\"data\":\"");
        }
        if (put_text(out, s + pos, size)) {
            if (!st.text && st.count) {
                /* a binary stretch ends here: its record comes first, then this again */
                out->len = mark;
                int closed = close_stretch(sc, out, &st, pos);
                if (closed < 0) {
                    return closed;
                }
                if (out_reserve(out, sc->head_len + 64 + 2 * size) < 0) {
                    return -1;
                }
                mark = out->len;
                put_head(sc, out, 1);
                PUT_LITERAL(out, "\"data\":\"");
                put_text(out, s + pos, size);
            }
            if (!st.count) {
                st.text = 1;
                st.start = pos;
                st.mark = mark;
            }
        }
        else {
            out->len = mark;
            if (st.text && st.count) {
                int closed = close_stretch(sc, out, &st, pos);
                if (closed < 0) {
                    return closed;
                }
            }
            if (!st.count) {
                st.text = 0;
                st.start = pos;
            }
        }
        st.count++;
        count++;
        pos = next;
    }
    int closed = close_stretch(sc, out, &st, pos);
    if (closed < 0) {
        return closed;
    }
    *pos_io = pos;
    *count_out = count;
    return 0;
}

typedef int (*ScanLoop)(const Scan *, Py_ssize_t *, Py_ssize_t *, Out *);

static PyObject *
scan_with(PyObject *args, ScanLoop loop)
{
    /* (a zeroed Py_buffer holds nothing: releasing it is a no-op) */
    Py_buffer work, head = {0}, payload_verbs, no_trid, ends = {0};
    Py_ssize_t pos, max_line, max_payload;
    Scan sc;
    PyObject *head_object, *slow, *ends_object = Py_None;
    if (!PyArg_ParseTuple(args, "y*nOy*y*O!nn|O", &work, &pos, &head_object, &payload_verbs,
                          &no_trid, &PyTuple_Type, &slow, &max_line, &max_payload,
                          &ends_object)) {
        return NULL;
    }
    PyObject *result = NULL;
    Out out = {NULL, 0, 0};
    int have_ends = ends_object != Py_None;
    int records = head_object != Py_None;
    if (have_ends && loop == scan_run) {
        PyErr_SetString(PyExc_TypeError, "scan() takes no ends");
        goto done;
    }
    if (have_ends && PyObject_GetBuffer(ends_object, &ends, PyBUF_SIMPLE) < 0) {
        goto done;
    }
    if (!records && loop != scan_run) {
        PyErr_SetString(PyExc_TypeError, "runs() needs the records' keys, not None");
        goto done;
    }
    if (records && PyObject_GetBuffer(head_object, &head, PyBUF_SIMPLE) < 0) {
        goto done;
    }
    /* the tuple ``slow`` (held by args) keeps its bytes alive while the GIL is released */
    if (frame_rules_init(&sc.rules, &payload_verbs, &no_trid, slow, max_line, max_payload) < 0) {
        goto done;
    }
    if (pos < 0 || pos > work.len) {
        PyErr_SetString(PyExc_ValueError, "pos is outside the buffer");
        goto done;
    }
    sc.s = work.buf;
    sc.size = work.len;
    sc.head = records ? head.buf : NULL;
    sc.head_len = records ? head.len : 0;
    sc.ends = NULL;
    sc.nends = 0;
    if (have_ends) {
        if (ends.len % (Py_ssize_t)sizeof(uint32_t) != 0 || pos != 0) {
            PyErr_SetString(PyExc_ValueError, "ends must be whole uint32 values, from pos 0");
            goto done;
        }
        sc.ends = ends.buf;
        sc.nends = ends.len / (Py_ssize_t)sizeof(uint32_t);
    }
    Py_ssize_t count = 0;
    int status;
    /* JSON records take about 1.6 times the bytes of ordinary traffic (cmd records;
     * run records less): reserve twice the input at once (growing a big buffer copies
     * it) */
    if (records && out_reserve(&out, 2 * (work.len - pos) + 4096) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    if (work.len - pos >= RELEASE_GIL_FROM) {
        /* another thread (the capture writer, the event loop) may run meanwhile */
        Py_BEGIN_ALLOW_THREADS
        status = loop(&sc, &pos, &count, &out);
        Py_END_ALLOW_THREADS
    }
    else {
        status = loop(&sc, &pos, &count, &out);
    }
    if (status == -2) {
        PyErr_SetString(PyExc_ValueError, "ends are not increasing within the buffer");
        goto done;
    }
    if (status < 0) {
        PyErr_NoMemory();
        goto done;
    }
    result = Py_BuildValue("nny#", pos, count, out.buf ? out.buf : "", out.len);
done:
    PyMem_RawFree(out.buf);
    PyBuffer_Release(&work);
    PyBuffer_Release(&head);
    PyBuffer_Release(&payload_verbs);
    PyBuffer_Release(&no_trid);
    PyBuffer_Release(&ends);
    return result;
}

static PyObject *
scan(PyObject *self, PyObject *args)
{
    (void)self;
    return scan_with(args, scan_run);
}

static PyObject *
runs(PyObject *self, PyObject *args)
{
    (void)self;
    return scan_with(args, run_records);
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(work, pos, head, payload_verbs, no_trid_verbs, slow, max_line, max_payload)"
     " -> (new_pos, count, records): cmd records of the ordinary commands at work[pos:]."},
    {"runs", runs, METH_VARARGS,
     "runs(work, pos, keys, payload_verbs, no_trid_verbs, slow, max_line, max_payload"
     "[, ends]) -> (new_pos, count, records): run records (format version 2) of the"
     " ordinary commands at work[pos:]; keys: what follows the type in each record;"
     " ends: where each command ends, as a frame-only scan() returned it."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT,
    "msproxy.capture._scan",
    "The capture's fast path in C: the records of runs of ordinary MSNP commands.",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

/* The interface number the Python code checks (msproxy/capture/scan.py SCAN_ABI): raise
 * it with every change of what the functions take or return. */
#define SCAN_ABI 5

PyMODINIT_FUNC
PyInit__scan(void)
{
    init_plain();
    init_base64();
    PyObject *module = PyModule_Create(&scan_module);
    if (module != NULL && PyModule_AddIntConstant(module, "ABI", SCAN_ABI) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
