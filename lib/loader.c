/* loader.c: documents (files, records, texts) and the sorted directory walk.
 * Format parsers are in loader_md.c, loader_html.c and loader_pdf.c. */
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

const char *vs_doc_format_name(enum vs_doc_format f)
{
    switch (f) {
    case VS_FORMAT_TEXT: return "text";
    case VS_FORMAT_MARKDOWN: return "markdown";
    case VS_FORMAT_HTML: return "html";
    case VS_FORMAT_PDF: return "pdf";
    case VS_FORMAT_NDJSON: return "ndjson";
    case VS_FORMAT_RECORD: return "record";
    }
    return "unknown";
}

enum vs_doc_format vs_doc_format_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    const char *dot = strrchr(base, '.');
    if (!dot || dot == base)
        return VS_FORMAT_TEXT;
    dot++;
    if (!strcasecmp(dot, "md") || !strcasecmp(dot, "markdown"))
        return VS_FORMAT_MARKDOWN;
    if (!strcasecmp(dot, "html") || !strcasecmp(dot, "htm") ||
        !strcasecmp(dot, "xhtml"))
        return VS_FORMAT_HTML;
    if (!strcasecmp(dot, "pdf"))
        return VS_FORMAT_PDF;
    if (!strcasecmp(dot, "jsonl") || !strcasecmp(dot, "ndjson"))
        return VS_FORMAT_NDJSON;
    return VS_FORMAT_TEXT;
}

int vs_utf8_valid(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c == 0)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        unsigned min;
        if (c >= 0xC2 && c <= 0xDF) { k = 1; min = 0x80; c &= 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { k = 2; min = 0x800; c &= 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; min = 0x10000; c &= 0x07; }
        else return 0;
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            c = (c << 6) | (s[i + j] & 0x3F);
        }
        if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

struct vs_doc *vs_doc_alloc(const char *id)
{
    struct vs_doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return NULL;
    doc->id = strdup(id ? id : "");
    doc->meta = json_object();
    doc->text = malloc(1);
    if (!doc->id || !doc->meta || !doc->text) {
        vs_doc_free(doc);
        return NULL;
    }
    doc->text[0] = '\0';
    doc->cap = 1;
    return doc;
}

void vs_doc_free(struct vs_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->nsec; i++)
        json_decref(doc->sec[i].path);
    free(doc->sec);
    free(doc->pages);
    free(doc->keep);
    json_decref(doc->meta);
    json_decref(doc->extra);
    free(doc->text);
    free(doc->source);
    free(doc->id);
    free(doc);
}

int vs_doc_append(struct vs_doc *doc, const char *s, size_t n)
{
    if (doc->len + n + 1 > doc->cap) {
        size_t cap = doc->cap ? doc->cap : 64;
        while (cap < doc->len + n + 1)
            cap *= 2;
        char *p = realloc(doc->text, cap);
        if (!p)
            return VS_E_NOMEM;
        doc->text = p;
        doc->cap = cap;
    }
    memcpy(doc->text + doc->len, s, n);
    doc->len += n;
    doc->text[doc->len] = '\0';
    return VS_OK;
}

int vs_doc_add_section(struct vs_doc *doc, size_t start, char *const *titles,
                       int level)
{
    if (doc->nsec == doc->seccap) {
        size_t cap = doc->seccap ? doc->seccap * 2 : 8;
        struct vs_section *p = realloc(doc->sec, cap * sizeof *p);
        if (!p)
            return VS_E_NOMEM;
        doc->sec = p;
        doc->seccap = cap;
    }
    json_t *path = json_array();
    if (!path)
        return VS_E_NOMEM;
    for (int i = 0; i < level; i++)
        if (titles[i] && json_array_append_new(path, json_string(titles[i]))) {
            json_decref(path);
            return VS_E_NOMEM;
        }
    /* Two headings at one offset (nothing between them): keep the later. */
    if (doc->nsec && doc->sec[doc->nsec - 1].start == start) {
        json_decref(doc->sec[doc->nsec - 1].path);
        doc->sec[doc->nsec - 1].path = path;
        return VS_OK;
    }
    doc->sec[doc->nsec].start = start;
    doc->sec[doc->nsec].path = path;
    doc->nsec++;
    return VS_OK;
}

int vs_doc_add_page(struct vs_doc *doc, size_t start)
{
    if (doc->npages == doc->pagecap) {
        size_t cap = doc->pagecap ? doc->pagecap * 2 : 8;
        size_t *p = realloc(doc->pages, cap * sizeof *p);
        if (!p)
            return VS_E_NOMEM;
        doc->pages = p;
        doc->pagecap = cap;
    }
    doc->pages[doc->npages++] = start;
    return VS_OK;
}

int vs_doc_add_keep(struct vs_doc *doc, size_t start, size_t end)
{
    if (end <= start ||
        (doc->nkeep && start < doc->keep[2 * doc->nkeep - 1]))
        return VS_OK;
    if (doc->nkeep == doc->keepcap) {
        size_t cap = doc->keepcap ? doc->keepcap * 2 : 8;
        size_t *p = realloc(doc->keep, 2 * cap * sizeof *p);
        if (!p)
            return VS_E_NOMEM;
        doc->keep = p;
        doc->keepcap = cap;
    }
    doc->keep[2 * doc->nkeep] = start;
    doc->keep[2 * doc->nkeep + 1] = end;
    doc->nkeep++;
    return VS_OK;
}

const char *vs_doc_id(const struct vs_doc *doc) { return doc->id; }
const char *vs_doc_source(const struct vs_doc *doc) { return doc->source; }
const char *vs_doc_text(const struct vs_doc *doc, size_t *len)
{
    if (len)
        *len = doc->len;
    return doc->text;
}
enum vs_doc_format vs_doc_format(const struct vs_doc *doc) { return doc->format; }
json_t *vs_doc_metadata(const struct vs_doc *doc) { return doc->meta; }
json_t *vs_doc_extra(const struct vs_doc *doc) { return doc->extra; }
size_t vs_doc_nsections(const struct vs_doc *doc) { return doc->nsec; }
size_t vs_doc_section_start(const struct vs_doc *doc, size_t i)
{
    return doc->sec[i].start;
}
json_t *vs_doc_section_path(const struct vs_doc *doc, size_t i)
{
    return doc->sec[i].path;
}

long vs_doc_page_at(const struct vs_doc *doc, size_t off)
{
    if (!doc->npages)
        return 0;
    size_t lo = 0, hi = doc->npages; /* last page with start <= off */
    while (hi - lo > 1) {
        size_t mid = (lo + hi) / 2;
        if (doc->pages[mid] <= off)
            lo = mid;
        else
            hi = mid;
    }
    return (long)lo + 1;
}

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

int vs_doc_load_file(const char *path, const char *id, struct vs_doc **out,
                     struct vs_diag *d)
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
        st = vs_loader_html(doc, raw, len, d);
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

static int walk_dir(const char *dir, const char *rel,
                    const struct vs_walk_filter *f, vs_walk_fn fn, void *ctx,
                    struct vs_diag *d)
{
    DIR *dp = opendir(dir);
    if (!dp) {
        struct vs_diag e;
        vs_diag_clear(&e);
        vs_diag_where(&e, dir, 0);
        vs_diag_set(&e, vs_status_from_errno(errno), "%s", strerror(errno));
        return fn(ctx, dir, rel, VS_E_IO, &e);
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    int st = VS_OK;
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
        if (lstat(path, &lsb) != 0 || stat(path, &sb) != 0) {
            struct vs_diag e;
            vs_diag_clear(&e);
            vs_diag_where(&e, path, 0);
            vs_diag_set(&e, VS_E_IO, "%s", strerror(errno));
            st = fn(ctx, path, r, VS_E_IO, &e);
        } else if (glob_any(f->exclude, f->nexclude, r, names[i])) {
            /* excluded */
        } else if (S_ISDIR(sb.st_mode)) {
            if (!S_ISLNK(lsb.st_mode))
                st = walk_dir(path, r, f, fn, ctx, d);
        } else if (S_ISREG(sb.st_mode)) {
            if (!f->ninclude || glob_any(f->include, f->ninclude, r, names[i]))
                st = fn(ctx, path, r, VS_OK, NULL);
        }
        free(path);
        free(r);
    }
done:
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    closedir(dp);
    return st;
}

int vs_walk(const char *root, const struct vs_walk_filter *f, vs_walk_fn fn,
            void *ctx, struct vs_diag *d)
{
    static const struct vs_walk_filter none = {NULL, 0, NULL, 0};
    if (!f)
        f = &none;
    struct stat sb;
    if (stat(root, &sb) != 0) {
        vs_diag_where(d, root, 0);
        return vs_diag_set(d, vs_status_from_errno(errno), "%s", strerror(errno));
    }
    if (S_ISDIR(sb.st_mode))
        return walk_dir(root, "", f, fn, ctx, d);
    const char *base = base_of(root);
    if (glob_any(f->exclude, f->nexclude, root, base))
        return VS_OK;
    if (f->ninclude && !glob_any(f->include, f->ninclude, root, base))
        return VS_OK;
    return fn(ctx, root, root, VS_OK, NULL);
}
