/** Part types that are never an image archive (busboy gives them lower-cased, without parameters). */
const TEXT_PART_TYPE = /^text\/|^application\/([\w.-]+\+)?json$/;

/**
 * Whether the multipart reader hands a part over as a file (a stream) or as a text field. RFC 7578 §4.2 makes a file
 * part's filename optional: an `image` part of a type neither text nor JSON (requests' `(None, data,
 * 'application/x-tar')`) is the archive, where the reader took it for a text field (read into memory, then refused).
 * Text stays a field, refused with a hint: `-F image=app.tar` (no @) sends the name, not the file.
 */
export function formPartIsAFile(fieldName: string | undefined, contentType: string | undefined, fileName: string | undefined): boolean {
  return fileName !== undefined || contentType === 'application/octet-stream'
    || (fieldName === 'image' && !TEXT_PART_TYPE.test(contentType ?? 'text/plain'));
}
