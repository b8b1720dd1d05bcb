import { namedLetterAt, writtenPositionOf, type NamedLetter } from '@orbit/lib';

/** The letters `texts` name (`<partition>@<offset>` or an offset alone), as dlqCommandOf reads them from --offset. */
export function lettersAt(...texts: string[]): NamedLetter[] {
  return texts.map((text) => {
    const position = writtenPositionOf(text);
    if (position === undefined) throw new Error(`${text} is no letter's position`);
    return namedLetterAt(position);
  });
}
