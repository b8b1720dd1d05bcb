/**
 * How a presigned upload of a declared size is cut into S3 multipart parts.
 * One presigned PUT holds at most 5 GiB on AWS S3, so a big image goes up in
 * parts: each but the last the same size, at least 5 MiB and at most 5 GiB,
 * and no more than 10 000 of them.
 */
export const S3_MAX_PARTS = 10_000;
export const S3_MIN_PART_BYTES = 5 * 1024 ** 2;
export const S3_MAX_PART_BYTES = 5 * 1024 ** 3;

const MIB = 1024 ** 2;

export interface PartPlan {
  readonly sizeBytes: number;
  readonly partSizeBytes: number;
  readonly partCount: number;
}

/** The preferred part size, raised (to whole MiB) where the size would otherwise need more than 10 000 parts. */
export function partPlan(sizeBytes: number, preferredPartBytes: number): PartPlan {
  if (!Number.isSafeInteger(sizeBytes) || sizeBytes < 1) throw new RangeError(`a part plan needs a size of at least one byte, not ${sizeBytes}`);
  const floor = Math.ceil(sizeBytes / S3_MAX_PARTS / MIB) * MIB;
  const partSizeBytes = Math.min(Math.max(preferredPartBytes, floor, S3_MIN_PART_BYTES), S3_MAX_PART_BYTES);
  const partCount = Math.ceil(sizeBytes / partSizeBytes);
  if (partCount > S3_MAX_PARTS) throw new RangeError(`${sizeBytes} bytes need more than ${S3_MAX_PARTS} parts of ${S3_MAX_PART_BYTES} bytes`);
  return { sizeBytes, partSizeBytes, partCount };
}

/** The size part `partNumber` (1-based) must have. */
export function expectedPartBytes(plan: PartPlan, partNumber: number): number {
  return partNumber < plan.partCount ? plan.partSizeBytes : plan.sizeBytes - (plan.partCount - 1) * plan.partSizeBytes;
}

export interface UploadedPart {
  readonly partNumber: number;
  readonly sizeBytes: number;
}

/** Runs of numbers as a person writes them: 2, 5-9, 12. */
function runs(numbers: readonly number[]): string {
  const out: [number, number][] = [];
  for (const n of numbers) {
    const last = out.at(-1);
    if (last && last[1] === n - 1) last[1] = n;
    else out.push([n, n]);
  }
  return out.map(([start, end]) => (end === start ? String(start) : `${start}-${end}`)).join(', ');
}

/** The planned parts that have not arrived, and those that arrived with another size, in part order. */
export function partsToSend(plan: PartPlan, uploaded: readonly UploadedPart[]): { readonly missing: number[]; readonly misSized: { partNumber: number; sizeBytes: number }[] } {
  const byNumber = new Map(uploaded.map((part) => [part.partNumber, part.sizeBytes]));
  const missing: number[] = [];
  const misSized: { partNumber: number; sizeBytes: number }[] = [];
  for (let partNumber = 1; partNumber <= plan.partCount; partNumber++) {
    const size = byNumber.get(partNumber);
    if (size === undefined) missing.push(partNumber);
    else if (size !== expectedPartBytes(plan, partNumber)) misSized.push({ partNumber, sizeBytes: size });
  }
  return { missing, misSized };
}

/** What keeps the parts that arrived from making the declared object, in words; empty when every part is there at its size. */
export function partProblems(plan: PartPlan, uploaded: readonly UploadedPart[]): string[] {
  const { missing, misSized } = partsToSend(plan, uploaded);
  return [
    ...(missing.length > 0 ? [`part${missing.length > 1 ? 's' : ''} ${runs(missing)} of ${plan.partCount} ${missing.length > 1 ? 'have' : 'has'} not arrived`] : []),
    ...misSized.map(({ partNumber, sizeBytes }) => `part ${partNumber} is ${sizeBytes} bytes, not ${expectedPartBytes(plan, partNumber)}`),
  ];
}
