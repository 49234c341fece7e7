/*
 * fa_ufunc.h -- the type resolver fastact's ufuncs use: NumPy's default one,
 * with an error that names the function and the offending dtype when an input
 * has no floating-point loop to be cast to (complex, object, str, datetime...).
 * Must be included after NumPy's headers have been set up by Cython.
 */
#ifndef FA_UFUNC_H
#define FA_UFUNC_H
#include <Python.h>
#include <numpy/ndarraytypes.h>
#include <numpy/ufuncobject.h>

static int fa_type_resolver(PyUFuncObject *ufunc, NPY_CASTING casting,
                            PyArrayObject **operands, PyObject *type_tup,
                            PyArray_Descr **out_dtypes)
{
    int r = PyUFunc_DefaultTypeResolver(ufunc, casting, operands, type_tup,
                                        out_dtypes);
    if (r < 0 && PyErr_ExceptionMatches(PyExc_TypeError)) {
        int i;
        for (i = 0; i < ufunc->nin; i++) {
            PyArray_Descr *d = PyArray_DESCR(operands[i]);
            char k = d->kind;
            if (!(k == 'b' || k == 'i' || k == 'u' || k == 'f') ||
                    (k == 'f' && PyDataType_ELSIZE(d) > 8)) {
                PyErr_Format(PyExc_TypeError,
                    "fastact.%s: unsupported dtype %S (input %d); expected a "
                    "real floating-point (float16, float32, float64), integer "
                    "or bool array", ufunc->name, (PyObject *)d, i);
                return -1;
            }
        }
    }
    return r;
}

static void fa_set_type_resolver(PyObject *ufunc)
{
    ((PyUFuncObject *)ufunc)->type_resolver = &fa_type_resolver;
}
#endif
