/* eiofs.c -- an LD_PRELOAD shim that makes writes and fsyncs fail, for tests of a failing
 * disk (tests/recovery/test_disk_errors.py).
 *
 * Loaded into a twopc process with
 *
 *     LD_PRELOAD=build/tests/tools/libeiofs.so EIOFS_MATCH=votes.log \
 *         EIOFS_CONTROL=/tmp/x/eiofs.ctl twopc-replica ...
 *
 * it wraps write, pwrite, pwrite64, writev, fsync and fdatasync. A call on a descriptor
 * whose path (/proc/self/fd/N) contains EIOFS_MATCH consults the control file, read afresh
 * on every call so a test switches faults at run time by rewriting it:
 *
 *     (absent or empty)  everything passes through
 *     write EIO          every write fails with EIO, after a short write of half the
 *                        buffer (a torn record, as a real failing disk can leave)
 *     write ENOSPC       the same with ENOSPC
 *     fsync EIO          every fsync/fdatasync fails with EIO (writes succeed)
 *     all ENOSPC         both
 *
 * The first word is the operation (write, fsync, all), the second the errno name (EIO,
 * ENOSPC). Descriptors that do not match, and everything else the process does, are left
 * alone. A test tool, never linked into the daemons.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

enum { EIOFS_WRITE = 1, EIOFS_FSYNC = 2 };

/* Which faults apply to fd now: a mask of EIOFS_* and the errno in *err. */
static int faults(int fd, int *err)
{
    const char *match = getenv("EIOFS_MATCH"), *ctl = getenv("EIOFS_CONTROL");
    char link[64], path[4096], buf[64];
    if (!match || !ctl)
        return 0;
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    if (!strstr(path, match))
        return 0;
    int saved = errno;
    int cfd = open(ctl, O_RDONLY | O_CLOEXEC);
    n = cfd < 0 ? 0 : read(cfd, buf, sizeof buf - 1);
    if (cfd >= 0)
        close(cfd);
    errno = saved;
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    int mask = !strncmp(buf, "write", 5)   ? EIOFS_WRITE
               : !strncmp(buf, "fsync", 5) ? EIOFS_FSYNC
               : !strncmp(buf, "all", 3)   ? EIOFS_WRITE | EIOFS_FSYNC
                                           : 0;
    *err = strstr(buf, "ENOSPC") ? ENOSPC : EIO;
    return mask;
}

#define REAL(name, type) ((type)dlsym(RTLD_NEXT, name))

ssize_t write(int fd, const void *p, size_t len)
{
    ssize_t (*real)(int, const void *, size_t) =
        REAL("write", ssize_t (*)(int, const void *, size_t));
    int err;
    if (!(faults(fd, &err) & EIOFS_WRITE))
        return real(fd, p, len);
    if (len > 1)
        return real(fd, p, len / 2); /* short: the caller's next write gets the error */
    errno = err;
    return -1;
}

static ssize_t fail_pwrite(int fd, size_t len, ssize_t (*real)(int, const void *, size_t,
                                                                 off_t),
                           const void *p, off_t off)
{
    int err;
    if (!(faults(fd, &err) & EIOFS_WRITE))
        return real(fd, p, len, off);
    errno = err;
    return -1;
}

ssize_t pwrite(int fd, const void *p, size_t len, off_t off)
{
    return fail_pwrite(fd, len, REAL("pwrite", ssize_t (*)(int, const void *, size_t, off_t)),
                       p, off);
}

ssize_t pwrite64(int fd, const void *p, size_t len, off_t off)
{
    return fail_pwrite(fd, len,
                       REAL("pwrite64", ssize_t (*)(int, const void *, size_t, off_t)), p,
                       off);
}

ssize_t writev(int fd, const struct iovec *iov, int n)
{
    ssize_t (*real)(int, const struct iovec *, int) =
        REAL("writev", ssize_t (*)(int, const struct iovec *, int));
    int err;
    if (!(faults(fd, &err) & EIOFS_WRITE))
        return real(fd, iov, n);
    errno = err;
    return -1;
}

int fsync(int fd)
{
    int (*real)(int) = REAL("fsync", int (*)(int));
    int err;
    if (!(faults(fd, &err) & EIOFS_FSYNC))
        return real(fd);
    errno = err;
    return -1;
}

int fdatasync(int fd)
{
    int (*real)(int) = REAL("fdatasync", int (*)(int));
    int err;
    if (!(faults(fd, &err) & EIOFS_FSYNC))
        return real(fd);
    errno = err;
    return -1;
}
