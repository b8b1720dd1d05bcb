/** The archive validator's public surface; everything else in this folder is internal. */
export { validateArchive, type ValidationOutcome } from './validate-archive.js';
export { DEFAULT_VALIDATION_LIMITS, type ValidationLimits } from './limits.js';
export { REJECTION_CODES, type RejectionCode } from './rejections.js';
export { descriptorShape, firstIssue, IMAGE_CONFIG_TYPES, INDEX_TYPES, MEDIA_TYPES, sha256Digest, type Descriptor } from './json-shapes.js';
export { isForeignLayer } from './layers.js';
export { PULL_NOTE } from './oci-layout.js';
