/* glob.c -- Redis's glob matcher (util.c's stringmatchlen), shared by the replica's KEYS and
 * SCAN MATCH and the coordinator's pub/sub patterns (PSUBSCRIBE, PUBSUB CHANNELS).
 *
 * A pattern is walked element by element against the string (glob_step); '*' tries the
 * rest of the pattern at every later position (glob_star), with Redis's two protections:
 * once a '*' has failed at every position, longer matches of an earlier '*' cannot help
 * (skip_longer), and more than GLOB_MAX_NESTING nested '*' fail the match.
 */
#include "glob.h"

#define GLOB_NEXT (-1)
#define GLOB_MAX_NESTING 1000 /* Redis's protection against abusive patterns */

struct glob {
    const char *p, *s;
    long pl, sl;
    int *skip_longer; /* a '*' failed everywhere: longer matches of earlier '*' can't help */
    int nesting;
};

static int glob_impl(struct glob *g);

static int in_range(char lo, char hi, char c)
{
    /* Compared as signed chars, as Redis's int conversions of char do on x86. */
    int a = (signed char)lo, b = (signed char)hi, x = (signed char)c;
    if (a > b) {
        int t = a;
        a = b;
        b = t;
    }
    return x >= a && x <= b;
}

/* '*' at g->p: tries the rest of the pattern at every position of the string. */
static int glob_star(struct glob *g)
{
    while (g->pl && g->p[1] == '*')
        g->p++, g->pl--;
    if (g->pl == 1)
        return 1;
    for (; g->sl; g->s++, g->sl--) {
        struct glob sub = { g->p + 1, g->s, g->pl - 1, g->sl, g->skip_longer, g->nesting + 1 };
        if (glob_impl(&sub))
            return 1;
        if (*g->skip_longer)
            return 0;
    }
    *g->skip_longer = 1;
    return 0;
}

/* '[' at g->p: whether g->s[0] is in the class. Leaves g->p on the class's last byte (an
 * unterminated class ends with the pattern). */
static int glob_class(struct glob *g)
{
    g->p++, g->pl--;
    int negate = g->p[0] == '^', match = 0;
    if (negate)
        g->p++, g->pl--;
    for (;;) {
        if (g->p[0] == '\\' && g->pl >= 2) {
            g->p++, g->pl--;
            match |= g->p[0] == g->s[0];
        } else if (g->p[0] == ']') {
            break;
        } else if (g->pl == 0) {
            g->p--, g->pl++;
            break;
        } else if (g->pl >= 3 && g->p[1] == '-') {
            match |= in_range(g->p[0], g->p[2], g->s[0]);
            g->p += 2, g->pl -= 2;
        } else {
            match |= g->p[0] == g->s[0];
        }
        g->p++, g->pl--;
    }
    return negate ? !match : match;
}

/* One pattern element against g->s[0]: 0 or 1 when that decides the match, else
 * GLOB_NEXT with the string consumed. */
static int glob_step(struct glob *g)
{
    switch (g->p[0]) {
    case '*':
        return glob_star(g);
    case '?':
        break;
    case '[':
        if (!glob_class(g))
            return 0;
        break;
    case '\\':
        if (g->pl >= 2)
            g->p++, g->pl--;
        /* fall through */
    default:
        if (g->p[0] != g->s[0])
            return 0;
        break;
    }
    g->s++, g->sl--;
    return GLOB_NEXT;
}

static int glob_impl(struct glob *g)
{
    if (g->nesting > GLOB_MAX_NESTING)
        return 0;
    while (g->pl && g->sl) {
        int step = glob_step(g);
        if (step != GLOB_NEXT)
            return step;
        g->p++, g->pl--;
        if (g->sl == 0) {
            while (g->p[0] == '*')
                g->p++, g->pl--;
            break;
        }
    }
    return g->pl == 0 && g->sl == 0;
}

int glob_match(const char *p, size_t plen, const char *s, size_t slen)
{
    int skip_longer = 0;
    struct glob g = { p, s, (long)plen, (long)slen, &skip_longer, 0 };
    return glob_impl(&g);
}
