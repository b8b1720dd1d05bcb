import { UnknownEntryError } from './errors.js';

/**
 * The PID catalogue: `<start-resource>-<end-resource>-e<order>`, orders in
 * steps of 5, errors end in `-911`. Resource ids come from the original design
 * documents (C8 portal, C12 manifestor, C16 Image Harbor, C20 Chart Store, C32
 * ViewPort). Event types are derived from the catalogue keys, so a step has one
 * name everywhere (event log, timelines, metrics).
 */
const CATALOGUE = {
  // Upload flow
  uploadSubmitted: { pid: 'c2usr03-c8fms03-e05', flow: 'upload', summary: 'user submits an image to the portal' },
  uploadRequested: { pid: 'c8fms03-c8bms06-e10', flow: 'upload', summary: 'gateway accepted the upload and staged it' },
  imageValidated: { pid: 'c8bms06-c12bms03-e30', flow: 'upload', summary: 'archive, manifest, config and digests verified' },
  imageStored: { pid: 'c12bms03-c16bre03-e50', flow: 'upload', summary: 'image copied into the Development bucket' },
  helmChartGenerated: { pid: 'c12bms06-c20bre12-e80', flow: 'upload', summary: 'chart, manifests and overlays written' },
  viewportUpdated: { pid: 'c8bms30-c32bre03-e85', flow: 'both', summary: 'ViewPort projection committed' },
  imageRejected: { pid: 'c12bms03-c20bre24-911', flow: 'upload', summary: 'image refused with a reason code' },
  uploadFailed: { pid: 'c8bms06-c20bre24-911', flow: 'upload', summary: 'an upload stage failed for good' },
  // Transfer flow (PIDs of the transfer document)
  transferRequested: { pid: 'c8fms06-c8bms18-e10', flow: 'transfer', summary: 'promotion requested' },
  transferInitiated: { pid: 'c8bms18-c20bre21-e15', flow: 'transfer', summary: 'transfer recorded as started' },
  imageRetrieved: { pid: 'c8bms18-c16bre06-e40', flow: 'transfer', summary: 'source object located in the source bucket' },
  imageUploaded: { pid: 'c8bms18-c16bre09-e50', flow: 'transfer', summary: 'image copied to the target bucket' },
  helmChartRetrieved: { pid: 'c8bms18-c20bre09-e60', flow: 'transfer', summary: 'chart read from the source table' },
  helmChartUploaded: { pid: 'c8bms18-c20bre30-e70', flow: 'transfer', summary: 'chart saved to the target table' },
  imageTransferred: { pid: 'c8bms18-c20bre21-e95', flow: 'transfer', summary: 'transfer complete' },
  transferFailed: { pid: 'c8bms18-c20bre24-911', flow: 'transfer', summary: 'a transfer stage failed for good' },
} as const satisfies Record<string, { pid: string; flow: 'upload' | 'transfer' | 'both'; summary: string }>;

export type Step = keyof typeof CATALOGUE;
export type Pid = (typeof CATALOGUE)[Step]['pid'];

export interface PidEntry {
  readonly step: Step;
  readonly pid: Pid;
  readonly eventType: string;
  readonly flow: 'upload' | 'transfer' | 'both';
  readonly summary: string;
  readonly isError: boolean;
}

/** `helmChartGenerated` -> `helm-chart-generated`. */
export function eventTypeOf(step: string): string {
  return step.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);
}

export const PID_CATALOGUE: readonly PidEntry[] = (Object.keys(CATALOGUE) as Step[]).map((step) => ({
  step,
  ...CATALOGUE[step],
  eventType: eventTypeOf(step),
  isError: CATALOGUE[step].pid.endsWith('-911'),
}));

const BY_STEP = new Map(PID_CATALOGUE.map((entry) => [entry.step, entry]));
const BY_PID = new Map(PID_CATALOGUE.map((entry) => [entry.pid as string, entry]));

export function pidOf(step: Step): Pid {
  return CATALOGUE[step].pid;
}

export function entryOfStep(step: Step): PidEntry {
  const entry = BY_STEP.get(step);
  if (!entry) throw new UnknownEntryError('PID catalogue', step);
  return entry;
}

export function entryOfPid(pid: string): PidEntry {
  const entry = BY_PID.get(pid);
  if (!entry) throw new UnknownEntryError('PID catalogue', pid);
  return entry;
}

export function isKnownPid(pid: string): boolean {
  return BY_PID.has(pid);
}
