// The response encoder: what it writes decodes the same as an uncompressed encoding, it compresses,
// and it fits answers into a size the way RFC 2181 says.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import dnsPacket from 'dns-packet';
import type { Answer } from '../../../src/federation/dns/answer-builder.js';
import { type DnsName, labelsOf, RCODE, type ResourceRecord } from '../../../src/federation/dns/records.js';
import { encodeResponse, type ResponseMessage } from '../../../src/federation/dns/wire-writer.js';

const QNAME = labelsOf('_orders._tcp.service.cairn');

function rawQuestion(name: DnsName, qtype = 33): { bytes: Uint8Array; labels: DnsName } {
  const parts: Buffer[] = name.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')]));
  return { bytes: Buffer.concat([...parts, Buffer.from([0, 0, qtype, 0, 1])]), labels: name };
}

function srvAnswer(n: number): Answer {
  const answers: ResourceRecord[] = [];
  const additionals: ResourceRecord[] = [];
  for (let i = 0; i < n; i++) {
    const target = [`10-0-${i >> 8}-${i & 0xff}`, 'addr', 'cairn'];
    answers.push({
      type: 'SRV',
      name: QNAME,
      ttlS: 1,
      priority: 1,
      weight: 256 * (1 + (i % 255)),
      port: 8000 + i,
      target,
    });
    additionals.push({ type: 'A', name: target, ttlS: 1, address: Uint8Array.from([10, 0, i >> 8, i & 0xff]) });
  }
  return { rcode: RCODE.NOERROR, authoritative: true, answers, authorities: [], additionals };
}

function message(answer: Answer, edns = true): ResponseMessage {
  return {
    id: 4242,
    opcode: 0,
    recursionDesired: true,
    question: rawQuestion(QNAME),
    answer,
    edns: edns ? { udpPayloadSize: 8192, dnssecOk: false } : null,
  };
}

describe('encodeResponse', () => {
  it('decodes (with dns-packet) to exactly what it was given', () => {
    const out = encodeResponse(message(srvAnswer(20)), 65_535);
    assert.equal(out.truncated, false);
    const d = dnsPacket.decode(out.bytes);
    assert.equal(d.id, 4242);
    assert.ok(d.flag_qr && d.flag_aa && d.flag_rd && !d.flag_tc);
    assert.deepEqual(d.questions, [{ name: '_orders._tcp.service.cairn', type: 'SRV', class: 'IN' }]);
    assert.equal(d.answers?.length, 20);
    d.answers?.forEach((a, i) => {
      assert.deepEqual(
        { name: a.name, type: a.type, ttl: (a as dnsPacket.SrvAnswer).ttl, data: (a as dnsPacket.SrvAnswer).data },
        {
          name: '_orders._tcp.service.cairn',
          type: 'SRV',
          ttl: 1,
          data: { priority: 1, weight: 256 * (1 + i), port: 8000 + i, target: `10-0-0-${i}.addr.cairn` },
        },
      );
    });
    const additionals = d.additionals ?? [];
    assert.equal(additionals.length, 21);
    assert.deepEqual(additionals[3], {
      name: '10-0-0-3.addr.cairn',
      type: 'A',
      ttl: 1,
      class: 'IN',
      flush: false,
      data: '10.0.0.3',
    });
    const opt = additionals[20] as dnsPacket.OptAnswer;
    assert.equal(opt.type, 'OPT');
    assert.equal(opt.udpPayloadSize, 8192);
  });

  it('compresses: an SRV answer with its A records costs about half of the uncompressed encoding', () => {
    const answer = srvAnswer(100);
    const ours = encodeResponse(message(answer, false), 65_535).bytes.length;
    const plain = dnsPacket.encodingLength(dnsPacket.decode(encodeResponse(message(answer, false), 65_535).bytes));
    assert.ok(ours < plain * 0.6, `${ours} bytes vs ${plain} uncompressed`);
    assert.ok(ours / 100 < 60, `${ours / 100} bytes per instance`);
  });

  it('writes SOA and AAAA records', () => {
    const soa: ResourceRecord = {
      type: 'SOA',
      name: ['cairn'],
      ttlS: 1,
      mname: ['ns', 'cairn'],
      rname: ['hostmaster', 'cairn'],
      serial: 2 ** 32 - 1,
      refreshS: 60,
      retryS: 10,
      expireS: 3600,
      minimumS: 1,
    };
    const aaaa: ResourceRecord = { type: 'AAAA', name: QNAME, ttlS: 0, address: new Uint8Array(16).fill(0xab) };
    const answer: Answer = {
      rcode: RCODE.NXDOMAIN,
      authoritative: true,
      answers: [aaaa],
      authorities: [soa],
      additionals: [],
    };
    const d = dnsPacket.decode(encodeResponse(message(answer), 512).bytes) as dnsPacket.DecodedPacket & {
      rcode: string;
    };
    assert.equal(d.rcode, 'NXDOMAIN');
    assert.equal((d.answers?.[0] as dnsPacket.StringAnswer).data, 'abab:abab:abab:abab:abab:abab:abab:abab');
    assert.deepEqual((d.authorities?.[0] as dnsPacket.SoaAnswer).data, {
      mname: 'ns.cairn',
      rname: 'hostmaster.cairn',
      serial: 2 ** 32 - 1,
      refresh: 60,
      retry: 10,
      expire: 3600,
      minimum: 1,
    });
  });

  it('cuts answers that do not fit (TC, no additional records) but always keeps the OPT record', () => {
    const out = encodeResponse(message(srvAnswer(100)), 1232);
    assert.ok(out.truncated);
    assert.ok(out.bytes.length <= 1232);
    const d = dnsPacket.decode(out.bytes);
    assert.ok(d.flag_tc);
    assert.ok((d.answers?.length ?? 0) > 10 && (d.answers?.length ?? 0) < 100);
    assert.deepEqual(
      d.additionals?.map((a) => a.type),
      ['OPT'],
    );
  });

  it('leaves out additional records that do not fit, without TC', () => {
    const answer = srvAnswer(12);
    const full = encodeResponse(message(answer, false), 65_535).bytes.length;
    const out = encodeResponse(message(answer, false), full - 20);
    assert.equal(out.truncated, false);
    const d = dnsPacket.decode(out.bytes);
    assert.ok(!d.flag_tc);
    assert.equal(d.answers?.length, 12);
    assert.ok((d.additionals?.length ?? 0) < 12);
  });

  it('sets the extended rcode in the OPT record (BADVERS = 16)', () => {
    const answer: Answer = {
      rcode: RCODE.BADVERS,
      authoritative: false,
      answers: [],
      authorities: [],
      additionals: [],
    };
    const out = encodeResponse(message(answer), 512);
    assert.equal(out.bytes.readUInt16BE(2) & 0xf, 0);
    const opt = dnsPacket.decode(out.bytes).additionals?.[0] as dnsPacket.OptAnswer;
    assert.equal(opt.extendedRcode, 1);
  });

  it('never lets two different names share a compression pointer (a label holding a dot)', () => {
    const question = rawQuestion(['a.b', 'cairn'], 1);
    const rr: ResourceRecord = {
      type: 'A',
      name: ['a', 'b', 'cairn'],
      ttlS: 1,
      address: Uint8Array.from([1, 2, 3, 4]),
    };
    const answer: Answer = {
      rcode: RCODE.NOERROR,
      authoritative: true,
      answers: [rr],
      authorities: [],
      additionals: [],
    };
    const bytes = encodeResponse({ ...message(answer, false), question }, 512).bytes;
    const ownerAt = 12 + question.bytes.length;
    // 'a', 'b', then a pointer to the question's 'cairn' (not a pointer to the whole question name).
    assert.deepEqual([...bytes.subarray(ownerAt, ownerAt + 4)], [1, 'a'.charCodeAt(0), 1, 'b'.charCodeAt(0)]);
    assert.equal(bytes.readUInt16BE(ownerAt + 4), 0xc000 | (12 + 4));
  });
});
