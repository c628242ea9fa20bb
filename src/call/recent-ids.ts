// A small set of the most recent response ids (cancelled ones, ended ones). Late events only ever
// concern the last few responses, so the oldest are forgotten and a long call stays bounded.

export class RecentIds {
  private readonly ids = new Set<string>();

  constructor(private readonly keep = 16) {}

  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.keep) this.ids.delete(this.ids.values().next().value ?? '');
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }
}
