import { describe, expect, it } from 'vitest';
import { expectedPartBytes, partPlan, partProblems, S3_MAX_PARTS } from './part-plan.js';

const MIB = 1024 ** 2;
const GIB = 1024 ** 3;

describe('cutting a presigned upload into S3 parts', () => {
  it('uses the preferred part size, the last part holding the rest', () => {
    const plan = partPlan(150 * MIB + 7, 64 * MIB);
    expect(plan).toEqual({ sizeBytes: 150 * MIB + 7, partSizeBytes: 64 * MIB, partCount: 3 });
    expect([1, 2, 3].map((n) => expectedPartBytes(plan, n))).toEqual([64 * MIB, 64 * MIB, 22 * MIB + 7]);
    expect(partPlan(1, 64 * MIB)).toEqual({ sizeBytes: 1, partSizeBytes: 64 * MIB, partCount: 1 });
    expect(partPlan(128 * MIB, 64 * MIB).partCount).toBe(2);
  });

  it('keeps within S3\'s limits: parts of 5 MiB at least, 10 000 at most, 5 GiB each at most', () => {
    expect(partPlan(100 * MIB, 1024).partSizeBytes).toBe(5 * MIB);
    const huge = partPlan(1000 * GIB, 64 * MIB);
    expect(huge.partCount).toBeLessThanOrEqual(S3_MAX_PARTS);
    expect(huge.partSizeBytes % MIB).toBe(0);
    expect(partPlan(10 * GIB, 10 * GIB).partSizeBytes).toBe(5 * GIB);
    expect(() => partPlan(0, 64 * MIB)).toThrow(RangeError);
    expect(() => partPlan(S3_MAX_PARTS * 5 * GIB + 1, 64 * MIB)).toThrow(/more than 10000 parts/);
  });

  it('names the parts that have not arrived and those of the wrong size', () => {
    const plan = partPlan(40 * MIB + 1, 5 * MIB);
    expect(plan.partCount).toBe(9);
    const all = Array.from({ length: 9 }, (_, i) => ({ partNumber: i + 1, sizeBytes: expectedPartBytes(plan, i + 1) }));
    expect(partProblems(plan, all)).toEqual([]);
    const gappy = all.filter((part) => ![2, 5, 6, 7, 9].includes(part.partNumber));
    expect(partProblems(plan, gappy)).toEqual(['parts 2, 5-7, 9 of 9 have not arrived']);
    expect(partProblems(plan, all.filter((part) => part.partNumber !== 4))).toEqual(['part 4 of 9 has not arrived']);
    const short = all.map((part) => (part.partNumber === 3 ? { partNumber: 3, sizeBytes: 4 * MIB } : part));
    expect(partProblems(plan, short)).toEqual([`part 3 is ${4 * MIB} bytes, not ${5 * MIB}`]);
  });
});
