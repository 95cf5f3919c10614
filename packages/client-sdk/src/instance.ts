/**
 * An instance as the SDK sees it: the fields picking and calling need. The registry's wire instance
 * (`WireInstance` in @cairn/server's protocol) carries these and more; extra fields are kept as sent.
 */
export interface Instance {
  /** `ip#port#cluster#group@@service`, as Nacos names instances. */
  readonly id: string;
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
  readonly cluster: string;
  readonly ip: string;
  readonly port: number;
  /** 0-10000; 0 takes the instance out of traffic. */
  readonly weight: number;
  /** The registry's opinion (heartbeats, active checks). */
  readonly healthy: boolean;
  /** false: drained by an operator; never picked, not counted. */
  readonly enabled: boolean;
  /** The zone of the registry the instance registered in. */
  readonly zone: string;
  readonly metadata: Readonly<Record<string, string>>;
  /** The revision of the instance's last change. */
  readonly revision: number;
}

/** A service as callers name it. */
export interface ServiceRef {
  readonly namespace: string;
  readonly group: string;
  readonly service: string;
}

export function serviceKeyOf(ref: ServiceRef): string {
  return `${ref.namespace}/${ref.group}/${ref.service}`;
}

/** An instance in traffic at all: enabled with a positive weight. Drained instances are not counted. */
export function inTraffic(inst: Instance): boolean {
  return inst.enabled && inst.weight > 0;
}
