/** A clock the test moves by hand, for backoff, delays, retention and stalls. */
export class FakeClock {
  constructor(public now = Date.UTC(2026, 0, 1)) {}

  readonly read = (): number => this.now;

  advance(ms: number): void {
    this.now += ms;
  }
}
