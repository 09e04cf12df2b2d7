// SPDX-License-Identifier: GPL-2.0-only
/*
 * mmds_http.c - the metadata service's HTTP/1.1 requests: parsing one
 * request the guest sent (request line, headers, a bounded body), and
 * answering it as Firecracker's MMDS does: GET of a store path (JSON or
 * IMDS form), PUT /latest/api/token for a V2 session token, 401 without a
 * valid token in V2, 404/405/400/501 otherwise.
 */
#include "mmds_http.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mmds_store.h"

#define MAX_HEADERS 32
#define TOKEN_PATH "/latest/api/token"

struct span {
	const char *p;
	size_t len;
};

struct request {
	struct span method, path, version;
	unsigned int nr_headers;
	struct span name[MAX_HEADERS], value[MAX_HEADERS];
	size_t body_len;
};

static bool span_is(struct span s, const char *lit)
{
	return s.len == strlen(lit) && !memcmp(s.p, lit, s.len);
}

static bool span_is_nocase(struct span s, const char *lit)
{
	return s.len == strlen(lit) && !strncasecmp(s.p, lit, s.len);
}

/* The value of header @name (either of two spellings), or NULL. */
static const struct span *header(const struct request *rq, const char *name,
				 const char *alias)
{
	for (unsigned int i = 0; i < rq->nr_headers; i++)
		if (span_is_nocase(rq->name[i], name) ||
		    (alias && span_is_nocase(rq->name[i], alias)))
			return &rq->value[i];
	return NULL;
}

/* The next token of @s up to @sep, advancing @s; false if none. */
static bool take(struct span *s, char sep, struct span *out)
{
	const char *e = memchr(s->p, sep, s->len);

	if (!e || e == s->p)
		return false;
	out->p = s->p;
	out->len = (size_t)(e - s->p);
	s->len -= out->len + 1;
	s->p = e + 1;
	return true;
}

static bool parse_uint(struct span s, size_t max, size_t *out)
{
	size_t v = 0;

	if (!s.len || s.len > 9)
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		v = v * 10 + (size_t)(s.p[i] - '0');
	}
	*out = v;
	return v <= max;
}

static struct span trim(struct span s)
{
	while (s.len && (*s.p == ' ' || *s.p == '\t')) {
		s.p++;
		s.len--;
	}
	while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
		s.len--;
	return s;
}

/* Parses the head (@head, without the final CRLF CRLF): 0 or -1. */
static int parse_head(struct span head, struct request *rq)
{
	struct span line;

	memset(rq, 0, sizeof(*rq));
	if (!take(&head, ' ', &rq->method) || !take(&head, ' ', &rq->path))
		return -1;
	if (!take(&head, '\r', &rq->version)) {
		rq->version = head; /* the request line is the whole head */
		head.len = 0;
	}
	if (!span_is(rq->version, "HTTP/1.1") &&
	    !span_is(rq->version, "HTTP/1.0"))
		return -1;
	while (head.len) {
		struct span name, value;

		if (head.p[0] != '\n')
			return -1;
		head.p++;
		head.len--;
		if (!take(&head, '\r', &line)) {
			line = head; /* the last header line */
			head.len = 0;
		}
		if (!take(&line, ':', &name) || rq->nr_headers == MAX_HEADERS ||
		    memchr(name.p, ' ', name.len))
			return -1;
		value = trim(line);
		rq->name[rq->nr_headers] = name;
		rq->value[rq->nr_headers++] = value;
	}
	return rq->path.p[0] == '/' ? 0 : -1;
}

static const char *reason(unsigned int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 413:
		return "Payload Too Large";
	default:
		return "Not Implemented";
	}
}

/* Builds the response: @body (@len bytes) of type @type. 0 or -1. */
static int respond(struct mmds_http_resp *r, unsigned int status,
		   const char *type, const char *body, size_t len)
{
	char head[256];
	int h = snprintf(head, sizeof(head),
			 "HTTP/1.1 %u %s\r\nServer: vmon MMDS\r\n"
			 "Content-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n",
			 status, reason(status), type, len,
			 status == 405 ? "Allow: GET, PUT\r\n" : "",
			 r->close ? "Connection: close\r\n" : "");

	r->status = status;
	r->data = malloc((size_t)h + len);
	if (!r->data)
		return -1;
	memcpy(r->data, head, (size_t)h);
	memcpy(r->data + h, body, len);
	r->len = (size_t)h + len;
	return 0;
}

static int respond_text(struct mmds_http_resp *r, unsigned int status,
			const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int respond_text(struct mmds_http_resp *r, unsigned int status,
			const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	return respond(r, status, "text/plain", msg, (size_t)n);
}

/* PUT /latest/api/token: a new session token for the TTL asked. */
static int put_token(const struct request *rq, uint64_t now_ns,
		     struct mmds_http_resp *r)
{
	const struct span *ttl = header(rq, "X-metadata-token-ttl-seconds",
					"X-aws-ec2-metadata-token-ttl-seconds");
	char tok[MMDS_TOKEN_LEN + 1];
	size_t secs;

	if (header(rq, "X-Forwarded-For", NULL))
		return respond_text(
			r, 400,
			"Invalid header. Reason: Unsupported header name. Key: X-Forwarded-For");
	if (!ttl)
		return respond_text(
			r, 400,
			"Token time to live value not found. Use `X-metadata-token-ttl-seconds` header to specify the token's lifetime.");
	if (!parse_uint(*ttl, MMDS_TTL_MAX, &secs) || secs < 1)
		return respond_text(
			r, 400,
			"Invalid time to live value provided for token: %.*s. Please provide a value between 1 and %d.",
			(int)(ttl->len > 32 ? 32 : ttl->len), ttl->p,
			MMDS_TTL_MAX);
	if (mmds_token_new((unsigned int)secs, now_ns, tok))
		return respond_text(r, 400,
				    "MMDS token could not be generated.");
	return respond(r, 200, "text/plain", tok, MMDS_TOKEN_LEN);
}

/* GET of a store path, with V2's token check. */
static int get_path(const struct request *rq, const struct mmds_config *cfg,
		    struct span path, uint64_t now_ns, struct mmds_http_resp *r)
{
	const struct span *tok =
		header(rq, "X-metadata-token", "X-aws-ec2-metadata-token");
	const struct span *accept = header(rq, "Accept", NULL);
	bool json = !cfg->imds_compat && accept &&
		    span_is_nocase(*accept, "application/json");
	enum mmds_lookup l;
	char *out;
	size_t len;
	int ret;

	if (cfg->version == MMDS_V2) {
		if (!tok)
			return respond_text(
				r, 401,
				"No MMDS token provided. Use `X-metadata-token` header to specify the session token.");
		if (!mmds_token_valid(tok->p, tok->len, now_ns))
			return respond_text(r, 401, "MMDS token not valid.");
	}
	l = mmds_lookup(path.p, path.len, json, &out, &len);
	if (l == MMDS_NOT_FOUND)
		return respond_text(r, 404, "Resource not found: %.*s.",
				    (int)(path.len > 200 ? 200 : path.len),
				    path.p);
	if (l == MMDS_BAD_FORMAT)
		return respond_text(
			r, 501,
			"Cannot retrieve value. The value has an invalid format.");
	if (l != MMDS_FOUND)
		return -1;
	ret = respond(r, 200, json ? "application/json" : "text/plain", out,
		      len);
	free(out);
	return ret;
}

static int dispatch(const struct request *rq, uint64_t now_ns,
		    struct mmds_http_resp *r)
{
	struct mmds_config cfg;
	struct span path = rq->path;
	const char *q = memchr(path.p, '?', path.len);

	mmds_get_config(&cfg);
	if (q)
		path.len = (size_t)(q - path.p);
	if (span_is(rq->method, "PUT")) {
		if (!span_is(path, TOKEN_PATH))
			return respond_text(
				r, 404, "Resource not found: %.*s.",
				(int)(path.len > 200 ? 200 : path.len), path.p);
		return put_token(rq, now_ns, r);
	}
	if (!span_is(rq->method, "GET"))
		return respond_text(r, 405, "Not allowed HTTP method.");
	if (rq->body_len)
		return respond_text(r, 400, "GET request cannot have a body.");
	return get_path(rq, &cfg, path, now_ns, r);
}

/* The head of @buf parsed, the body's length known: 0, or a 4xx status. */
static unsigned int read_request(const char *buf, size_t head_len,
				 struct request *rq)
{
	const struct span *cl, *te;

	if (parse_head((struct span){ buf, head_len }, rq))
		return 400;
	te = header(rq, "Transfer-Encoding", NULL);
	if (te)
		return 501;
	cl = header(rq, "Content-Length", NULL);
	if (cl && !parse_uint(*cl, MMDS_HTTP_MAX_REQUEST, &rq->body_len))
		return 413;
	if (head_len + 4 + rq->body_len > MMDS_HTTP_MAX_REQUEST)
		return 413;
	return 0;
}

ssize_t mmds_http_handle(const char *buf, size_t len, uint64_t now_ns,
			 struct mmds_http_resp *r)
{
	const char *end = memmem(buf, len, "\r\n\r\n", 4);
	struct request rq;
	unsigned int bad;
	size_t head_len, total;
	const struct span *conn;

	memset(r, 0, sizeof(*r));
	if (!end) {
		if (len < MMDS_HTTP_MAX_REQUEST)
			return 0;
		r->close = true;
		return respond_text(r, 413, "Request too large.") ?
			       -1 :
			       (ssize_t)len;
	}
	head_len = (size_t)(end - buf);
	bad = read_request(buf, head_len, &rq);
	if (bad) {
		r->close = true;
		if (respond_text(r, bad,
				 bad == 501 ?
					 "Unsupported HTTP functionality." :
					 "Malformed or too large request."))
			return -1;
		return (ssize_t)len;
	}
	total = head_len + 4 + rq.body_len;
	if (total > len)
		return 0;
	conn = header(&rq, "Connection", NULL);
	r->close = span_is(rq.version, "HTTP/1.0") ?
			   !(conn && span_is_nocase(*conn, "keep-alive")) :
			   (conn && span_is_nocase(*conn, "close"));
	return dispatch(&rq, now_ns, r) ? -1 : (ssize_t)total;
}
