/* version.h - CELL_VERSION and CELL_COMMIT for --version.  The build
 * force-includes build/version.h (from VERSION and git); these are only the
 * fallbacks for a compile without it. */
#ifndef CELL_LIB_VERSION_H
#define CELL_LIB_VERSION_H

#ifndef CELL_VERSION
#define CELL_VERSION "unknown"
#endif
#ifndef CELL_COMMIT
#define CELL_COMMIT "unknown"
#endif

#endif
