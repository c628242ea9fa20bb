import { html } from '../html.js';
import { page } from './layout.js';

// The sign-in page: the operator pastes CONSOLE_TOKEN; an owner's link (#link=… in the fragment)
// fills the same form from the page's script and submits it, so the secret is never in a URL the
// server or a proxy sees.

export function signInPage(problem?: string): string {
  return page(
    'Sign in',
    { viewer: null, csrf: '', section: 'none' },
    html`${problem ? html`<p class="error" role="alert">${problem}</p>` : ''}
<form method="post" action="/console/session" id="sign-in" class="card narrow">
  <label for="token">Console token or sign-in link</label>
  <input id="token" name="token" type="password" autocomplete="current-password" required maxlength="512" autofocus>
  <p class="hint">Operators: the relay's <code>CONSOLE_TOKEN</code>. Owners: open the sign-in link you were sent.</p>
  <button type="submit">Sign in</button>
</form>`,
  );
}
