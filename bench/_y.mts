import { startRegistry } from '../test/helpers/registry.js';
const t0 = Date.now(); const say = (m: string) => console.error(`${Date.now() - t0} ms ${m}`);
const a = await startRegistry(); say('a');
const b = await startRegistry({ users: { u: 'p' } }); say('b');
const c = await startRegistry({ token: { users: { u: 'p' } } }); say('c');
await a.stop(); await b.stop(); await c.stop(); say('stopped');
