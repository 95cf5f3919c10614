/** Deltas ready to send, and the revision the subscriber is complete through after them. */
export interface EncodedDeltas {
  readonly messages: string[];
  readonly revision: number;
}

/**
 * Packs encoded changes, added in revision order, into `delta` messages of about `bytesMax` each,
 * splitting a revision only when it alone is larger (the message before the split then says the
 * revision before it, so a resume replays the split revision whole). Knows nothing of where the
 * changes come from: the zone's hub and the federation's feed both hand theirs here.
 */
export class DeltaPacker {
  private readonly messages: string[] = [];
  private parts: string[] = [];
  private bytes = 0;
  private prevRevision = 0;
  private completeThrough = 0;

  constructor(
    private readonly subJson: string,
    private readonly bytesMax: number,
  ) {}

  /** One change of `revision`, already JSON. */
  add(revision: number, json: string): void {
    if (this.parts.length > 0 && this.bytes + json.length > this.bytesMax) {
      // Complete through the previous change's revision, unless we are inside it.
      this.emit(this.prevRevision === revision ? revision - 1 : this.prevRevision);
    }
    this.parts.push(json);
    this.bytes += json.length + 1;
    this.prevRevision = revision;
    this.completeThrough = revision;
  }

  finish(): EncodedDeltas {
    if (this.parts.length > 0) this.emit(this.completeThrough);
    return { messages: this.messages, revision: this.completeThrough };
  }

  private emit(revision: number): void {
    this.messages.push(
      `{"type":"delta","sub":${this.subJson},"revision":${revision},"changes":[${this.parts.join(',')}]}`,
    );
    this.parts = [];
    this.bytes = 0;
  }
}
