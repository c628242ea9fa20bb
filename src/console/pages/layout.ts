import { html, type Html } from '../html.js';
import type { Viewer } from '../session.js';

// The frame every console page shares: skip link, navigation for who is signed in, sign-out form.

export type Section = 'live' | 'calls' | 'merchants' | 'merchant' | 'none';

export interface PageContext {
  viewer: Viewer | null;
  /** CSRF token for this session's forms ('' when signed out). */
  csrf: string;
  section: Section;
}

function nav(ctx: PageContext): Html {
  const v = ctx.viewer;
  if (v === null) return html``;
  const link = (href: string, label: string, section: Section) =>
    html`<a href="${href}"${ctx.section === section ? html` aria-current="page"` : ''}>${label}</a>`;
  const own =
    v.kind === 'operator'
      ? link('/console/merchants', 'Merchants', 'merchants')
      : link(`/console/merchants/${encodeURIComponent(v.merchantId)}`, 'Messages & bookings', 'merchant');
  return html`<nav aria-label="Console">
    ${link('/console', 'Live', 'live')} ${link('/console/calls', 'Calls', 'calls')} ${own}
    <form method="post" action="/console/sign-out" class="sign-out">
      <input type="hidden" name="csrf" value="${ctx.csrf}">
      <button type="submit">Sign out</button>
    </form>
  </nav>`;
}

export function page(title: string, ctx: PageContext, body: Html): string {
  const who = ctx.viewer === null ? '' : ctx.viewer.kind === 'operator' ? 'operator' : ctx.viewer.merchantId;
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="same-origin">
<title>${title} · callrelay console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
  <span class="brand">callrelay <span>console</span></span>
  ${who ? html`<span class="who">Signed in: ${who}</span>` : ''}
  ${nav(ctx)}
</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
${body}
</main>
</body>
</html>`.text;
}
