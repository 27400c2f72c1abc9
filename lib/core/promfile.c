/* promfile.c: Prometheus text-format files written atomically (the
 * textfile collector of node_exporter reads them). */
#include "vs_promfile.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *vs_prom_label_value(const char *s, char *buf, size_t n)
{
    size_t k = 0;
    int cut = 0;
    if (!n)
        return buf;
    for (; s && *s; s++) {
        const char *e = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        size_t need = e ? 2 : 1;
        if (k + need >= n) {
            cut = 1;
            break;
        }
        if (e) {
            memcpy(buf + k, e, 2);
        } else {
            buf[k] = *s;
        }
        k += need;
    }
    /* a cut never ends inside a UTF-8 sequence */
    size_t j = k;
    while (cut && j > 0 && ((unsigned char)buf[j - 1] & 0xC0) == 0x80)
        j--;
    if (cut && j > 0 && ((unsigned char)buf[j - 1] & 0xC0) == 0xC0) {
        unsigned char lead = (unsigned char)buf[j - 1];
        size_t len = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
        if (k - (j - 1) < len)
            k = j - 1;
    }
    buf[k] = '\0';
    return buf;
}

static int name_ok(const char *s)
{
    if (!s || !*s || (*s >= '0' && *s <= '9'))
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '_' || *s == ':'))
            return 0;
    return 1;
}

static void put_value(FILE *fp, double v)
{
    if (isnan(v))
        fputs("NaN", fp);
    else if (isinf(v))
        fputs(v > 0 ? "+Inf" : "-Inf", fp);
    else if (v == floor(v) && fabs(v) < 1e15)
        fprintf(fp, "%.0f", v);
    else
        fprintf(fp, "%.17g", v);
}

static void put_help(FILE *fp, const char *h)
{
    for (; h && *h; h++) {
        if (*h == '\\')
            fputs("\\\\", fp);
        else if (*h == '\n')
            fputs("\\n", fp);
        else
            fputc(*h, fp);
    }
}

int vs_promfile_write(const char *path, const struct vs_prom_sample *s, size_t n,
                      struct vs_diag *d)
{
    for (size_t i = 0; i < n; i++)
        if (!name_ok(s[i].name))
            return vs_diag_set(d, VS_E_USAGE, "bad metric name '%s'",
                               s[i].name ? s[i].name : "");
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 32);
    if (!tmp)
        return vs_diag_set(d, VS_E_NOMEM, "out of memory");
    snprintf(tmp, pl + 32, "%s.tmp.%ld", path, (long)getpid());
    vs_diag_where(d, path, 0);
    int st = VS_OK;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    FILE *fp = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!fp) {
        st = vs_diag_set(d, vs_status_from_errno(errno), "cannot write '%s': %s", tmp,
                         strerror(errno));
        if (fd >= 0)
            close(fd);
        goto done;
    }
    (void)fchmod(fd, 0644); /* the collector runs as another user */
    for (size_t i = 0; i < n; i++) {
        if (i == 0 || strcmp(s[i].name, s[i - 1].name) != 0) {
            fprintf(fp, "# HELP %s ", s[i].name);
            put_help(fp, s[i].help);
            fprintf(fp, "\n# TYPE %s %s\n", s[i].name, s[i].type ? s[i].type : "untyped");
        }
        fputs(s[i].name, fp);
        if (s[i].labels && *s[i].labels)
            fprintf(fp, "{%s}", s[i].labels);
        fputc(' ', fp);
        put_value(fp, s[i].value);
        fputc('\n', fp);
    }
    int werr = ferror(fp) || fflush(fp) != 0 || fsync(fd) != 0 ? errno : 0;
    if (fclose(fp) != 0 && !werr)
        werr = errno;
    if (werr) {
        st = vs_diag_set(d, vs_status_from_errno(werr), "cannot write '%s': %s", tmp,
                         strerror(werr));
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        st = vs_diag_set(d, vs_status_from_errno(errno), "cannot rename '%s': %s", tmp,
                         strerror(errno));
        unlink(tmp);
    }
done:
    free(tmp);
    return st;
}

int vs_promfile_value(const char *path, const char *name, const char *labels,
                      double *out)
{
    FILE *fp = fopen(path, "r");
    if (!fp)
        return 0;
    char line[4096], want[2048];
    if (labels && *labels)
        snprintf(want, sizeof want, "%s{%s} ", name, labels);
    else
        snprintf(want, sizeof want, "%s ", name);
    size_t wl = strlen(want);
    int found = 0;
    while (!found && fgets(line, sizeof line, fp)) {
        if (strncmp(line, want, wl) != 0)
            continue;
        char *end;
        double v = strtod(line + wl, &end);
        if (end != line + wl && (*end == '\n' || *end == '\0' || *end == ' ')) {
            *out = v;
            found = 1;
        }
    }
    fclose(fp);
    return found;
}
