/* config.c: a strict parser for the TOML subset of .vecstore.toml.
 *
 * The result is a flat, ordered list of dotted keys ("ingest.metric") with
 * their values as text; arrays keep their elements. Anything outside the
 * subset is an error with file:line:col, never silently ignored.
 */
#include "vs_config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    char *key;
    char *text;     /* scalar text, or elements joined by "," */
    char **items;   /* array elements, NULL for scalars */
    size_t nitems;
    int is_array;
    long line;      /* where the key is defined */
};

struct vs_config {
    struct entry *e;
    size_t n, cap;
    char **tables; /* headers seen, to refuse a table defined twice */
    size_t ntables;
};

struct parser {
    const char *s, *end, *p;
    const char *name;
    long line;
    const char *line_start;
    struct vs_diag *d;
    char table[512];
};

static int perr(struct parser *ps, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int perr(struct parser *ps, const char *fmt, ...)
{
    if (ps->d) {
        va_list ap;
        vs_diag_where(ps->d, ps->name, ps->line);
        ps->d->col = (long)(ps->p - ps->line_start) + 1;
        va_start(ap, fmt);
        vsnprintf(ps->d->detail, sizeof ps->d->detail, fmt, ap);
        va_end(ap);
    }
    return VS_E_CONFIG;
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
        ps->p++;
}

static void skip_comment(struct parser *ps)
{
    if (ps->p < ps->end && *ps->p == '#')
        while (ps->p < ps->end && *ps->p != '\n')
            ps->p++;
}

/* Expect the end of a line (after optional whitespace and comment). */
static int end_of_line(struct parser *ps)
{
    skip_ws(ps);
    skip_comment(ps);
    if (ps->p < ps->end && *ps->p == '\r')
        ps->p++;
    if (ps->p < ps->end && *ps->p != '\n')
        return perr(ps, "unexpected text after the value");
    return VS_OK;
}

static void newline(struct parser *ps)
{
    if (ps->p < ps->end && *ps->p == '\n') {
        ps->p++;
        ps->line++;
        ps->line_start = ps->p;
    }
}

/* Skip whitespace, comments and newlines (inside arrays). */
static void skip_all(struct parser *ps)
{
    for (;;) {
        skip_ws(ps);
        skip_comment(ps);
        if (ps->p < ps->end && *ps->p == '\r')
            ps->p++;
        if (ps->p < ps->end && *ps->p == '\n')
            newline(ps);
        else
            return;
    }
}

struct buf {
    char *s;
    size_t n, cap;
};

static int buf_put(struct buf *b, const char *s, size_t n)
{
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns)
            return VS_E_NOMEM;
        b->s = ns;
        b->cap = cap;
    }
    memcpy(b->s + b->n, s, n);
    b->n += n;
    b->s[b->n] = '\0';
    return VS_OK;
}

static int put_utf8(struct buf *b, unsigned long cp)
{
    char u[4];
    size_t n;
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xC0 | (cp >> 6));
        u[1] = (char)(0x80 | (cp & 0x3F));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xE0 | (cp >> 12));
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[2] = (char)(0x80 | (cp & 0x3F));
        n = 3;
    } else {
        u[0] = (char)(0xF0 | (cp >> 18));
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        u[3] = (char)(0x80 | (cp & 0x3F));
        n = 4;
    }
    return buf_put(b, u, n);
}

/* A "basic" or 'literal' string at ps->p; result in *out (malloc'd). */
static int parse_string(struct parser *ps, char **out)
{
    char q = *ps->p;
    struct buf b = {0};
    if (ps->p + 2 < ps->end && ps->p[1] == q && ps->p[2] == q)
        return perr(ps, "multi-line strings are not supported");
    ps->p++;
    int st = buf_put(&b, "", 0);
    while (st == VS_OK) {
        if (ps->p >= ps->end || *ps->p == '\n') {
            free(b.s);
            return perr(ps, "unterminated string");
        }
        char c = *ps->p;
        if (c == q) {
            ps->p++;
            *out = b.s;
            return VS_OK;
        }
        if (c == '\\' && q == '"') {
            ps->p++;
            if (ps->p >= ps->end)
                break;
            char e = *ps->p++;
            switch (e) {
            case 'n': st = buf_put(&b, "\n", 1); break;
            case 't': st = buf_put(&b, "\t", 1); break;
            case 'r': st = buf_put(&b, "\r", 1); break;
            case 'b': st = buf_put(&b, "\b", 1); break;
            case 'f': st = buf_put(&b, "\f", 1); break;
            case '"': st = buf_put(&b, "\"", 1); break;
            case '\\': st = buf_put(&b, "\\", 1); break;
            case 'u':
            case 'U': {
                int nd = e == 'u' ? 4 : 8;
                unsigned long cp = 0;
                for (int i = 0; i < nd; i++) {
                    if (ps->p >= ps->end || !isxdigit((unsigned char)*ps->p)) {
                        free(b.s);
                        return perr(ps, "bad \\u escape");
                    }
                    char h = *ps->p++;
                    cp = cp * 16 + (unsigned long)(isdigit((unsigned char)h)
                                                   ? h - '0'
                                                   : tolower((unsigned char)h) - 'a' + 10);
                }
                if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
                    free(b.s);
                    return perr(ps, "escape is not a Unicode scalar value");
                }
                st = put_utf8(&b, cp);
                break;
            }
            default:
                ps->p -= 2;
                free(b.s);
                return perr(ps, "unknown escape sequence");
            }
            continue;
        }
        if ((unsigned char)c < 0x20 && c != '\t') {
            free(b.s);
            return perr(ps, "control character in string");
        }
        st = buf_put(&b, &c, 1);
        ps->p++;
    }
    free(b.s);
    return st == VS_OK ? perr(ps, "unterminated string") : st;
}

static int is_bare(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* A scalar (string, integer, float, boolean); text in *out. */
static int parse_scalar(struct parser *ps, char **out)
{
    if (ps->p >= ps->end)
        return perr(ps, "missing value");
    char c = *ps->p;
    if (c == '"' || c == '\'')
        return parse_string(ps, out);
    if (c == '{')
        return perr(ps, "inline tables are not supported");
    const char *start = ps->p;
    while (ps->p < ps->end && (is_bare(*ps->p) || *ps->p == '.' || *ps->p == '+'))
        ps->p++;
    size_t n = (size_t)(ps->p - start);
    if (n == 0)
        return perr(ps, "missing value");
    char tok[128];
    if (n >= sizeof tok)
        return perr(ps, "value too long");
    memcpy(tok, start, n);
    tok[n] = '\0';
    if (strcmp(tok, "true") == 0 || strcmp(tok, "false") == 0) {
        *out = strdup(tok);
        return *out ? VS_OK : VS_E_NOMEM;
    }
    /* number: digits with single underscores between digits */
    char clean[128];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (tok[i] == '_') {
            if (i == 0 || i + 1 == n || !isdigit((unsigned char)tok[i - 1]) ||
                !isdigit((unsigned char)tok[i + 1])) {
                ps->p = start + i;
                return perr(ps, "misplaced '_' in number");
            }
            continue;
        }
        clean[k++] = tok[i];
    }
    clean[k] = '\0';
    char *e;
    errno = 0;
    if (strpbrk(clean, ".eE")) {
        strtod(clean, &e);
        if (*e || errno || !isdigit((unsigned char)clean[k - 1]) ||
            strstr(clean, ".e") || strstr(clean, ".E") ||
            (clean[0] == '.' || ((clean[0] == '-' || clean[0] == '+') && clean[1] == '.'))) {
            ps->p = start;
            return perr(ps, "'%s' is not a valid value (strings need quotes)", tok);
        }
    } else {
        strtoll(clean, &e, 10);
        const char *digits = clean + (clean[0] == '-' || clean[0] == '+');
        if (*e || errno || !*digits || (digits[0] == '0' && digits[1])) {
            ps->p = start;
            return perr(ps, "'%s' is not a valid value (strings need quotes)", tok);
        }
    }
    *out = strdup(clean);
    return *out ? VS_OK : VS_E_NOMEM;
}

/* A key (bare or quoted, dotted) into buf; stops before '=' or ']'. */
static int parse_key(struct parser *ps, char *out, size_t size)
{
    size_t n = 0;
    out[0] = '\0';
    for (;;) {
        skip_ws(ps);
        if (ps->p >= ps->end)
            return perr(ps, "missing key");
        char part[256];
        size_t pn = 0;
        if (*ps->p == '"' || *ps->p == '\'') {
            char *s = NULL;
            int st = parse_string(ps, &s);
            if (st != VS_OK)
                return st;
            pn = strlen(s);
            if (pn >= sizeof part) {
                free(s);
                return perr(ps, "key too long");
            }
            memcpy(part, s, pn + 1);
            free(s);
        } else {
            while (ps->p < ps->end && is_bare(*ps->p) && pn + 1 < sizeof part)
                part[pn++] = *ps->p++;
            part[pn] = '\0';
            if (pn == 0)
                return perr(ps, "invalid key");
        }
        if (n + pn + 2 > size)
            return perr(ps, "key too long");
        if (n)
            out[n++] = '.';
        memcpy(out + n, part, pn + 1);
        n += pn;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == '.') {
            ps->p++;
            continue;
        }
        return VS_OK;
    }
}

static struct entry *find(const struct vs_config *c, const char *key)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->e[i].key, key) == 0)
            return &c->e[i];
    return NULL;
}

static int add_entry(struct vs_config *c, struct entry *e)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 16;
        struct entry *ne = realloc(c->e, cap * sizeof *ne);
        if (!ne)
            return VS_E_NOMEM;
        c->e = ne;
        c->cap = cap;
    }
    c->e[c->n++] = *e;
    return VS_OK;
}

static void entry_release(struct entry *e)
{
    free(e->key);
    free(e->text);
    for (size_t i = 0; i < e->nitems; i++)
        free(e->items[i]);
    free(e->items);
}

static int parse_value(struct parser *ps, struct entry *e)
{
    if (ps->p < ps->end && *ps->p == '[') {
        ps->p++;
        e->is_array = 1;
        struct buf joined = {0};
        int st;
        if (buf_put(&joined, "", 0) != VS_OK)
            return VS_E_NOMEM;
        for (;;) {
            skip_all(ps);
            if (ps->p < ps->end && *ps->p == ']') {
                ps->p++;
                break;
            }
            if (ps->p < ps->end && *ps->p == '[') {
                free(joined.s);
                return perr(ps, "nested arrays are not supported");
            }
            char *v = NULL;
            st = parse_scalar(ps, &v);
            if (st != VS_OK) {
                free(joined.s);
                return st;
            }
            char **ni = realloc(e->items, (e->nitems + 1) * sizeof *ni);
            if (!ni) {
                free(v);
                free(joined.s);
                return VS_E_NOMEM;
            }
            e->items = ni;
            e->items[e->nitems++] = v;
            if ((e->nitems > 1 && buf_put(&joined, ",", 1) != VS_OK) ||
                buf_put(&joined, v, strlen(v)) != VS_OK) {
                free(joined.s);
                return VS_E_NOMEM;
            }
            skip_all(ps);
            if (ps->p < ps->end && *ps->p == ',') {
                ps->p++;
                continue;
            }
            if (ps->p < ps->end && *ps->p == ']') {
                ps->p++;
                break;
            }
            free(joined.s);
            return perr(ps, "expected ',' or ']' in array");
        }
        e->text = joined.s;
        return VS_OK;
    }
    return parse_scalar(ps, &e->text);
}

int vs_config_parse(const char *text, size_t len, const char *name,
                    struct vs_config **out, struct vs_diag *d)
{
    struct vs_config *c = calloc(1, sizeof *c);
    if (!c)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a configuration");
    struct parser ps = {.s = text, .end = text + len, .p = text, .name = name,
                        .line = 1, .line_start = text, .d = d};
    int st = VS_OK;
    while (st == VS_OK && ps.p < ps.end) {
        skip_ws(&ps);
        skip_comment(&ps);
        if (ps.p < ps.end && *ps.p == '\r')
            ps.p++;
        if (ps.p >= ps.end)
            break;
        if (*ps.p == '\n') {
            newline(&ps);
            continue;
        }
        if (*ps.p == '[') {
            ps.p++;
            if (ps.p < ps.end && *ps.p == '[') {
                st = perr(&ps, "arrays of tables are not supported");
                break;
            }
            st = parse_key(&ps, ps.table, sizeof ps.table);
            if (st != VS_OK)
                break;
            if (ps.p >= ps.end || *ps.p != ']') {
                st = perr(&ps, "expected ']' after the table name");
                break;
            }
            ps.p++;
            for (size_t i = 0; i < c->ntables; i++)
                if (strcmp(c->tables[i], ps.table) == 0) {
                    st = perr(&ps, "table [%s] is defined twice", ps.table);
                    break;
                }
            if (st != VS_OK)
                break;
            char **nt = realloc(c->tables, (c->ntables + 1) * sizeof *nt);
            if (!nt || !(nt[c->ntables] = strdup(ps.table))) {
                if (nt)
                    c->tables = nt;
                st = VS_E_NOMEM;
                break;
            }
            c->tables = nt;
            c->ntables++;
            st = end_of_line(&ps);
            continue;
        }
        char key[512], full[1024];
        const char *key_at = ps.p;
        st = parse_key(&ps, key, sizeof key);
        if (st != VS_OK)
            break;
        if (ps.p >= ps.end || *ps.p != '=') {
            st = perr(&ps, "expected '=' after the key");
            break;
        }
        ps.p++;
        skip_ws(&ps);
        snprintf(full, sizeof full, "%s%s%s", ps.table, ps.table[0] ? "." : "", key);
        if (find(c, full)) {
            ps.p = key_at;
            st = perr(&ps, "key '%s' is defined twice", full);
            break;
        }
        struct entry e = {0};
        e.line = ps.line;
        e.key = strdup(full);
        if (!e.key) {
            st = VS_E_NOMEM;
            break;
        }
        st = parse_value(&ps, &e);
        if (st == VS_OK)
            st = end_of_line(&ps);
        if (st == VS_OK)
            st = add_entry(c, &e);
        if (st != VS_OK)
            entry_release(&e);
    }
    if (st != VS_OK) {
        if (st == VS_E_NOMEM)
            vs_diag_set(d, st, "out of memory reading the configuration");
        vs_config_free(c);
        *out = NULL;
        return st;
    }
    *out = c;
    return VS_OK;
}

int vs_config_load(const char *path, struct vs_config **out, struct vs_diag *d)
{
    *out = NULL;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int err = errno;
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, err == ENOENT ? VS_E_CONFIG : vs_status_from_errno(err),
                           "cannot read the configuration: %s", strerror(err));
    }
    struct buf b = {0};
    char chunk[4096];
    size_t n;
    int st = buf_put(&b, "", 0);
    while (st == VS_OK && (n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        st = buf_put(&b, chunk, n);
    int bad = ferror(fp);
    fclose(fp);
    if (st != VS_OK || bad) {
        free(b.s);
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, st != VS_OK ? st : VS_E_IO,
                           "cannot read the configuration");
    }
    if (memchr(b.s, '\0', b.n)) {
        free(b.s);
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, VS_E_CONFIG, "the configuration is not text");
    }
    st = vs_config_parse(b.s, b.n, path, out, d);
    free(b.s);
    return st;
}

const char *vs_config_get(const struct vs_config *c, const char *key)
{
    const struct entry *e = c ? find(c, key) : NULL;
    return e ? e->text : NULL;
}

int vs_config_array(const struct vs_config *c, const char *key, size_t *n)
{
    const struct entry *e = c ? find(c, key) : NULL;
    *n = e && e->is_array ? e->nitems : 0;
    return e && e->is_array;
}

const char *vs_config_array_get(const struct vs_config *c, const char *key,
                                size_t i)
{
    const struct entry *e = c ? find(c, key) : NULL;
    return e && e->is_array && i < e->nitems ? e->items[i] : NULL;
}

size_t vs_config_count(const struct vs_config *c) { return c ? c->n : 0; }

const char *vs_config_key(const struct vs_config *c, size_t i)
{
    return c && i < c->n ? c->e[i].key : NULL;
}

long vs_config_key_line(const struct vs_config *c, size_t i)
{
    return c && i < c->n ? c->e[i].line : 0;
}

void vs_config_free(struct vs_config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n; i++)
        entry_release(&c->e[i]);
    for (size_t i = 0; i < c->ntables; i++)
        free(c->tables[i]);
    free(c->tables);
    free(c->e);
    free(c);
}
