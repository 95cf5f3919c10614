// One SRV question over UDP with EDNS, answered by the federation's DNS server: what HAProxy sees.
import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';

export interface SrvTarget {
  readonly port: number;
  readonly weight: number;
  readonly target: string;
}

export async function querySrv(host: string, port: number, name: string, timeoutMs = 1000): Promise<SrvTarget[]> {
  const socket = createSocket('udp4');
  const id = Math.floor(Math.random() * 65_536);
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
  try {
    const answer = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no DNS answer for ${name} within ${timeoutMs} ms`)), timeoutMs);
      socket.on('message', (msg) => {
        if (msg.readUInt16BE(0) !== id) return;
        clearTimeout(timer);
        resolve(msg);
      });
      socket.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      socket.send(query, port, host);
    });
    const packet = dnsPacket.decode(answer);
    // dns-packet decodes the response code, its types do not declare it.
    const rcode = (packet as { rcode?: string }).rcode;
    if (rcode !== 'NOERROR' && rcode !== 'NXDOMAIN') throw new Error(`${name}: ${rcode}`);
    return (packet.answers ?? [])
      .filter((a): a is dnsPacket.SrvAnswer => a.type === 'SRV')
      .map((a) => ({ port: a.data.port, weight: a.data.weight ?? 0, target: a.data.target }));
  } finally {
    socket.close();
  }
}
