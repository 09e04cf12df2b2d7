// SPDX-License-Identifier: GPL-2.0-only
/*
 * migration.c - the bodies of PUT /migration/send and PUT
 * /migration/receive (vmon extensions, docs/migration.md), checked into
 * struct mig_params and struct api_migration_receive.
 */
#include <string.h>

#include "../../migration/migration.h"
#include "common.h"

static const char *const send_fields[] = {
	"url",	      "mode",	    "downtime_ms", "bandwidth", "compress",
	"with_disks", "token_file", "verify",	   NULL
};

/* Field `token_file`, if given: the migration token read into @t. */
static int get_token(json_t *body, const char *req, struct mig_token *t,
		     char *err)
{
	char path[4096], why[MIG_ERR_MAX];
	bool given = false;

	if (api_get_strbuf(body, req, "token_file", false, path, sizeof(path),
			   &given, err))
		return -1;
	if (given && mig_token_load(path, t, why, sizeof(why)))
		return api_fail(err, "%s: field `token_file`: %s", req, why);
	return 0;
}

/* The thread that connects or listens has no name service. */
static int check_url(const char *url, const char *req, char *err)
{
	struct mig_addr a;

	if (mig_addr_parse(url, &a, err, API_ERR_MAX))
		return -1;
	if (!a.unix_sock && !mig_addr_numeric(&a))
		return api_fail(
			err,
			"%s: field `url`: give the host as a numeric address (vmon migrate resolves names)",
			req);
	return 0;
}

int api_migration_send_parse(json_t *body, struct mig_params *out, char *err)
{
	char mode[16] = "precopy", verify[8] = "auto";
	uint64_t downtime = MIG_DEFAULT_DOWNTIME_MS, bw = 0;

	memset(out, 0, sizeof(*out));
	if (api_check_fields(body, "migration/send", send_fields, err) ||
	    api_get_strbuf(body, "migration/send", "url", true, out->url,
			   sizeof(out->url), NULL, err) ||
	    api_get_strbuf(body, "migration/send", "mode", false, mode,
			   sizeof(mode), NULL, err) ||
	    api_get_uint(body, "migration/send", "downtime_ms", false, 1,
			 3600000, &downtime, NULL, err) ||
	    api_get_uint(body, "migration/send", "bandwidth", false, 0,
			 UINT64_MAX, &bw, NULL, err) ||
	    api_get_bool(body, "migration/send", "compress", &out->compress,
			 err) ||
	    api_get_bool(body, "migration/send", "with_disks", &out->with_disks,
			 err) ||
	    api_get_strbuf(body, "migration/send", "verify", false, verify,
			   sizeof(verify), NULL, err))
		return -1;
	if (mig_mode_parse(mode, &out->mode))
		return api_fail(
			err,
			"migration/send: field `mode` must be \"precopy\", \"postcopy\" or \"auto\"");
	if (mig_verify_mode_parse(verify, &out->verify))
		return api_fail(
			err,
			"migration/send: field `verify` must be \"auto\", \"on\" or \"off\"");
	if (check_url(out->url, "migration/send", err) ||
	    get_token(body, "migration/send", &out->token, err))
		return -1;
	out->downtime_ms = downtime;
	out->bandwidth = bw;
	return 0;
}

static const char *const receive_fields[] = { "url",
					      "network_overrides",
					      "vsock_override",
					      "drive_overrides",
					      "token_file",
					      NULL };

int api_migration_receive_parse(json_t *body, struct api_migration_receive *out,
				char *err)
{
	memset(out, 0, sizeof(*out));
	if (api_check_fields(body, "migration/receive", receive_fields, err) ||
	    api_get_strbuf(body, "migration/receive", "url", true, out->url,
			   sizeof(out->url), NULL, err) ||
	    check_url(out->url, "migration/receive", err) ||
	    get_token(body, "migration/receive", &out->token, err))
		return -1;
	return api_overrides_parse(body, "migration/receive", &out->ov, err);
}
