/* filter.c: the filter language: a lexer, a recursive-descent parser that
 * builds an AST once, and an evaluator over jansson values.
 *
 * Grammar (keywords case-insensitive):
 *   expr    := and (OR and)*
 *   and     := unary (AND unary)*
 *   unary   := NOT unary | primary
 *   primary := '(' expr ')' | path pred
 *   pred    := cmpop literal
 *            | [NOT] IN '[' [literal (',' literal)*] ']'
 *            | [NOT] CONTAINS literal
 *            | [NOT] STARTSWITH string
 *            | [NOT] EXISTS
 *   cmpop   := '=' | '!=' | '<' | '<=' | '>' | '>='
 *   literal := string | number | TRUE | FALSE | NULL
 */
#include "vs_filter.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_DEPTH 200

enum node_kind { N_AND, N_OR, N_NOT, N_CMP, N_IN, N_CONTAINS, N_STARTS, N_EXISTS };
enum cmp_op { OP_EQ, OP_NE, OP_LT, OP_LE, OP_GT, OP_GE };

struct path {
    size_t n;
    char **seg;
    long *index; /* >= 0 when the segment is all digits (array index) */
};

struct node {
    enum node_kind kind;
    enum cmp_op op;
    struct node *a, *b;
    struct path path;
    json_t *lit;  /* N_CMP, N_CONTAINS, N_STARTS: the literal; N_IN: an array */
    /* N_IN: the list's strings sorted (binary search) and its other
     * literals (borrowed from lit), so a long list costs O(log n) a doc */
    const json_t **strs, **others;
    size_t nstrs, nothers;
};

struct vs_filter {
    struct node *root;
    char *text;
};

/* ---- lexer ---- */

enum tok_kind {
    T_END, T_LPAREN, T_RPAREN, T_LBRACK, T_RBRACK, T_COMMA, T_OP, T_STRING,
    T_NUMBER, T_IDENT, T_AND, T_OR, T_NOT, T_IN, T_CONTAINS, T_STARTSWITH,
    T_EXISTS, T_TRUE, T_FALSE, T_NULL
};

struct tok {
    enum tok_kind kind;
    size_t pos, len;   /* where in the text */
    enum cmp_op op;    /* T_OP */
    json_t *val;       /* T_STRING, T_NUMBER: new reference */
};

struct parser {
    const char *s;
    size_t pos;
    struct tok t;      /* the current token */
    int depth;
    int status;
    struct vs_diag *d;
};

static const struct {
    const char *word;
    enum tok_kind kind;
} keywords[] = {
    {"and", T_AND}, {"or", T_OR}, {"not", T_NOT}, {"in", T_IN},
    {"contains", T_CONTAINS}, {"startswith", T_STARTSWITH},
    {"exists", T_EXISTS}, {"true", T_TRUE}, {"false", T_FALSE},
    {"null", T_NULL},
};

static int fail(struct parser *p, size_t pos, int status, const char *what)
{
    if (p->status == VS_OK) {
        p->status = status;
        if (p->d) {
            p->d->col = (long)pos + 1;
            vs_diag_set(p->d, status, "column %ld: %s", (long)pos + 1, what);
        }
    }
    return p->status;
}

static int is_ident_start(int c)
{
    return isalpha(c) || c == '_' || c >= 0x80;
}

static int is_ident_char(int c)
{
    return isalnum(c) || c == '_' || c == '-' || c >= 0x80;
}

static void put_utf8(char *buf, size_t *n, uint32_t cp)
{
    if (cp < 0x80) {
        buf[(*n)++] = (char)cp;
    } else if (cp < 0x800) {
        buf[(*n)++] = (char)(0xC0 | (cp >> 6));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        buf[(*n)++] = (char)(0xE0 | (cp >> 12));
        buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        buf[(*n)++] = (char)(0xF0 | (cp >> 18));
        buf[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
        buf[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        buf[(*n)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int hex4(const char *s, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int c = (unsigned char)s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

static int lex_string(struct parser *p, size_t start)
{
    const char *s = p->s;
    char q = s[start];
    /* the literal's extent first (escapes only shrink it): the buffer is
     * sized by the literal, not by the rest of the filter, so a long IN
     * list lexes in linear time */
    size_t end = start + 1;
    while (s[end] && s[end] != q)
        end += s[end] == '\\' && s[end + 1] ? 2 : 1;
    size_t i = start + 1, cap = end - start + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        return fail(p, start, VS_E_NOMEM, "out of memory");
    for (;;) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\0') {
            free(buf);
            return fail(p, start, VS_E_FILTER, "unterminated string");
        }
        if (c == (unsigned char)q) {
            i++;
            break;
        }
        if (c != '\\') {
            buf[n++] = (char)c;
            i++;
            continue;
        }
        char e = s[i + 1];
        uint32_t cp;
        switch (e) {
        case '"': case '\'': case '\\': case '/':
            buf[n++] = e; i += 2; break;
        case 'b': buf[n++] = '\b'; i += 2; break;
        case 'f': buf[n++] = '\f'; i += 2; break;
        case 'n': buf[n++] = '\n'; i += 2; break;
        case 'r': buf[n++] = '\r'; i += 2; break;
        case 't': buf[n++] = '\t'; i += 2; break;
        case 'u':
            if (hex4(s + i + 2, &cp) != 0) {
                free(buf);
                return fail(p, i, VS_E_FILTER, "bad \\u escape");
            }
            i += 6;
            if (cp >= 0xD800 && cp < 0xDC00) {
                uint32_t lo;
                if (s[i] != '\\' || s[i + 1] != 'u' || hex4(s + i + 2, &lo) != 0 ||
                    lo < 0xDC00 || lo > 0xDFFF) {
                    free(buf);
                    return fail(p, i, VS_E_FILTER, "unpaired surrogate in \\u escape");
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                free(buf);
                return fail(p, i - 6, VS_E_FILTER, "unpaired surrogate in \\u escape");
            }
            if (cp == 0) {
                free(buf);
                return fail(p, i - 6, VS_E_FILTER, "\\u0000 is not allowed in a string");
            }
            put_utf8(buf, &n, cp);
            break;
        default:
            free(buf);
            return fail(p, i, VS_E_FILTER, "unknown escape in string");
        }
    }
    p->t.val = json_stringn(buf, n); /* NULL when not valid UTF-8 */
    free(buf);
    if (!p->t.val)
        return fail(p, start, VS_E_FILTER, "string is not valid UTF-8");
    p->t.kind = T_STRING;
    p->t.len = i - start;
    p->pos = i;
    return VS_OK;
}

static int lex_number(struct parser *p, size_t start)
{
    const char *s = p->s + start;
    size_t i = 0;
    int is_int = 1;
    if (s[i] == '-' || s[i] == '+')
        i++;
    if (!isdigit((unsigned char)s[i]) &&
        !(s[i] == '.' && isdigit((unsigned char)s[i + 1])))
        return fail(p, start, VS_E_FILTER, "bad number");
    while (isdigit((unsigned char)s[i]))
        i++;
    if (s[i] == '.') {
        is_int = 0;
        i++;
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    if (s[i] == 'e' || s[i] == 'E') {
        is_int = 0;
        i++;
        if (s[i] == '-' || s[i] == '+')
            i++;
        if (!isdigit((unsigned char)s[i]))
            return fail(p, start, VS_E_FILTER, "bad number exponent");
        while (isdigit((unsigned char)s[i]))
            i++;
    }
    if (is_ident_char((unsigned char)s[i]) || s[i] == '.')
        return fail(p, start, VS_E_FILTER, "bad number");
    char tmp[128];
    if (i >= sizeof tmp)
        return fail(p, start, VS_E_FILTER, "number too long");
    memcpy(tmp, s, i);
    tmp[i] = '\0';
    json_t *v = NULL;
    if (is_int) {
        errno = 0;
        long long ll = strtoll(tmp, NULL, 10);
        if (errno == 0)
            v = json_integer(ll);
    }
    if (!v) {
        errno = 0;
        double x = strtod(tmp, NULL);
        if (errno == ERANGE && (x > 1.0 || x < -1.0))
            return fail(p, start, VS_E_FILTER, "number out of range");
        v = json_real(x);
    }
    if (!v)
        return fail(p, start, VS_E_NOMEM, "out of memory");
    p->t.kind = T_NUMBER;
    p->t.val = v;
    p->t.len = i;
    p->pos = start + i;
    return VS_OK;
}

/* Advance to the next token (the previous token's value must be consumed). */
static int next(struct parser *p)
{
    const char *s = p->s;
    size_t i = p->pos;
    json_decref(p->t.val);
    memset(&p->t, 0, sizeof p->t);
    while (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')
        i++;
    p->t.pos = i;
    p->t.len = 1;
    unsigned char c = (unsigned char)s[i];
    switch (c) {
    case '\0': p->t.kind = T_END; p->t.len = 0; p->pos = i; return VS_OK;
    case '(': p->t.kind = T_LPAREN; p->pos = i + 1; return VS_OK;
    case ')': p->t.kind = T_RPAREN; p->pos = i + 1; return VS_OK;
    case '[': p->t.kind = T_LBRACK; p->pos = i + 1; return VS_OK;
    case ']': p->t.kind = T_RBRACK; p->pos = i + 1; return VS_OK;
    case ',': p->t.kind = T_COMMA; p->pos = i + 1; return VS_OK;
    case '=':
        p->t.kind = T_OP; p->t.op = OP_EQ;
        if (s[i + 1] == '=')
            return fail(p, i, VS_E_FILTER, "use '=' for equality, not '=='");
        p->pos = i + 1;
        return VS_OK;
    case '!':
        if (s[i + 1] != '=')
            return fail(p, i, VS_E_FILTER, "expected '!='");
        p->t.kind = T_OP; p->t.op = OP_NE; p->t.len = 2; p->pos = i + 2;
        return VS_OK;
    case '<': case '>':
        p->t.kind = T_OP;
        if (s[i + 1] == '=') {
            p->t.op = c == '<' ? OP_LE : OP_GE;
            p->t.len = 2;
        } else if (c == '<' && s[i + 1] == '>') {
            return fail(p, i, VS_E_FILTER, "use '!=' for inequality, not '<>'");
        } else {
            p->t.op = c == '<' ? OP_LT : OP_GT;
        }
        p->pos = i + p->t.len;
        return VS_OK;
    case '"': case '\'':
        return lex_string(p, i);
    default:
        break;
    }
    if (isdigit(c) || c == '-' || c == '+' || c == '.')
        return lex_number(p, i);
    if (is_ident_start(c)) {
        size_t j = i;
        for (;;) {
            while (is_ident_char((unsigned char)s[j]))
                j++;
            if (s[j] == '.' && is_ident_char((unsigned char)s[j + 1])) {
                j++;
                continue;
            }
            break;
        }
        if (s[j] == '.')
            return fail(p, j, VS_E_FILTER, "path ends with '.'");
        p->t.kind = T_IDENT;
        p->t.len = j - i;
        p->pos = j;
        for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
            if (strlen(keywords[k].word) == j - i &&
                strncasecmp(keywords[k].word, s + i, j - i) == 0) {
                p->t.kind = keywords[k].kind;
                break;
            }
        }
        return VS_OK;
    }
    return fail(p, i, VS_E_FILTER, "unexpected character");
}

/* ---- AST ---- */

static void path_release(struct path *pa)
{
    for (size_t i = 0; i < pa->n; i++)
        free(pa->seg[i]);
    free(pa->seg);
    free(pa->index);
}

static void node_free(struct node *n)
{
    if (!n)
        return;
    node_free(n->a);
    node_free(n->b);
    path_release(&n->path);
    json_decref(n->lit);
    free(n->strs);
    free(n->others);
    free(n);
}

static struct node *node_new(struct parser *p, enum node_kind k)
{
    struct node *n = calloc(1, sizeof *n);
    if (!n)
        fail(p, p->t.pos, VS_E_NOMEM, "out of memory");
    else
        n->kind = k;
    return n;
}

static int path_init(struct parser *p, struct path *pa, const char *s,
                     size_t len)
{
    size_t nseg = 1;
    for (size_t i = 0; i < len; i++)
        nseg += s[i] == '.';
    pa->seg = calloc(nseg, sizeof *pa->seg);
    pa->index = calloc(nseg, sizeof *pa->index);
    if (!pa->seg || !pa->index)
        return fail(p, p->t.pos, VS_E_NOMEM, "out of memory");
    size_t start = 0;
    for (size_t k = 0; k < nseg; k++) {
        size_t end = start;
        while (end < len && s[end] != '.')
            end++;
        pa->seg[k] = strndup(s + start, end - start);
        if (!pa->seg[k])
            return fail(p, p->t.pos, VS_E_NOMEM, "out of memory");
        pa->n = k + 1;
        pa->index[k] = -1;
        size_t dl = 0;
        while (start + dl < end && isdigit((unsigned char)s[start + dl]))
            dl++;
        if (dl == end - start && dl > 0 && dl < 10)
            pa->index[k] = strtol(pa->seg[k], NULL, 10);
        start = end + 1;
    }
    return VS_OK;
}

static int is_literal(enum tok_kind k)
{
    return k == T_STRING || k == T_NUMBER || k == T_TRUE || k == T_FALSE ||
           k == T_NULL;
}

/* Take the current literal token as a new json_t reference, then advance. */
static json_t *take_literal(struct parser *p)
{
    json_t *v;
    switch (p->t.kind) {
    case T_STRING: case T_NUMBER: v = p->t.val; p->t.val = NULL; break;
    case T_TRUE: v = json_true(); break;
    case T_FALSE: v = json_false(); break;
    case T_NULL: v = json_null(); break;
    default:
        fail(p, p->t.pos, VS_E_FILTER,
             "expected a value (a string, number, true, false or null)");
        return NULL;
    }
    if (next(p) != VS_OK) {
        json_decref(v);
        return NULL;
    }
    return v;
}

static struct node *parse_or(struct parser *p);

static struct node *wrap_not(struct parser *p, struct node *n)
{
    struct node *x = node_new(p, N_NOT);
    if (!x) {
        node_free(n);
        return NULL;
    }
    x->a = n;
    return x;
}

static int in_index(struct node *n);

static struct node *parse_pred(struct parser *p)
{
    struct node *n = node_new(p, N_CMP);
    if (!n)
        return NULL;
    if (path_init(p, &n->path, p->s + p->t.pos, p->t.len) != VS_OK ||
        next(p) != VS_OK)
        goto fail;
    int negate = 0;
    if (p->t.kind == T_OP) {
        n->op = p->t.op;
        if (next(p) != VS_OK)
            goto fail;
        if (!is_literal(p->t.kind)) {
            fail(p, p->t.pos, VS_E_FILTER,
                 "expected a value (a string, number, true, false or null)");
            goto fail;
        }
        if (!(n->lit = take_literal(p)))
            goto fail;
        return n;
    }
    if (p->t.kind == T_NOT) {
        negate = 1;
        if (next(p) != VS_OK)
            goto fail;
    }
    switch (p->t.kind) {
    case T_IN:
        n->kind = N_IN;
        if (next(p) != VS_OK)
            goto fail;
        if (p->t.kind != T_LBRACK) {
            fail(p, p->t.pos, VS_E_FILTER, "expected '[' after IN");
            goto fail;
        }
        if (next(p) != VS_OK)
            goto fail;
        if (!(n->lit = json_array())) {
            fail(p, p->t.pos, VS_E_NOMEM, "out of memory");
            goto fail;
        }
        if (p->t.kind != T_RBRACK) {
            for (;;) {
                json_t *v = take_literal(p);
                if (!v)
                    goto fail;
                json_array_append_new(n->lit, v);
                if (p->t.kind == T_COMMA) {
                    if (next(p) != VS_OK)
                        goto fail;
                    continue;
                }
                if (p->t.kind == T_RBRACK)
                    break;
                fail(p, p->t.pos, VS_E_FILTER, "expected ',' or ']' in the IN list");
                goto fail;
            }
        }
        if (next(p) != VS_OK)
            goto fail;
        if (in_index(n) != VS_OK) {
            fail(p, p->t.pos, VS_E_NOMEM, "out of memory");
            goto fail;
        }
        break;
    case T_CONTAINS:
        n->kind = N_CONTAINS;
        if (next(p) != VS_OK || !(n->lit = take_literal(p)))
            goto fail;
        break;
    case T_STARTSWITH:
        n->kind = N_STARTS;
        if (next(p) != VS_OK)
            goto fail;
        if (p->t.kind != T_STRING) {
            fail(p, p->t.pos, VS_E_FILTER, "expected a string after STARTSWITH");
            goto fail;
        }
        if (!(n->lit = take_literal(p)))
            goto fail;
        break;
    case T_EXISTS:
        n->kind = N_EXISTS;
        if (next(p) != VS_OK)
            goto fail;
        break;
    default:
        fail(p, p->t.pos, VS_E_FILTER,
             negate ? "expected IN, CONTAINS, STARTSWITH or EXISTS after NOT"
                    : "expected an operator (=, !=, <, <=, >, >=, IN, NOT IN, "
                      "CONTAINS, STARTSWITH, EXISTS)");
        goto fail;
    }
    return negate ? wrap_not(p, n) : n;
fail:
    node_free(n);
    return NULL;
}

static struct node *parse_unary(struct parser *p)
{
    if (++p->depth > MAX_DEPTH) {
        fail(p, p->t.pos, VS_E_FILTER, "expression nested too deeply");
        return NULL;
    }
    struct node *n = NULL;
    if (p->t.kind == T_NOT) {
        if (next(p) != VS_OK)
            return NULL;
        struct node *a = parse_unary(p);
        n = a ? wrap_not(p, a) : NULL;
    } else if (p->t.kind == T_LPAREN) {
        size_t open = p->t.pos;
        if (next(p) != VS_OK)
            return NULL;
        n = parse_or(p);
        if (n && p->t.kind != T_RPAREN) {
            fail(p, p->t.kind == T_END ? open : p->t.pos, VS_E_FILTER,
                 p->t.kind == T_END ? "unclosed '('" : "expected ')'");
            node_free(n);
            return NULL;
        }
        if (n && next(p) != VS_OK) {
            node_free(n);
            return NULL;
        }
    } else if (p->t.kind == T_IDENT) {
        n = parse_pred(p);
    } else {
        fail(p, p->t.pos, VS_E_FILTER,
             p->t.kind == T_END ? "expected a field name or '(' but the filter ended"
                                : "expected a field name, NOT or '('");
    }
    p->depth--;
    return n;
}

static struct node *parse_binary(struct parser *p, enum tok_kind op,
                                 enum node_kind kind,
                                 struct node *(*sub)(struct parser *))
{
    struct node *left = sub(p);
    while (left && p->t.kind == op) {
        if (next(p) != VS_OK) {
            node_free(left);
            return NULL;
        }
        struct node *right = sub(p);
        struct node *n = right ? node_new(p, kind) : NULL;
        if (!n) {
            node_free(left);
            node_free(right);
            return NULL;
        }
        n->a = left;
        n->b = right;
        left = n;
    }
    return left;
}

static struct node *parse_and(struct parser *p)
{
    return parse_binary(p, T_AND, N_AND, parse_unary);
}

static struct node *parse_or(struct parser *p)
{
    return parse_binary(p, T_OR, N_OR, parse_and);
}

int vs_filter_compile(const char *expr, struct vs_filter **out,
                      struct vs_diag *d)
{
    struct parser p = {.s = expr ? expr : "", .d = d, .status = VS_OK};
    struct vs_filter *f = NULL;
    struct node *root = NULL;
    *out = NULL;
    if (next(&p) != VS_OK)
        goto done;
    if (p.t.kind == T_END) {
        fail(&p, p.t.pos, VS_E_FILTER, "empty filter");
        goto done;
    }
    root = parse_or(&p);
    if (!root)
        goto done;
    if (p.t.kind != T_END) {
        fail(&p, p.t.pos, VS_E_FILTER,
             p.t.kind == T_RPAREN ? "unmatched ')'" : "expected AND, OR or the end of the filter");
        goto done;
    }
    f = calloc(1, sizeof *f);
    if (!f || !(f->text = strdup(p.s))) {
        fail(&p, 0, VS_E_NOMEM, "out of memory");
        goto done;
    }
    f->root = root;
    root = NULL;
    *out = f;
    f = NULL;
done:
    json_decref(p.t.val);
    node_free(root);
    if (f)
        free(f->text);
    free(f);
    return p.status;
}

/* ---- evaluation ---- */

static const json_t *resolve(const struct path *pa, const json_t *doc)
{
    const json_t *v = NULL;
    const json_t *meta = json_object_get(doc, "metadata");
    if (json_is_object(meta))
        v = json_object_get(meta, pa->seg[0]);
    if (!v)
        v = json_object_get(doc, pa->seg[0]);
    for (size_t i = 1; v && i < pa->n; i++) {
        if (json_is_object(v))
            v = json_object_get(v, pa->seg[i]);
        else if (json_is_array(v) && pa->index[i] >= 0)
            v = json_array_get(v, (size_t)pa->index[i]);
        else
            v = NULL;
    }
    return v;
}

/* -2 when a and b cannot be ordered, else -1, 0, 1. */
static int order(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        if (json_is_integer(a) && json_is_integer(b)) {
            json_int_t x = json_integer_value(a), y = json_integer_value(b);
            return x < y ? -1 : x > y;
        }
        double x = json_number_value(a), y = json_number_value(b);
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if (json_is_string(a) && json_is_string(b)) {
        size_t la = json_string_length(a), lb = json_string_length(b);
        int c = memcmp(json_string_value(a), json_string_value(b),
                       la < lb ? la : lb);
        if (c == 0)
            return la < lb ? -1 : la > lb;
        return c < 0 ? -1 : 1;
    }
    return -2;
}

static int cmp_str_lit(const void *x, const void *y)
{
    return order(*(const json_t *const *)x, *(const json_t *const *)y);
}

/* Split an IN list into its sorted strings and its other literals. */
static int in_index(struct node *n)
{
    size_t m = json_array_size(n->lit);
    n->strs = malloc((m ? m : 1) * sizeof *n->strs);
    n->others = malloc((m ? m : 1) * sizeof *n->others);
    if (!n->strs || !n->others)
        return VS_E_NOMEM;
    for (size_t i = 0; i < m; i++) {
        const json_t *v = json_array_get(n->lit, i);
        if (json_is_string(v))
            n->strs[n->nstrs++] = v;
        else
            n->others[n->nothers++] = v;
    }
    qsort(n->strs, n->nstrs, sizeof *n->strs, cmp_str_lit);
    return VS_OK;
}

static int equal(const json_t *a, const json_t *b)
{
    if (json_is_boolean(a) && json_is_boolean(b))
        return json_is_true(a) == json_is_true(b);
    if (json_is_null(a) && json_is_null(b))
        return 1;
    return order(a, b) == 0;
}

static int eval(const struct node *n, const json_t *doc)
{
    const json_t *v;
    size_t i;
    switch (n->kind) {
    case N_AND: return eval(n->a, doc) && eval(n->b, doc);
    case N_OR: return eval(n->a, doc) || eval(n->b, doc);
    case N_NOT: return !eval(n->a, doc);
    case N_EXISTS: return resolve(&n->path, doc) != NULL;
    default: break;
    }
    v = resolve(&n->path, doc);
    if (!v)
        return 0;
    switch (n->kind) {
    case N_CMP: {
        int c;
        switch (n->op) {
        case OP_EQ: return equal(v, n->lit);
        case OP_NE: return !equal(v, n->lit);
        case OP_LT: c = order(v, n->lit); return c == -1;
        case OP_LE: c = order(v, n->lit); return c == -1 || c == 0;
        case OP_GT: c = order(v, n->lit); return c == 1;
        case OP_GE: c = order(v, n->lit); return c == 1 || c == 0;
        }
        return 0;
    }
    case N_IN:
        if (json_is_string(v)) { /* a string equals only strings */
            size_t lo = 0, hi = n->nstrs;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                int c = order(v, n->strs[mid]);
                if (c == 0)
                    return 1;
                if (c < 0)
                    hi = mid;
                else
                    lo = mid + 1;
            }
            return 0;
        }
        for (i = 0; i < n->nothers; i++)
            if (equal(v, n->others[i]))
                return 1;
        return 0;
    case N_CONTAINS:
        if (json_is_array(v)) {
            for (i = 0; i < json_array_size(v); i++)
                if (equal(json_array_get(v, i), n->lit))
                    return 1;
            return 0;
        }
        if (json_is_string(v) && json_is_string(n->lit))
            return memmem(json_string_value(v), json_string_length(v),
                          json_string_value(n->lit),
                          json_string_length(n->lit)) != NULL;
        return 0;
    case N_STARTS:
        if (json_is_string(v)) {
            size_t lv = json_string_length(v), ll = json_string_length(n->lit);
            return lv >= ll &&
                   memcmp(json_string_value(v), json_string_value(n->lit), ll) == 0;
        }
        return 0;
    default:
        return 0;
    }
}

int vs_filter_match(const struct vs_filter *f, const json_t *doc)
{
    if (!f)
        return 1;
    return eval(f->root, doc);
}

const char *vs_filter_text(const struct vs_filter *f)
{
    return f ? f->text : "";
}

void vs_filter_free(struct vs_filter *f)
{
    if (!f)
        return;
    node_free(f->root);
    free(f->text);
    free(f);
}
