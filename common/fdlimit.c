/* fdlimit.c -- RLIMIT_NOFILE raised toward maxclients + FDLIMIT_RESERVED (fdlimit.h).
 *
 * As Redis: try the whole limit first, then step down 16 at a time until setrlimit accepts
 * (an unprivileged process may raise its soft limit up to the hard one only); if what it got
 * is still short, maxclients shrinks to fit, with Redis's three warning lines.
 */
#include "fdlimit.h"

#include <errno.h>
#include <string.h>
#include <sys/resource.h>

#include "log.h"

long long fdlimit_adjust(long long maxclients)
{
    rlim_t want = (rlim_t)maxclients + FDLIMIT_RESERVED;
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) < 0) {
        LOG_WARNING("Unable to obtain the current NOFILE limit (%s), assuming 1024 and "
                    "setting the max clients configuration accordingly.", strerror(errno));
        return maxclients < 1024 - FDLIMIT_RESERVED ? maxclients : 1024 - FDLIMIT_RESERVED;
    }
    rlim_t old = lim.rlim_cur, best = want;
    if (old >= want)
        return maxclients;
    int error = 0;
    for (; best > old; best = best > 16 ? best - 16 : old) {
        struct rlimit n = { best, lim.rlim_max > best ? lim.rlim_max : best };
        if (setrlimit(RLIMIT_NOFILE, &n) == 0)
            break;
        error = errno;
    }
    if (best < old)
        best = old;
    if (best >= want) {
        LOG_NOTICE("Increased maximum number of open files to %llu (it was originally set to "
                   "%llu).", (unsigned long long)want, (unsigned long long)old);
        return maxclients;
    }
    if (best <= FDLIMIT_RESERVED) {
        LOG_WARNING("Your current 'ulimit -n' of %llu is not enough for the server to start. "
                    "Please increase your open file limit to at least %llu. Exiting.",
                    (unsigned long long)old, (unsigned long long)want);
        return -1;
    }
    long long lowered = (long long)best - FDLIMIT_RESERVED;
    LOG_WARNING("You requested maxclients of %lld requiring at least %llu max file "
                "descriptors.", maxclients, (unsigned long long)want);
    LOG_WARNING("Server can't set maximum open files to %llu because of OS error: %s.",
                (unsigned long long)want, strerror(error ? error : EPERM));
    LOG_WARNING("Current maximum open files is %llu. maxclients has been reduced to %lld to "
                "compensate for low ulimit. If you need higher maxclients increase "
                "'ulimit -n'.", (unsigned long long)best, lowered);
    return lowered;
}
