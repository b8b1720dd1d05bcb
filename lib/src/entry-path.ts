/**
 * Path rules for entries of the outer archive. Loaders (docker load, skopeo,
 * a user's tar -x) resolve these names on a real filesystem, so anything that
 * could land outside the extraction folder is refused, not cleaned up.
 */

export type PathVerdict = { readonly ok: true; readonly path: string } | { readonly ok: false; readonly why: string };
export type LinkVerdict = { readonly ok: true; readonly path: string; readonly via: readonly string[] } | { readonly ok: false; readonly why: string };

/**
 * The longest and deepest outer-archive path or link target taken. Image
 * archives name a handful of short paths (`blobs/sha256/<hex>`,
 * `<id>/layer.tar`, one folder above them at most); a megabyte-long PAX name
 * of thousands of folders made the checks below cost seconds to minutes, and
 * a link target like it, gigabytes.
 */
export const MAX_PATH_BYTES = 1024;
export const MAX_PATH_SEGMENTS = 32;

function sizeProblem(text: string): string | null {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_PATH_BYTES) return `is ${bytes} bytes long; archive paths over ${MAX_PATH_BYTES} bytes are refused`;
  let separators = 0;
  for (let i = 0; i < text.length; i += 1) if (text[i] === '/' || text[i] === '\\') separators += 1;
  return separators >= MAX_PATH_SEGMENTS ? `is ${separators + 1} names deep; archive paths over ${MAX_PATH_SEGMENTS} are refused` : null;
}

function segmentsOf(name: string): string[] {
  // Backslashes count as separators: a Windows extraction treats them so.
  return name.split(/[\\/]/).filter((segment) => segment !== '' && segment !== '.');
}

function isAbsolute(name: string): boolean {
  return name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name);
}

/** `./blobs/sha256/x` and `blobs//sha256/x` are both `blobs/sha256/x`; `..` anywhere and absolute names are refused. */
export function normalizeEntryPath(name: string): PathVerdict {
  if (name.includes('\0')) return { ok: false, why: 'contains a NUL byte' };
  const tooBig = sizeProblem(name);
  if (tooBig !== null) return { ok: false, why: tooBig };
  if (isAbsolute(name)) return { ok: false, why: 'is an absolute path' };
  const segments = segmentsOf(name);
  if (segments.includes('..')) return { ok: false, why: 'has a ".." segment' };
  return { ok: true, path: segments.join('/') };
}

/**
 * Where a link points, as an archive path. Symlink targets are relative to the
 * link's folder; hard-link targets are archive paths. `..` may climb inside
 * the archive (docker-archive links `<id>/layer.tar` to `../<hex>.tar`) but
 * never above its root.
 */
export function linkTarget(linkPath: string, target: string, kind: 'symlink' | 'hardlink'): LinkVerdict {
  if (target.includes('\0')) return { ok: false, why: 'has a target with a NUL byte' };
  const tooBig = sizeProblem(target);
  if (tooBig !== null) return { ok: false, why: `has a target that ${tooBig}` };
  if (isAbsolute(target)) return { ok: false, why: `points at the absolute path ${target}` };
  const base = kind === 'symlink' ? segmentsOf(linkPath).slice(0, -1) : [];
  const resolved: string[] = [...base];
  // Lexical resolution is only right if no step passes through another link; `via` lets the caller check that.
  const via: string[] = [];
  for (const segment of segmentsOf(target)) {
    if (segment !== '..') resolved.push(segment);
    else if (resolved.pop() === undefined) return { ok: false, why: `points at ${target}, outside the archive` };
    if (resolved.length > 0) via.push(resolved.join('/'));
  }
  return { ok: true, path: resolved.join('/'), via: via.slice(0, -1) };
}
