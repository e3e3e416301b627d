// Free TCP ports on 127.0.0.1 for tests: bind net servers to port 0, read the ports the kernel
// chose, close them. All n servers are held open together, so the ports are distinct.
import { createServer, type Server } from "node:net";

function listen(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen({ port: 0, host: "127.0.0.1", exclusive: true }, () => {
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error("no TCP address"));
      else resolve(address.port);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/** `n` distinct TCP ports free on 127.0.0.1 at the time of the call. */
export async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  try {
    return await Promise.all(servers.map(listen));
  } finally {
    await Promise.all(servers.map((server) => (server.listening ? close(server) : Promise.resolve())));
  }
}

/** `tcp://127.0.0.1:<port>` endpoints for `n` free ports. */
export async function freeEndpoints(n: number): Promise<string[]> {
  return (await freePorts(n)).map((port) => `tcp://127.0.0.1:${port}`);
}
