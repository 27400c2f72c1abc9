/* fuzz_segment.c: libFuzzer target for segment files (lib/store/segment.c,
 * segment_docs.c, segment_verify.c: the header, the section table, the
 * sections behind them, and the BM25, HNSW and vector-code sections read
 * through the store).
 *
 * The input is a segment file. Before writing it the harness recomputes
 * the checksums a writer would put there (each section's, the section
 * table's, the header's) wherever the offsets it reads lie inside the
 * input, so the fuzzer reaches the parsing behind them; per-block checksums
 * inside DOCINDEX/VECINDEX and the graph are left as they are. A MANIFEST
 * listing the segment with the rows and dimension of its header (and a
 * text index and HNSW settings when it has those sections) is written
 * beside it, and the store is read as every reader does (fuzz_store.h). */
#include <xxhash.h>

#include "fuzz_store.h"

#define FUZZ_MAX_LEN 65536

static char store[512];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(store, sizeof store, "%s/seg.vs", fuzz_dir());
    if (mkdir(store, 0700) != 0)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    unsigned char *b = malloc(size ? size : 1);
    FUZZ_CHECK(b != NULL);
    memcpy(b, data, size);
    uint64_t rows = 0;
    uint32_t dim = 0;
    int bm25 = 0, hnsw = 0, quant = 0;
    if (size >= 64) {
        uint32_t nsect = fuzz_get32(b + 12);
        uint64_t toff = fuzz_get64(b + 32);
        rows = fuzz_get64(b + 16);
        dim = fuzz_get32(b + 24);
        if (nsect <= 32 && toff <= size && size - toff >= (uint64_t)nsect * 48) {
            for (uint32_t i = 0; i < nsect; i++) {
                unsigned char *e = b + toff + i * 48;
                uint32_t type = fuzz_get32(e);
                uint64_t off = fuzz_get64(e + 16), len = fuzz_get64(e + 24);
                bm25 |= type == 6;
                hnsw |= type == 7;
                if (type == 8 && off <= size && size - off >= 12)
                    quant = (int)fuzz_get32(b + off + 8);
                if (off <= size && len <= size - off)
                    fuzz_put64(e + 40, XXH64(b + off, (size_t)len, 0));
            }
            fuzz_put64(b + 40, XXH64(b + toff, (size_t)nsect * 48, 0));
        }
        fuzz_put64(b + 56, XXH64(b, 56, 0));
    }
    char path[600];
    fuzz_write("seg.vs/seg-00000001.vseg", b, size, path, sizeof path);
    free(b);
    static const char *const qname[] = {"none", "f16", "sq8", "binary"};
    json_t *m = json_pack("{s:s,s:i,s:i,s:i,s:I,s:s,s:b,s:s,s:[{s:s,s:I,s:i,s:n}]}",
                          "format", "vecstore", "version", 1, "generation", 1,
                          "next_segment", 2, "dim", (json_int_t)(dim > 1000000 ? 1000000 : dim),
                          "metric", "l2", "normalize", 0, "model", "fuzz-model",
                          "segments", "file", "seg-00000001.vseg", "rows",
                          (json_int_t)(rows > INT64_MAX ? INT64_MAX : rows), "deleted", 0,
                          "del");
    FUZZ_CHECK(m != NULL);
    if (bm25)
        json_object_set_new(m, "analyzer", json_string(VS_ANALYZER_DEFAULT));
    if (hnsw) {
        json_t *h = json_pack("{s:i,s:i,s:i,s:i}", "M", 4, "ef_construction", 16,
                              "min_rows", 1000, "seed", 7);
        if (quant >= 1 && quant <= 3)
            json_object_set_new(h, "quant", json_string(qname[quant]));
        json_object_set_new(m, "hnsw", h);
    }
    char *text = json_dumps(m, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(m);
    FUZZ_CHECK(text != NULL);
    size_t tl = strlen(text);
    char *man = malloc(tl + 32);
    FUZZ_CHECK(man != NULL);
    memcpy(man, text, tl);
    man[tl++] = '\n';
    tl += (size_t)snprintf(man + tl, 32, "xxh64 %016llx\n", (unsigned long long)XXH64(man, tl, 0));
    fuzz_write("seg.vs/MANIFEST", man, tl, path, sizeof path);
    free(man);
    free(text);
    fuzz_store_read(store);
    return 0;
}
