/* fuzz_html.c: libFuzzer target for the HTML loader
 * (lib/docs/loader_html.c, over libxml2's HTML parser) and the splitters
 * on what it extracts; the checks are in fuzz_doc.h. */
#include "fuzz_doc.h"

#define FUZZ_MAX_LEN 8192

int LLVMFuzzerInitialize(int *argc, char ***argv) { return 0; }

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
    fuzz_doc("page.html", data, size);
    return 0;
}
