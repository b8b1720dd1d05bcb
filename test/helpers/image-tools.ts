/**
 * Image tools Orbit did not write, which tests drive to make their inputs
 * and to read what Orbit made: each built once per machine with `go install`
 * (only the Go module proxy is reachable) into Orbit's cache, at the version
 * pinned here, so every test meets the same one.
 */
import { ensureGoTool } from '@orbit/local-stack';

const ORAS_MODULE = 'oras.land/oras/cmd/oras@v1.3.6';
const REGCTL_MODULE = 'github.com/regclient/regclient/cmd/regctl@v0.11.7';
const CRANE_MODULE = 'github.com/google/go-containerregistry/cmd/crane@v0.22.1';

/** ORAS: attaches and discovers referrers, copies images with them into OCI layouts. */
export const orasBinary = (): string => ensureGoTool('oras', 'oras', ORAS_MODULE);

/** regctl (regclient): copies with referrers and digest tags, creates indexes and artifacts, exports layouts. */
export const regctlBinary = (): string => ensureGoTool('regctl', 'regctl', REGCTL_MODULE);

/** crane (go-containerregistry): assembles images from tars, pulls them in every format. */
export const craneBinary = (): string => ensureGoTool('crane', 'crane', CRANE_MODULE);

const CREDENTIAL_PASS_MODULE = 'github.com/docker/docker-credential-helpers/pass/cmd@v0.9.13';

/** docker-credential-pass (docker-credential-helpers): a Docker credential helper keeping credentials in pass, the Unix password store. */
export const credentialPassBinary = (): string => ensureGoTool('docker-credential-pass', 'docker-credential-pass', CREDENTIAL_PASS_MODULE);
