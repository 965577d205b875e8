/* resp_parser.c -- incremental parser for Redis requests (multibulk and inline).
 *
 * Feed it bytes in any split; it returns one complete request at a time, with the same
 * result as Redis 7.0's processMultibulkBuffer / processInlineBuffer would give for the
 * same bytes. The parser copies everything it needs, so the caller may drop its buffer
 * as soon as resp_parser_feed returns. See resp_parser.h for the calling loop.
 *
 * States (one request at a time; the arrows are the only transitions):
 *
 *   START -'*'-> COUNT -n > 0-> BULK_HDR -len ok-> BULK_DATA -last arg-> START (RESP_OK)
 *     |            |               ^                   |
 *     |            +-n <= 0-> START +-----more args-----+
 *     +-other byte-> INLINE -'\n'-> START (RESP_OK if the line held arguments)
 *
 *   Any state --(protocol error / out of memory)--> ERROR, left only by resp_parser_reset.
 *
 *   from       to         done by          when
 *   START      COUNT      step_start       first byte of a request is '*'
 *   START      INLINE     step_start       any other first byte
 *   COUNT      BULK_HDR   step_count       "*<n>\r?" with 0 < n <= max_multibulk
 *   COUNT      START      step_count       n <= 0: an empty request, skipped
 *   BULK_HDR   BULK_DATA  step_bulk_header "$<len>\r?" with 0 <= len <= max_bulk
 *   BULK_DATA  BULK_HDR   step_bulk_data   len bytes and 2 trailer bytes read, args left
 *   BULK_DATA  START      step_bulk_data   ... and that was the last argument
 *   INLINE     START      step_inline      a '\n' ended the line
 *
 * Invariants (checked by assert_parser_state):
 *   1. line_len <= max_inline: a partial line never exceeds the limit, and line_cr is
 *      set only while a '\r'-terminated line waits for the byte after its '\r'.
 *   2. In START and INLINE no argument is half built: bulk_got == 0.
 *   3. In BULK_HDR and BULK_DATA, mb_left > 0: at least one argument is still due.
 *   4. In BULK_DATA, bulk_got <= bulk_len + 2 and the slot argc can hold
 *      min(bulk_got, bulk_len) + 1 bytes.
 *
 * Compatibility notes, each deliberate:
 *   - Like Redis, a count or bulk-length line ends at its first '\r', and whatever byte
 *     follows is taken as the '\n' without checking; a bulk's 2 trailing bytes are skipped
 *     unchecked too.
 *   - A bulk header not starting with '$' is refused as soon as its first byte arrives
 *     (Redis waits for the end of the line), so that error never depends on the split.
 *   - The line limits count bytes from the start of the line: a line is too big when its
 *     first max_inline + 1 bytes hold no terminator, whatever the split (Redis's check
 *     depends on how much one read() returned).
 *   - Inline lines are split as Redis's sdssplitargs does on a C string: a NUL byte ends
 *     the line's arguments.
 */
#include "resp_parser.h"

#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Largest buffer allocated for a bulk argument before its bytes arrive. A client may
 * announce $536870912 and send nothing: we commit 16 MB, then grow as data comes. */
#define RESP_PREALLOC_MAX ((size_t)16 * 1024 * 1024)

/* Argument buffers bigger than this are freed once their request has been handed out,
 * so one large SET does not pin memory for the life of the connection. 32 KB is
 * Redis's PROTO_MBULK_BIG_ARG, where it too stops sharing the query buffer. */
#define RESP_KEEP_MAX ((size_t)32 * 1024)

/* Argument slots kept between requests; slots beyond are freed after a huge request. */
#define RESP_KEEP_SLOTS 1024

/* Redis's LONG_STR_SIZE: string2ll refuses numbers of this many characters or more. */
#define RESP_LONG_STR_SIZE 21

enum parser_state {
    PS_START,     /* between requests */
    PS_COUNT,     /* reading "*<count>\r\n" */
    PS_BULK_HDR,  /* reading "$<len>\r\n" */
    PS_BULK_DATA, /* copying <len> bytes, then skipping 2 */
    PS_INLINE,    /* reading an inline line up to '\n' */
    PS_ERROR,     /* after a protocol error, until reset */
    PS_MAX
};

/* What one step of the state machine reports to resp_parser_feed. */
enum step_rc { STEP_CONTINUE, STEP_DONE, STEP_ERR };

/* What line_read found. */
enum line_rc { LINE_MORE, LINE_DONE, LINE_LONG, LINE_NOMEM };

struct resp_parser {
    struct resp_limits lim;
    enum parser_state state;
    int have_req;        /* req holds a request handed out by the last RESP_OK */
    struct resp_request req;

    /* Argument slots: bufs[i] is slot i's own buffer of caps[i] bytes. For multibulk
     * requests req.argv[i] == bufs[i]; inline arguments point into line instead. */
    char **bufs;
    size_t *caps;
    int slots;           /* length of req.argv, req.lens, bufs, caps */

    long long mb_left;   /* arguments still to read in this multibulk request */
    size_t bulk_len;     /* announced length of the argument being read */
    size_t bulk_got;     /* bytes of it read so far, counting the 2 trailer bytes */

    char *line;          /* a line split across feeds; also holds split inline args */
    size_t line_len;
    size_t line_cap;
    int line_cr;         /* the line's '\r' was seen; the byte after it is still due */
    int unauth;          /* Redis's limits before AUTH (resp_parser_set_unauthenticated) */

    char err[128];
};

static void assert_parser_state(const struct resp_parser *p)
{
    assert(p->state < PS_MAX);
    assert(p->line_len <= p->lim.max_inline);
    assert(!p->line_cr || p->state == PS_COUNT || p->state == PS_BULK_HDR);
    if (p->state == PS_START || p->state == PS_INLINE)
        assert(p->bulk_got == 0);
    if (p->state == PS_BULK_HDR || p->state == PS_BULK_DATA)
        assert(p->mb_left > 0);
    if (p->state == PS_BULK_DATA) {
        assert(p->req.argc < p->slots && p->bulk_got <= p->bulk_len + 2);
        assert(p->caps[p->req.argc] > (p->bulk_got < p->bulk_len ? p->bulk_got : p->bulk_len));
    }
    (void)p;
}

static enum step_rc fail(struct resp_parser *p, const char *msg)
{
    snprintf(p->err, sizeof(p->err), "%s", msg);
    p->state = PS_ERROR;
    return STEP_ERR;
}

/* Redis's "expected '$', got '%c'": CR and LF are shown as spaces, as addReplyErrorFormat
 * does, and a NUL ends the text where Redis's sdscat would. */
static enum step_rc fail_expected_dollar(struct resp_parser *p, char got)
{
    if (got == '\r' || got == '\n')
        got = ' ';
    snprintf(p->err, sizeof(p->err), "ERR Protocol error: expected '$', got '%c'", got);
    p->state = PS_ERROR;
    return STEP_ERR;
}

/* Redis's string2ll: optional '-', no '+', no leading zeros, no spaces, fits a long long,
 * fewer than 21 characters. Returns 1 and sets *out, or 0. */
static int parse_ll(const char *s, size_t n, long long *out)
{
    size_t i = 0;
    int neg = 0;
    unsigned long long v = 0;

    if (n == 0 || n >= RESP_LONG_STR_SIZE)
        return 0;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return 1;
    }
    if (s[0] == '-') {
        neg = 1;
        i++;
    }
    if (i == n || s[i] < '1' || s[i] > '9')
        return 0;
    for (; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (d > 9 || v > (ULLONG_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    if (neg && v > (unsigned long long)LLONG_MAX + 1)
        return 0;
    if (!neg && v > (unsigned long long)LLONG_MAX)
        return 0;
    *out = neg ? -(long long)(v - 1) - 1 : (long long)v;
    return 1;
}

/* Makes the line buffer hold at least need bytes. Returns 0, or -1 when out of memory. */
static int line_reserve(struct resp_parser *p, size_t need)
{
    size_t cap = p->line_cap ? p->line_cap : 64;
    char *nl;

    if (need <= p->line_cap)
        return 0;
    while (cap < need)
        cap *= 2;
    nl = realloc(p->line, cap);
    if (nl == NULL)
        return -1;
    p->line = nl;
    p->line_cap = cap;
    return 0;
}

static int line_append(struct resp_parser *p, const char *s, size_t n)
{
    if (line_reserve(p, p->line_len + n + 1) < 0)
        return -1;
    memcpy(p->line + p->line_len, s, n);
    p->line_len += n;
    return 0;
}

/* Hands out the line accumulated in p->line and clears the partial-line state. */
static enum line_rc finish_line(struct resp_parser *p, const char **out, size_t *out_len)
{
    *out = p->line;
    *out_len = p->line_len;
    p->line_len = 0;
    return LINE_DONE;
}

/* Looks for the end of the line that starts, or continues, at buf[0..len), len > 0.
 * The line ends at the first byte term; with skip_after, the byte after term belongs to
 * the terminator too (Redis takes any byte after '\r' for the '\n').
 * LINE_DONE: *out and *out_len give the line without its terminator, pointing either into buf
 *   or into p->line (valid until the line buffer is next used); *used counts the bytes
 *   of buf consumed, terminator included. The partial-line state is cleared.
 * LINE_MORE: all len bytes were consumed into the line buffer (*used = len).
 * LINE_LONG: the line's first max_inline + 1 bytes hold no term.
 * LINE_NOMEM: the line buffer could not grow. */
static enum line_rc line_read(struct resp_parser *p, const char *buf, size_t len, char term,
                              int skip_after, const char **out, size_t *out_len, size_t *used)
{
    size_t room = p->lim.max_inline + 1 - p->line_len;
    const char *t;
    size_t n;

    if (p->line_cr) {
        p->line_cr = 0;
        *used = 1;
        return finish_line(p, out, out_len);
    }
    t = memchr(buf, term, len < room ? len : room);
    if (t == NULL) {
        if (len >= room)
            return LINE_LONG;
        *used = len;
        return line_append(p, buf, len) < 0 ? LINE_NOMEM : LINE_MORE;
    }
    n = (size_t)(t - buf);
    *used = n + 1 + (skip_after ? 1 : 0);
    if (*used > len) {
        *used = len;
        p->line_cr = 1;
        return line_append(p, buf, n) < 0 ? LINE_NOMEM : LINE_MORE;
    }
    if (p->line_len == 0) {
        *out = buf; /* the whole line is in buf: the fast path, no copy */
        *out_len = n;
        return LINE_DONE;
    }
    if (line_append(p, buf, n) < 0)
        return LINE_NOMEM;
    return finish_line(p, out, out_len);
}

/* Makes room for slot i (argv, lens, bufs, caps). Returns 0, or -1 when out of memory. */
static int slots_reserve(struct resp_parser *p, int i)
{
    int n = p->slots ? p->slots : 8;
    void *a, *b, *c, *d;

    if (i < p->slots)
        return 0;
    while (n <= i)
        n = n > INT_MAX / 2 ? INT_MAX : n * 2;
    a = realloc(p->req.argv, (size_t)n * sizeof(*p->req.argv));
    if (a != NULL)
        p->req.argv = a;
    b = realloc(p->req.lens, (size_t)n * sizeof(*p->req.lens));
    if (b != NULL)
        p->req.lens = b;
    c = realloc(p->bufs, (size_t)n * sizeof(*p->bufs));
    if (c != NULL)
        p->bufs = c;
    d = realloc(p->caps, (size_t)n * sizeof(*p->caps));
    if (d != NULL)
        p->caps = d;
    if (a == NULL || b == NULL || c == NULL || d == NULL)
        return -1;
    memset(p->bufs + p->slots, 0, (size_t)(n - p->slots) * sizeof(*p->bufs));
    memset(p->caps + p->slots, 0, (size_t)(n - p->slots) * sizeof(*p->caps));
    p->slots = n;
    return 0;
}

/* Makes slot i's buffer hold at least need bytes, doubling but never past limit
 * (need <= limit). Returns 0, or -1 when out of memory. */
static int slot_reserve(struct resp_parser *p, int i, size_t need, size_t limit)
{
    size_t cap = p->caps[i] * 2;
    char *nb;

    if (need <= p->caps[i])
        return 0;
    if (cap > limit)
        cap = limit;
    if (cap < need)
        cap = need;
    nb = realloc(p->bufs[i], cap);
    if (nb == NULL)
        return -1;
    p->bufs[i] = nb;
    p->caps[i] = cap;
    return 0;
}

/* Frees the slots past RESP_KEEP_SLOTS and shrinks the arrays back. */
static void shrink_slots(struct resp_parser *p)
{
    size_t n = RESP_KEEP_SLOTS;
    void *a;
    int i;

    for (i = RESP_KEEP_SLOTS; i < p->slots; i++)
        free(p->bufs[i]);
    p->slots = RESP_KEEP_SLOTS;
    /* A failed shrink keeps the bigger array, which is harmless. */
    if ((a = realloc(p->req.argv, n * sizeof(*p->req.argv))) != NULL)
        p->req.argv = a;
    if ((a = realloc(p->req.lens, n * sizeof(*p->req.lens))) != NULL)
        p->req.lens = a;
    if ((a = realloc(p->bufs, n * sizeof(*p->bufs))) != NULL)
        p->bufs = a;
    if ((a = realloc(p->caps, n * sizeof(*p->caps))) != NULL)
        p->caps = a;
}

/* Frees what the last request made big: argument buffers over RESP_KEEP_MAX and slots
 * past RESP_KEEP_SLOTS. Slot argc is checked too, since a request cut short by an error
 * or a reset may have grown it. Called before a new request starts, never while one is
 * handed out. */
static void release_request(struct resp_parser *p)
{
    int i;

    for (i = 0; i < p->slots && i <= p->req.argc; i++) {
        if (p->caps[i] <= RESP_KEEP_MAX)
            continue;
        free(p->bufs[i]);
        p->bufs[i] = NULL;
        p->caps[i] = 0;
    }
    if (p->slots > RESP_KEEP_SLOTS)
        shrink_slots(p);
    p->req.argc = 0;
    p->have_req = 0;
}

void resp_parser_release(struct resp_parser *p)
{
    if (p->have_req)
        release_request(p);
}

static enum step_rc step_start(struct resp_parser *p, const char *buf)
{
    p->state = buf[0] == '*' ? PS_COUNT : PS_INLINE;
    return STEP_CONTINUE;
}

static enum step_rc line_failure(struct resp_parser *p, enum line_rc rc, const char *too_big)
{
    return fail(p, rc == LINE_LONG ? too_big : "ERR out of memory");
}

/* "*<count>\r\n": sets up a multibulk request, or skips an empty one. */
static enum step_rc step_count(struct resp_parser *p, const char *buf, size_t len,
                               size_t *used)
{
    const char *line = NULL;
    size_t n = 0;
    long long ll;
    enum line_rc rc = line_read(p, buf, len, '\r', 1, &line, &n, used);

    if (rc == LINE_MORE)
        return STEP_CONTINUE;
    if (rc != LINE_DONE)
        return line_failure(p, rc, "ERR Protocol error: too big mbulk count string");
    if (!parse_ll(line + 1, n - 1, &ll) || ll > p->lim.max_multibulk)
        return fail(p, "ERR Protocol error: invalid multibulk length");
    if (p->unauth && ll > RESP_UNAUTH_MAX_MULTIBULK)
        return fail(p, "ERR Protocol error: unauthenticated multibulk length");
    if (ll <= 0) {
        p->state = PS_START;
        return STEP_CONTINUE;
    }
    p->mb_left = ll;
    p->state = PS_BULK_HDR;
    return STEP_CONTINUE;
}

/* "$<len>\r\n": validates the length and readies slot argc for the bytes. */
static enum step_rc step_bulk_header(struct resp_parser *p, const char *buf, size_t len,
                                     size_t *used)
{
    const char *line = NULL;
    size_t n = 0, pre;
    long long ll;
    enum line_rc rc;

    if (p->line_len == 0 && !p->line_cr && buf[0] != '$')
        return fail_expected_dollar(p, buf[0]);
    rc = line_read(p, buf, len, '\r', 1, &line, &n, used);
    if (rc == LINE_MORE)
        return STEP_CONTINUE;
    if (rc != LINE_DONE)
        return line_failure(p, rc, "ERR Protocol error: too big bulk count string");
    if (!parse_ll(line + 1, n - 1, &ll) || ll < 0 ||
        (unsigned long long)ll > p->lim.max_bulk || (unsigned long long)ll > SIZE_MAX - 2)
        return fail(p, "ERR Protocol error: invalid bulk length");
    if (p->unauth && ll > RESP_UNAUTH_MAX_BULK)
        return fail(p, "ERR Protocol error: unauthenticated bulk length");
    p->bulk_len = (size_t)ll;
    p->bulk_got = 0;
    pre = p->bulk_len < RESP_PREALLOC_MAX ? p->bulk_len : RESP_PREALLOC_MAX;
    if (slots_reserve(p, p->req.argc) < 0 ||
        slot_reserve(p, p->req.argc, pre + 1, p->bulk_len + 1) < 0)
        return fail(p, "ERR out of memory");
    p->state = PS_BULK_DATA;
    return STEP_CONTINUE;
}

/* The bulk's bytes, then its 2 trailer bytes. Finishes the request after the last one. */
static enum step_rc step_bulk_data(struct resp_parser *p, const char *buf, size_t len,
                                   size_t *used)
{
    int i = p->req.argc;
    size_t pos = 0, n;

    if (p->bulk_got < p->bulk_len) {
        n = p->bulk_len - p->bulk_got;
        n = n < len ? n : len;
        if (slot_reserve(p, i, p->bulk_got + n + 1, p->bulk_len + 1) < 0)
            return fail(p, "ERR out of memory");
        memcpy(p->bufs[i] + p->bulk_got, buf, n);
        p->bulk_got += n;
        pos = n;
    }
    n = p->bulk_len + 2 - p->bulk_got;
    n = n < len - pos ? n : len - pos;
    p->bulk_got += n;
    *used = pos + n;
    if (p->bulk_got < p->bulk_len + 2)
        return STEP_CONTINUE;

    p->bufs[i][p->bulk_len] = '\0';
    p->req.argv[i] = p->bufs[i];
    p->req.lens[i] = p->bulk_len;
    p->req.argc++;
    p->bulk_got = 0;
    if (--p->mb_left > 0) {
        p->state = PS_BULK_HDR;
        return STEP_CONTINUE;
    }
    p->state = PS_START;
    return STEP_DONE;
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* One byte (or escape) inside double quotes, as sdssplitargs reads it. Writes at most one
 * byte at **out. Returns 0 to go on, 1 at the closing quote, -1 on unbalanced quotes. */
static int dquote_step(char **in, const char *end, char **out)
{
    char *s = *in;
    static const char from[] = "nrtba", to[] = "\n\r\t\b\a";
    const char *esc;

    if (s == end)
        return -1;
    if (s[0] == '"') {
        *in = s + 1;
        return s + 1 < end && !is_blank(s[1]) ? -1 : 1;
    }
    if (s[0] != '\\' || s + 1 == end) {
        *(*out)++ = s[0];
        *in = s + 1;
        return 0;
    }
    if (s + 3 < end && s[1] == 'x' && hex_value(s[2]) >= 0 && hex_value(s[3]) >= 0) {
        *(*out)++ = (char)(hex_value(s[2]) * 16 + hex_value(s[3]));
        *in = s + 4;
        return 0;
    }
    esc = s[1] != '\0' ? strchr(from, s[1]) : NULL;
    *(*out)++ = esc ? to[esc - from] : s[1];
    *in = s + 2;
    return 0;
}

/* One byte inside single quotes: only \' is an escape. Same returns as dquote_step. */
static int squote_step(char **in, const char *end, char **out)
{
    char *s = *in;

    if (s == end)
        return -1;
    if (s[0] == '\'') {
        *in = s + 1;
        return s + 1 < end && !is_blank(s[1]) ? -1 : 1;
    }
    if (s[0] == '\\' && s + 1 < end && s[1] == '\'') {
        *(*out)++ = '\'';
        *in = s + 2;
        return 0;
    }
    *(*out)++ = s[0];
    *in = s + 1;
    return 0;
}

/* Decodes the token at *in (not blank) in place, writing from *in on; the decoded form
 * is never longer, so the writer never overtakes the reader. Advances *in past the token
 * and its separator. Returns the token's length, or -1 on unbalanced quotes. */
static long split_token(char **in, const char *end)
{
    char *start = *in, *out = *in;
    int quote = 0, rc = 0;

    while (rc == 0) {
        if (quote == '"')
            rc = dquote_step(in, end, &out);
        else if (quote == '\'')
            rc = squote_step(in, end, &out);
        else if (*in == end)
            rc = 1;
        else if (**in == ' ' || **in == '\t' || **in == '\n' || **in == '\r')
            rc = 1, ++*in;
        else if (**in == '"' || **in == '\'')
            quote = *(*in)++;
        else
            *out++ = *(*in)++;
    }
    if (rc < 0)
        return -1;
    *out = '\0';
    return (long)(out - start);
}

/* Splits line[0..n) (line[n] writable) into req.argv like sdssplitargs, in place.
 * Returns 0, or -1 on unbalanced quotes or when out of memory (p->err set). */
static int split_inline(struct resp_parser *p, char *line, size_t n)
{
    const char *nul = memchr(line, '\0', n);
    const char *end = nul ? nul : line + n;
    char *in = line, *tok;
    long tlen;

    for (;;) {
        while (in < end && is_blank(*in))
            in++;
        if (in == end)
            return 0;
        tok = in;
        tlen = split_token(&in, end);
        if (tlen < 0) {
            fail(p, "ERR Protocol error: unbalanced quotes in request");
            return -1;
        }
        if (slots_reserve(p, p->req.argc) < 0) {
            fail(p, "ERR out of memory");
            return -1;
        }
        p->req.argv[p->req.argc] = tok;
        p->req.lens[p->req.argc] = (size_t)tlen;
        p->req.argc++;
    }
}

/* An inline request: one line up to '\n', a '\r' before it dropped. */
static enum step_rc step_inline(struct resp_parser *p, const char *buf, size_t len,
                                size_t *used)
{
    const char *line = NULL;
    size_t n = 0;
    enum line_rc rc = line_read(p, buf, len, '\n', 0, &line, &n, used);

    if (rc == LINE_MORE)
        return STEP_CONTINUE;
    if (rc != LINE_DONE)
        return line_failure(p, rc, "ERR Protocol error: too big inline request");
    if (n > 0 && line[n - 1] == '\r')
        n--;
    /* When line is p->line already, its capacity exceeds n and nothing moves. */
    if (line_reserve(p, n + 1) < 0)
        return fail(p, "ERR out of memory");
    if (line != p->line)
        memcpy(p->line, line, n);
    p->line[n] = '\0';
    p->state = PS_START;
    if (split_inline(p, p->line, n) < 0)
        return STEP_ERR;
    return p->req.argc > 0 ? STEP_DONE : STEP_CONTINUE;
}

struct resp_parser *resp_parser_new(const struct resp_limits *lim)
{
    struct resp_parser *p = calloc(1, sizeof(*p));

    if (p == NULL)
        return NULL;
    if (lim != NULL) {
        p->lim = *lim;
    } else {
        p->lim.max_bulk = RESP_DEFAULT_MAX_BULK;
        p->lim.max_multibulk = RESP_DEFAULT_MAX_MULTIBULK;
        p->lim.max_inline = RESP_DEFAULT_MAX_INLINE;
    }
    /* argc is an int, and line_read's room computation needs max_inline + 1. */
    if (p->lim.max_multibulk > INT_MAX)
        p->lim.max_multibulk = INT_MAX;
    if (p->lim.max_inline > SIZE_MAX / 2)
        p->lim.max_inline = SIZE_MAX / 2;
    p->state = PS_START;
    return p;
}

void resp_parser_free(struct resp_parser *p)
{
    int i;

    if (p == NULL)
        return;
    for (i = 0; i < p->slots; i++)
        free(p->bufs[i]);
    free(p->bufs);
    free(p->caps);
    free(p->req.argv);
    free(p->req.lens);
    free(p->line);
    free(p);
}

void resp_parser_reset(struct resp_parser *p)
{
    release_request(p);
    p->state = PS_START;
    p->mb_left = 0;
    p->bulk_len = 0;
    p->bulk_got = 0;
    p->line_len = 0;
    p->line_cr = 0;
    p->err[0] = '\0';
}

static enum step_rc step(struct resp_parser *p, const char *buf, size_t len, size_t *used)
{
    *used = 0;
    switch (p->state) {
    case PS_START:
        return step_start(p, buf);
    case PS_COUNT:
        return step_count(p, buf, len, used);
    case PS_BULK_HDR:
        return step_bulk_header(p, buf, len, used);
    case PS_BULK_DATA:
        return step_bulk_data(p, buf, len, used);
    case PS_INLINE:
        return step_inline(p, buf, len, used);
    default:
        return STEP_ERR;
    }
}

enum resp_status resp_parser_feed(struct resp_parser *p, const char *buf, size_t len,
                                  size_t *consumed)
{
    size_t pos = 0, used;
    enum step_rc rc = STEP_CONTINUE;

    *consumed = 0;
    if (p->state == PS_ERROR)
        return RESP_ERR;
    if (p->have_req)
        release_request(p);
    while (pos < len && rc == STEP_CONTINUE) {
        rc = step(p, buf + pos, len - pos, &used);
        pos += used;
        assert_parser_state(p);
    }
    *consumed = pos;
    if (rc == STEP_ERR)
        return RESP_ERR;
    if (rc == STEP_DONE) {
        p->have_req = 1;
        return RESP_OK;
    }
    return RESP_AGAIN;
}

const struct resp_request *resp_parser_request(const struct resp_parser *p)
{
    return &p->req;
}

const char *resp_parser_error(const struct resp_parser *p)
{
    return p->err;
}

void resp_parser_set_unauthenticated(struct resp_parser *p, int yes)
{
    p->unauth = yes != 0;
}

int resp_parser_pending(const struct resp_parser *p)
{
    return p->state != PS_START && p->state != PS_ERROR;
}
