/* loader_html.c: HTML documents through libxml2's HTML parser.
 *
 * The extracted text: text nodes with whitespace runs collapsed to one space
 * (kept as is inside <pre>), block elements separated by a blank line, list
 * items, table rows and <br> by a newline; <head>, <script>, <style>,
 * <noscript> and <template> dropped. <title> goes to metadata.title; h1-h6
 * start sections at the offset of their text. */
#include "loader_internal.h"

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>
#include <string.h>
#include <strings.h>

struct html_state {
    struct vs_doc *doc;
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

static void walk(struct html_state *h, xmlNode *n)
{
    for (; n && !h->status; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content)
                add_text(h, (const char *)n->content);
            continue;
        }
        if (n->type != XML_ELEMENT_NODE)
            continue;
        const char *name = (const char *)n->name;
        if (name_in(name, skip_tags))
            continue;
        if (!strcasecmp(name, "br")) {
            owe(h, 1);
            continue;
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

int vs_loader_html(struct vs_doc *doc, const char *raw, size_t len,
                   struct vs_diag *d)
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
    if (root && !h.status)
        walk(&h, root);
    for (int l = 0; l <= 6; l++)
        free(h.stack[l]);
    xmlFreeDoc(x);
    if (h.status)
        return vs_diag_set(d, h.status, "out of memory");
    if (!vs_utf8_valid(doc->text, doc->len))
        return vs_diag_set(d, VS_E_DATA, "the HTML text is not UTF-8");
    return VS_OK;
}
