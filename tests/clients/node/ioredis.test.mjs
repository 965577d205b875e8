// ioredis against a twopc coordinator on 127.0.0.1:$TWOPC_PORT (started by
// tests/clients/test_node.py). Run with node's built-in runner: node --test.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';

const port = Number(process.env.TWOPC_PORT);
assert.ok(port > 0, 'TWOPC_PORT must name the coordinator port');
const prefix = `io:${process.pid}:`;
const clients = [];

function connect(opts = {}) {
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1, ...opts });
  clients.push(r);
  return r;
}

after(async () => {
  await Promise.all(clients.map((c) => c.quit().catch(() => c.disconnect())));
});

test('ready check, set, get, binary values', async () => {
  const r = connect({ connectionName: 'ioredis-test' });
  assert.equal(await r.set(`${prefix}a`, 'v'), 'OK');
  assert.equal(await r.get(`${prefix}a`), 'v');
  assert.equal(await r.get(`${prefix}missing`), null);
  const bin = Buffer.from([0, 1, 2, 13, 10, 255]);
  await r.set(`${prefix}bin`, bin);
  assert.deepEqual(await r.getBuffer(`${prefix}bin`), bin);
  assert.equal(await r.client('GETNAME'), 'ioredis-test');
  await assert.rejects(r.incr(`${prefix}a`), /ERR value is not an integer or out of range/);
});

test('pipeline of 1000 commands', async () => {
  const r = connect();
  const p = r.pipeline();
  for (let i = 0; i < 1000; i++) p.incr(`${prefix}n`);
  const res = await p.exec();
  assert.equal(res.length, 1000);
  res.forEach(([err, v], i) => {
    assert.equal(err, null);
    assert.equal(v, i + 1);
  });
});

test('multi/exec and an error inside it', async () => {
  const r = connect();
  const res = await r.multi().set(`${prefix}t`, '1').incr(`${prefix}t`).get(`${prefix}t`).exec();
  assert.deepEqual(res, [[null, 'OK'], [null, 2], [null, '2']]);
  const res2 = await r.multi().set(`${prefix}s`, 'x').incr(`${prefix}s`).exec();
  assert.equal(res2[0][1], 'OK');
  assert.match(String(res2[1][0]), /not an integer/);
  await assert.rejects(r.multi().set(`${prefix}q`, '1').call('NOSUCHCMD').exec(), /EXECABORT/);
  assert.equal(await r.exists(`${prefix}q`), 0);
});

test('watch: a concurrent write makes exec return null', async () => {
  const a = connect();
  const b = connect();
  await a.watch(`${prefix}w`);
  await b.set(`${prefix}w`, 'other');
  assert.equal(await a.multi().set(`${prefix}w`, 'mine').exec(), null);
  assert.equal(await a.get(`${prefix}w`), 'other');
});

test('watch retry loop with concurrent incrementers is exact', async () => {
  const key = `${prefix}counter`;
  const workers = 5;
  const each = 12;
  await connect().set(key, 0);
  async function worker() {
    const r = connect();
    for (let i = 0; i < each; i++) {
      for (;;) {
        await r.watch(key);
        const v = Number(await r.get(key));
        const res = await r.multi().set(key, v + 1).exec();
        if (res !== null) break;
      }
    }
  }
  await Promise.all(Array.from({ length: workers }, worker));
  assert.equal(Number(await connect().get(key)), workers * each);
});

test('info, config, client list, time', async () => {
  const r = connect();
  const info = await r.info('server');
  assert.match(info, /redis_version:7\.0\.0/);
  assert.deepEqual(await r.config('GET', 'maxclients'), ['maxclients', '10000']);
  assert.match(await r.client('LIST'), /^id=\d+ addr=/m);
  const [s] = await r.time();
  assert.ok(Math.abs(Number(s) - Date.now() / 1000) < 60);
});

test('monitor sees commands', async () => {
  const r = connect();
  const m = await r.monitor();
  clients.push(m);
  const seen = new Promise((resolve) => {
    m.on('monitor', (time, args) => {
      if (args[0] === 'set' && args[1] === `${prefix}mon`) resolve(args);
    });
  });
  await r.set(`${prefix}mon`, 'x');
  assert.deepEqual(await seen, ['set', `${prefix}mon`, 'x']);
  m.disconnect();
});

test('pub/sub: channels and patterns, every message once, in order', async () => {
  const pub = connect();
  const sub = connect();
  const psub = connect();
  const got = [];
  const pgot = [];
  sub.on('message', (ch, msg) => got.push([ch, msg]));
  psub.on('pmessage', (pat, ch, msg) => pgot.push([pat, ch, msg]));
  assert.equal(await sub.subscribe(`${prefix}ps:a`, `${prefix}ps:b`), 2);
  assert.equal(await psub.psubscribe(`${prefix}ps:*`), 1);
  const sent = [];
  for (let i = 0; i < 100; i++) {
    const ch = `${prefix}ps:${'abc'[i % 3]}`;
    const n = await pub.publish(ch, `m${i}`);
    assert.equal(n, ch.endsWith('c') ? 1 : 2);
    sent.push([ch, `m${i}`]);
  }
  await pub.publish(`${prefix}ps:end`, 'end');
  while (pgot.length < 101) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(got, sent.filter(([ch]) => !ch.endsWith('c')));
  assert.deepEqual(pgot.slice(0, 100), sent.map(([ch, m]) => [`${prefix}ps:*`, ch, m]));
  assert.equal(await sub.unsubscribe(), 0);
  assert.equal(await psub.punsubscribe(), 0);
  assert.deepEqual(await pub.pubsub('NUMSUB', `${prefix}ps:a`), [`${prefix}ps:a`, 0]);
});
