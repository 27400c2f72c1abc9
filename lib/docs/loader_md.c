/* loader_md.c: Markdown documents. The text is the source itself; md4c's
 * parser finds the headings (so a "#" line inside a code block is not one).
 * A section starts at the beginning of the line holding its heading. */
#include "loader_internal.h"

#include <md4c.h>
#include <stdlib.h>
#include <string.h>

struct md_state {
    struct vs_doc *doc;
    const char *src;
    size_t len;
    int in_h;       /* level of the heading being read, 0 outside */
    long first_off; /* offset of the heading's first text, -1 none yet */
    char *title;    /* heading text being collected */
    size_t tlen, tcap;
    char *stack[7]; /* titles by level 1..6 */
    int in_code;    /* inside a code block */
    long code_start, code_end; /* its text, -1 none yet */
    int status;
};

static int md_append(struct md_state *m, const char *s, size_t n)
{
    if (m->tlen + n + 1 > m->tcap) {
        size_t cap = m->tcap ? m->tcap : 64;
        while (cap < m->tlen + n + 1)
            cap *= 2;
        char *p = realloc(m->title, cap);
        if (!p)
            return -1;
        m->title = p;
        m->tcap = cap;
    }
    memcpy(m->title + m->tlen, s, n);
    m->tlen += n;
    m->title[m->tlen] = '\0';
    return 0;
}

static int md_enter_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
    struct md_state *m = ud;
    if (type == MD_BLOCK_CODE) {
        m->in_code = 1;
        m->code_start = m->code_end = -1;
    }
    if (type == MD_BLOCK_H) {
        const MD_BLOCK_H_DETAIL *h = detail;
        m->in_h = (int)h->level;
        m->first_off = -1;
        m->tlen = 0;
        if (md_append(m, "", 0))
            return m->status = VS_E_NOMEM;
    }
    return 0;
}

/* Trim spaces at both ends of the collected title, in place. */
static char *trimmed(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static int md_leave_block(MD_BLOCKTYPE type, void *detail, void *ud)
{
    struct md_state *m = ud;
    if (type == MD_BLOCK_CODE && m->in_code) {
        m->in_code = 0;
        if (m->code_start >= 0) {
            int st = vs_doc_add_keep(m->doc, (size_t)m->code_start,
                                     (size_t)m->code_end);
            if (st != VS_OK)
                return m->status = st;
        }
        return 0;
    }
    if (type != MD_BLOCK_H || !m->in_h)
        return 0;
    int level = m->in_h;
    m->in_h = 0;
    if (m->first_off < 0)
        return 0; /* an empty heading starts no section */
    size_t start = (size_t)m->first_off;
    while (start > 0 && m->src[start - 1] != '\n')
        start--;
    char *t = strdup(trimmed(m->title));
    if (!t)
        return m->status = VS_E_NOMEM;
    for (int l = level; l <= 6; l++) {
        free(m->stack[l]);
        m->stack[l] = NULL;
    }
    m->stack[level] = t;
    if (level == 1 && !json_object_get(m->doc->meta, "title") && *t &&
        json_object_set_new(m->doc->meta, "title", json_string(t)))
        return m->status = VS_E_NOMEM;
    int st = vs_doc_add_section(m->doc, start, m->stack + 1, level);
    if (st != VS_OK)
        return m->status = st;
    return 0;
}

static int md_span(MD_SPANTYPE type, void *detail, void *ud)
{
    return 0;
}

static int md_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size,
                   void *ud)
{
    struct md_state *m = ud;
    if (m->in_code && text >= m->src && text + size <= m->src + m->len) {
        if (m->code_start < 0)
            m->code_start = (long)(text - m->src);
        m->code_end = (long)(text + size - m->src);
    }
    if (!m->in_h)
        return 0;
    if (m->first_off < 0 && text >= m->src && text < m->src + m->len)
        m->first_off = (long)(text - m->src);
    int r;
    switch (type) {
    case MD_TEXT_BR:
    case MD_TEXT_SOFTBR:
        r = md_append(m, " ", 1);
        break;
    case MD_TEXT_NULLCHAR:
        r = 0;
        break;
    default:
        r = md_append(m, text, size);
        break;
    }
    if (r)
        return m->status = VS_E_NOMEM;
    return 0;
}

int vs_loader_markdown(struct vs_doc *doc, const char *raw, size_t len,
                       struct vs_diag *d)
{
    int st = vs_doc_append(doc, raw, len);
    if (st != VS_OK)
        return vs_diag_set(d, st, "out of memory");
    struct md_state m;
    memset(&m, 0, sizeof m);
    m.doc = doc;
    m.src = doc->text;
    m.len = doc->len;
    MD_PARSER p;
    memset(&p, 0, sizeof p);
    p.abi_version = 0;
    p.flags = MD_DIALECT_GITHUB;
    p.enter_block = md_enter_block;
    p.leave_block = md_leave_block;
    p.enter_span = md_span;
    p.leave_span = md_span;
    p.text = md_text;
    int r = md_parse(doc->text, (MD_SIZE)doc->len, &p, &m);
    for (int l = 0; l <= 6; l++)
        free(m.stack[l]);
    free(m.title);
    if (m.status)
        return vs_diag_set(d, m.status, "out of memory");
    if (r != 0)
        return vs_diag_set(d, VS_E_DATA, "the Markdown parser failed");
    return VS_OK;
}
