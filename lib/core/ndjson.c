/* ndjson.c: bounded line reader, record parser and writer, vectors, base64. */
#include "vs_ndjson.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IO_CHUNK (1u << 16)

struct vs_ndjson_reader {
    FILE *fp;
    int owns_fp;
    char name[512];
    size_t max_line;
    long line;
    /* input buffer */
    char *io;
    size_t io_len, io_pos;
    int eof;
    /* current line */
    char *buf;
    size_t cap;
    /* stream markers (vs_stream.h) */
    struct vs_stream_state stream;
    int cut_reported;
};

static struct vs_ndjson_meter meter;

const struct vs_ndjson_meter *vs_ndjson_meter(void) { return &meter; }

int vs_ndjson_open_stream(FILE *fp, const char *name, size_t max_line,
                          struct vs_ndjson_reader **out, struct vs_diag *d)
{
    struct vs_ndjson_reader *r = calloc(1, sizeof *r);
    if (!r)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a reader");
    r->io = malloc(IO_CHUNK);
    if (!r->io) {
        free(r);
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a reader");
    }
    r->fp = fp;
    snprintf(r->name, sizeof r->name, "%s", name ? name : "<stdin>");
    r->max_line = max_line ? max_line : VS_NDJSON_MAX_LINE_DEFAULT;
    if (r->max_line > SIZE_MAX / 2) /* the buffer holds max_line + 1 bytes */
        r->max_line = SIZE_MAX / 2;
    *out = r;
    return VS_OK;
}

int vs_ndjson_open(const char *path, size_t max_line,
                   struct vs_ndjson_reader **out, struct vs_diag *d)
{
    *out = NULL;
    if (!path || strcmp(path, "-") == 0)
        return vs_ndjson_open_stream(stdin, "<stdin>", max_line, out, d);
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        int err = errno;
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, vs_status_from_errno(err), "%s", strerror(err));
    }
    int st = vs_ndjson_open_stream(fp, path, max_line, out, d);
    if (st != VS_OK) {
        fclose(fp);
        return st;
    }
    (*out)->owns_fp = 1;
    return VS_OK;
}

void vs_ndjson_close(struct vs_ndjson_reader *r)
{
    if (!r)
        return;
    if (r->owns_fp)
        fclose(r->fp);
    free(r->io);
    free(r->buf);
    free(r);
}

long vs_ndjson_line(const struct vs_ndjson_reader *r) { return r->line; }
const char *vs_ndjson_name(const struct vs_ndjson_reader *r) { return r->name; }

static int fill(struct vs_ndjson_reader *r, struct vs_diag *d)
{
    if (r->eof)
        return VS_OK;
    /* read(2) returns what a pipe holds; fread would wait for a whole
     * chunk, holding back complete lines (and --commit-every commits) until
     * 64 KiB more input or its end arrives. Only this reader reads fp. */
    int fd = fileno(r->fp), err = 0;
    if (fd >= 0) {
        ssize_t n;
        do
            n = read(fd, r->io, IO_CHUNK);
        while (n < 0 && errno == EINTR);
        err = n < 0 ? errno : 0;
        r->io_len = n < 0 ? 0 : (size_t)n;
    } else {
        r->io_len = fread(r->io, 1, IO_CHUNK, r->fp);
        err = ferror(r->fp) ? (errno ? errno : EIO) : 0;
    }
    meter.read += (long long)r->io_len;
    r->io_pos = 0;
    if (r->io_len == 0) {
        if (err) {
            vs_diag_where(d, r->name, r->line + 1);
            return vs_diag_set(d, vs_status_from_errno(err), "read error: %s",
                               strerror(err));
        }
        r->eof = 1;
    }
    return VS_OK;
}

static int append(struct vs_ndjson_reader *r, size_t *len, const char *p,
                  size_t n, struct vs_diag *d)
{
    if (*len + n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;
        while (cap < *len + n + 1)
            cap *= 2;
        if (cap > r->max_line + 1)
            cap = r->max_line + 1;
        char *nb = realloc(r->buf, cap);
        if (!nb)
            return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a line buffer");
        r->buf = nb;
        r->cap = cap;
    }
    memcpy(r->buf + *len, p, n);
    *len += n;
    return VS_OK;
}

int vs_ndjson_read_line(struct vs_ndjson_reader *r, const char **line,
                        size_t *len, struct vs_diag *d)
{
    size_t n = 0;
    int too_long = 0, any = 0;
    *line = NULL;
    *len = 0;
    for (;;) {
        if (r->io_pos >= r->io_len) {
            int st = fill(r, d);
            if (st != VS_OK)
                return st;
            if (r->eof)
                break;
        }
        any = 1;
        const char *start = r->io + r->io_pos;
        size_t avail = r->io_len - r->io_pos;
        const char *nl = memchr(start, '\n', avail);
        size_t take = nl ? (size_t)(nl - start) : avail;
        if (!too_long) {
            if (n + take > r->max_line) {
                too_long = 1;
            } else {
                int st = append(r, &n, start, take, d);
                if (st != VS_OK)
                    return st;
            }
        }
        r->io_pos += take + (nl ? 1 : 0);
        if (nl)
            break;
    }
    if (!any) { /* end of input: a cut stream is reported once */
        if (r->stream.open && !r->cut_reported) {
            r->cut_reported = 1;
            vs_diag_where(d, r->name, r->line);
            return vs_stream_eof(&r->stream, d);
        }
        return VS_OK;
    }
    r->line++;
    if (too_long) {
        vs_diag_where(d, r->name, r->line);
        return vs_diag_set(d, VS_E_LINE_TOO_LONG,
                           "line is longer than %zu bytes", r->max_line);
    }
    if (n > 0 && r->buf[n - 1] == '\r')
        n--;
    if (!r->buf) {
        int st = append(r, &n, "", 0, d);
        if (st != VS_OK)
            return st;
    }
    r->buf[n] = '\0';
    *line = r->buf;
    *len = n;
    return VS_OK;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r')
            return 0;
    return 1;
}

int vs_ndjson_parse(const char *line, size_t len, json_t **rec,
                    struct vs_diag *d)
{
    json_error_t err;
    *rec = json_loadb(line, len, JSON_REJECT_DUPLICATES, &err);
    if (!*rec) {
        if (d)
            d->col = err.column > 0 ? err.column : 0;
        return vs_diag_set(d, VS_E_JSON, "invalid JSON: %s", err.text);
    }
    if (!json_is_object(*rec)) {
        json_decref(*rec);
        *rec = NULL;
        return vs_diag_set(d, VS_E_JSON, "a record must be a JSON object");
    }
    return VS_OK;
}

int vs_ndjson_read(struct vs_ndjson_reader *r, json_t **rec, struct vs_diag *d)
{
    *rec = NULL;
    for (;;) {
        const char *line;
        size_t len;
        int st = vs_ndjson_read_line(r, &line, &len, d);
        if (st != VS_OK || !line)
            return st;
        if (blank(line, len))
            continue;
        vs_diag_where(d, r->name, r->line);
        if ((st = vs_ndjson_parse(line, len, rec, d)) != VS_OK) {
            int m;
            (void)vs_stream_account(&r->stream, NULL, &m, NULL); /* still a line */
            return st;
        }
        int marker;
        if ((st = vs_ndjson_account(r, *rec, &marker, d)) != VS_OK || marker) {
            json_decref(*rec);
            *rec = NULL;
            if (st != VS_OK)
                return st;
        } else {
            return VS_OK;
        }
    }
}

int vs_ndjson_read_fast(struct vs_ndjson_reader *r,
                        int (*take)(const char *line, size_t len, void *arg), void *arg,
                        json_t **rec, int *taken, struct vs_diag *d)
{
    *rec = NULL;
    *taken = 0;
    for (;;) {
        const char *line;
        size_t len;
        int st = vs_ndjson_read_line(r, &line, &len, d);
        if (st != VS_OK || !line)
            return st;
        if (blank(line, len))
            continue;
        vs_diag_where(d, r->name, r->line);
        if (take && take(line, len, arg)) {
            int marker; /* a record take accepts is never a marker */
            if ((st = vs_ndjson_account(r, NULL, &marker, d)) != VS_OK)
                return st;
            *taken = 1;
            return VS_OK;
        }
        if ((st = vs_ndjson_parse(line, len, rec, d)) != VS_OK) {
            int m;
            (void)vs_stream_account(&r->stream, NULL, &m, NULL); /* still a line */
            return st;
        }
        int marker;
        if ((st = vs_ndjson_account(r, *rec, &marker, d)) != VS_OK || marker) {
            json_decref(*rec);
            *rec = NULL;
            if (st != VS_OK)
                return st;
        } else {
            return VS_OK;
        }
    }
}

int vs_ndjson_account(struct vs_ndjson_reader *r, const json_t *rec, int *marker,
                      struct vs_diag *d)
{
    int st = vs_stream_account(&r->stream, rec, marker, d);
    if (st != VS_OK)
        vs_diag_where(d, r->name, r->line);
    return st;
}

const struct vs_stream_state *vs_ndjson_stream(const struct vs_ndjson_reader *r)
{
    return &r->stream;
}

int vs_ndjson_write(FILE *fp, const json_t *rec, int flush)
{
    if (json_dumpf(rec, fp, VS_JSON_DUMP_FLAGS) != 0 || putc('\n', fp) == EOF ||
        (flush && fflush(fp) != 0))
        return vs_status_from_errno(errno);
    return VS_OK;
}

/* The slow, obviously right way: the first of %.6g .. %.9g that reads back. */
static int float_format_slow(char *buf, size_t size, float f)
{
    int n = 0;
    for (int prec = 6; prec <= 9; prec++) {
        n = snprintf(buf, size, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f)
            break;
    }
    return n;
}

/* Lay out `nd` significant digits with decimal exponent e as %g would with
 * precision p (trailing zeros already gone). */
static int layout_g(char *out, int neg, const char *dig, int nd, int e, int p)
{
    char *o = out;
    if (neg)
        *o++ = '-';
    if (e < -4 || e >= p) {
        *o++ = dig[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, dig + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        o += sprintf(o, "e%c%02d", e < 0 ? '-' : '+', e < 0 ? -e : e);
    } else if (e >= 0) {
        for (int i = 0; i <= e; i++)
            *o++ = i < nd ? dig[i] : '0';
        if (nd > e + 1) {
            *o++ = '.';
            memcpy(o, dig + e + 1, (size_t)(nd - e - 1));
            o += nd - e - 1;
        }
    } else {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -e - 1; i++)
            *o++ = '0';
        memcpy(o, dig, (size_t)nd);
        o += nd;
    }
    *o = '\0';
    return (int)(o - out);
}

int vs_float_format(char *buf, size_t size, float f)
{
    char dig[12];
    int nd, e, p;
    if (size < 32 || !vs_float_digits(f, dig, &nd, &e, &p))
        return float_format_slow(buf, size, f);
    return layout_g(buf, signbit(f) != 0, dig, nd, e, p);
}

json_t *vs_json_float(float f)
{
    char buf[48];
    vs_float_format(buf, sizeof buf, f);
    return json_real(strtod(buf, NULL));
}

/* ---- base64 ---- */

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *vs_base64_encode(const void *data, size_t len)
{
    const unsigned char *p = data;
    size_t olen = 4 * ((len + 2) / 3);
    char *out = malloc(olen + 1), *o = out;
    if (!out)
        return NULL;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        *o++ = b64chars[v >> 18];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = b64chars[(v >> 6) & 63];
        *o++ = b64chars[v & 63];
    }
    if (i < len) {
        unsigned v = (unsigned)p[i] << 16;
        if (i + 1 < len)
            v |= (unsigned)p[i + 1] << 8;
        *o++ = b64chars[v >> 18];
        *o++ = b64chars[(v >> 12) & 63];
        *o++ = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
        *o++ = '=';
    }
    *o = '\0';
    return out;
}

static int b64val(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int vs_base64_decode(const char *s, size_t slen, unsigned char **out,
                     size_t *outlen)
{
    *out = NULL;
    *outlen = 0;
    if (slen % 4 != 0)
        return VS_E_FIELD;
    size_t pad = 0;
    if (slen >= 1 && s[slen - 1] == '=')
        pad++;
    if (slen >= 2 && s[slen - 2] == '=')
        pad++;
    size_t olen = slen / 4 * 3 - pad;
    unsigned char *o = malloc(olen ? olen : 1);
    if (!o)
        return VS_E_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < slen; i += 4) {
        int v[4];
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)s[i + j];
            if (c == '=' && i + 4 == slen && j >= 4 - (int)pad)
                v[j] = 0;
            else if ((v[j] = b64val(c)) < 0) {
                free(o);
                return VS_E_FIELD;
            }
        }
        unsigned w = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 |
                     (unsigned)v[2] << 6 | (unsigned)v[3];
        unsigned char b[3] = {(unsigned char)(w >> 16), (unsigned char)(w >> 8),
                              (unsigned char)w};
        for (int j = 0; j < 3 && k < olen; j++)
            o[k++] = b[j];
    }
    *out = o;
    *outlen = olen;
    return VS_OK;
}

/* ---- vectors ---- */

static int finite_f32(double v)
{
    return isfinite(v) && fabs(v) <= 3.4028234663852886e38;
}

int vs_record_vector(const json_t *rec, float **vec, size_t *dim,
                     struct vs_diag *d)
{
    *vec = NULL;
    *dim = 0;
    json_t *arr = json_object_get(rec, "vector");
    json_t *b64 = json_object_get(rec, "vector_b64");
    if (arr && b64) {
        vs_diag_field(d, "vector_b64");
        return vs_diag_set(d, VS_E_FIELD,
                           "a record has either 'vector' or 'vector_b64', not both");
    }
    if (arr && json_is_null(arr))
        arr = NULL;
    if (b64) {
        vs_diag_field(d, "vector_b64");
        if (!json_is_string(b64))
            return vs_diag_set(d, VS_E_FIELD, "must be a base64 string");
        unsigned char *raw;
        size_t n;
        int st = vs_base64_decode(json_string_value(b64), json_string_length(b64),
                                  &raw, &n);
        if (st == VS_E_NOMEM)
            return vs_diag_set(d, st, "cannot allocate a vector");
        if (st != VS_OK || n % 4 != 0 || n == 0) {
            free(raw);
            return vs_diag_set(d, VS_E_FIELD,
                               "is not base64 of little-endian float32 values");
        }
        size_t k = n / 4;
        float *v = malloc(k * sizeof *v);
        if (!v) {
            free(raw);
            return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a vector");
        }
        for (size_t i = 0; i < k; i++) {
            uint32_t u = (uint32_t)raw[4 * i] | (uint32_t)raw[4 * i + 1] << 8 |
                         (uint32_t)raw[4 * i + 2] << 16 |
                         (uint32_t)raw[4 * i + 3] << 24;
            memcpy(&v[i], &u, 4);
            if (!isfinite(v[i])) {
                free(raw);
                free(v);
                return vs_diag_set(d, VS_E_NONFINITE,
                                   "element %zu is not a finite number", i);
            }
        }
        free(raw);
        *vec = v;
        *dim = k;
        return VS_OK;
    }
    if (!arr)
        return VS_OK;
    vs_diag_field(d, "vector");
    if (!json_is_array(arr))
        return vs_diag_set(d, VS_E_FIELD, "must be an array of numbers");
    size_t k = json_array_size(arr);
    if (k == 0)
        return vs_diag_set(d, VS_E_FIELD, "is empty");
    float *v = malloc(k * sizeof *v);
    if (!v)
        return vs_diag_set(d, VS_E_NOMEM, "cannot allocate a vector");
    for (size_t i = 0; i < k; i++) {
        json_t *x = json_array_get(arr, i);
        if (!json_is_number(x)) {
            free(v);
            return vs_diag_set(d, VS_E_FIELD, "element %zu is not a number", i);
        }
        double dv = json_number_value(x);
        if (!finite_f32(dv)) {
            free(v);
            return vs_diag_set(d, VS_E_NONFINITE,
                               "element %zu is out of float32 range", i);
        }
        v[i] = (float)dv;
    }
    *vec = v;
    *dim = k;
    vs_diag_field(d, "%s", "");
    return VS_OK;
}

int vs_record_set_vector(json_t *rec, const float *vec, size_t dim, int b64)
{
    if (b64) {
        unsigned char *raw = malloc(dim * 4 + 1);
        if (!raw)
            return VS_E_NOMEM;
        for (size_t i = 0; i < dim; i++) {
            uint32_t u;
            memcpy(&u, &vec[i], 4);
            raw[4 * i] = (unsigned char)u;
            raw[4 * i + 1] = (unsigned char)(u >> 8);
            raw[4 * i + 2] = (unsigned char)(u >> 16);
            raw[4 * i + 3] = (unsigned char)(u >> 24);
        }
        char *s = vs_base64_encode(raw, dim * 4);
        free(raw);
        if (!s)
            return VS_E_NOMEM;
        int rc = json_object_set_new(rec, "vector_b64", json_string(s));
        free(s);
        json_object_del(rec, "vector");
        return rc ? VS_E_NOMEM : VS_OK;
    }
    json_t *arr = json_array();
    if (!arr)
        return VS_E_NOMEM;
    for (size_t i = 0; i < dim; i++)
        if (json_array_append_new(arr, vs_json_float(vec[i])) != 0) {
            json_decref(arr);
            return VS_E_NOMEM;
        }
    json_object_del(rec, "vector_b64");
    return json_object_set_new(rec, "vector", arr) ? VS_E_NOMEM : VS_OK;
}

int vs_record_string(const json_t *rec, const char *key, const char **out,
                     struct vs_diag *d)
{
    *out = NULL;
    json_t *v = json_object_get(rec, key);
    if (!v || json_is_null(v))
        return VS_OK;
    if (!json_is_string(v)) {
        vs_diag_field(d, "%s", key);
        return vs_diag_set(d, VS_E_FIELD, "must be a string");
    }
    *out = json_string_value(v);
    return VS_OK;
}
