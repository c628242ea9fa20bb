import { describe, expect, it } from 'vitest';
import { ConfigError } from '../src/config.js';
import { demoMerchant } from '../src/merchants/demo-merchant.js';
import type { Merchant } from '../src/merchants/merchant.js';
import type { Customer, Store } from '../src/store/store.js';
import { installTools } from '../src/tools/index.js';
import { resolveDay } from '../src/tools/local-time.js';
import { createToolExecutor, toolSpecsFor } from '../src/tools/registry.js';
import { defaultRegionFromEnv, toE164 } from '../src/tools/validate.js';
import { body, fnCall } from './support/tools-harness.js';

// What the model is told about the tools, and what it hears back when its arguments are unusable:
// each answer names the field and what to ask the caller, and nothing reaches the database.

const NOW = new Date('2026-03-26T10:00:00Z');
const merchant: Merchant = { ...demoMerchant, id: 'args' };
const ctx = { merchant, callSid: 'CA-args', callerPhone: '+14155550100' };

/** A store where every method fails the test if called, except the ones given. */
function storeWith(methods: Partial<Store> = {}): { store: Store; touched: string[] } {
  const touched: string[] = [];
  const base = methods as Store;
  const store = new Proxy(base, {
    get(target, prop) {
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      touched.push(prop);
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v === 'function') return v.bind(target);
      return () => Promise.reject(new Error(`the store was touched: ${prop}`));
    },
  });
  return { store, touched };
}

function executor(store: Store, timeoutMs = 8000) {
  return createToolExecutor({ store, calendarFor: async () => null, now: () => NOW, timeoutMs });
}

describe('tool specs', () => {
  it("declares only the merchant's tools, in a fixed order, as plain JSON object schemas", () => {
    expect(toolSpecsFor(demoMerchant).map((t) => t.name)).toEqual([
      'lookupCustomer',
      'checkAvailability',
      'createBooking',
      'cancelBooking',
      'takeMessage',
    ]);
    expect(toolSpecsFor({ tools: ['takeMessage', 'noSuchTool', 'lookupCustomer'] }).map((t) => t.name)).toEqual([
      'lookupCustomer',
      'takeMessage',
    ]);
    expect(toolSpecsFor({ tools: [] })).toEqual([]);
    for (const spec of toolSpecsFor(demoMerchant)) {
      expect(spec.description.length).toBeGreaterThan(20);
      expect(spec.parameters.type).toBe('object');
      expect(spec.parameters).not.toHaveProperty('$schema');
      const props = spec.parameters.properties;
      expect(typeof props === 'object' && props !== null).toBe(true);
      for (const p of Object.values(props as Record<string, { description?: string }>))
        expect(p.description).toBeTruthy();
    }
    const take = toolSpecsFor({ tools: ['takeMessage'] })[0];
    expect(take?.parameters).toMatchObject({
      required: ['message'],
      properties: { urgency: { enum: ['low', 'normal', 'urgent'] } },
    });
  });
});

describe('invalid arguments', () => {
  const cases: Array<[string, string, unknown, RegExp]> = [
    ['not JSON', 'createBooking', '{"date":', /not valid JSON/],
    ['not an object', 'checkAvailability', '[1, 2]', /JSON object/],
    ['missing day', 'checkAvailability', {}, /day is required: ask the caller which day/],
    ['day of the wrong type', 'checkAvailability', { day: 7 }, /day must be a string/],
    [
      'a date in the wrong format',
      'createBooking',
      { date: '31/03/2026', time: '15:00', name: 'A' },
      /date "31\/03\/2026" must be YYYY-MM-DD/,
    ],
    [
      'a date that does not exist',
      'createBooking',
      { date: '2026-02-30', time: '15:00', name: 'A' },
      /date 2026-02-30 is not a real date/,
    ],
    [
      'a time that is not one',
      'checkAvailability',
      { day: 'monday', time: 'quarter past' },
      /time: unrecognised time "quarter past"/,
    ],
    [
      'a bad phone number',
      'takeMessage',
      { message: 'call me', phone: '12' },
      /phone "12" is not a valid phone number/,
    ],
    [
      'an unknown urgency',
      'takeMessage',
      { message: 'hi', urgency: 'very' },
      /urgency must be one of low, normal, urgent/,
    ],
    ['an empty message', 'takeMessage', { message: '   ' }, /message is empty: ask the caller what the message is/],
    [
      'a name that is too long',
      'createBooking',
      { date: '2026-03-30', time: '09:00', name: 'x'.repeat(121) },
      /name is too long/,
    ],
  ];
  it.each(cases)('%s → invalid_arguments, store untouched', async (_what, name, args, message) => {
    const { store, touched } = storeWith();
    const out = await executor(store)(fnCall(name, args), ctx);
    expect(out.ok).toBe(false);
    const b = body(out);
    expect(b.error).toBe('invalid_arguments');
    expect(b.message).toMatch(message);
    expect(touched).toEqual([]);
  });

  it('asks for a name before booking a caller it does not know', async () => {
    const { store, touched } = storeWith({ findCustomerByPhone: async () => null });
    const b = body(await executor(store)(fnCall('createBooking', { date: '2026-03-30', time: '09:00' }), ctx));
    expect(b).toMatchObject({ error: 'invalid_arguments' });
    expect(b.message).toContain("name is required for a new customer: ask the caller's name");
    expect(touched).toEqual(['findCustomerByPhone']);
  });

  it("asks for a number when the caller's is hidden and none was given", async () => {
    const { store } = storeWith();
    const b = body(await executor(store)(fnCall('lookupCustomer', {}), { ...ctx, callerPhone: 'anonymous' }));
    expect(b).toMatchObject({ error: 'invalid_arguments' });
    expect(b.message).toContain("phone is required: the caller's number is hidden");
  });

  it('refuses a tool the merchant does not offer, or one that does not exist', async () => {
    const { store, touched } = storeWith();
    const run = executor(store);
    const limited = { ...ctx, merchant: { ...merchant, tools: ['takeMessage'] } };
    expect(body(await run(fnCall('createBooking', { date: 'today', time: '15:00' }), limited))).toMatchObject({
      error: 'unknown_tool',
    });
    expect(body(await run(fnCall('launchRocket', {}), ctx))).toMatchObject({ error: 'unknown_tool' });
    expect(touched).toEqual([]);
  });
});

describe('failures the model can speak', () => {
  it('turns an exception into the tool\'s own "I wasn\'t able to …"', async () => {
    const { store } = storeWith({ findCustomerByPhone: async () => Promise.reject(new Error('connection refused')) });
    const out = await executor(store)(fnCall('lookupCustomer', {}), ctx);
    expect(out.ok).toBe(false);
    expect(body(out)).toEqual({
      error: 'tool_failed',
      message: "I wasn't able to look up the customer record just now.",
    });
  });

  it('answers at the deadline when the store hangs', async () => {
    const slow = (): Promise<Customer | null> => new Promise((r) => setTimeout(() => r(null), 600));
    const { store } = storeWith({ findCustomerByPhone: slow });
    const started = Date.now();
    const out = await executor(store, 100)(fnCall('lookupCustomer', {}), ctx);
    expect(body(out)).toEqual({ error: 'timeout', message: "I wasn't able to look up the customer record just now." });
    expect(Date.now() - started).toBeLessThan(600);
  });
});

describe('phones, days and configuration', () => {
  it('normalises numbers to E.164 in the default region and rejects what is not a number', () => {
    expect(toE164('(415) 555-0100', 'US')).toBe('+14155550100');
    expect(toE164('020 7946 0018', 'GB')).toBe('+442079460018');
    expect(toE164('+44 20 7946 0018', 'US')).toBe('+442079460018');
    expect(toE164('12', 'US')).toBeNull();
    expect(toE164('anonymous', 'US')).toBeNull();
    expect(defaultRegionFromEnv({})).toBe('US');
    expect(defaultRegionFromEnv({ DEFAULT_REGION: 'gb' })).toBe('GB');
    expect(() => defaultRegionFromEnv({ DEFAULT_REGION: 'England' })).toThrow(ConfigError);
  });

  it('resolves day words in the merchant zone', () => {
    // Thursday 26 March 2026.
    expect(resolveDay('day', 'today', NOW, 'Europe/London')).toBe('2026-03-26');
    expect(resolveDay('day', 'Thursday', NOW, 'Europe/London')).toBe('2026-03-26');
    expect(resolveDay('day', 'next tues', NOW, 'Europe/London')).toBe('2026-03-31');
    expect(resolveDay('day', 'tomorrow', new Date('2026-03-26T23:30:00Z'), 'Asia/Tokyo')).toBe('2026-03-28');
    expect(() => resolveDay('day', 'someday', NOW, 'Europe/London')).toThrow(/day "someday" must be YYYY-MM-DD/);
  });

  it('installTools uses DEFAULT_REGION for numbers said without a country code', async () => {
    const asked: string[] = [];
    const { store } = storeWith({
      findCustomerByPhone: async (_m: string, phone: string) => {
        asked.push(phone);
        return null;
      },
    });
    const tools = installTools(store, { DEFAULT_REGION: 'GB' });
    expect(tools.toolSpecs(merchant)).toHaveLength(5);
    // The caller's number is withheld, so the number they say is used.
    const b = body(
      await tools.runTool(fnCall('lookupCustomer', { phone: '020 7946 0018' }), { ...ctx, callerPhone: undefined }),
    );
    expect(b).toMatchObject({ found: false, phone: '+442079460018' });
    expect(asked).toEqual(['+442079460018']);
  });

  it("lookupCustomer never reads out another number's records when the caller's own number is known", async () => {
    const asked: string[] = [];
    const { store } = storeWith({
      findCustomerByPhone: async (_m: string, phone: string) => {
        asked.push(phone);
        return null;
      },
    });
    const tools = installTools(store, {});
    const b = body(await tools.runTool(fnCall('lookupCustomer', { phone: '+14155550199' }), ctx));
    expect(b).toMatchObject({ phone: '+14155550100' });
    expect(asked).toEqual(['+14155550100']);
  });
});
