"""bench/vectors_ndjson.py FILE DIM PREFIX: the little-endian float32 rows of
FILE (hnsw_bench gen) as NDJSON records {"id": PREFIX + row, "vector_b64":
base64 of the row} on standard output."""
import base64
import sys

import numpy as np

path, dim, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
v = np.fromfile(path, dtype="<f4").reshape(-1, dim)
out = sys.stdout
for i in range(v.shape[0]):
    out.write('{"id":"%s%d","vector_b64":"%s"}\n' % (prefix, i, base64.b64encode(v[i].tobytes()).decode()))
