#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/error.h"

static int log_fd = -1;
static int log_json;
static int log_debug;
static const char *log_prog = "cell";

void cell_log_set_prog(const char *name) { log_prog = name; }

int cell_log_open(const char *path, int json, int debug, struct cell_err *err) {
  log_json = json;
  log_debug = debug;
  if (!path || !*path) return 0;
  log_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (log_fd < 0) return cell_error(err, errno, "open log file %s", path);
  return 0;
}

int cell_log_fd(void) { return log_fd; }

static void json_escape(char *out, size_t n, const char *s) {
  size_t o = 0;
  for (; *s && o + 7 < n; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      out[o++] = '\\';
      out[o++] = (char)c;
    } else if (c == '\n') {
      out[o++] = '\\';
      out[o++] = 'n';
    } else if (c < 0x20) {
      o += (size_t)snprintf(out + o, n - o, "\\u%04x", c);
    } else {
      out[o++] = (char)c;
    }
  }
  out[o] = 0;
}

static const char *level_name[] = {"debug", "info", "warning", "error"};

static void emit(enum cell_log_level lvl, const char *msg) {
  char line[CELL_ERR_MAX * 2 + 128];
  int fd = log_fd >= 0 ? log_fd : -1;
  if (fd < 0) return;
  time_t now = time(NULL);
  struct tm tm;
  gmtime_r(&now, &tm);
  char ts[32];
  strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
  int n;
  if (log_json) {
    char esc[CELL_ERR_MAX * 2];
    json_escape(esc, sizeof esc, msg);
    n = snprintf(line, sizeof line, "{\"level\":\"%s\",\"msg\":\"%s\",\"time\":\"%s\"}\n",
                 level_name[lvl], esc, ts);
  } else {
    n = snprintf(line, sizeof line, "time=\"%s\" level=%s msg=\"%s\"\n", ts, level_name[lvl], msg);
  }
  if (n > 0) {
    if ((size_t)n > sizeof line) n = sizeof line;
    ssize_t w = write(fd, line, (size_t)n);
    (void)w;
  }
}

void cell_log(enum cell_log_level lvl, const char *fmt, ...) {
  if (lvl == CELL_LOG_DEBUG && !log_debug) return;
  char msg[CELL_ERR_MAX];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  /* In json mode the file carries only the error object unless --debug, so
   * that podman can parse a failure's log as one object. */
  if (log_fd >= 0 && (!log_json || log_debug)) emit(lvl, msg);
  if (lvl >= CELL_LOG_WARN || log_debug) {
    if (log_fd < 0 || !log_json) dprintf(2, "%s: %s: %s\n", log_prog, level_name[lvl], msg);
  }
}

void cell_log_fatal(const char *msg) {
  emit(CELL_LOG_ERROR, msg);
  dprintf(2, "%s: %s\n", log_prog, msg);
}
