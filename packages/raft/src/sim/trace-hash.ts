/**
 * A running 64-bit fingerprint of a simulation's event log (two FNV-1a lanes with different seeds),
 * so that two runs can be compared for bit-for-bit equality without keeping the whole log.
 */
export class TraceHash {
  private a = 0x811c9dc5;
  private b = 0x050c5d1f;
  private count = 0;

  add(text: string): void {
    let a = this.a;
    let b = this.b;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      a = Math.imul(a ^ c, 0x01000193);
      b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
    }
    // A separator, so that ["ab", "c"] and ["a", "bc"] differ.
    this.a = Math.imul(a ^ 0x1f, 0x01000193);
    this.b = Math.imul(b ^ 0x1f, 0x01000193);
    this.count++;
  }

  get events(): number {
    return this.count;
  }

  digest(): string {
    return (this.a >>> 0).toString(16).padStart(8, '0') + (this.b >>> 0).toString(16).padStart(8, '0');
  }
}
