/* mountinfo.h - one parser for /proc/PID/mountinfo lines (proc(5)):
 *
 *   36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
 *   (1)(2)(3)   (4)   (5)      (6)      (7)   (8) (9)    (10)         (11)
 *
 * The kernel escapes space, tab, newline and backslash in root, mount point
 * and source as \040 \011 \012 \134; the parser undoes them. */
#ifndef CELL_MOUNTINFO_H
#define CELL_MOUNTINFO_H

struct cell_mountinfo {
  unsigned id, parent, major, minor;
  char *root;     /* (4) unescaped */
  char *point;    /* (5) unescaped */
  char *opts;     /* (6) per-mount options */
  char *optional; /* (7) "shared:1 master:2" or "" */
  char *fstype;   /* (9) */
  char *source;   /* (10) unescaped */
  char *super;    /* (11) per-superblock options */
};

/* Undo the octal escapes (\ooo, first digit 0-3) in place. */
void cell_mountinfo_unescape(char *s);

/* Parse one line in place (line is modified; the fields point into it; a
 * trailing newline is dropped). 0, or -1 with errno EINVAL when the line is
 * malformed (too few fields, no " - " separator, bad numbers). */
int cell_mountinfo_parse(char *line, struct cell_mountinfo *m);

#endif
