/* build_store.c: build a vecstore store from vectors read as text.
 *
 *   build_store STORE < rows.txt
 *
 * Each input line is "ID<TAB>TEXT<TAB>X1 X2 ... XD" (TEXT may be empty).
 * The store is created with the first row's dimension (l2 metric) when it
 * does not exist; rows are upserted and committed once at the end.
 * Prints "stored N records, dim D, generation G". Exit 0, or 1 with the
 * library's error on stderr. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vecstore.h>

#define MAXDIM 4096

static int fail(const char *what, const struct vs_error *err)
{
    fprintf(stderr, "build_store: %s: %s (%s)%s%s\n", what, err->detail,
            vs_errname(err->status), err->field[0] ? ", field " : "", err->field);
    return 1;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: build_store STORE < rows.txt\n");
        return 2;
    }
    static float vec[MAXDIM];
    char line[65536];
    struct vs_error err;
    vs_db *db = NULL;
    long n = 0, lineno = 0;
    while (fgets(line, sizeof line, stdin)) {
        lineno++;
        line[strcspn(line, "\n")] = 0;
        char *id = line, *text = strchr(line, '\t'), *nums;
        if (!text || !(nums = strchr(text + 1, '\t'))) {
            fprintf(stderr, "build_store: <stdin>:%ld: expected ID<TAB>TEXT<TAB>VECTOR\n", lineno);
            vs_db_close(db);
            return 1;
        }
        *text++ = 0;
        *nums++ = 0;
        size_t dim = 0;
        char *end;
        for (float x = strtof(nums, &end); end != nums && dim < MAXDIM; x = strtof(nums, &end)) {
            vec[dim++] = x;
            nums = end;
        }
        if (!db) {
            struct vs_db_config cfg;
            vs_db_config_init(&cfg, sizeof cfg);
            cfg.metric = "l2";
            cfg.dim = dim;
            if (vs_db_open(argv[1], VS_DB_CREATE, &cfg, 0, &db, &err) != VS_OK)
                return fail("open", &err);
        }
        struct vs_record rec = {id, vec, dim, *text ? text : NULL, NULL, NULL};
        if (vs_db_upsert(db, &rec, &err) != VS_OK) {
            fprintf(stderr, "build_store: <stdin>:%ld: ", lineno);
            vs_db_close(db);
            return fail("upsert", &err);
        }
        n++;
    }
    if (!db) {
        fprintf(stderr, "build_store: no rows on standard input\n");
        return 1;
    }
    struct vs_db_info info;
    if (vs_db_commit(db, &err) != VS_OK) {
        vs_db_close(db);
        return fail("commit", &err);
    }
    vs_db_info(db, &info);
    printf("stored %ld records, dim %zu, generation %llu\n", n, info.dim,
           (unsigned long long)info.generation);
    vs_db_close(db);
    return 0;
}
