import type { Merchant } from './merchant.js';

// The merchant that answers when nothing else is configured (the demo, and a fresh install).
export const demoMerchant: Merchant = {
  id: 'demo',
  name: 'Sunny Side Dental',
  timeZone: 'Europe/London',
  phoneNumbers: ['+15005550006'],
  instructions:
    'You are the friendly receptionist of Sunny Side Dental, a dental practice in London. Keep answers short: ' +
    'one or two sentences, this is a phone call. You can look up callers, check availability, book and cancel ' +
    'appointments and take messages. Never invent appointment times: use the tools.',
  greeting: 'Thanks for calling Sunny Side Dental, this is the virtual receptionist. How can I help you today?',
  outboundGreeting: 'Hello, this is the virtual receptionist calling from Sunny Side Dental.',
  voicemailTemplate: 'Hello, this is {business}. Sorry we missed you. Please call us back when you can. Goodbye.',
  greetingInterruptible: true,
  slotMinutes: 30,
  businessHours: {
    '1': ['09:00-17:00'],
    '2': ['09:00-17:00'],
    '3': ['09:00-17:00'],
    '4': ['09:00-17:00'],
    '5': ['09:00-17:00'],
  },
  tools: ['lookupCustomer', 'checkAvailability', 'createBooking', 'cancelBooking', 'takeMessage'],
  // A fictional 555 number: the demo's transfers ring the local Twilio imitation, never a phone.
  transferTargets: [
    {
      name: 'Dr Patel',
      number: '+15555550142',
      handles: 'dental emergencies, pain after treatment and questions about a treatment plan',
      hours: {
        '1': ['09:00-17:00'],
        '2': ['09:00-17:00'],
        '3': ['09:00-17:00'],
        '4': ['09:00-17:00'],
        '5': ['09:00-13:00'],
      },
    },
  ],
};
