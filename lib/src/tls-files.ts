/** Whether a client's TLS is asked for, and the PEM files it is configured with, as read at start. */
export interface TlsFiles {
  /** `<prefix>=true` (options.asked), or any of its files named: a CA or a client certificate means TLS. */
  readonly requested: boolean;
  readonly ca?: Buffer;
  /** Both or neither: a client certificate and its key. */
  readonly clientCertificate?: { readonly cert: Buffer; readonly key: Buffer };
}

type TlsFile = 'CA_FILE' | 'CERT_FILE' | 'KEY_FILE';
type TlsFileVariables<P extends string> = { readonly [V in `${P}_${TlsFile}`]?: string | undefined };

/**
 * Reads `<prefix>_CA_FILE`, `<prefix>_CERT_FILE` and `<prefix>_KEY_FILE`,
 * adding one line to `problems` for half a client certificate and one for each
 * file that cannot be read, so a start reports them with the rest of its
 * configuration instead of as a handshake that fails later.
 */
export function readTlsFiles<P extends string>(
  prefix: P, config: TlsFileVariables<P>, problems: string[], options: { readonly asked: boolean | undefined; readonly certificateNeeds: string; readonly readFile: (path: string) => Buffer },
): TlsFiles {
  const variable = (file: TlsFile) => `${prefix}_${file}` as const;
  const [caVariable, certVariable, keyVariable] = [variable('CA_FILE'), variable('CERT_FILE'), variable('KEY_FILE')];
  if ((config[certVariable] === undefined) !== (config[keyVariable] === undefined)) {
    problems.push(config[certVariable] === undefined
      ? `${certVariable}: is missing: ${keyVariable} is set, and ${options.certificateNeeds} needs both`
      : `${keyVariable}: is missing: ${certVariable} is set, and ${options.certificateNeeds} needs both`);
  }
  const pem = (name: `${P}_${TlsFile}`): Buffer | undefined => {
    const path = config[name];
    if (path === undefined) return undefined;
    try {
      return options.readFile(path);
    } catch (error) {
      problems.push(`${name}: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
      return undefined;
    }
  };
  const ca = pem(caVariable);
  const cert = pem(certVariable);
  const key = pem(keyVariable);
  const requested = options.asked === true || config[caVariable] !== undefined || config[certVariable] !== undefined;
  return { requested, ...(ca ? { ca } : {}), ...(cert && key ? { clientCertificate: { cert, key } } : {}) };
}
