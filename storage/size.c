/* size.c - "10G"-style sizes for --disk and disk=. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "storage/storage.h"

static int suffix_shift(const char *s, int *shift) {
  static const struct { const char *names[4]; int shift; } units[] = {
      {{"", "b", NULL, NULL}, 0},
      {{"k", "kb", "kib", NULL}, 10},
      {{"m", "mb", "mib", NULL}, 20},
      {{"g", "gb", "gib", NULL}, 30},
      {{"t", "tb", "tib", NULL}, 40},
  };
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    for (int j = 0; j < 4 && units[i].names[j]; j++)
      if (strcasecmp(s, units[i].names[j]) == 0) {
        *shift = units[i].shift;
        return 0;
      }
  return -1;
}

int storage_parse_size(const char *s, const char *what, uint64_t *out, struct cell_err *err) {
  if (!s || !*s) return cell_error(err, 0, "%s: empty size (want e.g. 512M, 10G)", what);
  const char *p = s;
  uint64_t whole = 0, frac = 0, frac_div = 1;
  if (!isdigit((unsigned char)*p)) return cell_error(err, 0, "%s: '%s' is not a size (want e.g. 512M, 10G)", what, s);
  for (; isdigit((unsigned char)*p); p++) {
    if (whole > (UINT64_MAX - 9) / 10) return cell_error(err, 0, "%s: size '%s' is too large", what, s);
    whole = whole * 10 + (uint64_t)(*p - '0');
  }
  if (*p == '.') {
    p++;
    if (!isdigit((unsigned char)*p)) return cell_error(err, 0, "%s: '%s' is not a size (want e.g. 1.5G)", what, s);
    for (; isdigit((unsigned char)*p); p++)
      if (frac_div < 1000000000ULL) {
        frac = frac * 10 + (uint64_t)(*p - '0');
        frac_div *= 10;
      }
  }
  int shift;
  if (suffix_shift(p, &shift) < 0)
    return cell_error(err, 0, "%s: unknown unit '%s' in '%s' (use K, M, G or T)", what, p, s);
  if (shift < 64 && whole > (UINT64_MAX >> shift)) return cell_error(err, 0, "%s: size '%s' is too large", what, s);
  uint64_t n = whole << shift;
  uint64_t f = (uint64_t)(((unsigned __int128)frac << shift) / frac_div);
  if (n + f < n) return cell_error(err, 0, "%s: size '%s' is too large", what, s);
  *out = n + f;
  return 0;
}

const char *storage_format_size(uint64_t n, char *buf, size_t len) {
  static const char units[] = "KMGT";
  int u = -1;
  uint64_t div = 1;
  while (u < 3 && n >= div * 1024) {
    div *= 1024;
    u++;
  }
  if (u < 0) snprintf(buf, len, "%" PRIu64, n);
  else if (n % div == 0) snprintf(buf, len, "%" PRIu64 "%c", n / div, units[u]);
  else snprintf(buf, len, "%.1f%c", (double)n / (double)div, units[u]);
  return buf;
}
