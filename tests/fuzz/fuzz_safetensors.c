/* fuzz_safetensors.c: libFuzzer target for .safetensors files
 * (lib/models/safetensors.c: the length, the JSON header, dtypes, shapes
 * and data offsets).
 *
 * The input is written as a file and opened. For a file that opens, each
 * tensor named in its header (read here with jansson) must report a shape
 * of at most VS_SAFETENSORS_MAX_DIMS dimensions and load with exactly that
 * shape (or be refused as data that is not float), and a shape one larger
 * must be refused. */
#include <jansson.h>

#include "fuzz.h"
#include "vs_safetensors.h"

#define FUZZ_MAX_LEN 8192

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    char path[512];
    fuzz_write("w.safetensors", data, size, path, sizeof path);
    struct vs_safetensors *st = NULL;
    struct vs_diag d;
    vs_diag_clear(&d);
    int rc = vs_safetensors_open(path, &st, &d);
    if (rc != VS_OK) {
        FUZZ_CHECK(st == NULL);
        FUZZ_CHECK(rc == VS_E_DATA || rc == VS_E_NOMEM || rc == VS_E_IO);
        return 0;
    }
    (void)vs_safetensors_checksum(st);
    uint64_t hl = size >= 8 ? fuzz_get64(data) : 0;
    json_error_t je;
    json_t *h = hl <= size - 8 ? json_loadb((const char *)data + 8, (size_t)hl, 0, &je) : NULL;
    const char *name;
    json_t *v;
    json_object_foreach(h, name, v) {
        size_t dims[VS_SAFETENSORS_MAX_DIMS + 1];
        int nd = vs_safetensors_shape(st, name, dims);
        if (strcmp(name, "__metadata__") == 0 || nd < 0)
            continue;
        FUZZ_CHECK(nd <= VS_SAFETENSORS_MAX_DIMS);
        size_t count = 1;
        for (int i = 0; i < nd; i++)
            count = dims[i] && count > SIZE_MAX / dims[i] ? SIZE_MAX : count * dims[i];
        float *f = NULL;
        if (count <= ((size_t)1 << 20)) {
            rc = vs_safetensors_load_f32(st, name, nd, dims, &f, &d);
            FUZZ_CHECK(rc == VS_OK || rc == VS_E_DATA || rc == VS_E_NOMEM);
            free(f);
            f = NULL;
        }
        if (nd < VS_SAFETENSORS_MAX_DIMS) {
            dims[nd] = 2;
            rc = vs_safetensors_load_f32(st, name, nd + 1, dims, &f, &d);
            FUZZ_CHECK(rc == VS_E_DATA && f == NULL);
        }
    }
    json_decref(h);
    vs_safetensors_close(st);
    return 0;
}
