/** The reference grammar lives in @orbit/lib: the validator parses the same references the gateway accepts. */
export { parseImageReference, type ImageReference } from '@orbit/lib';
