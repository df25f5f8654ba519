import net from 'node:net';

/**
 * Returns a port on 127.0.0.1 that nothing listens on, as when Ollama is not running: one the
 * system gave to a socket that was closed again. Another process could take it meanwhile,
 * which is unlikely within a test.
 */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
