import { createServer, type Server, type Socket } from 'node:net';

/**
 * A raw HTTP/1.1 server on 127.0.0.1 that answers each request with whatever a test scripts,
 * written byte for byte (node:http would refuse to send a wrong Content-Length): any status, any
 * headers, a body that ends, is cut off, or stops with the connection left open, or no answer at all.
 */

export interface ScriptedResponse {
  status: number;
  headers: [string, string][];
  body: Uint8Array;
  /**
   * `end`: the whole body, then close; `cut`: `at` bytes of it, then reset the connection;
   * `stall`: `at` bytes, then silence on an open connection; `silent`: not even the status line.
   */
  finish: 'end' | 'cut' | 'stall' | 'silent';
  at?: number;
}

export interface ScriptedRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
}

export interface ScriptedServer {
  origin: string;
  /** `host:port`, for Locations written without a scheme. */
  hostPort: string;
  requests: ScriptedRequest[];
  close(): Promise<void>;
}

export async function startScriptedServer(answer: (request: ScriptedRequest) => ScriptedResponse): Promise<ScriptedServer> {
  const requests: ScriptedRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let head = '';
    const onData = (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      socket.off('data', onData);
      const [line, ...fields] = head.slice(0, end).split('\r\n');
      const [method = '', path = ''] = line.split(' ');
      const headers = Object.fromEntries(
        fields.map((f) => [f.slice(0, f.indexOf(':')).trim().toLowerCase(), f.slice(f.indexOf(':') + 1).trim()] as const),
      );
      const request = { method, path, headers };
      requests.push(request);
      respond(socket, request.method, answer(request));
    };
    socket.on('data', onData);
  });

  function respond(socket: Socket, method: string, response: ScriptedResponse): void {
    if (response.finish === 'silent') return;
    const head = [
      `HTTP/1.1 ${response.status} Scripted`,
      ...response.headers.map(([k, v]) => `${k}: ${v}`),
      'connection: close',
      '',
      '',
    ].join('\r\n');
    socket.write(Buffer.from(head, 'latin1'));
    const body = method === 'HEAD' ? new Uint8Array(0) : response.body;
    const sent = response.finish === 'end' ? body : body.subarray(0, Math.min(response.at ?? 0, body.length));
    if (sent.length > 0) socket.write(sent);
    if (response.finish === 'end') socket.end();
    else if (response.finish === 'cut') setTimeout(() => socket.resetAndDestroy(), 5);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    origin: `http://127.0.0.1:${port}`,
    hostPort: `127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
