import { describe, expect, it } from 'vitest';
import { HEADER } from './headers.js';
import { parsedPositionOf, positionOf, redriveForAnotherGroup, REDRIVEN_FROM_HEADER } from './redrive-copy.js';

const topic = 'orbit.pipeline.failed';
const copyFor = (group: string | string[], from: string | string[] = `${topic}.dlq/2@41`): Record<string, string | string[]> =>
  ({ [HEADER.redriveGroup]: group, [REDRIVEN_FROM_HEADER]: from });

describe('redriveForAnotherGroup', () => {
  it('names the group and letter of a dlq:redrive copy of this topic\'s own DLQ sent back for another group', () => {
    expect(redriveForAnotherGroup(copyFor('harbor-writer'), [topic], 'viewport-projector')).toEqual({ redrivenFor: 'harbor-writer', redrivenFrom: `${topic}.dlq/2@41` });
    // As re-drives wrote it before the `@` form.
    expect(redriveForAnotherGroup(copyFor('harbor-writer', `${topic}.dlq/2/41`), [topic], 'viewport-projector')).toMatchObject({ redrivenFor: 'harbor-writer' });
    // A replay of a renamed copy: the copy's headers name the DLQ of the topic it stands for.
    expect(redriveForAnotherGroup(copyFor('harbor-writer'), [`mirror.${topic}`, topic], 'viewport-projector')).toMatchObject({ redrivenFor: 'harbor-writer' });
  });

  it('leaves to be handled a copy for this group, or one for every group', () => {
    expect(redriveForAnotherGroup(copyFor('viewport-projector'), [topic], 'viewport-projector')).toBeUndefined();
    expect(redriveForAnotherGroup(copyFor(''), [topic], 'viewport-projector')).toBeUndefined();
    expect(redriveForAnotherGroup({}, [topic], 'viewport-projector')).toBeUndefined();
    expect(redriveForAnotherGroup(undefined, [topic], 'viewport-projector')).toBeUndefined();
  });

  it('leaves to be handled a message whose re-drive headers no re-drive of this topic wrote (a header copied by a foreign job)', () => {
    expect(redriveForAnotherGroup({ [HEADER.redriveGroup]: 'some-other-team' }, [topic], 'viewport-projector')).toBeUndefined();
    expect(redriveForAnotherGroup(copyFor('some-other-team', 'orbit.image.stored.dlq/0@3'), [topic], 'viewport-projector')).toBeUndefined();
    expect(redriveForAnotherGroup(copyFor('some-other-team', 'somewhere'), [topic], 'viewport-projector')).toBeUndefined();
    expect(redriveForAnotherGroup(copyFor('some-other-team', `${topic}/0@3`), [topic], 'viewport-projector')).toBeUndefined();
    expect(redriveForAnotherGroup(copyFor(['x', 'y']), [topic], 'viewport-projector')).toBeUndefined();
    expect(redriveForAnotherGroup(copyFor('x', [`${topic}.dlq/0@1`, `${topic}.dlq/0@2`]), [topic], 'viewport-projector')).toBeUndefined();
  });
});

describe('a dead letter\'s position, as printed and as `orbit-redriven-from` holds it', () => {
  it('reads back what positionOf writes, and the older /<offset> form, as the same position', () => {
    const position = { dlqTopic: `${topic}.dlq`, dlqPartition: 2, dlqOffset: '41' };
    expect(positionOf(position)).toBe(`${topic}.dlq/2@41`);
    expect(parsedPositionOf(positionOf(position))).toEqual({ ...position, dlqPartition: '2' });
    expect(parsedPositionOf(`${topic}.dlq/2/41`)).toEqual({ ...position, dlqPartition: '2' });
  });

  it('takes no other text for a position', () => {
    for (const text of ['somewhere', `${topic}.dlq/2`, `${topic}.dlq/x@41`, `${topic}.dlq/2@-1`, `a/b/2@41`, `/2@41`]) expect(parsedPositionOf(text), text).toBeUndefined();
  });
});
