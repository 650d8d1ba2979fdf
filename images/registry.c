/* registry.c - the OCI distribution API client (pull.h): references,
 * WWW-Authenticate challenges, platform selection in an index, the mirrors
 * config, and manifests and blobs over libcurl (anonymous / bearer-token /
 * Basic auth; blobs streamed to a file with size and sha256 checked on the
 * way, resumed with Range). */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/utsname.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "images/pull.h"
#include "lib/file.h"
#include "lib/strbuf.h"

/* ---- references -------------------------------------------------------- */

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool component_ok(const char *s, size_t n) {
  size_t i = 0;
  if (!n || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1])) return false;
  while (i < n) {
    if (is_lower_alnum(s[i])) {
      i++;
      continue;
    }
    size_t j = i;
    if (s[i] == '.') j++;
    else if (s[i] == '_') j += (i + 1 < n && s[i + 1] == '_') ? 2 : 1;
    else if (s[i] == '-') while (j < n && s[j] == '-') j++;
    else return false;
    if (j >= n || !is_lower_alnum(s[j])) return false;
    i = j;
  }
  return true;
}

static bool domain_ok(const char *s, size_t n) {
  size_t i = 0;
  if (!n) return false;
  if (s[0] == '[') { /* [v6]:port */
    const char *close = memchr(s, ']', n);
    if (!close) return false;
    for (const char *p = s + 1; p < close; p++)
      if (!isxdigit((unsigned char)*p) && *p != ':') return false;
    i = (size_t)(close - s) + 1;
  } else {
    while (i < n && s[i] != ':') {
      if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '-') return false;
      i++;
    }
    if (!i || s[0] == '-' || s[0] == '.') return false;
  }
  if (i == n) return true;
  if (s[i] != ':' || i + 1 == n) return false;
  for (i++; i < n; i++)
    if (!isdigit((unsigned char)s[i])) return false;
  return true;
}

static bool tag_ok(const char *t) {
  size_t n = strlen(t);
  if (!n || n > 128) return false;
  if (!isalnum((unsigned char)t[0]) && t[0] != '_') return false;
  for (size_t i = 1; i < n; i++)
    if (!isalnum((unsigned char)t[i]) && t[i] != '_' && t[i] != '.' && t[i] != '-') return false;
  return true;
}

static int digest_check(const char *ref, const char *d, struct cell_err *err) {
  const char *colon = strchr(d, ':');
  if (!colon) return cell_error(err, 0, "image reference %s: digest '%s' has no algorithm (sha256:HEX)", ref, d);
  if ((size_t)(colon - d) != 6 || strncmp(d, "sha256", 6))
    return cell_error(err, 0, "image reference %s: digest algorithm '%.*s' is not supported (only sha256)", ref,
                      (int)(colon - d), d);
  const char *h = colon + 1;
  size_t n = strlen(h);
  for (size_t i = 0; i < n; i++)
    if (!isxdigit((unsigned char)h[i]) || isupper((unsigned char)h[i]))
      return cell_error(err, 0, "image reference %s: digest '%s' is not lowercase hex", ref, d);
  if (n != 64) return cell_error(err, 0, "image reference %s: sha256 digest has %zu hex digits, not 64", ref, n);
  return 0;
}

static int repo_check(const char *ref, const char *repo, struct cell_err *err) {
  const char *p = repo;
  for (;;) {
    const char *slash = strchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : strlen(p);
    if (!component_ok(p, n)) {
      for (size_t i = 0; i < n; i++)
        if (isupper((unsigned char)p[i]))
          return cell_error(err, 0, "image reference %s: repository name must be lowercase", ref);
      return cell_error(err, 0, "image reference %s: invalid repository component '%.*s'", ref, (int)n, p);
    }
    if (!slash) return 0;
    p = slash + 1;
  }
}

int img_ref_parse(const char *s, struct img_ref *ref, struct cell_err *err) {
  char name[512];
  memset(ref, 0, sizeof *ref);
  if (!s || !*s) return cell_error(err, 0, "image reference is empty");
  if (strlen(s) >= sizeof name) return cell_error(err, 0, "image reference %.64s...: too long", s);
  snprintf(name, sizeof name, "%s", s);
  char *at = strrchr(name, '@');
  if (at) {
    *at = '\0';
    if (digest_check(s, at + 1, err) < 0) return -1;
    snprintf(ref->digest, sizeof ref->digest, "%s", at + 1);
  }
  char *slash = strrchr(name, '/'), *colon = strrchr(name, ':');
  if (colon && (!slash || colon > slash)) {
    *colon = '\0';
    if (!tag_ok(colon + 1)) return cell_error(err, 0, "image reference %s: invalid tag '%s'", s, colon + 1);
    snprintf(ref->tag, sizeof ref->tag, "%s", colon + 1);
  }
  if (!*name) return cell_error(err, 0, "image reference %s: no repository name", s);
  const char *repo = name;
  char *first = strchr(name, '/');
  if (first && (memchr(name, '.', (size_t)(first - name)) || memchr(name, ':', (size_t)(first - name)) ||
                (first - name == 9 && !strncmp(name, "localhost", 9)) || name[0] == '[')) {
    if (!domain_ok(name, (size_t)(first - name)))
      return cell_error(err, 0, "image reference %s: invalid registry '%.*s'", s, (int)(first - name), name);
    snprintf(ref->registry, sizeof ref->registry, "%.*s", (int)(first - name), name);
    repo = first + 1;
  } else {
    snprintf(ref->registry, sizeof ref->registry, "docker.io");
  }
  if (!strcmp(ref->registry, "index.docker.io") || !strcmp(ref->registry, "registry-1.docker.io"))
    snprintf(ref->registry, sizeof ref->registry, "docker.io");
  if (!*repo) return cell_error(err, 0, "image reference %s: no repository name", s);
  if (repo_check(s, repo, err) < 0) return -1;
  bool lib = !strcmp(ref->registry, "docker.io") && !strchr(repo, '/');
  if (strlen(repo) + (lib ? 8 : 0) + strlen(ref->registry) + 1 > 255)
    return cell_error(err, 0, "image reference %s: name longer than 255 characters", s);
  snprintf(ref->repository, sizeof ref->repository, "%s%s", lib ? "library/" : "", repo);
  if (!*ref->tag && !*ref->digest) snprintf(ref->tag, sizeof ref->tag, "latest");
  return 0;
}

const char *img_ref_api_host(const struct img_ref *ref) {
  return strcmp(ref->registry, "docker.io") ? ref->registry : "registry-1.docker.io";
}

void img_ref_familiar(const struct img_ref *ref, char *buf, size_t size) {
  const char *repo = ref->repository;
  bool hub = !strcmp(ref->registry, "docker.io");
  if (hub && !strncmp(repo, "library/", 8)) repo += 8;
  snprintf(buf, size, "%s%s%s%s%s", hub ? "" : ref->registry, hub ? "" : "/", repo,
           *ref->digest ? "@" : ":", *ref->digest ? ref->digest : ref->tag);
}

void img_ref_canonical(const struct img_ref *ref, char *buf, size_t size) {
  snprintf(buf, size, "%s/%s%s%s%s%s", ref->registry, ref->repository, *ref->tag ? ":" : "", ref->tag,
           *ref->digest ? "@" : "", ref->digest);
}

bool img_host_is_local(const char *hp) {
  size_t n = strlen(hp);
  const char *colon = strrchr(hp, ':');
  if (hp[0] == '[') return !strncmp(hp, "[::1]", 5) && (n == 5 || hp[5] == ':');
  size_t hn = colon ? (size_t)(colon - hp) : n;
  if (hn == 9 && !strncmp(hp, "localhost", 9)) return true;
  if (hn >= 4 && !strncmp(hp, "127.", 4)) {
    for (size_t i = 4; i < hn; i++)
      if (!isdigit((unsigned char)hp[i]) && hp[i] != '.') return false;
    return true;
  }
  return false;
}

/* ---- WWW-Authenticate --------------------------------------------------- */

static const char *skip_ws(const char *p) {
  while (*p == ' ' || *p == '\t') p++;
  return p;
}

/* One auth-param value: a token or a quoted string, into out (NUL terminated). */
static const char *param_value(const char *p, char *out, size_t size, bool *toolong) {
  size_t o = 0;
  if (*p == '"') {
    for (p++; *p && *p != '"'; p++) {
      if (*p == '\\' && p[1]) p++;
      if (o + 1 < size) out[o++] = *p;
      else *toolong = true;
    }
    if (*p != '"') return NULL;
    p++;
  } else {
    for (; *p && *p != ',' && *p != ' ' && *p != '\t'; p++) {
      if (o + 1 < size) out[o++] = *p;
      else *toolong = true;
    }
  }
  out[o] = '\0';
  return p;
}

int img_challenge_parse(const char *value, struct img_challenge *c, struct cell_err *err) {
  memset(c, 0, sizeof *c);
  const char *p = skip_ws(value);
  size_t n = 0;
  while (p[n] && p[n] != ' ' && p[n] != '\t' && p[n] != ',') n++;
  if (!n || n >= sizeof c->scheme) return cell_error(err, 0, "WWW-Authenticate '%s': no auth scheme", value);
  memcpy(c->scheme, p, n);
  p = skip_ws(p + n);
  while (*p) {
    char key[64], val[1024];
    size_t k = 0;
    bool toolong = false;
    while (*p == ',' || *p == ' ' || *p == '\t') p++;
    if (!*p) break;
    while (p[k] && p[k] != '=' && p[k] != ',' && p[k] != ' ') k++;
    if (p[k] != '=') break; /* the next challenge's scheme: only the first one is read */
    if (k >= sizeof key) return cell_error(err, 0, "WWW-Authenticate '%s': parameter name too long", value);
    memcpy(key, p, k);
    key[k] = '\0';
    p = param_value(skip_ws(p + k + 1), val, sizeof val, &toolong);
    if (!p) return cell_error(err, 0, "WWW-Authenticate '%s': unterminated quoted value of %s", value, key);
    char *dst = NULL;
    size_t dsize = 0;
    if (!strcasecmp(key, "realm")) dst = c->realm, dsize = sizeof c->realm;
    else if (!strcasecmp(key, "service")) dst = c->service, dsize = sizeof c->service;
    else if (!strcasecmp(key, "scope")) dst = c->scope, dsize = sizeof c->scope;
    if (dst) {
      if (toolong || strlen(val) >= dsize)
        return cell_error(err, 0, "WWW-Authenticate: value of %s too long", key);
      memcpy(dst, val, strlen(val) + 1);
    }
    p = skip_ws(p);
  }
  if (!strcasecmp(c->scheme, "Bearer") && !*c->realm)
    return cell_error(err, 0, "WWW-Authenticate '%s': Bearer challenge without a realm", value);
  return 0;
}

/* ---- platforms ---------------------------------------------------------- */

int img_platform_host(struct img_platform *p, struct cell_err *err) {
  static const struct {
    const char *machine, *arch, *variant;
  } map[] = {{"x86_64", "amd64", ""},  {"aarch64", "arm64", "v8"}, {"armv7l", "arm", "v7"},
             {"armv6l", "arm", "v6"},  {"armv5tel", "arm", "v5"}, {"i686", "386", ""},
             {"i386", "386", ""},      {"ppc64le", "ppc64le", ""}, {"s390x", "s390x", ""},
             {"riscv64", "riscv64", ""}, {"mips64", "mips64le", ""}, {"loongarch64", "loong64", ""}};
  struct utsname u;
  memset(p, 0, sizeof *p);
  if (uname(&u) < 0) return cell_error(err, errno, "uname");
  snprintf(p->os, sizeof p->os, "linux");
  for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
    if (!strcmp(u.machine, map[i].machine)) {
      snprintf(p->arch, sizeof p->arch, "%s", map[i].arch);
      snprintf(p->variant, sizeof p->variant, "%s", map[i].variant);
      return 0;
    }
  snprintf(p->arch, sizeof p->arch, "%s", u.machine);
  return 0;
}

static const char *jstr(const cJSON *o, const char *key) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
  return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int variant_num(const char *v) { return (v && v[0] == 'v') ? atoi(v + 1) : 0; }

int img_index_select(const cJSON *index, const struct img_platform *p, struct cell_err *err) {
  const cJSON *ms = cJSON_GetObjectItemCaseSensitive(index, "manifests"), *m;
  char offered[512] = "";
  int best = -1, best_score = -1, i = -1;
  if (!cJSON_IsArray(ms)) return cell_error(err, 0, "image index: no \"manifests\" array");
  cJSON_ArrayForEach(m, ms) {
    i++;
    const cJSON *pl = cJSON_GetObjectItemCaseSensitive(m, "platform");
    const char *mt = jstr(m, "mediaType"), *os = jstr(pl, "os"), *arch = jstr(pl, "architecture");
    const char *var = jstr(pl, "variant");
    if (!os || !arch || !strcmp(os, "unknown")) continue;
    if (mt && !strstr(mt, "manifest")) continue;
    size_t ol = strlen(offered);
    if (ol + 64 < sizeof offered)
      snprintf(offered + ol, sizeof offered - ol, "%s%s/%s%s%s", ol ? ", " : "", os, arch, var ? "/" : "",
               var ? var : "");
    if (strcmp(os, p->os) || strcmp(arch, p->arch)) continue;
    int score;
    if (!var || !*var || !*p->variant || !strcmp(var, p->variant)) {
      score = 1000 + ((var && *p->variant && !strcmp(var, p->variant)) ? 1 : 0);
    } else if (!strcmp(p->arch, "arm") && variant_num(var) > 0 && variant_num(var) < variant_num(p->variant)) {
      score = variant_num(var); /* an older ARM variant runs here; the newest one wins */
    } else {
      continue;
    }
    if (score > best_score) best = i, best_score = score;
  }
  if (best < 0)
    return cell_error(err, 0, "image index has no manifest for %s/%s%s%s (it has: %s)", p->os, p->arch,
                      *p->variant ? "/" : "", p->variant, *offered ? offered : "none");
  return best;
}

/* ---- mirrors config ----------------------------------------------------- */

static int add_endpoint(struct img_registry_conf *rc, const char *where, const char *hostport, bool insecure,
                        bool mirror, struct cell_err *err) {
  if (rc->n >= IMG_MAX_ENDPOINTS) return cell_error(err, 0, "%s: more than %d mirrors", where, IMG_MAX_ENDPOINTS - 1);
  struct img_endpoint *e = &rc->ep[rc->n];
  const char *scheme = "https://";
  if (!strncmp(hostport, "http://", 7) || !strncmp(hostport, "https://", 8)) {
    scheme = "";
    if (!strncmp(hostport, "http://", 7) && !insecure && !img_host_is_local(hostport + 7))
      return cell_error(err, 0, "%s: mirror %s is plain HTTP; set \"insecure\": true for it", where, hostport);
  } else if (insecure || img_host_is_local(hostport)) {
    scheme = "http://";
  }
  if (!*hostport || (size_t)snprintf(e->base, sizeof e->base, "%s%s", scheme, hostport) >= sizeof e->base)
    return cell_error(err, 0, "%s: mirror '%s' is empty or too long", where, hostport);
  size_t l = strlen(e->base);
  while (l && e->base[l - 1] == '/') e->base[--l] = '\0';
  e->mirror = mirror;
  rc->n++;
  return 0;
}

static int copy_cred(const cJSON *reg, const char *key, char *dst, size_t size, const char *path,
                     const char *registry, struct cell_err *err) {
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(reg, key);
  if (!v) return 0;
  if (!cJSON_IsString(v) || strlen(v->valuestring) >= size)
    return cell_error(err, 0, "%s: registries.%s.%s: not a string (or too long)", path, registry, key);
  memcpy(dst, v->valuestring, strlen(v->valuestring) + 1);
  return 0;
}

int img_registry_conf_load(const char *path, const struct img_ref *ref, bool insecure,
                           struct img_registry_conf *rc, struct cell_err *err) {
  memset(rc, 0, sizeof *rc);
  size_t len;
  cleanup_free char *text = path ? cell_read_fileat(AT_FDCWD, path, &len) : NULL;
  if (!text && path && errno != ENOENT) return cell_error(err, errno, "read %s", path);
  cJSON *json = NULL;
  const cJSON *reg = NULL;
  if (text) {
    json = cJSON_ParseWithLength(text, len);
    if (!json) return cell_error(err, 0, "%s: not valid JSON (near byte %td)", path, cJSON_GetErrorPtr() - text);
    const cJSON *regs = cJSON_GetObjectItemCaseSensitive(json, "registries");
    if (regs && !cJSON_IsObject(regs)) {
      cJSON_Delete(json);
      return cell_error(err, 0, "%s: \"registries\" is not an object", path);
    }
    reg = cJSON_GetObjectItemCaseSensitive(regs, ref->registry);
  }
  int rc_ = 0;
  char where[600];
  snprintf(where, sizeof where, "%s: registries.%s", path ? path : "(none)", ref->registry);
  const cJSON *ins = cJSON_GetObjectItemCaseSensitive(reg, "insecure");
  if (ins && !cJSON_IsBool(ins)) rc_ = cell_error(err, 0, "%s.insecure: not a boolean", where);
  bool reg_insecure = insecure || cJSON_IsTrue(ins);
  const cJSON *mirrors = cJSON_GetObjectItemCaseSensitive(reg, "mirrors"), *m;
  if (!rc_ && mirrors && !cJSON_IsArray(mirrors)) rc_ = cell_error(err, 0, "%s.mirrors: not an array", where);
  if (!rc_ && mirrors) cJSON_ArrayForEach(m, mirrors) {
      if (!cJSON_IsString(m)) {
        rc_ = cell_error(err, 0, "%s.mirrors: an entry is not a string", where);
        break;
      }
      if ((rc_ = add_endpoint(rc, where, m->valuestring, reg_insecure, true, err)) < 0) break;
    }
  if (!rc_) rc_ = copy_cred(reg, "username", rc->username, sizeof rc->username, path, ref->registry, err);
  if (!rc_) rc_ = copy_cred(reg, "password", rc->password, sizeof rc->password, path, ref->registry, err);
  if (!rc_) rc_ = copy_cred(reg, "ca", rc->ca_file, sizeof rc->ca_file, path, ref->registry, err);
  if (!rc_) rc_ = add_endpoint(rc, where, img_ref_api_host(ref), reg_insecure, false, err);
  cJSON_Delete(json);
  return rc_;
}

#define MANIFEST_MAX (4u << 20)
#define ACCEPT_MANIFESTS                                                                             \
  "Accept: application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, " \
  "application/vnd.docker.distribution.manifest.v2+json, "                                          \
  "application/vnd.docker.distribution.manifest.list.v2+json"

struct img_registry {
  CURL *curl;
  char base[300];  /* https://host:port */
  char repo[256];
  char name[600];  /* registry/repo, for errors */
  bool http_ok;    /* plain HTTP allowed (--insecure, localhost) */
  char *auth;      /* "Authorization: ..." header, or NULL */
  char user[256], pass[256];
  char ca_file[1024]; /* verify TLS with this bundle, or "" for the system's */
  char errbuf[CURL_ERROR_SIZE];
};

/* One HTTP exchange: the last response's status and headers, its body to a sink when 2xx. */
struct resp {
  long status;
  char content_type[256];
  char docker_digest[80];
  char www_auth[2048];
  char content_range[128];
  int (*sink)(void *ctx, struct resp *rs, const char *buf, size_t n);
  void *ctx;
  struct strbuf errbody;
  struct cell_err *sink_err;
  bool sink_failed;
};

static void header_copy(char *dst, size_t size, const char *v, size_t n) {
  while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' ')) n--;
  while (n && (*v == ' ' || *v == '\t')) v++, n--;
  if (n >= size) n = size - 1;
  memcpy(dst, v, n);
  dst[n] = '\0';
}

static size_t on_header(char *buf, size_t sz, size_t nitems, void *ud) {
  struct resp *rs = ud;
  size_t n = sz * nitems;
  static const struct {
    const char *name;
    size_t off, size;
  } hs[] = {{"content-type:", offsetof(struct resp, content_type), sizeof(((struct resp *)0)->content_type)},
            {"docker-content-digest:", offsetof(struct resp, docker_digest), sizeof(((struct resp *)0)->docker_digest)},
            {"www-authenticate:", offsetof(struct resp, www_auth), sizeof(((struct resp *)0)->www_auth)},
            {"content-range:", offsetof(struct resp, content_range), sizeof(((struct resp *)0)->content_range)}};
  if (n > 5 && !strncmp(buf, "HTTP/", 5)) { /* a new response (after a redirect or 100) */
    const char *sp = memchr(buf, ' ', n);
    rs->status = sp ? strtol(sp + 1, NULL, 10) : 0;
    rs->content_type[0] = rs->docker_digest[0] = rs->www_auth[0] = rs->content_range[0] = '\0';
    return n;
  }
  for (size_t i = 0; i < sizeof hs / sizeof hs[0]; i++) {
    size_t l = strlen(hs[i].name);
    if (n > l && !strncasecmp(buf, hs[i].name, l)) {
      char *dst = (char *)rs + hs[i].off;
      if (!*dst || i != 2) header_copy(dst, hs[i].size, buf + l, n - l); /* first challenge kept */
    }
  }
  return n;
}

static size_t on_body(char *buf, size_t sz, size_t nitems, void *ud) {
  struct resp *rs = ud;
  size_t n = sz * nitems;
  if (rs->status >= 200 && rs->status < 300 && rs->sink) {
    if (rs->sink(rs->ctx, rs, buf, n) < 0) {
      rs->sink_failed = true;
      return 0;
    }
    return n;
  }
  if (rs->errbody.len < 2048) strbuf_append(&rs->errbody, buf, n < 2048 ? n : 2048);
  return n;
}

struct img_registry *img_registry_new(const struct img_ref *ref, const struct img_endpoint *ep,
                                      const struct img_registry_conf *rc, struct cell_err *err) {
  static bool inited;
  if (!inited) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
      cell_error(err, 0, "curl_global_init failed");
      return NULL;
    }
    inited = true;
  }
  struct img_registry *r = calloc(1, sizeof *r);
  if (!r || !(r->curl = curl_easy_init())) {
    free(r);
    cell_error(err, ENOMEM, "registry client for %s", ref->registry);
    return NULL;
  }
  snprintf(r->base, sizeof r->base, "%s", ep->base);
  snprintf(r->repo, sizeof r->repo, "%s", ref->repository);
  snprintf(r->name, sizeof r->name, "%s/%s", ref->registry, ref->repository);
  r->http_ok = !strncmp(ep->base, "http://", 7);
  snprintf(r->user, sizeof r->user, "%s", rc->username);
  snprintf(r->pass, sizeof r->pass, "%s", rc->password);
  snprintf(r->ca_file, sizeof r->ca_file, "%s", rc->ca_file);
  return r;
}

void img_registry_free(struct img_registry *r) {
  if (!r) return;
  curl_easy_cleanup(r->curl);
  free(r->auth);
  free(r);
}

/* The registry's {"errors":[{"code","message"}]} as " (CODE: message)", else the body's start. */
static void err_detail(struct resp *rs, char *out, size_t size) {
  out[0] = '\0';
  if (!rs->errbody.len) return;
  cJSON *j = cJSON_ParseWithLength(rs->errbody.buf, rs->errbody.len);
  const cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(j, "errors"), 0);
  const cJSON *code = cJSON_GetObjectItemCaseSensitive(e0, "code"), *msg = cJSON_GetObjectItemCaseSensitive(e0, "message");
  if (cJSON_IsString(code))
    snprintf(out, size, " (%s: %s)", code->valuestring, cJSON_IsString(msg) ? msg->valuestring : "");
  else
    snprintf(out, size, " (%.120s)", rs->errbody.buf);
  for (char *p = out; *p; p++)
    if (*p == '\n' || *p == '\r') *p = ' ';
  cJSON_Delete(j);
}

static int perform(struct img_registry *r, const char *url, const char *accept, const char *extra_hdr,
                   const char *auth, struct resp *rs, struct cell_err *err) {
  CURL *c = r->curl;
  struct curl_slist *h = NULL, *t;
  curl_easy_reset(c);
  strbuf_reset(&rs->errbody);
  rs->status = 0;
  rs->sink_failed = false;
  if (accept && (t = curl_slist_append(h, accept))) h = t;
  if (extra_hdr && (t = curl_slist_append(h, extra_hdr))) h = t;
  if (auth && (t = curl_slist_append(h, auth))) h = t;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, r->http_ok ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, r->http_ok ? "http,https" : "https");
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 120L);
  curl_easy_setopt(c, CURLOPT_USERAGENT, "cellctl");
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(c, CURLOPT_HEADERDATA, rs);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, rs);
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, r->errbuf);
  if (*r->ca_file) curl_easy_setopt(c, CURLOPT_CAINFO, r->ca_file);
  r->errbuf[0] = '\0';
  CURLcode rc = curl_easy_perform(c);
  curl_slist_free_all(h);
  if (rs->sink_failed) return -1; /* the sink's error is in err already */
  if (rc != CURLE_OK)
    return cell_error(err, 0, "%s: GET %s: %s", r->name, url, r->errbuf[0] ? r->errbuf : curl_easy_strerror(rc));
  return 0;
}

static int b64(const char *in, char *out, size_t size) {
  size_t n = strlen(in);
  if (4 * ((n + 2) / 3) + 1 > size) return -1;
  EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)in, (int)n);
  return 0;
}

static int basic_header(struct img_registry *r, char **out, struct cell_err *err) {
  char up[600], enc[900];
  snprintf(up, sizeof up, "%s:%s", r->user, r->pass);
  if (b64(up, enc, sizeof enc) < 0) return cell_error(err, 0, "%s: credentials too long", r->name);
  if (asprintf(out, "Authorization: Basic %s", enc) < 0) return cell_error(err, ENOMEM, "auth header");
  return 0;
}

static int token_sink(void *ctx, struct resp *rs, const char *buf, size_t n) {
  (void)rs;
  return strbuf_append(ctx, buf, n);
}

/* The bearer token flow: GET realm?service=&scope= (Basic auth when credentials are set). */
static int fetch_token(struct img_registry *r, const struct img_challenge *ch, struct cell_err *err) {
  bool http_realm = !strncmp(ch->realm, "http://", 7);
  char host[300] = "";
  if (http_realm) snprintf(host, sizeof host, "%.*s", (int)strcspn(ch->realm + 7, "/?#"), ch->realm + 7);
  /* an HTTP realm only for an insecure registry, or on this machine */
  if (strncmp(ch->realm, "https://", 8) && !(http_realm && (r->http_ok || img_host_is_local(host))))
    return cell_error(err, 0, "%s: token realm %s is not HTTPS (--insecure allows HTTP)", r->name, ch->realm);
  bool http_saved = r->http_ok;
  if (http_realm) r->http_ok = true; /* perform()'s protocol list, for this request */
  char scope[600];
  if (*ch->scope) snprintf(scope, sizeof scope, "%s", ch->scope);
  else snprintf(scope, sizeof scope, "repository:%s:pull", r->repo);
  char *es = curl_easy_escape(r->curl, ch->service, 0), *sc = curl_easy_escape(r->curl, scope, 0);
  cleanup_free char *url = NULL;
  int n = asprintf(&url, "%s%sservice=%s&scope=%s", ch->realm, strchr(ch->realm, '?') ? "&" : "?", es ? es : "",
                   sc ? sc : "");
  curl_free(es);
  curl_free(sc);
  if (n < 0) return cell_error(err, ENOMEM, "token URL");
  cleanup_free char *basic = NULL;
  if (*r->user && basic_header(r, &basic, err) < 0) return -1;
  cleanup_strbuf struct strbuf body = STRBUF_INIT(1 << 20);
  struct resp rs = {.sink = token_sink, .ctx = &body, .errbody = STRBUF_INIT(4096)};
  int rc = perform(r, url, "Accept: application/json", NULL, basic, &rs, err);
  r->http_ok = http_saved;
  char detail[300];
  err_detail(&rs, detail, sizeof detail);
  strbuf_free(&rs.errbody);
  if (rc < 0) return -1;
  if (rs.status != 200)
    return cell_error(err, 0, "%s: token endpoint %s: HTTP %ld%s", r->name, url, rs.status, detail);
  cJSON *j = cJSON_ParseWithLength(body.buf ? body.buf : "", body.len);
  const char *tok = NULL;
  const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "token");
  if (cJSON_IsString(v) && *v->valuestring) tok = v->valuestring;
  v = cJSON_GetObjectItemCaseSensitive(j, "access_token");
  if (!tok && cJSON_IsString(v) && *v->valuestring) tok = v->valuestring;
  free(r->auth);
  r->auth = NULL;
  if (tok && asprintf(&r->auth, "Authorization: Bearer %s", tok) < 0) r->auth = NULL;
  cJSON_Delete(j);
  if (!tok) return cell_error(err, 0, "%s: token endpoint %s: no token in the answer", r->name, url);
  if (!r->auth) return cell_error(err, ENOMEM, "token");
  return 0;
}

/* GET with the auth we have; on a 401 get a token (or use Basic) and retry once. */
static int request(struct img_registry *r, const char *url, const char *accept, const char *extra, struct resp *rs,
                   struct cell_err *err) {
  for (int attempt = 0;; attempt++) {
    if (perform(r, url, accept, extra, r->auth, rs, err) < 0) return -1;
    if (rs->status != 401 || attempt) return 0;
    struct img_challenge ch;
    if (!*rs->www_auth) return 0;
    if (img_challenge_parse(rs->www_auth, &ch, err) < 0) return cell_error_wrap(err, "%s: GET %s", r->name, url);
    free(r->auth);
    r->auth = NULL;
    if (!strcasecmp(ch.scheme, "Bearer")) {
      if (fetch_token(r, &ch, err) < 0) return -1;
    } else if (!strcasecmp(ch.scheme, "Basic") && *r->user) {
      if (basic_header(r, &r->auth, err) < 0) return -1;
    } else {
      return 0; /* no way to authenticate: the caller reports the 401 */
    }
  }
}

static int http_fail(struct img_registry *r, const char *url, struct resp *rs, struct cell_err *err) {
  char detail[300];
  err_detail(rs, detail, sizeof detail);
  const char *hint = rs->status == 401 ? " (authentication required: set username/password in registries.conf)"
                     : rs->status == 404 ? " (not found)" : "";
  return cell_error(err, 0, "%s: GET %s: HTTP %ld%s%s", r->name, url, rs->status, detail, hint);
}

static void hex(const unsigned char *md, unsigned n, char *out) {
  for (unsigned i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", md[i]);
}

static int manifest_sink(void *ctx, struct resp *rs, const char *buf, size_t n) {
  if (strbuf_append(ctx, buf, n) < 0) {
    cell_error(rs->sink_err, 0, "manifest larger than %u bytes", MANIFEST_MAX);
    return -1;
  }
  return 0;
}

int img_registry_get_manifest(struct img_registry *r, const char *reference, char **body, size_t *len,
                              char *media_type, size_t mt_size, char digest[72], struct cell_err *err) {
  cleanup_free char *url = NULL;
  if (asprintf(&url, "%s/v2/%s/manifests/%s", r->base, r->repo, reference) < 0) return cell_error(err, ENOMEM, "url");
  cleanup_strbuf struct strbuf sb = STRBUF_INIT(MANIFEST_MAX);
  struct resp rs = {.sink = manifest_sink, .ctx = &sb, .errbody = STRBUF_INIT(4096), .sink_err = err};
  int rc = request(r, url, ACCEPT_MANIFESTS, NULL, &rs, err);
  if (rc < 0 && rs.sink_failed) cell_error_wrap(err, "%s: GET %s", r->name, url);
  if (rc == 0 && rs.status != 200) rc = http_fail(r, url, &rs, err);
  strbuf_free(&rs.errbody);
  if (rc < 0) return -1;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  if (!EVP_Digest(sb.buf ? sb.buf : "", sb.len, md, &mdlen, EVP_sha256(), NULL))
    return cell_error(err, 0, "%s: sha256 of the manifest failed", r->name);
  strcpy(digest, "sha256:");
  hex(md, mdlen, digest + 7);
  if (!strncmp(reference, "sha256:", 7) && strcmp(reference, digest))
    return cell_error(err, 0, "%s: GET %s: the manifest's digest is %s, not the %s asked for", r->name, url, digest,
                      reference);
  if (!strncmp(rs.docker_digest, "sha256:", 7) && strcmp(rs.docker_digest, digest))
    return cell_error(err, 0, "%s: GET %s: Docker-Content-Digest %s but the manifest's digest is %s", r->name, url,
                      rs.docker_digest, digest);
  char *semi = strchr(rs.content_type, ';');
  if (semi) *semi = '\0';
  media_type[0] = '\0';
  cJSON *j = cJSON_ParseWithLength(sb.buf ? sb.buf : "", sb.len);
  const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "mediaType");
  if (cJSON_IsString(mt)) snprintf(media_type, mt_size, "%s", mt->valuestring);
  else if (strstr(rs.content_type, "vnd.")) snprintf(media_type, mt_size, "%s", rs.content_type);
  cJSON_Delete(j);
  *len = sb.len;
  *body = strbuf_take(&sb);
  if (!*body) return cell_error(err, ENOMEM, "manifest");
  return 0;
}

/* ---- blobs -------------------------------------------------------------- */

struct blob {
  struct img_registry *r;
  const char *url, *digest;
  int fd;
  EVP_MD_CTX *md;
  int64_t have, size, start, fetched;
  bool checked; /* the response's first bytes: 200 vs 206 decided */
  bool bad_digest;
};

static int blob_sink(void *ctx, struct resp *rs, const char *buf, size_t n) {
  struct blob *b = ctx;
  if (!b->checked) {
    b->checked = true;
    if (rs->status == 200 && b->have > 0) { /* no range support: start over */
      if (ftruncate(b->fd, 0) < 0 || lseek(b->fd, 0, SEEK_SET) < 0 || !EVP_DigestInit_ex(b->md, EVP_sha256(), NULL))
        return cell_error(rs->sink_err, errno, "%s: blob %s: restarting the download", b->r->name, b->digest);
      b->have = 0;
    } else if (rs->status == 206) {
      char want[64];
      snprintf(want, sizeof want, "bytes %lld-", (long long)b->have);
      if (strncmp(rs->content_range, want, strlen(want)))
        return cell_error(rs->sink_err, 0, "%s: GET %s: Content-Range '%s' does not start at %lld", b->r->name,
                          b->url, rs->content_range, (long long)b->have);
    }
  }
  if (b->have + (int64_t)n > b->size)
    return cell_error(rs->sink_err, 0, "%s: GET %s: blob %s is larger than the %lld bytes the manifest says",
                      b->r->name, b->url, b->digest, (long long)b->size);
  for (size_t off = 0; off < n;) {
    ssize_t w = write(b->fd, buf + off, n - off);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return cell_error(rs->sink_err, errno, "%s: blob %s: write", b->r->name, b->digest);
    off += (size_t)w;
  }
  EVP_DigestUpdate(b->md, buf, n);
  b->have += (int64_t)n;
  b->fetched += (int64_t)n;
  return 0;
}

/* Hash what the partial file holds already; 0, or -1 with err. */
static int hash_existing(struct blob *b, struct cell_err *err) {
  char buf[65536];
  int64_t left = b->have;
  if (lseek(b->fd, 0, SEEK_SET) < 0) return cell_error(err, errno, "seek");
  while (left > 0) {
    ssize_t n = read(b->fd, buf, left < (int64_t)sizeof buf ? (size_t)left : sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return cell_error(err, n < 0 ? errno : EIO, "%s: reading the partial blob %s", b->r->name, b->digest);
    EVP_DigestUpdate(b->md, buf, (size_t)n);
    left -= n;
  }
  return 0;
}

static int blob_final(struct blob *b, char *got) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned mdlen = 0;
  EVP_DigestFinal_ex(b->md, md, &mdlen);
  strcpy(got, "sha256:");
  hex(md, mdlen, got + 7);
  return strcmp(got, b->digest) ? -1 : 0;
}

static int blob_once(struct blob *b, struct cell_err *err) {
  struct stat st;
  if (fstat(b->fd, &st) < 0) return cell_error(err, errno, "%s: blob %s: fstat", b->r->name, b->digest);
  b->have = st.st_size > b->size ? 0 : st.st_size;
  if (st.st_size > b->size && ftruncate(b->fd, 0) < 0) return cell_error(err, errno, "truncate");
  if (!EVP_DigestInit_ex(b->md, EVP_sha256(), NULL)) return cell_error(err, 0, "sha256 init");
  if (hash_existing(b, err) < 0) return -1;
  b->start = b->have;
  b->checked = false;
  if (b->have < b->size) {
    char range[64];
    snprintf(range, sizeof range, "Range: bytes=%lld-", (long long)b->have);
    struct resp rs = {.sink = blob_sink, .ctx = b, .errbody = STRBUF_INIT(4096), .sink_err = err};
    int rc = request(b->r, b->url, NULL, b->have ? range : NULL, &rs, err);
    if (!rc && rs.status == 416 && b->have) { /* the range is refused: start over */
      strbuf_free(&rs.errbody);
      if (ftruncate(b->fd, 0) < 0) return cell_error(err, errno, "truncate");
      return blob_once(b, err);
    }
    if (!rc && rs.status != 200 && rs.status != 206) rc = http_fail(b->r, b->url, &rs, err);
    strbuf_free(&rs.errbody);
    if (rc < 0) return -1;
  }
  if (b->have != b->size)
    return cell_error(err, 0, "%s: GET %s: blob %s ended after %lld of %lld bytes", b->r->name, b->url, b->digest,
                      (long long)b->have, (long long)b->size);
  char got[72];
  if (blob_final(b, got) < 0) {
    b->bad_digest = true;
    if (ftruncate(b->fd, 0) < 0) return cell_error(err, errno, "truncate");
    return cell_error(err, 0, "%s: GET %s: blob content has digest %s, not %s", b->r->name, b->url, got, b->digest);
  }
  return 0;
}

int img_registry_get_blob(struct img_registry *r, const char *digest, int64_t size, int partial_dirfd,
                          const char *partial_name, int dest_dirfd, const char *dest_name, int64_t *fetched,
                          struct cell_err *err) {
  cleanup_free char *url = NULL;
  if (asprintf(&url, "%s/v2/%s/blobs/%s", r->base, r->repo, digest) < 0) return cell_error(err, ENOMEM, "url");
  cleanup_close int fd = -1;
  for (;;) { /* a concurrent pull may move the file away while we wait for its lock: then take a new one */
    struct stat a, b;
    fd = openat(partial_dirfd, partial_name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return cell_error(err, errno, "open the partial blob %s", partial_name);
    while (flock(fd, LOCK_EX) < 0)
      if (errno != EINTR) return cell_error(err, errno, "lock the partial blob %s", partial_name);
    if (fstat(fd, &a) == 0 && fstatat(partial_dirfd, partial_name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
        a.st_ino == b.st_ino && a.st_dev == b.st_dev)
      break;
    close(fd);
  }
  struct blob b = {.r = r, .url = url, .digest = digest, .fd = fd, .size = size, .md = EVP_MD_CTX_new()};
  if (!b.md) return cell_error(err, ENOMEM, "sha256");
  if (lseek(fd, 0, SEEK_END) < 0) {
    EVP_MD_CTX_free(b.md);
    return cell_error(err, errno, "seek");
  }
  int rc = blob_once(&b, err);
  if (rc < 0 && b.bad_digest && b.start > 0) { /* a resumed blob that does not match: once more, whole */
    b.bad_digest = false;
    rc = blob_once(&b, err);
  }
  EVP_MD_CTX_free(b.md);
  *fetched = b.fetched;
  if (rc < 0 && b.bad_digest) unlinkat(partial_dirfd, partial_name, 0);
  /* moved while still locked: a concurrent pull waiting for the lock then finds the name gone */
  if (rc == 0 && renameat(partial_dirfd, partial_name, dest_dirfd, dest_name) < 0)
    return cell_error(err, errno, "move the blob %s into place", digest);
  return rc;
}
