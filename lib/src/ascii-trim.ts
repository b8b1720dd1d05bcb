/** ASCII white space at either end: what a form or a shell sends around a value (a newline after `echo`). */
const ASCII_SPACE_ENDS = /^[ \t\n\r\f\v]+|[ \t\n\r\f\v]+$/g;

/**
 * The text without ASCII white space at its ends, and nothing else: the gateway trims identifiers and paths with it,
 * and the chart generator trims paths stored before the gateway did. String#trim also took U+00A0 and U+3000 off,
 * so `/srv\u3000` ran in `/srv`; the gateway refuses those at the ends instead.
 */
export const asciiTrimmed = (text: string): string => text.replace(ASCII_SPACE_ENDS, '');
