#ifndef WC_H
#define WC_H

#include <stddef.h>

struct wc_counts {
    size_t lines;
    size_t words;
    size_t bytes;
};

/* wc_count adds the counts of buf[0..n) to c; words may span calls. */
void wc_count(struct wc_counts *c, const char *buf, size_t n, int *in_word);

#endif
