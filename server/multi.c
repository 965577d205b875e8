/* multi.c -- MULTI / EXEC / DISCARD / WATCH / UNWATCH (being written). */
