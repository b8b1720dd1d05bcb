/**
 * Which (owner, image name, image version) triples are already used. Versions
 * are immutable, so a taken triple ends an upload with NAME_CONFLICT. The
 * MySQL-backed implementation is wired in main.ts.
 */
export interface NameRegistry {
  isTaken(owner: string, imageName: string, imageVersion: string): Promise<boolean>;
}
