// A chart state value as one dotted name, for logs and state listeners.

/** {session: {speaking: 'producing'}} → "session.speaking.producing" */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) {
    const [k, v] = Object.entries(value)[0] ?? [];
    return k === undefined
      ? ''
      : v === undefined || (typeof v === 'object' && v !== null && Object.keys(v).length === 0)
        ? k
        : `${k}.${stateName(v)}`;
  }
  return '';
}
