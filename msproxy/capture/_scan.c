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
 * Ordinary means: a line ended by CRLF, shorter than max_line, of printable ASCII
 * (0x20-0x7E) only; a verb of three letters A-Z not named in ``slow`` (a tuple of
 * line prefixes, each matched as whole tokens: b"XFR", b"MSG Hotmail"); at most
 * MAX_TOKENS tokens; a TrID, when there is one, of at most 18 digits; for a payload
 * command, a byte count of at most 9 digits, not above max_payload, with the whole
 * payload in the buffer. Anything else ends the scan.
 *
 * scan(work, pos, head, payload_verbs, no_trid_verbs, slow, max_line, max_payload)
 *     -> (new_pos, count, records)
 *
 *   work           bytes-like: the buffered bytes of one direction
 *   pos            where to start (a command boundary)
 *   head           the start of every record, up to and including the comma after
 *                  "dir" (``{"type":"cmd","t":1.5,"conn":3,"dir":"c2s",``); None:
 *                  frame only (no records: ``records`` is empty)
 *   payload_verbs  the direction's payload verbs, packed: b"MSGQRYPAG..."
 *   no_trid_verbs  the direction's verbs that never carry a TrID, packed the same way
 *   slow           tuple of bytes: line prefixes left to the Python framer
 *   new_pos        the first byte not consumed (== pos when nothing was)
 *   count          how many commands were consumed
 *   records        their JSON Lines records, each ended by "\n"
 *
 * A payload is written as JSON text when it is UTF-8 text (valid UTF-8 with no control
 * character other than TAB, LF and CR), else as base64 in ``payload_b64``; JSON text
 * escapes as Python's json module does with ensure_ascii=False.
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define MAX_TOKENS 64
#define MAX_SLOW 32
#define RELEASE_GIL_FROM 4096 /* bytes: smaller scans keep the GIL (not worth a switch) */

/* What one scan() call works with, read without the GIL. */
typedef struct {
    const unsigned char *s;
    Py_ssize_t size;
    const char *head; /* NULL: frame only */
    Py_ssize_t head_len;
    const unsigned char *payload_verbs;
    Py_ssize_t payload_verbs_len;
    const unsigned char *no_trid;
    Py_ssize_t no_trid_len;
    const char *slow[MAX_SLOW];
    Py_ssize_t slow_len[MAX_SLOW];
    Py_ssize_t nslow;
    Py_ssize_t max_line;
    Py_ssize_t max_payload;
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

/* 1 when all eight bytes of x are PLAIN (0x20-0x7E but '"' and '\\'), by the classic
 * bit tricks of "Bit Twiddling Hacks" (each test is exact about whether such a byte is
 * present). */
static inline int
all_plain8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, highs = 0x8080808080808080ULL;
    uint64_t below_space = (x - ones * 0x20) & ~x & highs; /* a byte < 0x20 */
    uint64_t above_tilde = ((x + ones * (127 - 0x7E)) | x) & highs; /* a byte > 0x7E */
    uint64_t quote = x ^ (ones * '"');
    uint64_t backslash = x ^ (ones * '\\');
    uint64_t has_quote = (quote - ones) & ~quote & highs;
    uint64_t has_backslash = (backslash - ones) & ~backslash & highs;
    return (below_space | above_tilde | has_quote | has_backslash) == 0;
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
        /* eight plain bytes at a time while there are */
        while (i + 8 <= size) {
            uint64_t word;
            memcpy(&word, data + i, 8);
            if (!all_plain8(word)) {
                break;
            }
            memcpy(dst, &word, 8);
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

/* 1 when the three bytes at verb are one of the packed verbs. */
static int
verb_in(const unsigned char *verb, const unsigned char *set, Py_ssize_t len)
{
    for (Py_ssize_t i = 0; i + 3 <= len; i += 3) {
        if (set[i] == verb[0] && set[i + 1] == verb[1] && set[i + 2] == verb[2]) {
            return 1;
        }
    }
    return 0;
}

/* 1 when the line (without its line end) starts with one of the prefixes of ``slow``,
 * followed by a space or the end of the line. */
static int
is_slow(const unsigned char *line, Py_ssize_t size, const Scan *sc)
{
    for (Py_ssize_t i = 0; i < sc->nslow; i++) {
        Py_ssize_t n = sc->slow_len[i];
        if (n <= size && memcmp(line, sc->slow[i], (size_t)n) == 0 &&
            (n == size || line[n] == ' ')) {
            return 1;
        }
    }
    return 0;
}

static int
all_digits(const unsigned char *s, Py_ssize_t n)
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

/* The scan loop: no Python API here (it may run without the GIL). Returns -1 when out
 * of memory, else 0, with *pos_io and *count_out set. */
static int
scan_run(const Scan *sc, Py_ssize_t *pos_io, Py_ssize_t *count_out, Out *out)
{
    const unsigned char *s = sc->s;
    Py_ssize_t size = sc->size;
    Py_ssize_t pos = *pos_io;
    Py_ssize_t count = 0;
    Py_ssize_t start[MAX_TOKENS], stop[MAX_TOKENS];

    while (pos < size) {
        const unsigned char *found = memchr(s + pos, '\n', (size_t)(size - pos));
        if (found == NULL) {
            break;
        }
        Py_ssize_t nl = found - s;
        if (nl - pos >= sc->max_line || nl - pos < 4 || s[nl - 1] != '\r') {
            break;
        }
        Py_ssize_t end = nl - 1; /* the line is s[pos:end] */
        const unsigned char *line = s + pos;
        Py_ssize_t line_size = end - pos;
        if (line[0] < 'A' || line[0] > 'Z' || line[1] < 'A' || line[1] > 'Z' ||
            line[2] < 'A' || line[2] > 'Z' || (line_size > 3 && line[3] != ' ')) {
            break;
        }
        /* printable ASCII only, split on single spaces */
        int ntok = 0, ok = 1;
        Py_ssize_t token = pos;
        for (Py_ssize_t i = pos; i <= end; i++) {
            if (i == end || s[i] == ' ') {
                if (ntok == MAX_TOKENS) {
                    ok = 0;
                    break;
                }
                start[ntok] = token;
                stop[ntok] = i;
                ntok++;
                token = i + 1;
            }
            else if (s[i] < 0x20 || s[i] > 0x7E) {
                ok = 0;
                break;
            }
        }
        if (!ok || is_slow(line, line_size, sc)) {
            break;
        }
        int last = ntok - 1; /* tokens start[1..last] are arguments */
        int canonical = 1;
        const unsigned char *payload = NULL;
        Py_ssize_t payload_size = 0;
        Py_ssize_t next = nl + 1;
        if (ntok > 1 && verb_in(line, sc->payload_verbs, sc->payload_verbs_len) &&
            all_digits(s + start[last], stop[last] - start[last])) {
            Py_ssize_t digits = stop[last] - start[last];
            if (digits > 9) {
                break;
            }
            Py_ssize_t n = 0;
            for (Py_ssize_t i = start[last]; i < stop[last]; i++) {
                n = n * 10 + (s[i] - '0');
            }
            if (n > sc->max_payload || n > size - next) {
                break; /* over the limit, or not all here: the Python framer decides */
            }
            if (digits > 1 && s[start[last]] == '0') {
                canonical = 0;
            }
            payload = s + next;
            payload_size = n;
            next += n;
            last--;
        }
        /* the TrID: its digits as written, without leading zeros (the decimal number
         * Python's int() then json write) */
        Py_ssize_t trid_start = 0, trid_stop = 0;
        int first_arg = 1;
        if (last >= 1 && all_digits(s + start[1], stop[1] - start[1]) &&
            !verb_in(line, sc->no_trid, sc->no_trid_len)) {
            if (stop[1] - start[1] > 18) {
                break; /* left to the framer, as every unusual case */
            }
            trid_start = start[1];
            trid_stop = stop[1];
            while (trid_start < trid_stop - 1 && s[trid_start] == '0') {
                trid_start++;
                canonical = 0;
            }
            first_arg = 2;
        }

        /* worst case: head, fixed keys and numbers, every line byte escaped twice (args
         * and line: 6 bytes each at most), the payload as text (2 bytes per byte at most:
         * text has no \u00XX escapes) or in base64 (4 per 3, rounded up) */
        if (sc->head == NULL) {
            count++;
            pos = next;
            continue;
        }
        Py_ssize_t need = sc->head_len + 128 + 12 * line_size + 2 * payload_size + 8;
        if (out_reserve(out, need) < 0) {
            return -1;
        }
        put(out, sc->head, sc->head_len);
        PUT_LITERAL(out, "\"cmd\":\"");
        put(out, (const char *)line, 3);
        if (first_arg == 2) {
            PUT_LITERAL(out, "\",\"trid\":");
            put(out, (const char *)s + trid_start, trid_stop - trid_start);
            PUT_LITERAL(out, ",\"args\":[");
        }
        else {
            PUT_LITERAL(out, "\",\"trid\":null,\"args\":[");
        }
        for (int t = first_arg; t <= last; t++) {
            if (t > first_arg) {
                PUT_LITERAL(out, ",");
            }
            PUT_LITERAL(out, "\"");
            put_escaped(out, s + start[t], stop[t] - start[t]);
            PUT_LITERAL(out, "\"");
        }
        PUT_LITERAL(out, "]");
        if (payload != NULL) {
            Py_ssize_t mark = out->len;
            PUT_LITERAL(out, ",\"payload\":\"");
            if (!put_text(out, payload, payload_size)) {
                out->len = mark;
                PUT_LITERAL(out, ",\"payload_b64\":\"");
                put_base64(out, payload, payload_size);
            }
            PUT_LITERAL(out, "\"");
        }
        if (!canonical) {
            PUT_LITERAL(out, ",\"line\":\"");
            put_escaped(out, line, nl + 1 - pos);
            PUT_LITERAL(out, "\"");
        }
        PUT_LITERAL(out, "}\n");
        count++;
        pos = next;
    }
    *pos_io = pos;
    *count_out = count;
    return 0;
}

static PyObject *
scan(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer work, head = {0}, payload_verbs, no_trid;
    Py_ssize_t pos;
    Scan sc;
    PyObject *head_object, *slow;
    if (!PyArg_ParseTuple(args, "y*nOy*y*O!nn", &work, &pos, &head_object, &payload_verbs,
                          &no_trid, &PyTuple_Type, &slow, &sc.max_line, &sc.max_payload)) {
        return NULL;
    }
    int records = head_object != Py_None;
    if (records && PyObject_GetBuffer(head_object, &head, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&work);
        PyBuffer_Release(&payload_verbs);
        PyBuffer_Release(&no_trid);
        return NULL;
    }
    PyObject *result = NULL;
    Out out = {NULL, 0, 0};
    sc.nslow = PyTuple_GET_SIZE(slow);
    if (sc.nslow > MAX_SLOW) {
        PyErr_SetString(PyExc_ValueError, "too many slow prefixes");
        goto done;
    }
    for (Py_ssize_t i = 0; i < sc.nslow; i++) {
        PyObject *prefix = PyTuple_GET_ITEM(slow, i);
        if (!PyBytes_Check(prefix)) {
            PyErr_SetString(PyExc_TypeError, "slow must be a tuple of bytes");
            goto done;
        }
        /* the tuple (held by args) keeps these alive while the GIL is released */
        sc.slow[i] = PyBytes_AS_STRING(prefix);
        sc.slow_len[i] = PyBytes_GET_SIZE(prefix);
    }
    if (pos < 0 || pos > work.len) {
        PyErr_SetString(PyExc_ValueError, "pos is outside the buffer");
        goto done;
    }
    sc.s = work.buf;
    sc.size = work.len;
    sc.head = records ? head.buf : NULL;
    sc.head_len = records ? head.len : 0;
    sc.payload_verbs = payload_verbs.buf;
    sc.payload_verbs_len = payload_verbs.len;
    sc.no_trid = no_trid.buf;
    sc.no_trid_len = no_trid.len;
    Py_ssize_t count = 0;
    int status;
    /* JSON records take about 1.6 times the bytes of ordinary traffic: reserve twice
     * the input at once (growing a big buffer copies it) */
    if (records && out_reserve(&out, 2 * (work.len - pos) + 4096) < 0) {
        PyErr_NoMemory();
        goto done;
    }
    if (work.len - pos >= RELEASE_GIL_FROM) {
        /* another thread (the capture writer, the event loop) may run meanwhile */
        Py_BEGIN_ALLOW_THREADS
        status = scan_run(&sc, &pos, &count, &out);
        Py_END_ALLOW_THREADS
    }
    else {
        status = scan_run(&sc, &pos, &count, &out);
    }
    if (status < 0) {
        PyErr_NoMemory();
        goto done;
    }
    result = Py_BuildValue("nny#", pos, count, out.buf ? out.buf : "", out.len);
done:
    PyMem_RawFree(out.buf);
    PyBuffer_Release(&work);
    if (records) {
        PyBuffer_Release(&head);
    }
    PyBuffer_Release(&payload_verbs);
    PyBuffer_Release(&no_trid);
    return result;
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS,
     "scan(work, pos, head, payload_verbs, no_trid_verbs, slow, max_line, max_payload)"
     " -> (new_pos, count, records): cmd records of the ordinary commands at work[pos:]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef scan_module = {
    PyModuleDef_HEAD_INIT,
    "msproxy.capture._scan",
    "The capture's fast path in C: cmd records for runs of ordinary MSNP commands.",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

PyMODINIT_FUNC
PyInit__scan(void)
{
    init_plain();
    init_base64();
    return PyModule_Create(&scan_module);
}
