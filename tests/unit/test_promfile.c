/* test_promfile.c: Prometheus textfiles (lib/promfile.c). */
#include "test.h"
#include "vs_promfile.h"

#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/vs-test-promfile-XXXXXX";

static void test_label_escape(void)
{
    char b[64];
    CHECK_EQ_STR(vs_prom_label_value("a\"b\\c\nd", b, sizeof b), "a\\\"b\\\\c\\nd");
    CHECK_EQ_STR(vs_prom_label_value("", b, sizeof b), "");
    /* cut at a character boundary: never half an escape or a UTF-8 sequence */
    CHECK_EQ_STR(vs_prom_label_value("ab\"", b, 4), "ab");
    CHECK_EQ_STR(vs_prom_label_value("a\xc3\xa9", b, 3), "a");
    CHECK_EQ_STR(vs_prom_label_value("a\xc3\xa9", b, 4), "a\xc3\xa9");
}

static void test_write_read(void)
{
    char path[256];
    snprintf(path, sizeof path, "%s/m.prom", dir);
    struct vs_prom_sample s[] = {
        {"x_records", "records\nby action \\", "gauge", "store=\"s\",action=\"a\"", 3},
        {"x_records", "records", "gauge", "store=\"s\",action=\"b\"", 0.5},
        {"x_seconds", "time", "gauge", "", 1795481789.25},
        {"x_nan", "nan", "untyped", "", NAN},
    };
    struct vs_diag d;
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_promfile_write(path, s, 4, &d), VS_OK);
    const char *want =
        "# HELP x_records records\\nby action \\\\\n"
        "# TYPE x_records gauge\n"
        "x_records{store=\"s\",action=\"a\"} 3\n"
        "x_records{store=\"s\",action=\"b\"} 0.5\n"
        "# HELP x_seconds time\n"
        "# TYPE x_seconds gauge\n"
        "x_seconds 1795481789.25\n"
        "# HELP x_nan nan\n"
        "# TYPE x_nan untyped\n"
        "x_nan NaN\n";
    CHECK_EQ_STR(vs_test_slurp(path), want);
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0644);
    double v = 0;
    CHECK_EQ_INT(vs_promfile_value(path, "x_records", "store=\"s\",action=\"b\"", &v), 1);
    CHECK_NEAR(v, 0.5, 0);
    CHECK_EQ_INT(vs_promfile_value(path, "x_seconds", "", &v), 1);
    CHECK_NEAR(v, 1795481789.25, 0);
    CHECK_EQ_INT(vs_promfile_value(path, "x_records", "store=\"t\",action=\"b\"", &v), 0);
    CHECK_EQ_INT(vs_promfile_value(path, "x_record", "", &v), 0);
    CHECK_EQ_INT(vs_promfile_value("/nonexistent/m.prom", "x_seconds", "", &v), 0);
    /* rewriting replaces the file; no temporary file is left */
    CHECK_EQ_INT(vs_promfile_write(path, s + 2, 1, &d), VS_OK);
    CHECK_EQ_STR(vs_test_slurp(path), "# HELP x_seconds time\n# TYPE x_seconds gauge\n"
                              "x_seconds 1795481789.25\n");
    char tmp[300];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(access(tmp, F_OK) != 0);
    unlink(path);
}

static void test_errors(void)
{
    struct vs_prom_sample bad = {"1bad", "h", "gauge", "", 1};
    struct vs_diag d;
    vs_diag_clear(&d);
    char path[256];
    snprintf(path, sizeof path, "%s/b.prom", dir);
    CHECK_EQ_INT(vs_promfile_write(path, &bad, 1, &d), VS_E_USAGE);
    CHECK(access(path, F_OK) != 0);
    struct vs_prom_sample ok = {"fine", "h", "gauge", "", 1};
    vs_diag_clear(&d);
    CHECK_EQ_INT(vs_promfile_write("/nonexistent-dir/m.prom", &ok, 1, &d), VS_E_IO);
    CHECK(strstr(d.detail, "nonexistent-dir") != NULL);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    RUN(test_label_escape);
    RUN(test_write_read);
    RUN(test_errors);
    rmdir(dir);
    return vs_test_done();
}
