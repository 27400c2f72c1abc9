/* loader.c: documents from files, records and texts, and the sorted
 * directory walk. The document object is doc.c; the format parsers are
 * loader_md.c, loader_html.c and loader_pdf.c, which build on doc.c only. */
#include "vs_loader.h"
#include "loader_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

static int read_all(FILE *fp, char **buf, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *b = malloc(cap);
    if (!b)
        return VS_E_NOMEM;
    for (;;) {
        if (n == cap) {
            char *p = realloc(b, cap * 2);
            if (!p) {
                free(b);
                return VS_E_NOMEM;
            }
            b = p;
            cap *= 2;
        }
        size_t r = fread(b + n, 1, cap - n, fp);
        n += r;
        if (r == 0) {
            if (ferror(fp)) {
                free(b);
                return VS_E_IO;
            }
            break;
        }
    }
    *buf = b;
    *len = n;
    return VS_OK;
}

int vs_doc_load_file_flags(const char *path, const char *id, unsigned flags,
                           struct vs_doc **out, struct vs_diag *d)
{
    *out = NULL;
    vs_diag_where(d, path, 0);
    enum vs_doc_format fmt = vs_doc_format_of(path);
    if (fmt == VS_FORMAT_NDJSON)
        return vs_diag_set(d, VS_E_UNSUPPORTED,
                           "records files are read record by record");
    char *raw = NULL;
    size_t len = 0;
    struct vs_doc *doc = NULL;
    int st = VS_OK;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return vs_diag_set(d, vs_status_from_errno(errno), "%s", strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        st = vs_diag_set(d, VS_E_IO, "not a regular file");
        goto done;
    }
    st = read_all(fp, &raw, &len);
    if (st != VS_OK) {
        vs_diag_set(d, st, st == VS_E_IO ? "read error: %s" : "%s",
                    st == VS_E_IO ? strerror(errno) : "out of memory");
        goto done;
    }
    doc = vs_doc_alloc(id);
    if (!doc || !(doc->source = strdup(path))) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    doc->format = fmt;
    switch (fmt) {
    case VS_FORMAT_PDF:
        st = vs_loader_pdf(doc, raw, len, d);
        break;
    case VS_FORMAT_HTML:
        if (memchr(raw, 0, len)) {
            st = vs_diag_set(d, VS_E_DATA, "binary file (a NUL byte), skipped");
            break;
        }
        st = vs_loader_html_flags(doc, raw, len, flags, d);
        break;
    default:
        if (!vs_utf8_valid(raw, len)) {
            st = vs_diag_set(d, VS_E_DATA,
                             "binary file or not UTF-8 text, skipped");
            break;
        }
        if (fmt == VS_FORMAT_MARKDOWN)
            st = vs_loader_markdown(doc, raw, len, d);
        else
            st = vs_doc_append(doc, raw, len);
        break;
    }
    if (st != VS_OK)
        goto done;
    char when[32];
    struct tm tm;
    time_t t = sb.st_mtime;
    gmtime_r(&t, &tm);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (json_object_set_new(doc->meta, "format",
                            json_string(vs_doc_format_name(fmt))) ||
        json_object_set_new(doc->meta, "size",
                            json_integer((json_int_t)sb.st_size)) ||
        json_object_set_new(doc->meta, "mtime", json_string(when)))
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
done:
    if (fp)
        fclose(fp);
    free(raw);
    if (st != VS_OK)
        vs_doc_free(doc);
    else
        *out = doc;
    return st;
}

int vs_doc_from_record(json_t *rec, const char *field,
                       const char *source, struct vs_doc **out,
                       struct vs_diag *d)
{
    *out = NULL;
    const char *idkey = "id";
    json_t *idv = json_object_get(rec, "id");
    if (!idv) {
        idkey = "_id";
        idv = json_object_get(rec, "_id");
    }
    char num[32];
    const char *id;
    if (json_is_string(idv))
        id = json_string_value(idv);
    else if (json_is_integer(idv)) {
        snprintf(num, sizeof num, "%" JSON_INTEGER_FORMAT, json_integer_value(idv));
        id = num;
    } else {
        vs_diag_field(d, "%s", idv ? idkey : "id");
        return vs_diag_set(d, VS_E_FIELD, idv ? "is not a string" : "is missing");
    }
    json_t *tv = json_object_get(rec, field);
    if (!json_is_string(tv)) {
        vs_diag_field(d, "%s", field);
        return vs_diag_set(d, VS_E_FIELD, tv ? "is not a string" : "is missing");
    }
    json_t *mv = json_object_get(rec, "metadata");
    if (mv && !json_is_object(mv) && !json_is_null(mv)) {
        vs_diag_field(d, "metadata");
        return vs_diag_set(d, VS_E_FIELD, "is not an object");
    }
    struct vs_doc *doc = vs_doc_alloc(id);
    if (!doc)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    int st = VS_OK;
    doc->format = VS_FORMAT_RECORD;
    if ((source && !(doc->source = strdup(source))) ||
        vs_doc_append(doc, json_string_value(tv), json_string_length(tv)) ||
        !(doc->extra = json_object())) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    json_t *title = json_object_get(rec, "title");
    if (json_is_string(title) && json_string_length(title) &&
        json_object_set(doc->meta, "title", title)) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    if (json_is_object(mv) && json_object_update(doc->meta, mv)) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(rec, key, v) {
        if (!strcmp(key, idkey) || !strcmp(key, field) ||
            !strcmp(key, "metadata") ||
            (json_is_string(title) && !strcmp(key, "title")))
            continue;
        if (json_object_set(doc->extra, key, v)) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto done;
        }
    }
done:
    if (st != VS_OK)
        vs_doc_free(doc);
    else
        *out = doc;
    return st;
}

int vs_doc_from_text(const char *id, const char *text, size_t len,
                     enum vs_doc_format format, struct vs_doc **out,
                     struct vs_diag *d)
{
    *out = NULL;
    if (format != VS_FORMAT_TEXT && format != VS_FORMAT_MARKDOWN)
        return vs_diag_set(d, VS_E_USAGE, "format '%s' needs a file",
                           vs_doc_format_name(format));
    if (!vs_utf8_valid(text, len))
        return vs_diag_set(d, VS_E_DATA, "text is not UTF-8");
    struct vs_doc *doc = vs_doc_alloc(id);
    if (!doc)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    doc->format = format;
    int st = format == VS_FORMAT_MARKDOWN ? vs_loader_markdown(doc, text, len, d)
                                          : vs_doc_append(doc, text, len);
    if (st != VS_OK) {
        vs_doc_free(doc);
        return st == VS_E_NOMEM ? vs_diag_set(d, st, "out of memory") : st;
    }
    *out = doc;
    return VS_OK;
}

int vs_doc_load_file(const char *path, const char *id, struct vs_doc **out,
                     struct vs_diag *d)
{
    return vs_doc_load_file_flags(path, id, 0, out, d);
}

/* ---- walking ---- */

static int glob_any(const char *const *globs, size_t n, const char *rel,
                    const char *base)
{
    for (size_t i = 0; i < n; i++)
        if (fnmatch(globs[i], rel, 0) == 0 || fnmatch(globs[i], base, 0) == 0)
            return 1;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static const char *base_of(const char *p)
{
    const char *s = strrchr(p, '/');
    return s && s[1] ? s + 1 : p;
}

/* One rule of an ignore file. */
struct ign_rule {
    char *pat;       /* without "!", leading "/" and trailing "/" */
    const char *src; /* the ignore file's path (owned by the walk's list) */
    size_t dlen;     /* length of the rel path of the file's directory */
    int neg, dironly, anchored, deep;
};

struct walk {
    const struct vs_walk_filter *f;
    vs_walk_fn fn;
    void *ctx;
    struct ign_rule *rules;
    size_t nrules, cap;
    char **srcs; /* ignore file paths, freed at the end */
    size_t nsrcs, srccap;
};

static int add_rule(struct walk *w, const char *line, size_t n, const char *src,
                    size_t dlen)
{
    while (n && (line[n - 1] == ' ' || line[n - 1] == '\t' || line[n - 1] == '\r'))
        n--;
    if (!n || line[0] == '#')
        return VS_OK;
    struct ign_rule r = {NULL, src, dlen, 0, 0, 0, 0};
    if (line[0] == '!') {
        r.neg = 1;
        line++;
        n--;
    } else if (line[0] == '\\' && n > 1 && (line[1] == '#' || line[1] == '!')) {
        line++;
        n--;
    }
    if (n && line[n - 1] == '/') {
        r.dironly = 1;
        n--;
    }
    if (!n)
        return VS_OK;
    r.anchored = memchr(line, '/', n) != NULL;
    if (line[0] == '/') {
        line++;
        n--;
    }
    if (!n)
        return VS_OK;
    if (!(r.pat = strndup(line, n)))
        return VS_E_NOMEM;
    r.deep = strstr(r.pat, "**") != NULL;
    if (w->nrules == w->cap) {
        size_t c = w->cap ? 2 * w->cap : 16;
        struct ign_rule *p = realloc(w->rules, c * sizeof *p);
        if (!p) {
            free(r.pat);
            return VS_E_NOMEM;
        }
        w->rules = p;
        w->cap = c;
    }
    w->rules[w->nrules++] = r;
    return VS_OK;
}

/* Read dir's ignore files into w's rules (an unreadable one is skipped:
 * it is not a document, and git skips it too). */
static int read_ignores(struct walk *w, const char *dir, size_t dlen)
{
    static const char *const names[] = {".gitignore", ".ignore", ".vecstoreignore"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char *path = NULL;
        if (asprintf(&path, "%s/%s", dir, names[i]) < 0)
            return VS_E_NOMEM;
        FILE *fp = fopen(path, "r");
        if (!fp) {
            free(path);
            continue;
        }
        if (w->nsrcs == w->srccap) {
            size_t c = w->srccap ? 2 * w->srccap : 8;
            char **p = realloc(w->srcs, c * sizeof *p);
            if (!p) {
                fclose(fp);
                free(path);
                return VS_E_NOMEM;
            }
            w->srcs = p;
            w->srccap = c;
        }
        w->srcs[w->nsrcs++] = path;
        char *line = NULL;
        size_t cap = 0;
        ssize_t n;
        int st = VS_OK;
        while (st == VS_OK && (n = getline(&line, &cap, fp)) >= 0) {
            if (n && line[n - 1] == '\n')
                n--;
            st = add_rule(w, line, (size_t)n, path, dlen);
        }
        free(line);
        fclose(fp);
        if (st != VS_OK)
            return st;
    }
    return VS_OK;
}

/* The ignore file whose last matching rule ignores rel, or NULL. */
static const char *ignored_by(const struct walk *w, const char *rel,
                              const char *base, int isdir)
{
    for (size_t i = w->nrules; i-- > 0;) {
        const struct ign_rule *r = &w->rules[i];
        if (r->dironly && !isdir)
            continue;
        const char *sub = rel + r->dlen + (r->dlen ? 1 : 0);
        int hit = r->anchored ? fnmatch(r->pat, sub, r->deep ? 0 : FNM_PATHNAME) == 0
                              : fnmatch(r->pat, base, 0) == 0;
        if (hit)
            return r->neg ? NULL : r->src;
    }
    return NULL;
}

static void left_out(const struct walk *w, const char *path, const char *why)
{
    if (w->f->left_out)
        w->f->left_out(w->ctx, path, why);
}

static int walk_dir(struct walk *w, const char *dir, const char *rel,
                    struct vs_diag *d)
{
    const struct vs_walk_filter *f = w->f;
    DIR *dp = opendir(dir);
    if (!dp) {
        struct vs_diag e;
        vs_diag_clear(&e);
        vs_diag_where(&e, dir, 0);
        vs_diag_set(&e, vs_status_from_errno(errno), "%s", strerror(errno));
        return w->fn(w->ctx, dir, rel, VS_E_IO, &e);
    }
    size_t nrules = w->nrules; /* this directory's rules are dropped at the end */
    char **names = NULL;
    size_t n = 0, cap = 0;
    int st = f->no_ignore ? VS_OK : read_ignores(w, dir, strlen(rel));
    if (st != VS_OK) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    struct dirent *de;
    while ((de = readdir(dp)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            char **p = realloc(names, ncap * sizeof *p);
            if (!p) {
                st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
                goto done;
            }
            names = p;
            cap = ncap;
        }
        if (!(names[n] = strdup(de->d_name))) {
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto done;
        }
        n++;
    }
    qsort(names, n, sizeof *names, cmp_str);
    size_t dlen = strlen(dir);
    int slash = dlen && dir[dlen - 1] == '/';
    for (size_t i = 0; i < n && st == VS_OK; i++) {
        char *path = NULL, *r = NULL;
        if (asprintf(&path, "%s%s%s", dir, slash ? "" : "/", names[i]) < 0)
            path = NULL;
        if (asprintf(&r, "%s%s%s", rel, *rel ? "/" : "", names[i]) < 0)
            r = NULL;
        if (!path || !r) {
            free(path);
            free(r);
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            break;
        }
        struct stat lsb, sb;
        const char *by;
        if (lstat(path, &lsb) != 0 || stat(path, &sb) != 0) {
            struct vs_diag e;
            vs_diag_clear(&e);
            vs_diag_where(&e, path, 0);
            vs_diag_set(&e, VS_E_IO, "%s", strerror(errno));
            st = w->fn(w->ctx, path, r, VS_E_IO, &e);
        } else if (glob_any(f->exclude, f->nexclude, r, names[i])) {
            /* excluded */
        } else if ((by = ignored_by(w, r, names[i], S_ISDIR(sb.st_mode))) != NULL) {
            char why[4200];
            snprintf(why, sizeof why, "ignored by %s", by);
            left_out(w, path, why);
        } else if (S_ISDIR(sb.st_mode)) {
            if (!S_ISLNK(lsb.st_mode))
                st = walk_dir(w, path, r, d);
        } else if (S_ISREG(sb.st_mode)) {
            if (f->ninclude ? glob_any(f->include, f->ninclude, r, names[i])
                            : vs_doc_is_document(names[i]))
                st = w->fn(w->ctx, path, r, VS_OK, NULL);
            else if (!f->ninclude)
                left_out(w, path, "not a document format (--include reads it)");
        }
        free(path);
        free(r);
    }
done:
    for (size_t i = nrules; i < w->nrules; i++)
        free(w->rules[i].pat);
    w->nrules = nrules;
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(dp);
    return st;
}

int vs_walk(const char *root, const struct vs_walk_filter *f, vs_walk_fn fn,
            void *ctx, struct vs_diag *d)
{
    static const struct vs_walk_filter none = {NULL, 0, NULL, 0, 0, NULL};
    if (!f)
        f = &none;
    struct stat sb;
    if (stat(root, &sb) != 0) {
        vs_diag_where(d, root, 0);
        return vs_diag_set(d, vs_status_from_errno(errno), "%s", strerror(errno));
    }
    if (S_ISDIR(sb.st_mode)) {
        struct walk w = {f, fn, ctx, NULL, 0, 0, NULL, 0, 0};
        int st = walk_dir(&w, root, "", d);
        free(w.rules);
        for (size_t i = 0; i < w.nsrcs; i++)
            free(w.srcs[i]);
        free(w.srcs);
        return st;
    }
    const char *base = base_of(root);
    if (glob_any(f->exclude, f->nexclude, root, base))
        return VS_OK;
    if (f->ninclude && !glob_any(f->include, f->ninclude, root, base))
        return VS_OK;
    return fn(ctx, root, root, VS_OK, NULL);
}
