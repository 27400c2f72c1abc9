/* fuzz_manifest.c: libFuzzer target for the store manifest
 * (lib/store/store.c read_manifest, open_segments, deletion files) through
 * the public store functions.
 *
 * At start-up a store of two segments and a deletion file is made in a
 * temporary directory. Each input becomes its MANIFEST: when it starts
 * with '{' the harness appends the "xxh64 HEX" checksum line the writer
 * would (so the fuzzer reaches the fields behind the checksum), otherwise
 * the bytes are used as they are (the checksum line itself). Then the
 * store is read as every reader does (fuzz_store.h): any failure must be a
 * store error, never a crash or a hang. */
#include <xxhash.h>

#include "fuzz_store.h"

#define FUZZ_MAX_LEN 4096

static char store[512];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(store, sizeof store, "%s/kb.vs", fuzz_dir());
    fuzz_store_make(store, 40, VS_METRIC_COSINE, 1, 0, 0, 1);
    return 0;
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char path[600], name[600];
    unsigned char *buf = malloc(size + 32);
    FUZZ_CHECK(buf != NULL);
    memcpy(buf, data, size);
    size_t len = size;
    if (size && data[0] == '{')
        len += (size_t)snprintf((char *)buf + size, 32, "xxh64 %016llx\n",
                                (unsigned long long)XXH64(data, size, 0));
    snprintf(name, sizeof name, "kb.vs/MANIFEST");
    fuzz_write(name, buf, len, path, sizeof path);
    free(buf);
    fuzz_store_read(store);
    return 0;
}
