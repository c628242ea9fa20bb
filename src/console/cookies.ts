// The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page can make
// the browser send it), Secure with the __Host- prefix in production (HTTPS only, this host only).

export function cookieName(secure: boolean): string {
  return secure ? '__Host-callrelay_console' : 'callrelay_console';
}

export function sessionCookie(secure: boolean, value: string, maxAgeSeconds: number): string {
  const attrs = [`${cookieName(secure)}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${maxAgeSeconds}`];
  if (secure) attrs.push('Secure');
  return attrs.join('; ');
}

export function clearedCookie(secure: boolean): string {
  return sessionCookie(secure, '', 0);
}

/** The value of cookie `name` in a Cookie header, or undefined. */
export function readCookie(header: string, name: string): string | undefined {
  for (const piece of header.split(';')) {
    const eq = piece.indexOf('=');
    if (eq < 0) continue;
    if (piece.slice(0, eq).trim() === name) return piece.slice(eq + 1).trim();
  }
  return undefined;
}
