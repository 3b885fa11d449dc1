/*
 * consts.h — the one place for the limits and wire constants more than one module depends on: the length of
 * an FQDN and of a site code (the store's columns, the worker messages, the CertMgr.log parser), the cap on a
 * registry value's bytes and on evidence lines per host, the registry type REG_MULTI_SZ, and a stringify
 * macro so a message can quote a number without a second copy of it.  Module headers alias these
 * (STORE_FQDN_MAX, RRP_VALUE_MAX, ...) rather than redefine them.  Header only; no state.
 */
#ifndef DPFLEET_CONSTS_H
#define DPFLEET_CONSTS_H

#define DPF_FQDN_MAX		256	/* an FQDN in bytes, NUL included: store, wire, CertMgr.log names */
#define DPF_SITE_CODE_MAX	16	/* a site code in bytes, NUL included (ConfigMgr uses 3 characters) */
#define DPF_VALUE_MAX		(1024u * 1024u)	/* a registry value's bytes: RRP both ways, worker messages */
#define DPF_EVIDENCE_MAX	20	/* evidence lines kept per host: parser, messages, store */

/*
 * The registry value type of IssuingCertificateList (doc/FIELD-NOTES.md, "The fault": MS-RRP 2.2.7,
 * Windows "Registry value types").
 */
#define DPF_REG_MULTI_SZ	7

/* DPF_XSTR(FOO) is FOO's value as a string literal: "FOO_" DPF_XSTR(N) keeps a text in step with N. */
#define DPF_STR_(x)		#x
#define DPF_XSTR(x)		DPF_STR_(x)

#endif
