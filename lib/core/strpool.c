/* strpool.c: strings in chunks freed together (vs_strpool.h). */
#include "vs_strpool.h"

#include <stdlib.h>
#include <string.h>

struct vs_strchunk {
    struct vs_strchunk *next;
    size_t used, cap;
    char text[];
};

char *vs_strpool_dup(struct vs_strpool *p, const char *s, size_t n)
{
    struct vs_strchunk *c = p->head;
    if (!c || c->cap - c->used < n + 1) {
        size_t want = p->chunk ? p->chunk : VS_STRPOOL_CHUNK;
        size_t cap = n + 1 > want ? n + 1 : want;
        if (!(c = malloc(sizeof *c + cap)))
            return NULL;
        c->next = p->head;
        c->used = 0;
        c->cap = cap;
        p->head = c;
    }
    char *out = c->text + c->used;
    memcpy(out, s, n);
    out[n] = '\0';
    c->used += n + 1;
    return out;
}

void vs_strpool_free(struct vs_strpool *p)
{
    while (p->head) {
        struct vs_strchunk *c = p->head;
        p->head = c->next;
        free(c);
    }
}
