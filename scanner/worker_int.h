/*
 * worker_int.h — what the worker process (worker.c: its secrets, its SMB contexts, fix jobs, the message loop)
 * shares with worker_scan.c (the scan's host and CertMgr requests).  Private to those two files.
 */
#ifndef DPFLEET_WORKER_INT_H
#define DPFLEET_WORKER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "cred.h"
#include "credset.h"
#include "hostmap.h"
#include "msg.h"
#include "rrp.h"
#include "smblog.h"

/*
 * creds[i] is credential set i (credset.h: 0 [smb], 1..ncreds [credentials]), built at start with its password
 * (wk_load_creds); a request names its set by that index.  sl[i] is set i's SMB context for log reads, opened
 * at its first use (wk_smblog): libsmbclient takes one account per context.
 */
struct wk {
	const struct config	*conf;
	int			 fd;
	struct cred		 creds[CREDSET_COUNT_MAX];
	struct smblog		*sl[CREDSET_COUNT_MAX];
	struct msg_buf		 out;
};

/* Free everything the worker holds, wipe the credentials and _exit(code). */
void	 wk_exit(struct wk *w, int code) __attribute__((noreturn));
/* Tell the parent why (MSG_FATAL) and wk_exit(w, 1). */
void	 wk_fatal(struct wk *w, const char *reason) __attribute__((noreturn));
/* Set idx's libsmbclient context for log reads, opened at its first use (owned by w).  NULL with err when it
 * cannot be made. */
struct smblog	*wk_smblog(struct wk *w, uint32_t idx, char *err, size_t errlen);
/* Copy s into a malloc'd string (the caller's) of at most max-1 bytes, cut on a UTF-8 boundary.  NULL on no
 * memory. */
char	*wk_dup_capped(const char *s, size_t max);

/* Where a request's host is reached: the address the parent gave (given, non-empty), else fqdn resolved
 * (hostmap_resolve).  0 with addr, -1 with err. */
int	 wk_host_addr(const char *given, const char *fqdn, char addr[HOSTMAP_ADDR_MAX], char *err, size_t errlen);

/* The MSG_REG_* of a registry read the server answered that is not RRP_OK; for MSG_REG_FAILED *detail gets a
 * malloc'd "WERROR n" (the caller's; NULL on no memory). */
uint32_t	 wk_reg_refusal(const struct rrp_read *r, char **detail);

/* worker_scan.c: answer one MSG_HOST_REQ / MSG_CERTMGR_REQ (p, n) on w->fd; a malformed request is fatal. */
void	 wk_serve_host(struct wk *w, const uint8_t *p, size_t n);
void	 wk_serve_certmgr(struct wk *w, const uint8_t *p, size_t n);

#endif
