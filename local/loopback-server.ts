import type { Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A server listening on a loopback address, whose close() also ends its keep-alive connections. */
export interface ListeningServer {
  readonly port: number;
  /** Destroys every open socket (clients keep connections alive), then closes the server. */
  close(): Promise<void>;
}

/** Listens on `host`:`port` (0: any free port) and keeps track of open sockets for close(). */
export async function listenOnLoopback(server: Server, host = '127.0.0.1', port = 0): Promise<ListeningServer> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
