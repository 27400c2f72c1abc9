/* loader_pdf.c: PDF documents through poppler-glib (when the build found its
 * headers: VS_HAVE_POPPLER). The text is each page's text as poppler gives
 * it, pages joined by a blank line; each page start is recorded for
 * metadata.page.
 *
 * poppler-glib is not linked: it brings glib, gobject, cairo and some 50
 * more libraries whose loading and relocations cost every program's
 * start-up (~50 ms for vs-chunk), for the few runs that read a PDF. The
 * library is opened with dlopen on the first PDF, by its soname (the ABI
 * the headers describe), and every function used is resolved before any
 * is called; when it is absent or lacks one, a PDF is a VS_E_IO error
 * that names the library and the Debian package (vs-chunk stops with exit
 * 5: vs_doc_pdf_ready). */
#include "loader_internal.h"

#include <string.h>

#if defined(VS_HAVE_POPPLER) && VS_HAVE_POPPLER
#include <dlfcn.h>
#include <poppler.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>

#define PDF_SONAME "libpoppler-glib.so.8"
#define PDF_PACKAGE "libpoppler-glib8"

/* the functions used, with the types the headers give them */
static struct {
    __typeof__(g_bytes_new) *bytes_new;
    __typeof__(g_bytes_unref) *bytes_unref;
    __typeof__(g_free) *free;
    __typeof__(g_utf8_validate) *utf8_validate;
    __typeof__(g_error_free) *error_free;
    __typeof__(g_object_unref) *object_unref;
    __typeof__(poppler_document_new_from_bytes) *doc_new;
    __typeof__(poppler_document_get_title) *doc_title;
    __typeof__(poppler_document_get_n_pages) *doc_npages;
    __typeof__(poppler_document_get_page) *doc_page;
    __typeof__(poppler_page_get_text) *page_text;
} pp;
static pthread_once_t pp_once = PTHREAD_ONCE_INIT;
static int pp_ok;
static char pp_why[256];

static void pp_load(void)
{
    void *h = dlopen(PDF_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        const char *e = dlerror();
        snprintf(pp_why, sizeof pp_why, "%s", e ? e : "cannot be loaded");
        return;
    }
    /* glib's and gobject's functions are found through poppler-glib's own
     * dependencies (dlsym searches the handle's dependency tree) */
    static const struct {
        const char *name;
        size_t off;
    } syms[] = {
#define PP_SYM(field, name) {#name, offsetof(__typeof__(pp), field)}
        PP_SYM(bytes_new, g_bytes_new),
        PP_SYM(bytes_unref, g_bytes_unref),
        PP_SYM(free, g_free),
        PP_SYM(utf8_validate, g_utf8_validate),
        PP_SYM(error_free, g_error_free),
        PP_SYM(object_unref, g_object_unref),
        PP_SYM(doc_new, poppler_document_new_from_bytes),
        PP_SYM(doc_title, poppler_document_get_title),
        PP_SYM(doc_npages, poppler_document_get_n_pages),
        PP_SYM(doc_page, poppler_document_get_page),
        PP_SYM(page_text, poppler_page_get_text),
#undef PP_SYM
    };
    for (size_t i = 0; i < sizeof syms / sizeof syms[0]; i++) {
        void *f = dlsym(h, syms[i].name);
        if (!f) {
            snprintf(pp_why, sizeof pp_why, "%s has no function %s", PDF_SONAME,
                     syms[i].name);
            memset(&pp, 0, sizeof pp);
            dlclose(h);
            return;
        }
        memcpy((char *)&pp + syms[i].off, &f, sizeof f);
    }
    pp_ok = 1; /* kept loaded for the life of the process */
}

int vs_doc_pdf_ready(struct vs_diag *d)
{
    pthread_once(&pp_once, pp_load);
    if (!pp_ok)
        return vs_diag_set(d, VS_E_IO,
                           "reading a PDF needs %s (Debian package %s): %s", PDF_SONAME,
                           PDF_PACKAGE, pp_why);
    return VS_OK;
}

int vs_loader_pdf(struct vs_doc *doc, const char *raw, size_t len,
                  struct vs_diag *d)
{
    if (len < 5 || memcmp(raw, "%PDF-", 5) != 0)
        return vs_diag_set(d, VS_E_DATA, "not a PDF file (no %%PDF- header)");
    int st = vs_doc_pdf_ready(d);
    if (st != VS_OK)
        return st;
    GError *err = NULL;
    GBytes *bytes = pp.bytes_new(raw, len);
    PopplerDocument *pd = pp.doc_new(bytes, NULL, &err);
    if (!pd) {
        st = vs_diag_set(d, VS_E_DATA, "cannot read the PDF: %s",
                         err && err->message ? err->message : "unknown error");
        goto done;
    }
    gchar *title = pp.doc_title(pd);
    if (title && *title && pp.utf8_validate(title, -1, NULL) &&
        json_object_set_new(doc->meta, "title", json_string(title)))
        st = VS_E_NOMEM;
    pp.free(title);
    int np = pp.doc_npages(pd);
    if (json_object_set_new(doc->meta, "pages", json_integer(np)))
        st = VS_E_NOMEM;
    for (int i = 0; i < np && st == VS_OK; i++) {
        if (i)
            st = vs_doc_append(doc, "\n\n", 2);
        if (st == VS_OK)
            st = vs_doc_add_page(doc, doc->len);
        PopplerPage *page = pp.doc_page(pd, i);
        if (!page)
            continue;
        char *t = pp.page_text(page);
        if (t && st == VS_OK && pp.utf8_validate(t, -1, NULL))
            st = vs_doc_append(doc, t, strlen(t));
        pp.free(t);
        pp.object_unref(page);
    }
    if (st != VS_OK)
        vs_diag_set(d, st, "out of memory");
done:
    if (pd)
        pp.object_unref(pd);
    pp.bytes_unref(bytes);
    if (err)
        pp.error_free(err);
    return st;
}

#else

int vs_doc_pdf_ready(struct vs_diag *d)
{
    return vs_diag_set(d, VS_E_UNSUPPORTED, "PDF is not supported: built without poppler-glib");
}

int vs_loader_pdf(struct vs_doc *doc, const char *raw, size_t len,
                  struct vs_diag *d)
{
    return vs_diag_set(d, VS_E_UNSUPPORTED,
                       "PDF is not supported: built without poppler-glib");
}

#endif
