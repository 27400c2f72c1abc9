/* loader_html.c: HTML documents through libxml2's HTML parser.
 *
 * The extracted text: text nodes with whitespace runs collapsed to one space
 * (kept as is inside <pre>), block elements separated by a blank line, list
 * items, table rows and <br> by a newline; <head>, <script>, <style>,
 * <noscript> and <template> dropped. <title> goes to metadata.title; h1-h6
 * start sections at the offset of their text.
 *
 * Main content (the default; VS_LOAD_HTML_ALL keeps the whole body): when the
 * page has a <main> (or role="main") element, or exactly one <article>,
 * only that is read. Otherwise the body is read without its furniture:
 * <nav>, <header>, <footer>, <aside>, <menu>, <form>, elements whose role is
 * navigation, banner, contentinfo, complementary, search or menu(bar),
 * elements whose class or id has a part (split at anything not a letter or
 * digit) beginning or ending with one of nav, menu, sidebar, breadcrumb,
 * footer, masthead, toolbar, cookie, banner, tagline, skiplink, logo, and
 * blocks of under 1,000 characters of which more than half is link text.
 * A page left empty by this is read whole. */
#include "loader_internal.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct html_state {
    struct vs_doc *doc;
    int furniture; /* skip page furniture (main content mode, no main root) */
    int pending; /* newlines owed before the next text: 0, 1 or 2 */
    int space;   /* a space is owed before the next text */
    int pre;     /* inside <pre> */
    char *stack[7];
    int status;
};

static int name_in(const char *name, const char *const *list)
{
    for (size_t i = 0; list[i]; i++)
        if (!strcasecmp(name, list[i]))
            return 1;
    return 0;
}

static const char *const skip_tags[] = {"head", "script", "style", "noscript",
                                        "template", NULL};
static const char *const block_tags[] = {
    "p", "div", "section", "article", "header", "footer", "nav", "aside",
    "main", "blockquote", "pre", "table", "ul", "ol", "dl", "figure",
    "figcaption", "form", "hr", "address", "details", "summary", "h1", "h2",
    "h3", "h4", "h5", "h6", "body", NULL};
static const char *const line_tags[] = {"li", "tr", "dt", "dd", "caption",
                                        NULL};

static void owe(struct html_state *h, int n)
{
    if (h->pending < n)
        h->pending = n;
}

/* Emit owed separators (none at the very start). */
static void flush_sep(struct html_state *h)
{
    if (h->status)
        return;
    if (h->doc->len) {
        if (h->pending)
            h->status = vs_doc_append(h->doc, "\n\n", (size_t)h->pending);
        else if (h->space)
            h->status = vs_doc_append(h->doc, " ", 1);
    }
    h->pending = 0;
    h->space = 0;
}

static int is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static void add_text(struct html_state *h, const char *s)
{
    size_t n = strlen(s);
    if (h->pre) {
        if (n) {
            flush_sep(h);
            if (!h->status)
                h->status = vs_doc_append(h->doc, s, n);
        }
        return;
    }
    size_t i = 0;
    while (i < n && !h->status) {
        if (is_ws((unsigned char)s[i])) {
            while (i < n && is_ws((unsigned char)s[i]))
                i++;
            h->space = 1;
            continue;
        }
        size_t j = i;
        while (j < n && !is_ws((unsigned char)s[j]))
            j++;
        flush_sep(h);
        if (!h->status)
            h->status = vs_doc_append(h->doc, s + i, j - i);
        i = j;
    }
}

/* Collapsed text content of a node (for titles and headings). */
static char *node_text(xmlNode *n)
{
    xmlChar *c = xmlNodeGetContent(n);
    if (!c)
        return strdup("");
    char *s = (char *)c, *w = s;
    int sp = 0;
    for (char *r = s; *r; r++) {
        if (is_ws((unsigned char)*r)) {
            sp = w != s;
            continue;
        }
        if (sp)
            *w++ = ' ';
        sp = 0;
        *w++ = *r;
    }
    *w = '\0';
    char *out = strdup(s);
    xmlFree(c);
    return out;
}

static const char *const furniture_tags[] = {"nav", "header", "footer", "aside",
                                             "menu", "form", NULL};
static const char *const furniture_roles[] = {"navigation", "banner", "contentinfo",
                                              "complementary", "search", "menu",
                                              "menubar", NULL};
static const char *const furniture_words[] = {"nav", "menu", "sidebar", "breadcrumb",
                                              "footer", "masthead", "toolbar", "cookie",
                                              "banner", "tagline", "skiplink", "logo",
                                              NULL};
static const char *const density_tags[] = {"div", "ul", "ol", "table", "p", "section",
                                           "td", NULL};

/* Non-zero when the attribute value has a part that begins or ends with
 * one of the furniture words (case-insensitive). */
static int furniture_attr(const char *v)
{
    while (v && *v) {
        while (*v && !isalnum((unsigned char)*v))
            v++;
        const char *e = v;
        while (*e && isalnum((unsigned char)*e))
            e++;
        size_t n = (size_t)(e - v);
        for (size_t i = 0; n && furniture_words[i]; i++) {
            size_t w = strlen(furniture_words[i]);
            if (n >= w && (!strncasecmp(v, furniture_words[i], w) ||
                           !strncasecmp(e - w, furniture_words[i], w)))
                return 1;
        }
        v = e;
    }
    return 0;
}

static int attr_is(xmlNode *n, const char *attr, int (*test)(const char *))
{
    xmlChar *v = xmlGetProp(n, (const xmlChar *)attr);
    int r = v && test((const char *)v);
    xmlFree(v);
    return r;
}

static int role_furniture(const char *v) { return name_in(v, furniture_roles); }
static int role_main(const char *v) { return !strcasecmp(v, "main"); }

/* Text bytes under n (ignoring whitespace), and of that inside <a>. */
static void text_weight(xmlNode *n, int in_a, size_t *all, size_t *links)
{
    for (; n && *all < 4096; n = n->next) {
        if (n->type == XML_TEXT_NODE && n->content) {
            for (const xmlChar *c = n->content; *c; c++)
                if (!is_ws(*c)) {
                    ++*all;
                    *links += in_a != 0;
                }
        } else if (n->type == XML_ELEMENT_NODE && !name_in((const char *)n->name, skip_tags)) {
            text_weight(n->children, in_a || !strcasecmp((const char *)n->name, "a"),
                        all, links);
        }
    }
}

static int is_furniture(xmlNode *n)
{
    const char *name = (const char *)n->name;
    if (name_in(name, furniture_tags) || attr_is(n, "role", role_furniture) ||
        attr_is(n, "class", furniture_attr) || attr_is(n, "id", furniture_attr))
        return 1;
    if (!name_in(name, density_tags))
        return 0;
    size_t all = 0, links = 0;
    text_weight(n->children, 0, &all, &links);
    return all && all < 1000 && 2 * links > all;
}

/* The element holding the page's main content: the first <main> or
 * role="main", else the only <article>; NULL when there is none. */
static xmlNode *find_main(xmlNode *n, xmlNode **article, int *narticles)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)n->name;
        if (name_in(name, skip_tags))
            continue;
        if (!strcasecmp(name, "main") || attr_is(n, "role", role_main))
            return n;
        if (!strcasecmp(name, "article") && ++*narticles == 1)
            *article = n;
        xmlNode *m = find_main(n->children, article, narticles);
        if (m)
            return m;
    }
    return NULL;
}

static void walk(struct html_state *h, xmlNode *n);

/* One node and what is under it. */
static void walk_one(struct html_state *h, xmlNode *n)
{
    if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
        if (n->content)
            add_text(h, (const char *)n->content);
        return;
    }
    if (n->type != XML_ELEMENT_NODE)
        return;
    const char *name = (const char *)n->name;
    if (name_in(name, skip_tags) || (h->furniture && is_furniture(n)))
        return;
    if (!strcasecmp(name, "br")) {
        owe(h, 1);
        return;
    }
    int block = name_in(name, block_tags), line = name_in(name, line_tags);
    if (block)
        owe(h, 2);
    else if (line)
        owe(h, 1);
    else if (!strcasecmp(name, "td") || !strcasecmp(name, "th"))
        h->space = 1;
    if (strlen(name) == 2 && (name[0] == 'h' || name[0] == 'H') &&
        name[1] >= '1' && name[1] <= '6') {
        int level = name[1] - '0';
        char *t = node_text(n);
        if (!t) {
            h->status = VS_E_NOMEM;
            return;
        }
        if (*t) {
            flush_sep(h);
            for (int l = level; l <= 6; l++) {
                free(h->stack[l]);
                h->stack[l] = NULL;
            }
            h->stack[level] = t;
            if (!h->status)
                h->status = vs_doc_add_section(h->doc, h->doc->len,
                                               h->stack + 1, level);
        } else
            free(t);
    }
    int was_pre = h->pre;
    size_t pre_start = 0;
    if (!strcasecmp(name, "pre")) {
        h->pre = 1;
        if (!was_pre) {
            flush_sep(h);
            pre_start = h->doc->len;
        }
    }
    walk(h, n->children);
    h->pre = was_pre;
    if (!strcasecmp(name, "pre") && !was_pre && !h->status)
        h->status = vs_doc_add_keep(h->doc, pre_start, h->doc->len);
    if (block)
        owe(h, 2);
    else if (line)
        owe(h, 1);
}

/* A node and its following siblings. */
static void walk(struct html_state *h, xmlNode *n)
{
    for (; n && !h->status; n = n->next)
        walk_one(h, n);
}

static xmlNode *find_title(xmlNode *n)
{
    for (; n; n = n->next) {
        if (n->type != XML_ELEMENT_NODE)
            continue;
        if (!strcasecmp((const char *)n->name, "title"))
            return n;
        if (!strcasecmp((const char *)n->name, "body"))
            continue;
        xmlNode *t = find_title(n->children);
        if (t)
            return t;
    }
    return NULL;
}

/* Start the document's text over (after a main-content pass left it
 * empty, so only sections need dropping). */
static void reset_text(struct html_state *h)
{
    for (size_t i = 0; i < h->doc->nsec; i++)
        json_decref(h->doc->sec[i].path);
    h->doc->nsec = 0;
    h->doc->nkeep = 0;
    h->doc->len = 0;
    if (h->doc->text)
        h->doc->text[0] = '\0';
    for (int l = 0; l <= 6; l++) {
        free(h->stack[l]);
        h->stack[l] = NULL;
    }
    h->pending = h->space = h->pre = 0;
}

int vs_loader_html_flags(struct vs_doc *doc, const char *raw, size_t len,
                         unsigned flags, struct vs_diag *d)
{
    if (len > (size_t)2147483647)
        return vs_diag_set(d, VS_E_DATA, "file too large for the HTML parser");
    htmlDocPtr x = htmlReadMemory(raw, (int)len, NULL, NULL,
                                  HTML_PARSE_RECOVER | HTML_PARSE_NOERROR |
                                      HTML_PARSE_NOWARNING | HTML_PARSE_NONET);
    if (!x)
        return len ? vs_diag_set(d, VS_E_DATA, "the HTML parser failed")
                   : VS_OK;
    struct html_state h;
    memset(&h, 0, sizeof h);
    h.doc = doc;
    xmlNode *root = xmlDocGetRootElement(x);
    xmlNode *title = root ? find_title(root) : NULL;
    if (title) {
        char *t = node_text(title);
        if (!t)
            h.status = VS_E_NOMEM;
        else if (*t && json_object_set_new(doc->meta, "title", json_string(t)))
            h.status = VS_E_NOMEM;
        free(t);
    }
    if (root && !h.status) {
        xmlNode *article = NULL, *main = NULL;
        int narticles = 0;
        if (!(flags & VS_LOAD_HTML_ALL)) {
            main = find_main(root, &article, &narticles);
            if (!main && narticles == 1)
                main = article;
        }
        if (main) {
            walk_one(&h, main);
        } else {
            h.furniture = !(flags & VS_LOAD_HTML_ALL);
            walk(&h, root);
        }
        if (!h.status && !(flags & VS_LOAD_HTML_ALL) && doc->len == 0) {
            reset_text(&h); /* everything looked like furniture: read it all */
            h.furniture = 0;
            walk(&h, root);
        }
    }
    for (int l = 0; l <= 6; l++)
        free(h.stack[l]);
    xmlFreeDoc(x);
    if (h.status)
        return vs_diag_set(d, h.status, "out of memory");
    if (!vs_utf8_valid(doc->text, doc->len))
        return vs_diag_set(d, VS_E_DATA, "the HTML text is not UTF-8");
    return VS_OK;
}

int vs_loader_html(struct vs_doc *doc, const char *raw, size_t len,
                   struct vs_diag *d)
{
    return vs_loader_html_flags(doc, raw, len, 0, d);
}
