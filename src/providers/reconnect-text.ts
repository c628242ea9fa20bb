// What a session after a drop is told in words: the conversation so far (a fresh session only; a
// resumed xAI conversation has it), and how to finish an answer the drop cut off.

export function seedText(notes: string[]): string {
  return [
    'The connection was briefly lost; this is a new session of the same phone call, already in progress.',
    'Do not greet the caller again or mention the interruption unless they ask. The conversation so far:',
    ...notes,
  ].join('\n');
}

export function finishInstructions(cutOff: string): string {
  return cutOff
    ? `Your last answer was cut off after: "${cutOff}". Finish it briefly without repeating what was already said.`
    : 'Your last answer was cut off before the caller heard it. Give it now, briefly.';
}
