import type { CallRecord } from '../../src/store/call-record.js';
import type { MerchantInput } from '../../src/store/store.js';

// The merchant and call record the store-*.test.ts files write, each test changing only what it is about.

export const merchant = (over: Partial<MerchantInput> = {}): MerchantInput => ({
  id: 'sunny',
  name: 'Sunny Side Dental',
  timeZone: 'America/New_York',
  phoneNumbers: ['+15005550006'],
  instructions: 'Be brief.',
  greeting: 'Thanks for calling Sunny Side Dental.',
  outboundGreeting: 'Hello from Sunny Side Dental.',
  voicemailTemplate: 'This is {business}, please call back.',
  greetingInterruptible: false,
  slotMinutes: 30,
  businessHours: { '1': ['09:00-12:00', '13:00-17:00'], '5': ['09:00-15:00'] },
  tools: ['lookupCustomer', 'createBooking'],
  ...over,
});

export const at = (iso: string): Date => new Date(iso);

export const callRecord = (over: Partial<CallRecord> = {}): CallRecord => ({
  callSid: 'CA0001',
  streamSid: 'MZ0001',
  merchantId: 'sunny',
  callerPhone: '+14155550123',
  calledNumber: '+15005550006',
  direction: 'inbound',
  answeredBy: null,
  startedAt: at('2030-03-04T15:00:00.000Z'),
  endedAt: at('2030-03-04T15:02:03.500Z'),
  durationMs: 123_500,
  endReason: 'caller_hung_up',
  provider: 'openai',
  model: 'gpt-realtime',
  usage: { inputTokens: 1200, outputTokens: 340, totalTokens: 1540 },
  stats: { bargeIns: 1, framesIn: 6175 },
  transcript: [
    { role: 'assistant', text: 'Thanks for calling Sunny Side Dental, how can I…', atMs: 200, interrupted: true },
    { role: 'caller', text: 'Hi, I need a cleaning on Tuesday.', atMs: 2100 },
    { role: 'tool', text: 'checkAvailability → 3 slots', atMs: 4000 },
  ],
  transcriptText:
    'Assistant: Thanks for calling… [interrupted]\nCaller: Hi, I need a cleaning on Tuesday.\nTool: ' +
    'checkAvailability → 3 slots',
  timeline: [
    { atMs: 0, kind: 'state', state: 'connecting' },
    { atMs: 1500, kind: 'bargeIn' },
    { atMs: 3800, kind: 'tool', name: 'checkAvailability', ms: 210, ok: true },
  ],
  toolCalls: [
    {
      name: 'checkAvailability',
      atMs: 3800,
      ms: 210,
      ok: true,
      arguments: '{"date":"2030-03-05"}',
      output: '{"slots":["09:00","09:30","10:00"]}',
    },
  ],
  ...over,
});
