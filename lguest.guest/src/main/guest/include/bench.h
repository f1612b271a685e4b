/*
 * What the bench-* images share: their sizes from the command line, and
 * the console lines a benchmark times.
 *
 * A benchmark host reads the boot command line's "name=value" words (for
 * example "bench-hcall rounds=20 count=100000"); a word that is missing or
 * not a decimal number leaves the image's default, so `./lguest run
 * bench-hcall` (command line "bench-hcall") runs a short default.
 *
 * The timed part of a round is bracketed by two console lines,
 * "bench: start PHASE" and "bench: end PHASE": a host takes the time when
 * each NOTIFY reaches it. Everything between two such lines is the work
 * the phase names and nothing else.
 */
#ifndef LGUEST_GUEST_BENCH_H
#define LGUEST_GUEST_BENCH_H

#include "rt.h"

/* The value of "name=<decimal>" on the command line, or def. */
static inline u32 bench_arg(const char *name, u32 def)
{
    unsigned int len = strlen(name);
    const char *p = boot_cmdline;
    while (*p) {
        while (*p == ' ')
            p++;
        const char *word = p;
        while (*p && *p != ' ')
            p++;
        if ((unsigned int)(p - word) > len && word[len] == '=' && memcmp(word, name, len) == 0) {
            u32 value = 0;
            const char *d = word + len + 1;
            if (d == p)
                return def;
            for (; d < p; d++) {
                if (*d < '0' || *d > '9' || value > 400000000u)
                    return def;
                value = value * 10 + (u32)(*d - '0');
            }
            return value;
        }
    }
    return def;
}

static inline void bench_start(const char *phase)
{
    say("bench: start %s", phase);
}

static inline void bench_end(const char *phase)
{
    say("bench: end %s", phase);
}

#endif
