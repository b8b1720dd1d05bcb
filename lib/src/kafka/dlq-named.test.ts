import { describe, expect, it } from 'vitest';
import { DeadLetterNotFoundError, NamedLetters, namedLettersOf, OffsetWithoutPartitionError } from './dlq-named.js';

describe('letters a re-drive names', () => {
  it('reads <partition>@<offset> as that letter only, and an offset alone as that offset of any partition', () => {
    const [position, alone] = namedLettersOf(['1@7', '7']);
    expect(position).toEqual({ asked: '1@7', partition: 1, offset: 7n });
    expect(alone).toEqual({ asked: '7', partition: undefined, offset: 7n });
    const named = new NamedLetters(['1@7', '7', '0@0']);
    const asked = (partition: number, offset: string) => named.naming(partition, offset).map((letter) => letter.asked);
    expect([asked(1, '7'), asked(0, '7'), asked(1, '8'), asked(0, '0'), asked(1, '0')]).toEqual([['1@7', '7'], ['7'], [], ['0@0'], []]);
    expect(() => namedLettersOf(['x'])).toThrow(RangeError);
  });

  it('says which letters an offset alone is, in a DLQ of several partitions', () => {
    const error = new OffsetWithoutPartitionError('orbit.image.stored.dlq', 3, new Map([['7', ['2@7', '0@7']]]));
    expect(error.code).toBe('ORBIT_ERR_OFFSET_WITHOUT_PARTITION');
    expect(error.message).toBe('orbit.image.stored.dlq has 3 partitions, each counting its offsets from 0: name a letter by <partition>@<offset> (offset 7 is orbit.image.stored.dlq/0@7, orbit.image.stored.dlq/2@7); nothing was re-driven');
    expect(new DeadLetterNotFoundError('orbit.image.stored.dlq', ['99', '1@4']).message).toBe('no dead letter at offset 99, 1@4 of orbit.image.stored.dlq; nothing was re-driven');
  });
});
