/* safetensors.c: the safetensors reader (vs_safetensors.h). */
#include "vs_safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

/* DT_OTHER: a dtype that is not read as float (the integer, bool and F64
 * tensors real checkpoints carry beside the weights, such as BERT's I64
 * "embeddings.position_ids"): its size is checked, loading it fails. */
enum dtype { DT_F32, DT_F16, DT_BF16, DT_OTHER };

static const struct {
    const char *name;
    size_t size;
} other_dtypes[] = {{"F64", 8}, {"I64", 8}, {"U64", 8}, {"I32", 4}, {"U32", 4},
                    {"I16", 2}, {"U16", 2}, {"I8", 1},  {"U8", 1},  {"BOOL", 1}};

struct tensor {
    char *name;
    enum dtype dt;
    char dtname[8];
    int ndim;
    size_t dims[VS_SAFETENSORS_MAX_DIMS];
    size_t off, len; /* bytes, from the start of the file */
};

struct vs_safetensors {
    unsigned char *map;
    size_t size;
    struct tensor *t;
    size_t n;
    uint64_t sum;
};

static int parse_tensor(struct tensor *t, const char *name, json_t *v,
                        size_t base, size_t fsize, struct vs_diag *d)
{
    json_t *jd = json_object_get(v, "dtype"), *js = json_object_get(v, "shape"),
           *jo = json_object_get(v, "data_offsets");
    if (!json_is_string(jd) || !json_is_array(js) || !json_is_array(jo) ||
        json_array_size(jo) != 2 ||
        json_array_size(js) > VS_SAFETENSORS_MAX_DIMS)
        return vs_diag_set(d, VS_E_DATA, "tensor '%s' has a malformed entry", name);
    const char *dt = json_string_value(jd);
    size_t esz = 0;
    snprintf(t->dtname, sizeof t->dtname, "%s", dt);
    if (strcmp(dt, "F32") == 0) {
        t->dt = DT_F32;
        esz = 4;
    } else if (strcmp(dt, "F16") == 0) {
        t->dt = DT_F16;
        esz = 2;
    } else if (strcmp(dt, "BF16") == 0) {
        t->dt = DT_BF16;
        esz = 2;
    } else {
        t->dt = DT_OTHER;
        for (size_t i = 0; i < sizeof other_dtypes / sizeof *other_dtypes; i++)
            if (strcmp(dt, other_dtypes[i].name) == 0)
                esz = other_dtypes[i].size;
        if (!esz)
            return vs_diag_set(d, VS_E_DATA, "tensor '%s' has an unknown dtype '%s'",
                               name, dt);
    }
    size_t count = 1;
    t->ndim = (int)json_array_size(js);
    for (int i = 0; i < t->ndim; i++) {
        json_int_t x = json_integer_value(json_array_get(js, (size_t)i));
        if (!json_is_integer(json_array_get(js, (size_t)i)) || x < 0 ||
            (x && count > SIZE_MAX / 8 / (size_t)x))
            return vs_diag_set(d, VS_E_DATA, "tensor '%s' has a bad shape", name);
        t->dims[i] = (size_t)x;
        count *= (size_t)x;
    }
    json_t *b = json_array_get(jo, 0), *e = json_array_get(jo, 1);
    if (!json_is_integer(b) || !json_is_integer(e) || json_integer_value(b) < 0 ||
        json_integer_value(e) < json_integer_value(b))
        return vs_diag_set(d, VS_E_DATA, "tensor '%s' has bad data offsets", name);
    size_t ob = (size_t)json_integer_value(b), oe = (size_t)json_integer_value(e);
    if (oe - ob != count * esz || oe > fsize - base)
        return vs_diag_set(d, VS_E_DATA,
                           "tensor '%s' data does not match its shape or lies outside the file",
                           name);
    t->off = base + ob;
    t->len = oe - ob;
    t->name = strdup(name);
    if (!t->name)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    return VS_OK;
}

int vs_safetensors_open(const char *path, struct vs_safetensors **out,
                        struct vs_diag *d)
{
    *out = NULL;
    int st = VS_OK;
    json_t *hdr = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vs_diag_set(d, vs_status_from_errno(errno), "cannot open %s: %s",
                           path, strerror(errno));
    struct vs_safetensors *s = calloc(1, sizeof *s);
    struct stat sb;
    if (!s) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    if (fstat(fd, &sb) != 0) {
        st = vs_diag_set(d, VS_E_IO, "cannot stat %s: %s", path, strerror(errno));
        goto done;
    }
    if (sb.st_size < 8) {
        st = vs_diag_set(d, VS_E_DATA, "%s: too short for a safetensors file", path);
        goto done;
    }
    s->size = (size_t)sb.st_size;
    void *m = mmap(NULL, s->size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) {
        st = vs_diag_set(d, VS_E_IO, "cannot map %s: %s", path, strerror(errno));
        goto done;
    }
    s->map = m;
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | s->map[i];
    if (hlen > s->size - 8) {
        st = vs_diag_set(d, VS_E_DATA, "%s: header length %llu exceeds the file",
                         path, (unsigned long long)hlen);
        goto done;
    }
    json_error_t je;
    hdr = json_loadb((const char *)s->map + 8, (size_t)hlen, 0, &je);
    if (!json_is_object(hdr)) {
        st = vs_diag_set(d, VS_E_DATA, "%s: header is not a JSON object (%s)",
                         path, je.text);
        goto done;
    }
    s->t = calloc(json_object_size(hdr) + 1, sizeof *s->t);
    if (!s->t) {
        st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
        goto done;
    }
    const char *key;
    json_t *v;
    json_object_foreach(hdr, key, v) {
        if (strcmp(key, "__metadata__") == 0)
            continue;
        st = parse_tensor(&s->t[s->n], key, v, 8 + (size_t)hlen, s->size, d);
        if (st != VS_OK)
            goto done;
        s->n++;
    }
    s->sum = XXH64(s->map, s->size, 0);
done:
    json_decref(hdr);
    close(fd);
    if (st != VS_OK)
        vs_safetensors_close(s);
    else
        *out = s;
    return st;
}

void vs_safetensors_close(struct vs_safetensors *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++)
        free(s->t[i].name);
    free(s->t);
    if (s->map)
        munmap(s->map, s->size);
    free(s);
}

uint64_t vs_safetensors_checksum(const struct vs_safetensors *s) { return s->sum; }

static const struct tensor *find(const struct vs_safetensors *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->t[i].name, name) == 0)
            return &s->t[i];
    return NULL;
}

int vs_safetensors_shape(const struct vs_safetensors *s, const char *name,
                         size_t *dims)
{
    const struct tensor *t = find(s, name);
    if (!t)
        return -1;
    memcpy(dims, t->dims, (size_t)t->ndim * sizeof *dims);
    return t->ndim;
}

static float half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1f,
             man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) {
            bits = sign;
        } else { /* subnormal: normalise */
            exp = 127 - 15 + 1;
            while (!(man & 0x400)) {
                man <<= 1;
                exp--;
            }
            man &= 0x3ff;
            bits = sign | exp << 23 | man << 13;
        }
    } else if (exp == 31) {
        bits = sign | 0xff << 23 | man << 13;
    } else {
        bits = sign | (exp + 127 - 15) << 23 | man << 13;
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

int vs_safetensors_load_f32(const struct vs_safetensors *s, const char *name,
                            int ndim, const size_t *dims, float **out,
                            struct vs_diag *d)
{
    *out = NULL;
    const struct tensor *t = find(s, name);
    if (!t)
        return vs_diag_set(d, VS_E_NOTFOUND, "no tensor '%s'", name);
    int same = t->ndim == ndim;
    size_t count = 1;
    for (int i = 0; same && i < ndim; i++) {
        same = t->dims[i] == dims[i];
        count *= dims[i];
    }
    if (!same)
        return vs_diag_set(d, VS_E_DATA, "tensor '%s' does not have the shape the config gives",
                           name);
    if (t->dt == DT_OTHER)
        return vs_diag_set(d, VS_E_DATA, "tensor '%s' has dtype %s (F32, F16 or BF16 are read)",
                           name, t->dtname);
    float *f = malloc((count ? count : 1) * sizeof *f);
    if (!f)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    const unsigned char *p = s->map + t->off;
    for (size_t i = 0; i < count; i++) {
        if (t->dt == DT_F32) {
            uint32_t b = (uint32_t)p[4 * i] | (uint32_t)p[4 * i + 1] << 8 |
                         (uint32_t)p[4 * i + 2] << 16 | (uint32_t)p[4 * i + 3] << 24;
            memcpy(&f[i], &b, 4);
        } else {
            uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
            if (t->dt == DT_F16) {
                f[i] = half_to_float(h);
            } else {
                uint32_t b = (uint32_t)h << 16;
                memcpy(&f[i], &b, 4);
            }
        }
    }
    *out = f;
    return VS_OK;
}
