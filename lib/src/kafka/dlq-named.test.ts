import { describe, expect, it } from 'vitest';
import { lettersAt } from '../../../test/helpers/dlq-letters.js';
import { DeadLetterNotFoundError, NamedLetters, OffsetWithoutPartitionError, writtenPositionOf } from './dlq-named.js';

describe('letters a re-drive names', () => {
  it('reads <partition>@<offset> as that letter only, and an offset alone as that offset of any partition', () => {
    const [position, alone] = lettersAt('1@7', '7');
    expect(position).toEqual({ asked: '1@7', partition: 1, offset: 7n });
    expect(alone).toEqual({ asked: '7', partition: undefined, offset: 7n });
    const named = new NamedLetters(lettersAt('1@7', '7', '0@0'));
    const asked = (partition: number, offset: string) => named.naming(partition, offset).map((letter) => letter.asked);
    expect([asked(1, '7'), asked(0, '7'), asked(1, '8'), asked(0, '0'), asked(1, '0')]).toEqual([['1@7', '7'], ['7'], [], ['0@0'], []]);
  });

  it('reads a position as dlq:list prints it, its DLQ before it or not, numbers as Kafka writes them; anything else is none', () => {
    expect(writtenPositionOf('orbit.image.stored.dlq/02@007')).toEqual({ dlqTopic: 'orbit.image.stored.dlq', partition: 2, offset: 7n });
    expect(writtenPositionOf('2@7')).toEqual({ dlqTopic: undefined, partition: 2, offset: 7n });
    expect(writtenPositionOf('7')).toEqual({ dlqTopic: undefined, partition: undefined, offset: 7n });
    for (const text of ['x', '', '0@', '@7', '0@7@1', '0/7', 'a@7', 'a/b/0@7', '/0@7', 'dlq/7', '-1']) expect(writtenPositionOf(text), text).toBeUndefined();
  });

  it('says which letters an offset alone is, in a DLQ of several partitions', () => {
    const error = new OffsetWithoutPartitionError('orbit.image.stored.dlq', 3, new Map([['7', ['2@7', '0@7']]]));
    expect(error.code).toBe('ORBIT_ERR_OFFSET_WITHOUT_PARTITION');
    expect(error.message).toBe('orbit.image.stored.dlq has 3 partitions, each counting its offsets from 0: name a letter by <partition>@<offset> (offset 7 is orbit.image.stored.dlq/0@7, orbit.image.stored.dlq/2@7); nothing was re-driven');
    expect(new DeadLetterNotFoundError('orbit.image.stored.dlq', ['99', '1@4']).message).toBe('no dead letter at offset 99, 1@4 of orbit.image.stored.dlq; nothing was re-driven');
  });
});
