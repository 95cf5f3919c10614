import { type MachineCpuSample, machineCpu, totalCpuS } from './proc-cpu.js';

/** Percentages are of one core (200 = both cores of a 2-core machine), except machineBusyPct. */
export interface CpuUsage {
  /** CPU seconds used by the server processes (all replicas together) in the window. */
  readonly serverCpuS: number;
  readonly serverCpuPct: number;
  /** This process: the load generator. */
  readonly loadGenCpuPct: number;
  /** Everything else on the machine (kernel threads doing I/O, other work): a noisy neighbour shows here. */
  readonly otherCpuPct: number;
  /** Share of all cores' time that was busy. */
  readonly machineBusyPct: number;
}

/** CPU used by the servers, by this process (the load generator) and by the whole machine over one window. */
export class CpuMeter {
  #serverCpuS = 0;
  #loadGen = process.cpuUsage();
  #machine: MachineCpuSample = machineCpu();
  #startedAtMs = performance.now();

  constructor(private readonly serverPids: readonly number[]) {}

  start(): void {
    this.#serverCpuS = totalCpuS(this.serverPids);
    this.#loadGen = process.cpuUsage();
    this.#machine = machineCpu();
    this.#startedAtMs = performance.now();
  }

  stop(): CpuUsage {
    const wallS = (performance.now() - this.#startedAtMs) / 1000;
    const serverCpuS = totalCpuS(this.serverPids) - this.#serverCpuS;
    const loadGen = process.cpuUsage(this.#loadGen);
    const loadGenCpuS = (loadGen.user + loadGen.system) / 1e6;
    const machine = machineCpu();
    const machineBusyS = machine.busyS - this.#machine.busyS;
    const machineTotalS = machine.totalS - this.#machine.totalS;
    const pctOfCore = (cpuS: number) => Math.round((cpuS / wallS) * 100);
    return {
      serverCpuS: Math.round(serverCpuS * 100) / 100,
      serverCpuPct: pctOfCore(serverCpuS),
      loadGenCpuPct: pctOfCore(loadGenCpuS),
      otherCpuPct: Math.max(0, pctOfCore(machineBusyS - serverCpuS - loadGenCpuS)),
      machineBusyPct: machineTotalS === 0 ? 0 : Math.round((machineBusyS / machineTotalS) * 100),
    };
  }
}
