import { PullRefusedError } from './registry-errors.js';

/** TLS failures that waiting will not mend: the certificate is not one this host trusts. */
const UNTRUSTED_CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A connection that failed for a reason no retry mends, as a refusal that
 * says what to do: a host that cannot be resolved (a typo, or DNS/egress Orbit
 * lacks), a certificate this
 * host does not trust, HTTPS spoken to a plain-HTTP registry. Retried, each
 * held its partition of uploads for the whole patience (30 s) behind it.
 * `sentTo`: the place asked when the registry sent Orbit to another host
 * (a blob redirect to storage, an upload Location): that host is the one
 * named, and what Orbit's settings mend for the registry does not apply to it.
 */
export function connectionRefusal(registry: string, error: unknown, sentTo?: URL): PullRefusedError | undefined {
  const code = (error as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  const elsewhere = sentTo !== undefined;
  const host = elsewhere ? `${sentTo.host}, where ${registry} sent Orbit,` : registry;
  if (code === 'ENOTFOUND') {
    // Unresolvable is not non-existent: a validator without egress or behind split DNS answers ENOTFOUND for ghcr.io too.
    return new PullRefusedError('REGISTRY_ERROR', elsewhere
      ? `host ${host} could not be resolved from where Orbit runs (DNS ENOTFOUND): the registry may point at a host that is not there, or ask your operator about Orbit's DNS/egress`
      : `registry host ${registry} could not be resolved from where Orbit runs (DNS ENOTFOUND): check the reference, or ask your operator about Orbit's DNS/egress`, false);
  }
  if (typeof code === 'string' && UNTRUSTED_CERTIFICATE.has(code)) {
    return new PullRefusedError('REGISTRY_ERROR', `${host}'s TLS certificate is not trusted here (${code}): give the validator its CA with NODE_EXTRA_CA_CERTS`, false);
  }
  // Node's fetch refuses the Fetch standard's blocked ports before connecting; the gateway refuses such references at the door.
  if ((error as { cause?: { message?: unknown } } | undefined)?.cause?.message === 'bad port') {
    return new PullRefusedError('REGISTRY_ERROR', `${host} is on a port the Fetch standard blocks (as browsers do): no request of Orbit's can reach it; serve ${elsewhere ? 'it' : 'the registry'} on another port`, false);
  }
  if (code === 'ERR_SSL_WRONG_VERSION_NUMBER') {
    // ORBIT_INSECURE_REGISTRIES makes Orbit ask the registry over plain HTTP; where the registry points, it says itself (https://).
    return new PullRefusedError('REGISTRY_ERROR', elsewhere
      ? `${host} does not speak HTTPS (${code}), though ${registry} named it with https://: the registry's redirect or storage address is misconfigured (ORBIT_INSECURE_REGISTRIES does not change where it points)`
      : `${registry} does not speak HTTPS (${code}); if it serves plain HTTP, list it in ORBIT_INSECURE_REGISTRIES`, false);
  }
  return undefined;
}
