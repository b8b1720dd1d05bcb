import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { sampleEvents } from '@orbit/schemas';
import { describe, expect, it } from 'vitest';
import { eventsShownTo, payloadShownTo, SHOWN_TO_OTHERS, type FieldRule } from './event-payload-view.js';

const AVRO = fileURLToPath(new URL('../../../schemas/avro/', import.meta.url));

/**
 * The fields no one but the image's owner (and the actor, of their own record) is shown, with why: deciding on a
 * field added to a schema means naming it here or in SHOWN_TO_OTHERS, else the first test fails.
 */
const WITHHELD: Readonly<Record<string, string>> = {
  'actor.firstName': 'personal data: a username says who, as Harbor\'s and Artifactory\'s audit logs do',
  'actor.lastName': 'personal data',
  'actor.email': 'personal data',
  idempotencyKey: 'the uploader\'s own retry key',
  uploadId: 'the presigned upload\'s id',
  'bodyDigest.metadataSha256': 'what an upload\'s key was first sent with',
  'bodyDigest.contentSha256': 'what an upload\'s key was first sent with',
  reference: 'where the uploader pulled the image from; the environment\'s own imageReference is shown',
  pulledFrom: 'the same reference, passed on to the stored version: it may name a private registry',
  ...Object.fromEntries(['staging', 'stored', 'source', 'target', 'chart', 'image'].flatMap((record) => ['bucket', 'key', 'versionId'].map((field) => [
    `${record}.${field}`, 'an S3 object: a deployer pulls by registry reference and checks by digest',
  ]))),
  kustomizeTable: 'Orbit\'s storage; the environment names it',
  sourceTable: 'Orbit\'s storage; sourceEnvironment names it',
  targetTable: 'Orbit\'s storage; targetEnvironment names it',
};

type AvroType = string | readonly AvroType[] | { readonly type: string; readonly name?: string; readonly fields?: readonly { name: string; type: AvroType }[]; readonly items?: AvroType; readonly values?: AvroType };

/** Every leaf of a schema file as a path: `a.b` a field, `[]` a list's items, `{}` a map's values. */
function leafPaths(schema: AvroType): string[] {
  const named = new Map<string, AvroType>();
  const paths: string[] = [];
  const walk = (type: AvroType, path: string): void => {
    if (typeof type === 'string') {
      const known = named.get(type);
      if (known) walk(known, path); else if (type !== 'null') paths.push(path);
      return;
    }
    if (Array.isArray(type)) { type.forEach((member: AvroType) => walk(member, path)); return; }
    const complex = type as Exclude<AvroType, string | readonly AvroType[]>;
    if (complex.type === 'record' && complex.fields) {
      if (complex.name) named.set(complex.name, complex);
      for (const field of complex.fields) walk(field.type, path ? `${path}.${field.name}` : field.name);
    } else if (complex.type === 'array' && complex.items !== undefined) walk(complex.items, `${path}[]`);
    else if (complex.type === 'map' && complex.values !== undefined) walk(complex.values, `${path}{}`);
    else {
      if (complex.type === 'enum' && complex.name) named.set(complex.name, 'string');
      paths.push(path);
    }
  };
  walk(schema, '');
  return paths;
}

/** Whether SHOWN_TO_OTHERS shows a leaf path. */
function shownPath(path: string): boolean {
  let rule: FieldRule | undefined = SHOWN_TO_OTHERS;
  for (const step of path.match(/[^.[\]{}]+|\[\]|\{\}/g) ?? []) {
    if (rule === undefined || rule === 'value') return false;
    if (step === '[]') rule = 'items' in rule ? rule.items : undefined;
    else if (step === '{}') rule = 'values' in rule ? rule.values : undefined;
    else rule = 'fields' in rule && Object.hasOwn(rule.fields, step) ? rule.fields[step] : undefined;
  }
  return rule === 'value';
}

describe('what someone who is not the image\'s owner is shown of its events', () => {
  const schemaFiles = readdirSync(AVRO).filter((file) => file.endsWith('.avsc'));

  it('has decided on every field of every schema in schemas/avro: shown, or withheld for a reason given', () => {
    expect(schemaFiles.length).toBeGreaterThanOrEqual(10);
    const leaves = new Set(schemaFiles.flatMap((file) => leafPaths(JSON.parse(readFileSync(`${AVRO}${file}`, 'utf8')) as AvroType)));
    const withheld = [...leaves].filter((path) => !shownPath(path)).sort();
    expect(withheld).toEqual(Object.keys(WITHHELD).sort());
  });

  it('drops a field no schema had yet, at the top and in a nested record, rather than passing it on', () => {
    const payload = {
      imageVersion: 'v1-0-00', futureToken: 'secret-1', actor: { username: 'dev1', phone: '+1 555' },
      metadata: { imageName: 'billing-api', ownerNotes: 'secret-2' }, image: { manifestDigest: 'sha256:a', config: { user: '1000', secrets: ['secret-3'] } },
    };
    expect(payloadShownTo('rm1', payload)).toEqual({
      imageVersion: 'v1-0-00', actor: { username: 'dev1' }, metadata: { imageName: 'billing-api' }, image: { manifestDigest: 'sha256:a', config: { user: '1000' } },
    });
  });

  it('shows a release manager who did what and the references to deploy, none of the uploader\'s e-mail, keys or S3 objects', () => {
    const events = Object.values(sampleEvents('U'.repeat(60)));
    const uploaded = { ...events[0], idempotencyKey: '3f93987d-ee88-4c08-8648-12d8fc1e74e8', uploadId: 'up-1', bodyDigest: { metadataSha256: 'a', contentSha256: null } };
    const shown = JSON.stringify([uploaded, ...events].map((payload) => payloadShownTo('rm1', payload)));
    for (const hidden of ['ada@example.com', 'Ada', '3f93987d', 'up-1', 'bodyDigest', 'bucket', '"key":"uploads/', 'versionId', 'k8or-kustomize']) expect(shown).not.toContain(hidden);
    for (const kept of ['"username":"dev1"', '"imageVersion":"v1-0-00"', 'registry-testing.example.com/orbit/dev1/billing-api@sha256:', '"chartSha256"', '"targetEnvironment":"Testing"', '"manifestDigest"']) {
      expect(shown).toContain(kept);
    }
  });

  it('leaves out a promotion\'s S3 copy whole, keeps an upload\'s image facts', () => {
    const promoted = payloadShownTo('rm1', { imageVersion: 'v1-0-00', image: { bucket: 'b', key: 'k', versionId: null }, sha256: 'e' });
    expect(promoted).toEqual({ imageVersion: 'v1-0-00', sha256: 'e' });
    expect(payloadShownTo('rm1', { image: { format: 'OCI_ARCHIVE', config: { labels: { team: 'x' } } } })).toEqual({ image: { format: 'OCI_ARCHIVE', config: { labels: { team: 'x' } } } });
  });

  it('shows the actor their own record whole, and the owner every payload as logged', () => {
    const actor = { username: 'rm1', firstName: 'Rita', lastName: 'M', email: 'rita@example.com' };
    const transfer = { pid: 'p', eventType: 'transfer-requested', at: '2026-12-06T00:00:00.000Z', correlationId: 'c', payload: { actor, imageVersion: 'v1-0-00', staging: { bucket: 'b', key: 'k' } } };
    expect(eventsShownTo('rm1', 'dev1', [transfer])[0]?.payload).toEqual({ actor, imageVersion: 'v1-0-00' });
    expect(eventsShownTo('rm2', 'dev1', [transfer])[0]?.payload).toEqual({ actor: { username: 'rm1' }, imageVersion: 'v1-0-00' });
    expect(eventsShownTo('dev1', 'dev1', [transfer])).toEqual([transfer]);
  });
});
