import * as uWS from '../transports/uws.js';

// Listening that refuses a busy port. uWS listens with SO_REUSEPORT by default on Linux, so a second
// process on the same port starts without complaint and the kernel splits connections between the
// two; LIBUS_LISTEN_EXCLUSIVE_PORT makes the bind fail instead.

/** uWS accepts (host, port, options, callback), which its type declarations leave out. */
type ListenWithOptions = (
  host: string,
  port: number,
  options: uWS.ListenOptions,
  cb: (socket: uWS.us_listen_socket | false) => void,
) => uWS.TemplatedApp;

/** The listen socket, or false when `host:port` cannot be bound (in use, or not an address of ours). */
export function listenExclusive(
  app: uWS.TemplatedApp,
  host: string,
  port: number,
): Promise<uWS.us_listen_socket | false> {
  const listen = app.listen.bind(app) as unknown as ListenWithOptions;
  return new Promise((resolve) => {
    listen(host, port, uWS.LIBUS_LISTEN_EXCLUSIVE_PORT, resolve);
  });
}
