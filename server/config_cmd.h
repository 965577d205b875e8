/* config_cmd.h -- the CONFIG command: GET, SET, RESETSTAT, REWRITE, HELP.
 *
 * The values and their checks are settings.c's; this file is the command that shows and
 * changes them, with Redis 7's replies and error texts: "Unknown option or number of
 * arguments for CONFIG SET - '%s'", "CONFIG SET failed (possibly related to argument
 * '%s') - <reason>". CONFIG SET takes several name/value pairs and is all-or-nothing:
 * every value is checked before any is stored. RESETSTAT clears INFO's counters
 * (stats.h); REWRITE answers that there is no config file.
 */
#ifndef TWOPC_CONFIG_CMD_H
#define TWOPC_CONFIG_CMD_H

/* Registers CONFIG with the command registry. Returns 0, or -1 when out of memory. */
int config_cmd_init(void);

#endif
