#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wc.h"

static int failures;

static void check(const char *input, size_t lines, size_t words, size_t bytes)
{
    struct wc_counts c = {0, 0, 0};
    int in_word = 0;
    /* Feed a heap copy one byte at a time: words span calls, and valgrind
       or ASan sees every read. */
    size_t n = strlen(input);
    char *copy = malloc(n + 1);
    memcpy(copy, input, n + 1);
    for (size_t i = 0; i < n; i++) {
        wc_count(&c, copy + i, 1, &in_word);
    }
    free(copy);
    if (c.lines != lines || c.words != words || c.bytes != bytes) {
        fprintf(stderr, "FAIL %-12s got %zu %zu %zu, want %zu %zu %zu\n", input, c.lines,
                c.words, c.bytes, lines, words, bytes);
        failures++;
    }
}

int main(void)
{
    check("", 0, 0, 0);
    check("one", 0, 1, 3);
    check("one two\n", 1, 2, 8);
    check("  spaced   out  \n\n", 2, 2, 18);
    check("tab\tsep\tword\n", 1, 3, 13);
    if (failures) {
        return 1;
    }
    printf("wc_test: 5 cases passed\n");
    return 0;
}
