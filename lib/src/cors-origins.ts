import { z } from 'zod';

/**
 * Browser origins that may reach Orbit (a portal UI on another host): the gateway answers their scripts (CORS), and
 * `npm run provision` gives the buckets a CORS rule for them (a presigned PUT to staging, a GET of an archive or
 * chart link). `https://portal.example.com,https://admin.example.com`, or `*`. Tokens travel in the Authorization
 * header, never in cookies, so `*` exposes nothing a browser holds; empty (the default) sends no CORS headers and
 * browsers keep other origins' scripts out.
 */
export const corsOriginsEnv = z.string().default('').transform((text, context): readonly string[] => {
  const origins: string[] = [];
  for (const entry of text.split(',').map((part) => part.trim()).filter(Boolean)) {
    if (entry === '*') {
      origins.push(entry);
      continue;
    }
    // URL takes * as a host character, so https://*.portal.example.com passed as an origin no browser sends and never
    // matched (found by a review). Refused rather than read as a wildcard: each origin a token's holder may be served
    // from is listed, as a subdomain left dangling would otherwise be one.
    if (entry.includes('*')) {
      context.addIssue({ code: 'custom', message: `"${entry}": * inside an origin is no wildcard here and would never match: list each origin (https://pr-42.portal.example.com, …), or * alone for every origin` });
      continue;
    }
    const url = URL.canParse(entry) ? new URL(entry) : null;
    if (url === null || !['http:', 'https:'].includes(url.protocol) || url.pathname !== '/' || url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
      context.addIssue({ code: 'custom', message: `"${entry}" is not an origin like https://portal.example.com (scheme, host and port only), or *` });
      continue;
    }
    // As browsers send it: lower-case host, no default port, no trailing slash.
    origins.push(url.origin);
  }
  if (origins.includes('*') && origins.length > 1) context.addIssue({ code: 'custom', message: '* already allows every origin: list origins, or * alone' });
  return origins;
});
