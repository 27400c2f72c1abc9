/* server_auth.c: API keys (salted SHA-256 at rest), scopes and per-key
 * token buckets for vs-serve. SHA-256 follows FIPS 180-4. */
#include "server_internal.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- SHA-256 (FIPS 180-4, section 6.2) ---- */

static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = ROTR(w[t - 15], 7) ^ ROTR(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = ROTR(w[t - 2], 17) ^ ROTR(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = h[0], b = h[1], c = h[2], dd = h[3], e = h[4], f = h[5],
             g = h[6], hh = h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t S1 = ROTR(e, 6) ^ ROTR(e, 11) ^ ROTR(e, 25);
        uint32_t ch = (e & f) ^ (~e & g);
        uint32_t t1 = hh + S1 + ch + K256[t] + w[t];
        uint32_t S0 = ROTR(a, 2) ^ ROTR(a, 13) ^ ROTR(a, 22);
        uint32_t maj = (a & b) ^ (a & c) ^ (b & c);
        uint32_t t2 = S0 + maj;
        hh = g; g = f; f = e; e = dd + t1;
        dd = c; c = b; b = a; a = t1 + t2;
    }
    h[0] += a; h[1] += b; h[2] += c; h[3] += dd;
    h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

void vs_sha256(const void *data, size_t len, unsigned char out[32])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const unsigned char *p = data;
    size_t n = len;
    while (n >= 64) {
        sha256_block(h, p);
        p += 64;
        n -= 64;
    }
    unsigned char last[128] = {0};
    memcpy(last, p, n);
    last[n] = 0x80;
    size_t tot = n + 1 + 8 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        last[tot - 1 - i] = (unsigned char)(bits >> (8 * i));
    sha256_block(h, last);
    if (tot == 128)
        sha256_block(h, last + 64);
    for (int i = 0; i < 8; i++) {
        out[4 * i] = (unsigned char)(h[i] >> 24);
        out[4 * i + 1] = (unsigned char)(h[i] >> 16);
        out[4 * i + 2] = (unsigned char)(h[i] >> 8);
        out[4 * i + 3] = (unsigned char)h[i];
    }
}

/* ---- keys ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int unhex(const char *s, size_t n, unsigned char *out, size_t cap)
{
    if (n % 2 || n / 2 > cap)
        return -1;
    for (size_t i = 0; i < n / 2; i++) {
        int a = hexval(s[2 * i]), b = hexval(s[2 * i + 1]);
        if (a < 0 || b < 0)
            return -1;
        out[i] = (unsigned char)(a << 4 | b);
    }
    return (int)(n / 2);
}

static void tohex(const unsigned char *p, size_t n, char *out)
{
    static const char hx[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    out[2 * n] = 0;
}

static void salted(const unsigned char *salt, size_t slen, const char *key,
                   size_t klen, unsigned char out[32])
{
    unsigned char stack[512];
    unsigned char *buf = slen + klen <= sizeof stack ? stack : malloc(slen + klen);
    if (!buf) {
        memset(out, 0, 32);
        return;
    }
    memcpy(buf, salt, slen);
    memcpy(buf + slen, key, klen);
    vs_sha256(buf, slen + klen, out);
    if (buf != stack)
        free(buf);
}

int vs_server_hash_key(const char *key, char *out, size_t size,
                       struct vs_diag *d)
{
    unsigned char salt[16], dg[32];
    FILE *fp = fopen("/dev/urandom", "rb");
    if (!fp || fread(salt, 1, sizeof salt, fp) != sizeof salt) {
        int e = errno;
        if (fp)
            fclose(fp);
        return vs_diag_set(d, vs_status_from_errno(e), "cannot read /dev/urandom");
    }
    fclose(fp);
    if (size < 120)
        return vs_diag_set(d, VS_E_INTERNAL, "hash buffer too small");
    salted(salt, sizeof salt, key, strlen(key), dg);
    char hs[33], hd[65];
    tohex(salt, sizeof salt, hs);
    tohex(dg, sizeof dg, hd);
    snprintf(out, size, "sha256:%s:%s", hs, hd);
    return VS_OK;
}

int vs_srv_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return 0;
    }
    return 1;
}

static int parse_key(const json_t *o, struct vs_srv_key *k, struct vs_diag *d)
{
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *hash = json_string_value(json_object_get(o, "hash"));
    json_t *sc = json_object_get(o, "scopes");
    json_t *stores = json_object_get(o, "stores");
    json_t *rate = json_object_get(o, "rate"), *burst = json_object_get(o, "burst");
    if (!name || !vs_srv_name_ok(name)) {
        vs_diag_field(d, "name");
        return vs_diag_set(d, VS_E_DATA, "a key needs a name of 1 to 64 letters, digits, '.', '_' or '-'");
    }
    snprintf(k->name, sizeof k->name, "%s", name);
    const char *c1 = hash && strncmp(hash, "sha256:", 7) == 0 ? strchr(hash + 7, ':') : NULL;
    int sl = c1 ? unhex(hash + 7, (size_t)(c1 - hash - 7), k->salt, sizeof k->salt) : -1;
    if (sl <= 0 || unhex(c1 + 1, strlen(c1 + 1), k->digest, 32) != 32) {
        vs_diag_field(d, "hash");
        return vs_diag_set(d, VS_E_DATA, "expected \"sha256:SALTHEX:DIGESTHEX\" (make one with vs-serve --hash-key)");
    }
    k->salt_len = (size_t)sl;
    if (!json_is_array(sc) || json_array_size(sc) == 0) {
        vs_diag_field(d, "scopes");
        return vs_diag_set(d, VS_E_DATA, "expected a non-empty array of \"read\", \"write\", \"admin\"");
    }
    for (size_t i = 0; i < json_array_size(sc); i++) {
        const char *s = json_string_value(json_array_get(sc, i));
        if (s && strcmp(s, "read") == 0) k->scopes |= VS_SCOPE_READ;
        else if (s && strcmp(s, "write") == 0) k->scopes |= VS_SCOPE_WRITE;
        else if (s && strcmp(s, "admin") == 0) k->scopes |= VS_SCOPE_ADMIN;
        else {
            vs_diag_field(d, "scopes");
            return vs_diag_set(d, VS_E_DATA, "unknown scope (read, write, admin)");
        }
    }
    if (stores) {
        if (!json_is_array(stores)) {
            vs_diag_field(d, "stores");
            return vs_diag_set(d, VS_E_DATA, "expected an array of store names");
        }
        k->stores = calloc(json_array_size(stores) + 1, sizeof *k->stores);
        if (!k->stores)
            return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        for (size_t i = 0; i < json_array_size(stores); i++) {
            const char *s = json_string_value(json_array_get(stores, i));
            if (!s || !vs_srv_name_ok(s)) {
                vs_diag_field(d, "stores");
                return vs_diag_set(d, VS_E_DATA, "expected an array of store names");
            }
            if (!(k->stores[k->nstores++] = strdup(s)))
                return vs_diag_set(d, VS_E_NOMEM, "out of memory");
        }
    }
    if ((rate && (!json_is_number(rate) || json_number_value(rate) < 0)) ||
        (burst && (!json_is_number(burst) || json_number_value(burst) < 1))) {
        vs_diag_field(d, rate && (!json_is_number(rate) || json_number_value(rate) < 0) ? "rate" : "burst");
        return vs_diag_set(d, VS_E_DATA, "expected rate >= 0 and burst >= 1");
    }
    k->rate = rate ? json_number_value(rate) : -1;   /* -1: server default */
    k->burst = burst ? json_number_value(burst) : -1;
    return VS_OK;
}

static void key_release(struct vs_srv_key *k)
{
    for (size_t i = 0; i < k->nstores; i++)
        free(k->stores[i]);
    free(k->stores);
    k->stores = NULL;
    k->nstores = 0;
}

void vs_srv_keys_free(struct vs_server *srv)
{
    for (size_t i = 0; i < srv->nkeys; i++)
        key_release(&srv->keys[i]);
    free(srv->keys);
    srv->keys = NULL;
    srv->nkeys = 0;
}

int vs_server_load_keys(struct vs_server *srv, const char *path,
                        struct vs_diag *d)
{
    FILE *fp = fopen(path, "r");
    if (!fp) {
        vs_diag_where(d, path, 0);
        return vs_diag_set(d, vs_status_from_errno(errno), "cannot open: %s", strerror(errno));
    }
    int st = VS_OK;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    vs_srv_keys_free(srv);
    while ((n = getline(&line, &cap, fp)) >= 0) {
        lineno++;
        size_t i = 0;
        while (i < (size_t)n && (line[i] == ' ' || line[i] == '\t' || line[i] == '\n' || line[i] == '\r'))
            i++;
        if (i == (size_t)n || line[i] == '#')
            continue;
        json_error_t je;
        json_t *o = json_loadb(line, (size_t)n, 0, &je);
        if (!o || !json_is_object(o)) {
            json_decref(o);
            vs_diag_where(d, path, lineno);
            st = vs_diag_set(d, VS_E_DATA, "expected one JSON object per line");
            goto done;
        }
        struct vs_srv_key *nk = realloc(srv->keys, (srv->nkeys + 1) * sizeof *nk);
        if (!nk) {
            json_decref(o);
            st = vs_diag_set(d, VS_E_NOMEM, "out of memory");
            goto done;
        }
        srv->keys = nk;
        struct vs_srv_key *k = &srv->keys[srv->nkeys++];
        memset(k, 0, sizeof *k);
        st = parse_key(o, k, d);
        json_decref(o);
        if (st != VS_OK) {
            vs_diag_where(d, path, lineno);
            goto done;
        }
    }
    if (ferror(fp)) {
        vs_diag_where(d, path, 0);
        st = vs_diag_set(d, VS_E_IO, "read error");
        goto done;
    }
    if (srv->nkeys == 0) {
        vs_diag_where(d, path, 0);
        st = vs_diag_set(d, VS_E_DATA, "no keys in the key file");
        goto done;
    }
    double now = vs_srv_now();
    for (size_t i = 0; i < srv->nkeys; i++) {
        struct vs_srv_key *k = &srv->keys[i];
        if (k->rate < 0)
            k->rate = srv->o.rate;
        if (k->burst < 0)
            k->burst = srv->o.burst > 0 ? srv->o.burst : (k->rate > 1 ? k->rate : 1);
        k->tokens = k->burst;
        k->last = now;
    }
    srv->have_keys = 1;
done:
    free(line);
    fclose(fp);
    if (st != VS_OK)
        vs_srv_keys_free(srv);
    return st;
}

int vs_srv_auth(struct vs_server *srv, const char *authorization,
                struct vs_srv_key **key)
{
    *key = NULL;
    if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
        return VS_E_NOTFOUND;
    const char *tok = authorization + 7;
    while (*tok == ' ')
        tok++;
    size_t tl = strlen(tok);
    if (tl == 0 || tl > 4096)
        return VS_E_NOTFOUND;
    for (size_t i = 0; i < srv->nkeys; i++) {
        struct vs_srv_key *k = &srv->keys[i];
        unsigned char dg[32];
        salted(k->salt, k->salt_len, tok, tl, dg);
        unsigned diff = 0;
        for (int j = 0; j < 32; j++)
            diff |= (unsigned)(dg[j] ^ k->digest[j]);
        if (diff == 0) {
            *key = k;
            return VS_OK;
        }
    }
    return VS_E_NOTFOUND;
}

int vs_srv_take_token(struct vs_server *srv, struct vs_srv_key *key,
                      long *retry_after)
{
    struct vs_srv_key *k = key ? key : &srv->anon;
    *retry_after = 0;
    if (k->rate <= 0)
        return 1;
    pthread_mutex_lock(&srv->key_mu);
    double now = vs_srv_now();
    k->tokens += (now - k->last) * k->rate;
    if (k->tokens > k->burst)
        k->tokens = k->burst;
    k->last = now;
    int ok = k->tokens >= 1.0;
    if (ok) {
        k->tokens -= 1.0;
    } else {
        double wait = (1.0 - k->tokens) / k->rate;
        long s = (long)wait;
        *retry_after = s < wait ? s + 1 : (s ? s : 1);
        k->limited++;
    }
    pthread_mutex_unlock(&srv->key_mu);
    return ok;
}
