/* msmgr/codec/_cframe.c: the Framer's fast path, in C (optional accelerator).
 *
 * frame() makes the Command objects of a run of *ordinary* complete commands (as
 * msmgr/codec/_frame.h defines them) at work[pos:], and stops, without consuming it, at
 * the first command that is not ordinary or not complete: the Python framer then parses
 * that one itself and calls frame() again. The Python framer stays the definition of
 * framing; this repeats its common case only, and the tests hold the two equal.
 *
 * frame(work, pos, payload_verbs, no_trid_verbs, slow, max_line, max_payload, make)
 *     -> (new_pos, commands)
 *
 *   make      the Command class: its objects get verb (a str), trid (an int or None),
 *             args (a tuple of str), payload (bytes or None), raw (the command's exact
 *             bytes), pseudo (False) and context (()). When it is the slots dataclass
 *             msmgr.codec.Command is, the slots are filled directly, without calling
 *             __init__ (see docs/performance.md); anything else is called as
 *             make(verb, trid, args, payload, raw).
 *   the rest  as msproxy.capture._scan.scan (the packed verb sets, the ``slow`` line
 *             prefixes, the limits)
 */

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "_frame.h"

#if PY_VERSION_HEX >= 0x030C0000
#define MEMBER_OBJECT_EX Py_T_OBJECT_EX
#define MEMBER_READONLY Py_READONLY
#else
#include <structmember.h>
#define MEMBER_OBJECT_EX T_OBJECT_EX
#define MEMBER_READONLY READONLY
#endif

/* The fields of msmgr.codec.Command, in the order of its __init__. */
#define NFIELDS 7
static const char *const FIELDS[NFIELDS] = {"verb", "trid",   "args",   "payload",
                                            "raw",  "pseudo", "context"};

/* Where a class keeps the fields, when they are plain writable object slots. */
typedef struct {
    int direct; /* 0: call the class */
    Py_ssize_t offset[NFIELDS];
} Layout;

static void
layout_of(PyObject *make, Layout *layout)
{
    layout->direct = 0;
    if (!PyType_Check(make)) {
        return;
    }
    for (int i = 0; i < NFIELDS; i++) {
        PyObject *descr = PyObject_GetAttrString(make, FIELDS[i]);
        if (descr == NULL) {
            PyErr_Clear();
            return;
        }
        int slot = Py_IS_TYPE(descr, &PyMemberDescr_Type) &&
                   ((PyMemberDescrObject *)descr)->d_member->type == MEMBER_OBJECT_EX &&
                   !(((PyMemberDescrObject *)descr)->d_member->flags & MEMBER_READONLY);
        if (slot) {
            layout->offset[i] = ((PyMemberDescrObject *)descr)->d_member->offset;
        }
        Py_DECREF(descr);
        if (!slot) {
            return;
        }
    }
    layout->direct = 1;
}

/* The decimal number of the digits s[start:stop] (at most 18 of them). */
static PyObject *
digits_to_int(const unsigned char *s, Py_ssize_t start, Py_ssize_t stop)
{
    long long value = 0;
    for (Py_ssize_t i = start; i < stop; i++) {
        value = value * 10 + (s[i] - '0');
    }
    return PyLong_FromLongLong(value);
}

/* The Command of the frame f at s[pos:]. */
static PyObject *
make_command(PyObject *make, const Layout *layout, const unsigned char *s, Py_ssize_t pos,
             const Frame *f)
{
    PyObject *argv[NFIELDS] = {NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    PyObject *command = NULL;
    argv[0] = PyUnicode_FromStringAndSize((const char *)s + pos, 3);
    if (argv[0] == NULL) {
        goto done;
    }
    if (f->first_arg == 2) {
        argv[1] = digits_to_int(s, f->trid_start, f->trid_stop);
    }
    else {
        argv[1] = Py_NewRef(Py_None);
    }
    if (argv[1] == NULL) {
        goto done;
    }
    Py_ssize_t nargs = f->last >= f->first_arg ? f->last - f->first_arg + 1 : 0;
    argv[2] = PyTuple_New(nargs);
    if (argv[2] == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < nargs; i++) {
        int t = f->first_arg + (int)i;
        /* printable ASCII: the same str the framer's surrogateescape decoding gives */
        PyObject *arg =
            PyUnicode_FromStringAndSize((const char *)s + f->start[t], f->stop[t] - f->start[t]);
        if (arg == NULL) {
            goto done;
        }
        PyTuple_SET_ITEM(argv[2], i, arg);
    }
    if (f->payload != NULL) {
        argv[3] = PyBytes_FromStringAndSize((const char *)f->payload, f->payload_size);
    }
    else {
        argv[3] = Py_NewRef(Py_None);
    }
    if (argv[3] == NULL) {
        goto done;
    }
    argv[4] = PyBytes_FromStringAndSize((const char *)s + pos, f->next - pos);
    if (argv[4] == NULL) {
        goto done;
    }
    if (!layout->direct) {
        command = PyObject_Vectorcall(make, argv, 5, NULL);
        goto done;
    }
    argv[5] = Py_NewRef(Py_False);
    argv[6] = PyTuple_New(0);
    if (argv[6] == NULL) {
        goto done;
    }
    PyTypeObject *type = (PyTypeObject *)make;
    command = type->tp_alloc(type, 0);
    if (command == NULL) {
        goto done;
    }
    for (int i = 0; i < NFIELDS; i++) {
        /* the new object's slots are NULL: each takes over its reference */
        *(PyObject **)((char *)command + layout->offset[i]) = argv[i];
        argv[i] = NULL;
    }
done:
    for (int i = 0; i < NFIELDS; i++) {
        Py_XDECREF(argv[i]);
    }
    return command;
}

static PyObject *
frame(PyObject *self, PyObject *args)
{
    (void)self;
    Py_buffer work, payload_verbs, no_trid;
    Py_ssize_t pos, max_line, max_payload;
    PyObject *slow, *make;
    if (!PyArg_ParseTuple(args, "y*ny*y*O!nnO", &work, &pos, &payload_verbs, &no_trid,
                          &PyTuple_Type, &slow, &max_line, &max_payload, &make)) {
        return NULL;
    }
    PyObject *result = NULL, *commands = NULL;
    FrameRules rules;
    if (frame_rules_init(&rules, &payload_verbs, &no_trid, slow, max_line, max_payload) < 0) {
        goto done;
    }
    if (pos < 0 || pos > work.len) {
        PyErr_SetString(PyExc_ValueError, "pos is outside the buffer");
        goto done;
    }
    if (!PyCallable_Check(make)) {
        PyErr_SetString(PyExc_TypeError, "make must be callable");
        goto done;
    }
    Layout layout;
    layout_of(make, &layout);
    commands = PyList_New(0);
    if (commands == NULL) {
        goto done;
    }
    const unsigned char *s = work.buf;
    Frame f;
    while (pos < work.len && frame_next(&rules, s, work.len, pos, &f)) {
        PyObject *command = make_command(make, &layout, s, pos, &f);
        if (command == NULL) {
            goto done;
        }
        int failed = PyList_Append(commands, command);
        Py_DECREF(command);
        if (failed < 0) {
            goto done;
        }
        pos = f.next;
    }
    result = Py_BuildValue("nO", pos, commands);
done:
    Py_XDECREF(commands);
    PyBuffer_Release(&work);
    PyBuffer_Release(&payload_verbs);
    PyBuffer_Release(&no_trid);
    return result;
}

static PyMethodDef methods[] = {
    {"frame", frame, METH_VARARGS,
     "frame(work, pos, payload_verbs, no_trid_verbs, slow, max_line, max_payload, make)"
     " -> (new_pos, commands): the Commands of the ordinary commands at work[pos:]."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef cframe_module = {
    PyModuleDef_HEAD_INIT,
    "msmgr.codec._cframe",
    "The Framer's fast path in C: Command objects for runs of ordinary MSNP commands.",
    -1,
    methods,
    NULL,
    NULL,
    NULL,
    NULL,
};

/* The interface number the Python code checks (msmgr/codec/framer.py CFRAME_ABI): raise
 * it with every change of what frame() takes or returns. */
#define CFRAME_ABI 1

PyMODINIT_FUNC
PyInit__cframe(void)
{
    PyObject *module = PyModule_Create(&cframe_module);
    if (module != NULL && PyModule_AddIntConstant(module, "ABI", CFRAME_ABI) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
