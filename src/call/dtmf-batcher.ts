// Keypad digits arrive one Twilio event each. They are collected until a short gap so that "1234"
// reaches the model as one item, not four turns.

export class DtmfBatcher {
  private digits = '';
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly gapMs: number,
    private readonly flush: (digits: string) => void,
  ) {}

  push(digit: string): void {
    this.digits += digit;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const digits = this.digits;
      this.digits = '';
      this.flush(digits);
    }, this.gapMs);
  }

  stop(): void {
    clearTimeout(this.timer);
  }
}
