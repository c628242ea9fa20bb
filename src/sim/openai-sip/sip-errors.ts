// The HTTP error answers of the OpenAI SIP imitation, in OpenAI's error shape
// `{error: {message, type, code, param}}`. Where each one comes from:
// - an unknown or finished call_id (REST or sideband upgrade): 404 `call_id_not_found`, "No session
//   found for the provided call_id", as field reports quote it for accept and for the sideband
//   (community.openai.com threads 1394315 and 1396002; one shows `param: ""`, we send null like the
//   rest of the API). A call that rang out, was rejected, referred or hung up is treated as unknown;
//   so is a sideband for a call not yet accepted (the session exists only from the accept).
// - a wrong or missing key: 401 `invalid_api_key`, OpenAI's usual answer (as the fake model server).
// - accept of an accepted call, reject of an accepted one, refer or hangup of a ringing one: OpenAI
//   documents nothing; we answer 400 invalid_request_error, not 409, because the openai SDK retries
//   409s (and 5xx), which would turn one wrong request into three.
// - a malformed accept body: 400 with the code and param the realtime session validator gives
//   (missing_required_parameter, invalid_value, unknown_parameter), as session.update would.
export interface OpenAIErrorBody {
  error: { message: string; type: string; code: string | null; param: string | null };
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly body: OpenAIErrorBody,
  ) {
    super(body.error.message);
    this.name = 'HttpError';
  }
}

function err(status: number, message: string, type: string, code: string | null, param: string | null): HttpError {
  return new HttpError(status, { error: { message, type, code, param } });
}

export function callNotFound(): HttpError {
  return err(404, 'No session found for the provided call_id', 'invalid_request_error', 'call_id_not_found', null);
}

export function badKey(presented: string | undefined): HttpError {
  if (presented === undefined) {
    const message =
      "You didn't provide an API key. You need to provide your API key in an Authorization header " +
      'using Bearer auth (i.e. Authorization: Bearer YOUR_KEY).';
    return err(401, message, 'invalid_request_error', null, null);
  }
  const shown = presented.length > 8 ? `${presented.slice(0, 3)}…${presented.slice(-4)}` : '****';
  const message = `Incorrect API key provided: ${shown}. You can find your API key in your account settings.`;
  return err(401, message, 'invalid_request_error', 'invalid_api_key', null);
}

export function invalidRequest(message: string, code: string | null = null, param: string | null = null): HttpError {
  return err(400, message, 'invalid_request_error', code, param);
}

export function invalidUrl(method: string, path: string): HttpError {
  return err(404, `Invalid URL (${method} ${path})`, 'invalid_request_error', null, null);
}

/** An injected failure (failAccept): 5xx is a server_error as OpenAI's outages report, else a request error. */
export function injected(status: number): HttpError {
  return status >= 500
    ? err(
        status,
        'The server had an error while processing your request. Sorry about that!',
        'server_error',
        null,
        null,
      )
    : err(status, `Refused by the test (HTTP ${status}).`, 'invalid_request_error', null, null);
}

export function unavailable(): HttpError {
  return err(503, 'The server is overloaded or not ready yet. (refused by the test)', 'server_error', null, null);
}
