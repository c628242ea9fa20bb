import twilio from 'twilio';
import { describe, expect, it } from 'vitest';
import {
  buildPublicUrl,
  parseFormBody,
  verifyTwilioUpgrade,
  verifyTwilioWebhook,
} from '../src/security/twilio-signature.js';

const TOKEN = 'test-auth-token-0123456789abcdef';
const HOST = 'relay.example.com';
const FORM = 'application/x-www-form-urlencoded; charset=UTF-8';

/** Signs like Twilio does, using the twilio library itself as the reference implementation. */
function sign(url: string, params: Record<string, string | string[]> = {}, token = TOKEN): string {
  return twilio.getExpectedTwilioSignature(token, url, params);
}

describe('known vector', () => {
  it("accepts the example request from Twilio's webhook-security docs", () => {
    const body = 'CallSid=CA1234567890ABCDE&Caller=%2B12349013030&Digits=1234&From=%2B12349013030&To=%2B18005551212';
    const r = verifyTwilioWebhook({
      authToken: '12345',
      signature: '0/KCTR6DLpKmkAf8muzZqo1nDgQ=',
      url: 'https://mycompany.com/myapp.php?foo=1&bar=2',
      contentType: FORM,
      rawBody: body,
    });
    expect(r).toEqual({ ok: true });
  });
});

describe('verifyTwilioWebhook: form bodies', () => {
  const url = buildPublicUrl({ publicHost: HOST, path: '/twilio/voice', query: 'merchant=m1' });
  const params = { CallSid: 'CA123', From: '+14155550100', To: '+14155550199', SpeechResult: 'yes please & thanks' };
  const body = new URLSearchParams(params).toString();
  const sig = sign(url, params);
  const base = { authToken: TOKEN, signature: sig, url, contentType: FORM, rawBody: body };

  it('accepts a correctly signed request (string or Buffer body)', () => {
    expect(verifyTwilioWebhook(base)).toEqual({ ok: true });
    expect(verifyTwilioWebhook({ ...base, rawBody: Buffer.from(body) })).toEqual({ ok: true });
  });

  it('accepts the same params in another order (the signature sorts keys)', () => {
    const reordered = new URLSearchParams([...Object.entries(params)].reverse()).toString();
    expect(reordered).not.toBe(body);
    expect(verifyTwilioWebhook({ ...base, rawBody: reordered })).toEqual({ ok: true });
  });

  it('rejects a signature made with another auth token', () => {
    expect(verifyTwilioWebhook({ ...base, signature: sign(url, params, 'other-token') })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('rejects when the URL differs (host, path, query or scheme)', () => {
    for (const other of [
      buildPublicUrl({ publicHost: 'evil.example.com', path: '/twilio/voice', query: 'merchant=m1' }),
      buildPublicUrl({ publicHost: HOST, path: '/twilio/status', query: 'merchant=m1' }),
      buildPublicUrl({ publicHost: HOST, path: '/twilio/voice', query: 'merchant=m2' }),
      buildPublicUrl({ publicHost: HOST, path: '/twilio/voice', query: 'merchant=m1', scheme: 'http' }),
    ]) {
      expect(verifyTwilioWebhook({ ...base, url: other })).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('rejects a tampered body: changed value, added param, removed param', () => {
    const changed = new URLSearchParams({ ...params, To: '+19005550000' }).toString();
    const added = `${body}&Extra=1`;
    const removed = new URLSearchParams({ CallSid: 'CA123', From: '+14155550100', To: '+14155550199' }).toString();
    for (const rawBody of [changed, added, removed]) {
      expect(verifyTwilioWebhook({ ...base, rawBody })).toEqual({ ok: false, reason: 'bad_signature' });
    }
  });

  it('handles repeated keys as arrays, in any order', () => {
    const p = { EventType: 'onMessageAdded', Media: ['b.png', 'a.png'] };
    const s = sign(url, p);
    const rawBody = 'Media=a.png&EventType=onMessageAdded&Media=b.png';
    expect(verifyTwilioWebhook({ ...base, signature: s, rawBody })).toEqual({ ok: true });
    expect(verifyTwilioWebhook({ ...base, signature: s, rawBody: 'Media=a.png&EventType=onMessageAdded' })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('accepts a GET webhook (no body, query in the signed URL)', () => {
    const getUrl = buildPublicUrl({ publicHost: HOST, path: '/twilio/amd', query: '?CallSid=CA1&AnsweredBy=human' });
    expect(
      verifyTwilioWebhook({
        authToken: TOKEN,
        signature: sign(getUrl),
        url: getUrl,
        contentType: undefined,
        rawBody: '',
      }),
    ).toEqual({ ok: true });
  });

  it('fails closed without auth token or signature', () => {
    expect(verifyTwilioWebhook({ ...base, authToken: undefined })).toEqual({ ok: false, reason: 'missing_auth_token' });
    expect(verifyTwilioWebhook({ ...base, authToken: '' })).toEqual({ ok: false, reason: 'missing_auth_token' });
    expect(verifyTwilioWebhook({ ...base, signature: undefined })).toEqual({ ok: false, reason: 'missing_signature' });
    expect(verifyTwilioWebhook({ ...base, signature: '' })).toEqual({ ok: false, reason: 'missing_signature' });
  });

  it('rejects a body of a type Twilio does not sign as params', () => {
    expect(verifyTwilioWebhook({ ...base, contentType: 'text/plain' })).toEqual({
      ok: false,
      reason: 'unsupported_content_type',
    });
  });

  it('rejects an unparsable URL', () => {
    expect(verifyTwilioWebhook({ ...base, url: 'not a url' })).toEqual({ ok: false, reason: 'bad_url' });
  });
});

describe('verifyTwilioWebhook: JSON bodies (bodySHA256)', () => {
  const rawBody = JSON.stringify({ EventType: 'onMessageAdded', Body: 'héllo', ConversationSid: 'CH1' });
  const hash = twilio.getExpectedBodyHash(rawBody);
  const url = buildPublicUrl({ publicHost: HOST, path: '/twilio/conversations', query: `bodySHA256=${hash}` });
  const base = { authToken: TOKEN, signature: sign(url), url, contentType: 'application/json', rawBody };

  it('accepts a signed URL whose bodySHA256 matches the raw body', () => {
    expect(verifyTwilioWebhook(base)).toEqual({ ok: true });
    expect(verifyTwilioWebhook({ ...base, rawBody: Buffer.from(rawBody, 'utf8') })).toEqual({ ok: true });
  });

  it('rejects a tampered body with body_hash_mismatch', () => {
    expect(verifyTwilioWebhook({ ...base, rawBody: rawBody.replace('héllo', 'hello') })).toEqual({
      ok: false,
      reason: 'body_hash_mismatch',
    });
  });

  it('rejects a swapped bodySHA256 (matching the new body) as a bad signature', () => {
    const forged = '{"Body":"pay me"}';
    const forgedUrl = buildPublicUrl({
      publicHost: HOST,
      path: '/twilio/conversations',
      query: `bodySHA256=${twilio.getExpectedBodyHash(forged)}`,
    });
    expect(verifyTwilioWebhook({ ...base, url: forgedUrl, rawBody: forged })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('rejects a wrong token', () => {
    expect(verifyTwilioWebhook({ ...base, signature: sign(url, {}, 'nope') })).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('rejects JSON with no bodySHA256 in the URL, even if the URL signature is valid', () => {
    const bare = buildPublicUrl({ publicHost: HOST, path: '/twilio/conversations' });
    expect(verifyTwilioWebhook({ ...base, url: bare, signature: sign(bare) })).toEqual({
      ok: false,
      reason: 'missing_body_hash',
    });
  });
});

describe('verifyTwilioUpgrade (Media Streams)', () => {
  const signed = sign(`wss://${HOST}/media-stream`);

  it('accepts the wss:// URL with empty params', () => {
    expect(
      verifyTwilioUpgrade({ authToken: TOKEN, signature: signed, publicHost: HOST, path: '/media-stream' }),
    ).toEqual({ ok: true });
  });

  it('rejects a signature over the https:// form of the same URL', () => {
    const httpsSig = sign(`https://${HOST}/media-stream`);
    expect(
      verifyTwilioUpgrade({ authToken: TOKEN, signature: httpsSig, publicHost: HOST, path: '/media-stream' }),
    ).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('rejects another path, host or token', () => {
    expect(verifyTwilioUpgrade({ authToken: TOKEN, signature: signed, publicHost: HOST, path: '/other' }).ok).toBe(
      false,
    );
    expect(
      verifyTwilioUpgrade({
        authToken: TOKEN,
        signature: signed,
        publicHost: 'evil.example.com',
        path: '/media-stream',
      }).ok,
    ).toBe(false);
    expect(
      verifyTwilioUpgrade({ authToken: 'other', signature: signed, publicHost: HOST, path: '/media-stream' }).ok,
    ).toBe(false);
  });

  it('fails closed on missing pieces and malformed hosts', () => {
    expect(
      verifyTwilioUpgrade({ authToken: undefined, signature: signed, publicHost: HOST, path: '/media-stream' }),
    ).toEqual({ ok: false, reason: 'missing_auth_token' });
    expect(
      verifyTwilioUpgrade({ authToken: TOKEN, signature: undefined, publicHost: HOST, path: '/media-stream' }),
    ).toEqual({ ok: false, reason: 'missing_signature' });
    expect(
      verifyTwilioUpgrade({
        authToken: TOKEN,
        signature: signed,
        publicHost: `https://${HOST}`,
        path: '/media-stream',
      }),
    ).toEqual({ ok: false, reason: 'bad_url' });
  });

  it('accepts a PUBLIC_HOST with an explicit non-default port', () => {
    const s = sign('wss://relay.example.com:8443/media-stream');
    expect(
      verifyTwilioUpgrade({
        authToken: TOKEN,
        signature: s,
        publicHost: 'relay.example.com:8443',
        path: '/media-stream',
      }),
    ).toEqual({ ok: true });
  });
});

describe('buildPublicUrl / parseFormBody', () => {
  it('builds from PUBLIC_HOST, never from request headers, and keeps the raw query', () => {
    expect(buildPublicUrl({ publicHost: HOST, path: '/a', query: 'x=%27y%27&z' })).toBe(
      'https://relay.example.com/a?x=%27y%27&z',
    );
    expect(buildPublicUrl({ publicHost: HOST, path: '/a', query: '' })).toBe('https://relay.example.com/a');
    expect(buildPublicUrl({ publicHost: HOST, path: '/m', scheme: 'wss' })).toBe('wss://relay.example.com/m');
  });

  it.each([
    [{ publicHost: 'https://relay.example.com', path: '/a' }],
    [{ publicHost: 'relay.example.com/x', path: '/a' }],
    [{ publicHost: HOST, path: 'a' }],
    [{ publicHost: HOST, path: '/a?b=1' }],
  ])('throws on %j', (opts) => {
    expect(() => buildPublicUrl(opts)).toThrow(TypeError);
  });

  it('decodes form bodies like Twilio signs them', () => {
    const p = parseFormBody('Body=hello+world%21&Media=1&Media=2&__proto__=x');
    expect(p.Body).toBe('hello world!');
    expect(p.Media).toEqual(['1', '2']);
    expect(Object.getOwnPropertyDescriptor(p, '__proto__')?.value).toBe('x');
    expect(Object.keys(p).sort()).toEqual(['Body', 'Media', '__proto__']);
  });
});
