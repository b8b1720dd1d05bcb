import { existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';

/**
 * Written whole or not at all: a temporary sibling renamed into place. Written in place, a full disk
 * (ENOSPC) or a kill left a short file that every later start took for a good one.
 */
export function writeFileAtomic(file: string, data: string, mode?: number): void {
  const partial = partialOf(file);
  try {
    writeFileSync(partial, data, mode === undefined ? {} : { mode });
    renameSync(partial, file);
  } finally {
    rmSync(partial, { force: true });
  }
}

/** Where a tool that writes its own output (openssl, keytool) writes before `publish` renames it into place. */
export const partialOf = (file: string): string => `${file}.partial-${process.pid}`;

export function publish(file: string): void {
  renameSync(partialOf(file), file);
}

/** A file that is there and not empty. */
export function hasContent(file: string): boolean {
  return existsSync(file) && statSync(file).size > 0;
}

/** A PEM file holding at least one whole block: what an interrupted write lacks. */
export function isCompletePem(file: string): boolean {
  return hasContent(file) && /-----END [A-Z0-9 ]+-----/.test(readFileSync(file, 'utf8'));
}
