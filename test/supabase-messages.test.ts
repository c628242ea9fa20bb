import { describe, expect, it } from 'vitest';
import { useFakePostgrest } from './support/fake-postgrest.js';

// The Supabase store's message requests: saved from a single-object answer, listed unread first, marked read.

const api = useFakePostgrest();

const MESSAGE = '9a1c0a52-1111-4222-8333-444455556666';

describe('SupabaseStore messages', () => {
  it('saves a message and reads it back from the single-object response', async () => {
    api.reply = (r) => ({ body: { id: MESSAGE, created_at: '2030-01-01T00:00:00Z', ...(r.body as object) } });
    const m = await api.store.saveMessage({
      merchantId: 'sunny',
      callerName: 'Cy',
      body: 'Call me',
      urgency: 'urgent',
    });
    const s = api.only();
    expect([s.method, s.path]).toEqual(['POST', '/rest/v1/messages']);
    expect(s.query).toEqual({ select: '*' });
    expect(s.headers.accept).toBe('application/vnd.pgrst.object+json');
    expect(s.body).toEqual({
      merchant_id: 'sunny',
      caller_name: 'Cy',
      caller_phone: null,
      body: 'Call me',
      urgency: 'urgent',
      call_sid: null,
    });
    expect(m).toMatchObject({ callerName: 'Cy', urgency: 'urgent' });
  });

  it("lists messages unread first and marks one read only when it is this merchant's", async () => {
    const row = (id: string, read: string | null) => ({
      id,
      merchant_id: 'sunny',
      caller_name: null,
      caller_phone: null,
      body: id,
      urgency: 'normal',
      call_sid: null,
      created_at: '2030-01-01T00:00:00Z',
      read_at: read,
    });
    api.reply = () => ({ body: [row('m-read', '2030-01-02T00:00:00Z'), row('m-new', null)] });
    expect((await api.store.listMessages('sunny', 10)).map((m) => m.body)).toEqual(['m-new', 'm-read']);
    api.seen.length = 0;
    api.reply = (r) => (r.method === 'GET' ? { body: null } : { body: [] });
    expect(await api.store.markMessageRead('sunny', MESSAGE)).toBe(false);
    expect(api.seen.map((r) => r.method)).toEqual(['GET']);
    expect(api.seen[0]?.query).toMatchObject({ merchant_id: 'eq.sunny', id: `eq.${MESSAGE}` });
  });
});
