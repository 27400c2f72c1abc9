/* lazy_xml.c: libxml2 loaded on the first HTML document, for vs-chunk.
 *
 * libxml2 brings ICU (libicuuc, its 30 MB data library) and libstdc++,
 * whose load was most of vs-chunk's start-up: 17 libraries and 4.2
 * million instructions for `vs-chunk --version`, paid by every run,
 * also on text and Markdown (bench/results/startup.txt). vs-chunk is
 * linked with this file instead of -lxml2 (Makefile): the functions
 * lib/docs/loader_html.c calls are defined here and open the library on
 * first use (dlopen, kept for the life of the process), as
 * lib/docs/loader_pdf.c does for poppler. When it cannot be opened,
 * htmlReadMemory returns NULL and the loader reports that the HTML parser
 * failed. */
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded;
static __typeof__(htmlReadMemory) *p_read;
static __typeof__(xmlDocGetRootElement) *p_root;
static __typeof__(xmlFreeDoc) *p_free_doc;
static __typeof__(xmlGetProp) *p_get_prop;
static __typeof__(xmlNodeGetContent) *p_content;
static xmlFreeFunc *p_free; /* libxml2's own xmlFree variable */

static void load(void)
{
    static const char *const names[] = {"libxml2.so.2", "libxml2.so"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (!h)
            continue;
#define SYM(p, name) (*(void **)&(p) = dlsym(h, name))
        if (SYM(p_read, "htmlReadMemory") && SYM(p_root, "xmlDocGetRootElement") &&
            SYM(p_free_doc, "xmlFreeDoc") && SYM(p_get_prop, "xmlGetProp") &&
            SYM(p_content, "xmlNodeGetContent") && SYM(p_free, "xmlFree")) {
            loaded = 1;
            return;
        }
#undef SYM
        dlclose(h);
    }
}

static int ready(void)
{
    pthread_once(&once, load);
    return loaded;
}

htmlDocPtr htmlReadMemory(const char *buffer, int size, const char *URL,
                          const char *encoding, int options)
{
    return ready() ? p_read(buffer, size, URL, encoding, options) : NULL;
}

/* the calls below get objects only a parsed document gives: loaded */
xmlNodePtr xmlDocGetRootElement(const xmlDoc *doc)
{
    return ready() ? p_root(doc) : NULL;
}

void xmlFreeDoc(xmlDocPtr cur)
{
    if (ready())
        p_free_doc(cur);
}

xmlChar *xmlGetProp(const xmlNode *node, const xmlChar *name)
{
    return ready() ? p_get_prop(node, name) : NULL;
}

xmlChar *xmlNodeGetContent(const xmlNode *cur)
{
    return ready() ? p_content(cur) : NULL;
}

/* what xmlGetProp and xmlNodeGetContent return is freed with libxml2's
 * xmlFree (a variable of the library: its allocator) */
static void lazy_free(void *p)
{
    if (p && ready())
        (*p_free)(p);
}

xmlFreeFunc xmlFree = lazy_free;
