import { describe, expect, it } from 'vitest';
import { parseInvite, uriUser, userNumber } from '../src/transports/openai-sip/sip-invite.js';

// The INVITE headers OpenAI forwards are untrusted text in SIP's many spellings: the number dialled
// and the caller come out as E.164 or not at all.

describe('SIP INVITE headers', () => {
  it.each([
    ['<sip:+15557654321@proj.sip.api.openai.com>', '+15557654321'],
    ['"Sunny Side" <sip:+15557654321@sip.api.openai.com;user=phone>;tag=as1', '+15557654321'],
    ['sip:15557654321@10.0.0.1:5060', '+15557654321'],
    ['<sips:+442079460958@trunk.example;transport=tls>', '+442079460958'],
    ['<tel:+15557654321>', '+15557654321'],
    ['<sip:%2B15557654321@host>', '+15557654321'],
  ])('reads the number in %s', (value, e164) => {
    expect(userNumber(uriUser(value))).toBe(e164);
  });

  it.each([
    '<sip:proj_abc123@sip.api.openai.com>',
    '<sip:anonymous@anonymous.invalid>',
    'not a uri',
    '',
    '<sip:123@host>',
  ])('finds no number in %j', (value) => {
    expect(userNumber(uriUser(value))).toBeUndefined();
  });

  it('takes the relay’s own headers over To/From, case-insensitively, and keeps the Call-ID', () => {
    const invite = parseInvite([
      { name: 'From', value: '<sip:+14155550100@carrier>;tag=9' },
      { name: 'To', value: '<sip:proj_abc@sip.api.openai.com>' },
      { name: 'Call-ID', value: 'abc@10.0.0.1' },
      { name: 'x-callrelay-merchant', value: 'sunny' },
      { name: 'X-CallRelay-Called', value: '+15005550006' },
      { name: 'X-CallRelay-AnsweredBy', value: 'machine_end_beep' },
    ]);
    expect(invite).toEqual({
      to: '+15005550006',
      from: '+14155550100',
      merchantId: 'sunny',
      answeredBy: 'machine_end_beep',
      sipCallId: 'abc@10.0.0.1',
    });
  });

  it('gives nothing for headers that name nothing usable', () => {
    expect(parseInvite([{ name: 'To', value: '<sip:reception@pbx.example>' }])).toEqual({});
    expect(parseInvite([])).toEqual({});
  });
});
