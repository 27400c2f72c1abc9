/* vs_safetensors.h: read tensors from a .safetensors file.
 *
 * Format: an 8-byte little-endian header length N, N bytes of JSON mapping
 * each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}
 * (offsets relative to the byte after the header; "__metadata__" is ignored),
 * then the raw little-endian data. The file is mapped with mmap; tensors are
 * copied out as float32 (F32, F16 and BF16 are read). */
#ifndef VS_SAFETENSORS_H
#define VS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "vs_status.h"

#define VS_SAFETENSORS_MAX_DIMS 8

struct vs_safetensors;

/* Map and parse a file. Errors: VS_E_IO (cannot open/map), VS_E_DATA
 * (malformed header, offsets outside the file, unknown dtype), VS_E_NOMEM.
 * Integer, BOOL and F64 tensors are accepted (and skipped by their size)
 * but cannot be loaded as float32. */
int vs_safetensors_open(const char *path, struct vs_safetensors **out,
                        struct vs_diag *d);
void vs_safetensors_close(struct vs_safetensors *st);

/* xxh64 (seed 0) of the whole file: the identity of the weights. */
uint64_t vs_safetensors_checksum(const struct vs_safetensors *st);

/* Shape of a tensor: returns the number of dimensions (dims[] filled, up to
 * VS_SAFETENSORS_MAX_DIMS), or -1 when there is no such tensor. */
int vs_safetensors_shape(const struct vs_safetensors *st, const char *name,
                         size_t *dims);

/* Copy a tensor out as a new float32 array (caller frees) after checking that
 * its shape is exactly dims[0..ndim). Errors: VS_E_NOTFOUND (no tensor),
 * VS_E_DATA (another shape, or a dtype other than F32, F16, BF16),
 * VS_E_NOMEM. */
int vs_safetensors_load_f32(const struct vs_safetensors *st, const char *name,
                            int ndim, const size_t *dims, float **out,
                            struct vs_diag *d);

#endif
