// The collection types the way applications use them, through ioredis and node-redis
// (RESP2 and RESP3), against a twopc coordinator on 127.0.0.1:$TWOPC_PORT (started by
// tests/clients/test_node.py): a session kept in a hash, a leaderboard in a sorted set, a job
// queue in a list with blocking workers. Run with
// node's built-in runner: node --test.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import Redis from 'ioredis';
import { createClient } from 'redis';

const port = Number(process.env.TWOPC_PORT);
assert.ok(port > 0, 'TWOPC_PORT must name the coordinator port');
const prefix = `apps:${process.pid}:`;
const closers = [];

after(async () => {
  await Promise.all(closers.map((f) => f().catch(() => {})));
});

function ioredis() {
  const r = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
  closers.push(() => r.quit());
  return r;
}

async function nodeRedis(RESP) {
  const c = createClient({ url: `redis://127.0.0.1:${port}`, RESP });
  c.on('error', () => {});
  await c.connect();
  closers.push(() => c.close());
  return c;
}

test('ioredis: a session hash (hset object, hgetall, hincrby, expire, hdel)', async () => {
  const r = ioredis();
  const k = `${prefix}io:session`;
  assert.equal(await r.hset(k, { user: 'ada', cart: '0', theme: 'dark' }), 3);
  assert.equal(await r.expire(k, 1800), 1);
  assert.equal(await r.hincrby(k, 'cart', 3), 3);
  assert.equal(await r.hincrbyfloat(k, 'spent', '9.5'), '9.5');
  assert.deepEqual(await r.hgetall(k), { user: 'ada', cart: '3', theme: 'dark', spent: '9.5' });
  assert.deepEqual(await r.hmget(k, 'user', 'nope', 'cart'), ['ada', null, '3']);
  assert.equal(await r.hdel(k, 'theme', 'nope'), 1);
  assert.equal(await r.hlen(k), 3);
  assert.ok((await r.ttl(k)) > 1700);
  await assert.rejects(r.get(k), /^ReplyError: WRONGTYPE Operation against a key holding the wrong kind of value/);
  assert.equal(await r.type(k), 'hash');
  // a MULTI over the hash and a string is atomic
  const res = await r.multi().hset(k, 'user', 'grace').incr(`${prefix}io:logins`).hget(k, 'user').exec();
  assert.deepEqual(res, [[null, 0], [null, 1], [null, 'grace']]);
  assert.equal(await r.del(k), 1);
  assert.deepEqual(await r.hgetall(k), {});
});

test('ioredis: a leaderboard in a sorted set (zincrby, zrevrange withscores, zrank)', async () => {
  const r = ioredis();
  const k = `${prefix}io:board`;
  assert.equal(await r.zadd(k, 10, 'ada', 7, 'grace', 12, 'linus'), 3);
  assert.equal(await r.zincrby(k, 5, 'grace'), '12');
  assert.deepEqual(await r.zrevrange(k, 0, 1, 'WITHSCORES'), ['linus', '12', 'grace', '12']);
  assert.equal(await r.zrank(k, 'ada'), 0);
  assert.equal(await r.zrevrank(k, 'ada'), 2);
  assert.equal(await r.zcount(k, 11, '+inf'), 2);
  assert.deepEqual(await r.zrangebyscore(k, '(10', 12), ['grace', 'linus']);
  assert.deepEqual(await r.zpopmin(k), ['ada', '10']);
  assert.equal(await r.zcard(k), 2);
  await assert.rejects(r.hget(k, 'x'), /WRONGTYPE/);
});

for (const RESP of [2, 3]) {
  test(`node-redis RESP${RESP}: a session hash and a leaderboard`, async () => {
    const c = await nodeRedis(RESP);
    const k = `${prefix}nr${RESP}:session`;
    assert.equal(await c.hSet(k, { user: 'ada', cart: '0' }), 2);
    assert.equal(await c.hIncrBy(k, 'cart', 2), 2);
    const all = await c.hGetAll(k);
    assert.deepEqual({ ...all }, { user: 'ada', cart: '2' });
    assert.equal(await c.hExists(k, 'user'), 1);
    const b = `${prefix}nr${RESP}:board`;
    assert.equal(await c.zAdd(b, [{ score: 3, value: 'x' }, { score: 1, value: 'y' }]), 2);
    assert.equal(await c.zIncrBy(b, 5, 'y'), 6);
    const top = await c.zRangeWithScores(b, 0, -1, { REV: true });
    assert.deepEqual(top, [{ value: 'y', score: 6 }, { value: 'x', score: 3 }]);
    assert.equal(await c.zRank(b, 'x'), 0);
    const [n, v] = await c.multi().hSet(k, 'cart', '5').hGet(k, 'cart').exec();
    assert.equal(n, 0);
    assert.equal(v, '5');
  });
}

test('ioredis: a job queue with BLPOP workers (every job once), then BLMOVE to a processing list', async () => {
  const producer = ioredis();
  const q = `${prefix}io:jobs`;
  const workers = [ioredis(), ioredis(), ioredis()];
  const got = workers.map(() => []);
  const runs = workers.map(async (w, i) => {
    for (;;) {
      const res = await w.blpop(q, 10);
      assert.ok(res, `worker ${i} timed out waiting for a job`);
      if (res[1] === 'stop') return;
      got[i].push(res[1]);
    }
  });
  const jobs = Array.from({ length: 120 }, (_, j) => `job-${j}`);
  for (let j = 0; j < jobs.length; j += 10) await producer.rpush(q, ...jobs.slice(j, j + 10));
  await producer.rpush(q, 'stop', 'stop', 'stop');
  await Promise.all(runs);
  assert.deepEqual(got.flat().sort(), [...jobs].sort());
  assert.equal(await producer.llen(q), 0);
  const p = `${prefix}io:processing`;
  await producer.rpush(q, 'a', 'b');
  assert.equal(await workers[0].blmove(q, p, 'LEFT', 'RIGHT', 1), 'a');
  assert.deepEqual(await producer.lrange(p, 0, -1), ['a']);
  assert.equal(await producer.lrem(p, 1, 'a'), 1);
  assert.equal(await workers[1].blpop(`${prefix}io:empty`, 0.1), null);
});

for (const RESP of [2, 3]) {
  test(`node-redis RESP${RESP}: a queue (rPush, blPop from a waiting client, lRange, lMove)`, async () => {
    const c = await nodeRedis(RESP);
    const w = await nodeRedis(RESP);
    const q = `${prefix}nr${RESP}:queue`;
    const waiting = w.blPop(q, 5);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(await c.rPush(q, ['first', 'second']), 2);
    assert.deepEqual({ ...(await waiting) }, { key: q, element: 'first' });
    assert.deepEqual(await c.lRange(q, 0, -1), ['second']);
    assert.equal(await c.lMove(q, `${q}:done`, 'LEFT', 'RIGHT'), 'second');
    assert.equal(await c.lLen(q), 0);
    assert.equal(await w.blPop(q, 0.1), null);
  });
}
