import { DateTime } from 'luxon';

// How the console writes times and durations: in the merchant's time zone, with the zone shown.

export function inZone(d: Date, zone: string): string {
  const dt = DateTime.fromJSDate(d, { zone });
  return (dt.isValid ? dt : DateTime.fromJSDate(d, { zone: 'UTC' })).toFormat('ccc d LLL yyyy, HH:mm ZZZZ');
}

export function dayTime(d: Date, zone: string): string {
  const dt = DateTime.fromJSDate(d, { zone });
  return (dt.isValid ? dt : DateTime.fromJSDate(d, { zone: 'UTC' })).toFormat('d LLL, HH:mm');
}

export function duration(ms: number | null): string {
  if (ms === null) return '–';
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** "caller_hung_up" → "caller hung up". */
export function words(code: string | null): string {
  return code === null ? '–' : code.replace(/_/g, ' ');
}
