import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { loadEdgeConfig } from '../src/http/edge-config.js';
import { startRelay, type Relay } from '../src/app.js';
import { SimCaller } from '../src/sim/twilio/caller.js';
import { OUTBOX_FILE } from '../src/store/outbox.js';
import { startRelayProcess, type RelayProcess } from './support/relay-process.js';
import { sleep, until } from './support/relay-harness.js';

// Issue 7: the relay's stores fail under it. PRIVATE PostgreSQL and Redis instances (temp dir, free
// port) are stopped and started here; the machine's shared ones (5432/6379) are never touched.
// Postgres: a call ends while the database is down → its record waits in the durable outbox → the
// database returns → the record is stored exactly once. SIGKILL mid-call: what reached the outbox is
// stored on restart, and a call live at the kill is recorded from the live-call journal. Redis: two
// instances enforce one
// limit; with Redis gone each falls back to its own memory (N instances → N × the limit).

const PG_BIN = [
  '/usr/lib/postgresql/17/bin',
  '/usr/lib/postgresql/16/bin',
  '/usr/lib/postgresql/15/bin',
  '/usr/lib/postgresql/14/bin',
].find((d) => existsSync(join(d, 'initdb')));
const REDIS_BIN = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'].find((p) => existsSync(p));
if (!PG_BIN) console.log('faults-db: SKIPPED the Postgres fault tests: no initdb under /usr/lib/postgresql/*/bin');
if (!REDIS_BIN) console.log('faults-db: SKIPPED the Redis fault tests: no redis-server binary');

const TWILIO_UA = { 'User-Agent': 'TwilioProxy/1.1' };
const params = { merchantId: 'demo', callerPhone: '+14155550100' };

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** A throwaway PostgreSQL cluster. initdb refuses to run as root, so as root it runs as `postgres`. */
class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly asPostgres: boolean,
  ) {}
  static async create(bin: string): Promise<PrivatePostgres> {
    const dir = mkdtempSync(join(tmpdir(), 'callrelay-pg-'));
    const asPostgres = process.getuid?.() === 0;
    if (asPostgres) {
      const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      chownSync(dir, uid, gid);
    }
    const p = new PrivatePostgres(dir, await freePort(), asPostgres);
    p.run(join(bin, 'initdb'), ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']);
    return p;
  }
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }
  /** Starts the server unless it is running (so a failed test that left it stopped does not cascade). */
  start(): void {
    if (this.running()) return;
    this.run(join(PG_BIN ?? '', 'pg_ctl'), [
      '-D',
      join(this.dir, 'data'),
      '-l',
      join(this.dir, 'log'),
      '-w',
      '-o',
      `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off`,
      'start',
    ]);
  }
  stop(mode: 'fast' | 'immediate' = 'fast'): void {
    this.run(join(PG_BIN ?? '', 'pg_ctl'), ['-D', join(this.dir, 'data'), '-m', mode, '-w', 'stop'], true);
  }
  running(): boolean {
    const args = ['-D', join(this.dir, 'data'), 'status'];
    const cmd = join(PG_BIN ?? '', 'pg_ctl');
    const r = this.asPostgres ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args]) : spawnSync(cmd, args);
    return r.status === 0;
  }
  remove(): void {
    this.stop('immediate');
    rmSync(this.dir, { recursive: true, force: true });
  }
  async count(callSid: string): Promise<number> {
    const c = new pg.Client({ connectionString: this.url });
    await c.connect();
    try {
      const r = await c.query<{ n: string }>('select count(*)::text as n from calls where call_sid = $1', [callSid]);
      return Number(r.rows[0]?.n ?? 0);
    } finally {
      await c.end();
    }
  }
  async endReason(callSid: string): Promise<string | null> {
    const c = new pg.Client({ connectionString: this.url });
    await c.connect();
    try {
      const r = await c.query<{ end_reason: string | null }>('select end_reason from calls where call_sid = $1', [
        callSid,
      ]);
      return r.rows[0]?.end_reason ?? null;
    } finally {
      await c.end();
    }
  }
  private run(cmd: string, args: string[], tolerate = false): void {
    const r = this.asPostgres
      ? spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8' })
      : spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0 && !tolerate) throw new Error(`${cmd} ${args[0] ?? ''} failed: ${r.stderr || r.stdout}`);
  }
}

describe.runIf(PG_BIN !== undefined)('PostgreSQL goes away under the relay', () => {
  let pgi: PrivatePostgres;
  const relays: RelayProcess[] = [];
  const start = async (env: Record<string, string> = {}) => {
    // PROVIDER=sim: the simulated agent answers. REDIS_URL cleared: CI exports the shared one.
    const r = await startRelayProcess({ PROVIDER: 'sim', DATABASE_URL: pgi.url, REDIS_URL: '', ...env });
    relays.push(r);
    return r;
  };
  beforeAll(async () => {
    pgi = await PrivatePostgres.create(PG_BIN ?? '');
    pgi.start();
  }, 30_000);
  afterAll(async () => {
    for (const r of relays) if (r.child.exitCode === null) r.kill('SIGKILL');
    await Promise.all(relays.map((r) => r.exited));
    for (const dir of new Set(relays.map((r) => r.dataDir))) rmSync(dir, { recursive: true, force: true });
    pgi?.remove();
  });

  it('queues the record of a call that ended while the database was down, and stores it exactly once when ' +
    'it is back', async () => {
    pgi.start(); // a no-op unless an earlier test left it stopped
    const relay = await start();
    const url = `ws://127.0.0.1:${relay.port}/media-stream`;
    const caller = await SimCaller.connect({ url, headers: TWILIO_UA, customParameters: params });
    await caller.waitFor((c) => c.heardBytes > 8 * 200, 10_000, 'greeting');
    pgi.stop('fast');
    await caller.hangUp();
    await relay.waitForLog(
      (l) => l.msg === 'store unavailable; call record queued in outbox' && l.callSid === caller.callSid,
      10_000,
    );
    // The line is logged just before the append + fsync completes.
    const file = join(relay.dataDir, 'outbox', OUTBOX_FILE);
    await until(
      () => existsSync(file) && readFileSync(file, 'utf8').includes(caller.callSid),
      3000,
      'the record in the outbox file',
    );
    await sleep(1500); // a few retries fail against the stopped server
    const downFor = Date.now();
    pgi.start();
    await until(() => relay.lines.some((l) => l.msg === 'outbox drained'), 30_000, 'the outbox to drain');
    console.log(`faults-db: record stored ${Date.now() - downFor} ms after Postgres came back`);
    expect(await pgi.count(caller.callSid)).toBe(1);
    expect(existsSync(join(relay.dataDir, 'outbox', OUTBOX_FILE))).toBe(false);
    // A restart on the same DATA_DIR replays nothing and duplicates nothing.
    relay.kill('SIGTERM');
    expect(await relay.exited).toBe(0);
    const again = await start({ DATA_DIR: relay.dataDir });
    await sleep(500);
    expect(await pgi.count(caller.callSid)).toBe(1);
    again.kill('SIGTERM');
    await again.exited;
  }, 60_000);

  it('after SIGKILL, a restart stores what had reached the outbox, and records the call that was live at ' +
    'the kill as relay_restarted', async () => {
    const relay = await start();
    const url = `ws://127.0.0.1:${relay.port}/media-stream`;
    const ended = await SimCaller.connect({ url, headers: TWILIO_UA, customParameters: params });
    const live = await SimCaller.connect({ url, headers: TWILIO_UA, customParameters: params });
    await until(() => ended.heardBytes > 1600 && live.heardBytes > 1600, 10_000, 'greetings');
    pgi.stop('immediate');
    await ended.hangUp();
    await relay.waitForLog(
      (l) => l.msg === 'store unavailable; call record queued in outbox' && l.callSid === ended.callSid,
      10_000,
    );
    // "Reached the outbox" = appended and fsync'd, which completes just after that line.
    const file = join(relay.dataDir, 'outbox', OUTBOX_FILE);
    await until(
      () => existsSync(file) && readFileSync(file, 'utf8').includes(ended.callSid),
      3000,
      'the record in the outbox file',
    );
    relay.kill('SIGKILL');
    await relay.exited;
    await live.waitForClose(3000);
    pgi.start();
    const restarted = await start({ DATA_DIR: relay.dataDir });
    await restarted.waitForLog((l) => l.msg === 'outbox drained', 20_000);
    expect(await pgi.count(ended.callSid)).toBe(1);
    // The call that was live when the process died: recorded from the live-call journal (queued with
    // the other one at start, so stored by the same drain).
    expect(await pgi.count(live.callSid)).toBe(1);
    expect(await pgi.endReason(live.callSid)).toBe('relay_restarted');
    expect(await pgi.endReason(ended.callSid)).toBe('caller_hung_up');
    console.log(
      'faults-db: SIGKILL with 1 call ended (queued) and 1 live: both recorded once on restart (the live ' +
        'one as relay_restarted)',
    );
    restarted.kill('SIGTERM');
    await restarted.exited;
  }, 60_000);

  // Was bug 6: a record reached the outbox only after the first save attempt FAILED, and an attempt
  // against a database that hangs (a partition, a stuck failover) takes attemptTimeoutMs = 5 s; a crash
  // then lost an ended call. Now it is appended + fsync'd before the first attempt.
  it('has the record of an ended call on disk within 1.5 s even when the database hangs, and stores it ' +
    'after a SIGKILL and restart', async () => {
    const hang = await HangingProxy.start(pgi.port);
    const relay = await start({ DATABASE_URL: `postgres://postgres@127.0.0.1:${hang.port}/postgres` });
    try {
      const caller = await SimCaller.connect({
        url: `ws://127.0.0.1:${relay.port}/media-stream`,
        headers: TWILIO_UA,
        customParameters: params,
      });
      await caller.waitFor((c) => c.heardBytes > 8 * 200, 10_000, 'greeting');
      hang.hang();
      await caller.hangUp();
      await sleep(1500);
      const file = join(relay.dataDir, 'outbox', OUTBOX_FILE);
      expect(existsSync(file) && readFileSync(file, 'utf8').includes(caller.callSid)).toBe(true);
      relay.kill('SIGKILL');
      await relay.exited;
      const restarted = await start({ DATA_DIR: relay.dataDir });
      await restarted.waitForLog((l) => l.msg === 'outbox drained', 20_000);
      expect(await pgi.count(caller.callSid)).toBe(1);
      restarted.kill('SIGTERM');
      await restarted.exited;
    } finally {
      relay.kill('SIGKILL');
      await relay.exited;
      await hang.close();
    }
  }, 40_000);

  // Was bug 7: while the database is down, new calls must still be answered. The directory serves the
  // merchants it read before (preloaded at start); a number it never saw goes to the fallback merchant.
  it('answers a call that arrives while the database is down, and stores its record once the database is ' +
    'back', async () => {
    const relay = await start();
    pgi.stop('fast');
    try {
      const webhook = async (to: string) => {
        const body = new URLSearchParams({
          CallSid: `CA${'7'.repeat(32)}`,
          From: '+14155550100',
          To: to,
          Direction: 'inbound',
        });
        const r = await fetch(`http://127.0.0.1:${relay.port}/twilio/voice`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
          body,
        });
        return { status: r.status, text: await r.text() };
      };
      for (const to of ['+15005550006', '+14155550199']) {
        const r = await webhook(to);
        expect(r.status).toBe(200);
        expect(r.text).toContain('<Parameter name="merchantId" value="demo"/>');
      }
      const caller = await SimCaller.connect({
        url: `ws://127.0.0.1:${relay.port}/media-stream`,
        headers: TWILIO_UA,
        customParameters: params,
      });
      await caller.waitFor((c) => c.heardBytes > 8 * 200, 8000, 'a greeting while the database is down');
      await caller.hangUp();
      await relay.waitForLog(
        (l) => l.msg === 'store unavailable; call record queued in outbox' && l.callSid === caller.callSid,
        10_000,
      );
      pgi.start();
      await until(() => relay.lines.some((l) => l.msg === 'outbox drained'), 30_000, 'the outbox to drain');
      expect(await pgi.count(caller.callSid)).toBe(1);
    } finally {
      pgi.start();
      relay.kill('SIGKILL');
      await relay.exited;
    }
  }, 60_000);
});

/** TCP proxy to Postgres that can stop forwarding: a database that hangs instead of refusing. */
class HangingProxy {
  private readonly sockets: net.Socket[] = [];
  private constructor(
    private readonly server: net.Server,
    readonly port: number,
  ) {}
  static async start(target: number): Promise<HangingProxy> {
    const server = net.createServer();
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const p = new HangingProxy(server, (server.address() as net.AddressInfo).port);
    server.on('connection', (down) => {
      const up = net.connect(target, '127.0.0.1');
      down.pipe(up);
      up.pipe(down);
      for (const s of [down, up])
        s.on('error', () => {
          down.destroy();
          up.destroy();
        });
      p.sockets.push(down, up);
    });
    return p;
  }
  hang(): void {
    for (const s of this.sockets) {
      s.unpipe();
      s.pause();
    }
    // New connections hang too: accepted, never answered.
    this.server.removeAllListeners('connection');
    this.server.on('connection', (s) => this.sockets.push(s));
  }
  close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((r) => this.server.close(() => r()));
  }
}

class PrivateRedis {
  private constructor(
    private child: ChildProcess,
    readonly port: number,
  ) {}
  static async start(port?: number): Promise<PrivateRedis> {
    const p = port ?? (await freePort());
    const child = spawn(
      REDIS_BIN ?? 'redis-server',
      ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('redis-server did not start')), 10_000);
      child.stdout?.on('data', (d: Buffer) => {
        if (d.toString().includes('Ready to accept connections')) {
          clearTimeout(t);
          resolve();
        }
      });
    });
    return new PrivateRedis(child, p);
  }
  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const gone = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGKILL');
    await gone;
  }
}

describe.runIf(REDIS_BIN !== undefined)('Redis shared by two relays, then gone', () => {
  let redis: PrivateRedis;
  let a: Relay;
  let b: Relay;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    const config = loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      PUBLIC_HOST: 'relay.test',
      METRICS_PORT: '0',
      PROVIDER: 'openai',
      OPENAI_API_KEY: 'sk-test',
      OPENAI_REALTIME_URL: 'ws://127.0.0.1:9/v1/realtime',
    });
    const edge = loadEdgeConfig({ REDIS_URL: redis.url }, config);
    a = await startRelay(config, { edge, store: null });
    b = await startRelay(config, { edge, store: null });
  }, 30_000);
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await redis?.kill();
  });

  /** GET /media-stream without an upgrade: 426 within the HTTP limit (60/min per IP), 429 past it. */
  const hit = async (r: Relay) => {
    const t = performance.now();
    const res = await fetch(`http://127.0.0.1:${r.port}/media-stream`);
    await res.arrayBuffer();
    return { status: res.status, ms: performance.now() - t };
  };

  it('enforces one limit across both instances, and each falls back to its own memory when Redis dies', async () => {
    const shared: number[] = [];
    for (let i = 0; i < 35; i++) {
      shared.push((await hit(a)).status, (await hit(b)).status);
    }
    expect(shared.filter((s) => s === 426)).toHaveLength(60);
    expect(shared.filter((s) => s === 429)).toHaveLength(10);

    await redis.kill();
    // Fail open to per-instance memory: each instance allows its own 60 (documented: N instances →
    // N × the limit while Redis is down), and no request waits on the dead Redis for long.
    const perInstance = { a: [] as number[], b: [] as number[] };
    let slowest = 0;
    for (let i = 0; i < 65; i++) {
      for (const [name, r] of [
        ['a', a],
        ['b', b],
      ] as const) {
        const x = await hit(r);
        perInstance[name].push(x.status);
        slowest = Math.max(slowest, x.ms);
      }
    }
    console.log(
      `faults-db: Redis down: instance a allowed ${perInstance.a.filter((s) => s === 426).length}, b ` +
        `${perInstance.b.filter((s) => s === 426).length}; slowest answer ${slowest.toFixed(0)} ms`,
    );
    for (const list of [perInstance.a, perInstance.b]) {
      expect(list.filter((s) => s === 426).length).toBeGreaterThanOrEqual(60);
      expect(list.filter((s) => s === 426).length).toBeLessThanOrEqual(62); // refill at 1/s during the loop
      expect(list.slice(-3)).toEqual([429, 429, 429]);
    }
    expect(slowest).toBeLessThan(1000);
  }, 40_000);
});
