import { html } from '../html.js';
import { page, type PageContext } from './layout.js';

export function notFoundPage(ctx: PageContext): string {
  return page(
    'Not found',
    ctx,
    html`<p>There is nothing here, or it is not yours to see.</p><p><a href="/console">Back to the console</a></p>`,
  );
}

/** 400: names the field that was wrong and what it should look like. */
export function badRequestPage(ctx: PageContext, field: string, problem: string): string {
  return page(
    'Bad request',
    ctx,
    html`<p class="error" role="alert">The <code>${field}</code> parameter ${problem}.</p>
<p><a href="/console/calls">Start a new search</a></p>`,
  );
}

export function messagePage(ctx: PageContext, title: string, text: string, back: string): string {
  return page(title, ctx, html`<p>${text}</p><p><a href="${back}">Back</a></p>`);
}
