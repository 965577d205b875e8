// node-redis (the "redis" package, v5) against a twopc coordinator on
// 127.0.0.1:$TWOPC_PORT (started by tests/clients/test_node.py), over RESP2 and
// RESP3 (HELLO 3). Run with node's built-in runner: node --test.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createClient, createClientPool, WatchError } from 'redis';

const port = Number(process.env.TWOPC_PORT);
assert.ok(port > 0, 'TWOPC_PORT must name the coordinator port');
const url = `redis://127.0.0.1:${port}`;
const prefix = `nr:${process.pid}:`;
const clients = [];

async function connect(opts = {}) {
  const c = createClient({ url, ...opts });
  c.on('error', () => {});
  await c.connect();
  clients.push(c);
  return c;
}

after(async () => {
  await Promise.all(clients.map((c) => c.close().catch(() => c.destroy())));
});

for (const RESP of [2, 3]) {
  test(`RESP${RESP}: set, get, null, errors, maps`, async () => {
    const c = await connect({ RESP, name: `nr-${RESP}` });
    assert.equal(await c.set(`${prefix}${RESP}:a`, 'v'), 'OK');
    assert.equal(await c.get(`${prefix}${RESP}:a`), 'v');
    assert.equal(await c.get(`${prefix}${RESP}:missing`), null);
    await assert.rejects(c.incr(`${prefix}${RESP}:a`), /not an integer/);
    assert.equal(await c.clientGetName(), `nr-${RESP}`);
    const cfg = await c.configGet('maxclients');
    assert.equal(cfg.maxclients, '10000');
    const hello = await c.sendCommand(['HELLO']);
    assert.ok(hello, 'HELLO answered');
  });

  test(`RESP${RESP}: multi/exec, watch`, async () => {
    const c = await connect({ RESP });
    const res = await c.multi().set(`${prefix}${RESP}:t`, '1').incr(`${prefix}${RESP}:t`)
      .get(`${prefix}${RESP}:none`).exec();
    assert.deepEqual(res, ['OK', 2, null]);
    const other = await connect({ RESP });
    await c.watch(`${prefix}${RESP}:w`);
    await other.set(`${prefix}${RESP}:w`, 'x');
    await assert.rejects(c.multi().set(`${prefix}${RESP}:w`, 'y').exec(), WatchError);
  });
}

test('pipelining (auto and explicit)', async () => {
  const c = await connect();
  const replies = await Promise.all(
    Array.from({ length: 1000 }, () => c.incr(`${prefix}n`)));
  assert.deepEqual(replies, Array.from({ length: 1000 }, (_, i) => i + 1));
  const piped = await c.multi().set(`${prefix}p1`, '1').set(`${prefix}p2`, '2').execAsPipeline();
  assert.deepEqual(piped, ['OK', 'OK']);
});

test('client pool under concurrency', async () => {
  const pool = createClientPool({ url }, { maximum: 4 });
  pool.on('error', () => {});
  await pool.connect();
  try {
    const work = Array.from({ length: 40 }, async (_, i) => {
      await pool.set(`${prefix}pool:${i}`, String(i));
      return pool.incr(`${prefix}pool:${i}`);
    });
    assert.deepEqual(await Promise.all(work), Array.from({ length: 40 }, (_, i) => i + 1));
  } finally {
    pool.destroy();
  }
});

for (const RESP of [2, 3]) {
  test(`RESP${RESP}: pub/sub, channels and patterns in order`, async () => {
    const pub = await connect({ RESP });
    const sub = await connect({ RESP });
    const got = [];
    const pgot = [];
    const ch = (x) => `${prefix}${RESP}:ps:${x}`;
    await sub.subscribe([ch('a'), ch('b')], (msg, channel) => got.push([channel, msg]));
    await sub.pSubscribe(ch('*'), (msg, channel) => pgot.push([channel, msg]));
    const sent = [];
    for (let i = 0; i < 100; i++) {
      const c = ch('abc'[i % 3]);
      assert.equal(await pub.publish(c, `m${i}`), c.endsWith('c') ? 1 : 2);
      sent.push([c, `m${i}`]);
    }
    await pub.publish(ch('end'), 'end');
    while (pgot.length < 101) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(got, sent.filter(([c]) => !c.endsWith('c')));
    assert.deepEqual(pgot.slice(0, 100), sent);
    assert.deepEqual({ ...(await pub.pubSubNumSub([ch('a')])) }, { [ch('a')]: 1 });
    await sub.unsubscribe([ch('a'), ch('b')]); // with no argument v5 waits forever, on Redis too
    await sub.pUnsubscribe(ch('*'));
    assert.deepEqual({ ...(await pub.pubSubNumSub([ch('a')])) }, { [ch('a')]: 0 });
    assert.deepEqual(await pub.pubSubChannels(ch('*')), []); // NUMPAT: ioredis's run in parallel
  });
}
