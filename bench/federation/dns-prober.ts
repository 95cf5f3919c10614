// SRV questions to the federation's DNS over one UDP socket (EDNS, 8 KiB), as HAProxy asks them.
import { createSocket, type Socket } from 'node:dgram';
import dnsPacket from 'dns-packet';

interface Pending {
  resolve(records: number): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class DnsProber {
  private readonly socket: Socket;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;

  constructor(
    private readonly host: string,
    private readonly port: number,
  ) {
    this.socket = createSocket('udp4');
    this.socket.on('message', (msg) => this.onMessage(msg));
    this.socket.on('error', (err) => {
      for (const p of this.pending.values()) p.reject(err);
    });
  }

  /** The number of SRV records answered for `name` (0 for NXDOMAIN or an empty answer). */
  srvCount(name: string, timeoutMs = 1000): Promise<number> {
    const id = this.nextId;
    this.nextId = (this.nextId % 65_535) + 1;
    const query = dnsPacket.encode({
      type: 'query',
      id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'SRV', name }],
      additionals: [
        {
          type: 'OPT',
          name: '.',
          udpPayloadSize: 8192,
          extendedRcode: 0,
          ednsVersion: 0,
          flags: 0,
          flag_do: false,
          options: [],
        },
      ],
    });
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no DNS answer for ${name} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, { resolve, reject, timer });
      this.socket.send(query, this.port, this.host);
    });
  }

  private onMessage(msg: Buffer): void {
    if (msg.length < 2) return;
    const p = this.pending.get(msg.readUInt16BE(0));
    if (!p) return;
    this.pending.delete(msg.readUInt16BE(0));
    clearTimeout(p.timer);
    try {
      const packet = dnsPacket.decode(msg);
      p.resolve((packet.answers ?? []).filter((a) => a.type === 'SRV').length);
    } catch (err) {
      p.reject(err as Error);
    }
  }

  close(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.socket.close();
  }
}
