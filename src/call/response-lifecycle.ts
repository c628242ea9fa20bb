import { RecentIds } from './recent-ids.js';

// The one owner of where each model response stands: requested, created, speaking, cancelled,
// ended. Both providers produce these in awkward orders (a response created after the caller already
// barged in over its request, deltas that arrive after a cancel, xAI ending one response twice with
// response.cancelled then response.done). The call asks it what each event means before anything
// else sees the event, so the chart only ever hears about live responses, and the data plane drops
// stale audio by asking the same object.

/** What a response.created means. */
export type CreatedVerdict =
  /** A live response: tell the chart. */
  | 'open'
  /** Its request was cancelled by a barge-in before it existed: cancel it now, tell nobody. */
  | 'cancelled';

/** What an audio delta means. */
export type AudioVerdict =
  /** From a cancelled response: drop it. */
  | 'stale'
  /** The first audio of this response: the response watchdog may stand down. */
  | 'first'
  | 'more';

/** What a response end (response.done, or xAI's response.cancelled) means. */
export type DoneVerdict =
  /** This response already ended once: ignore. */
  | 'duplicate'
  /** Ended after a barge-in cancelled it: nothing of it is left to play. */
  | 'cancelled'
  /** Ended normally: the caller is still to hear the rest of what was sent. */
  | 'ended';

export class ResponseLifecycle {
  private readonly cancelledIds = new RecentIds();
  private readonly endedIds = new RecentIds();
  private current = '';
  /** The response whose first audio was reported. */
  private speaking = '';
  /** The current response is between response.created and its end. */
  private open = false;
  /** response.create sent, response.created not seen yet. */
  private requests = 0;
  /** Requested responses a barge-in already cancelled: dropped as soon as they are created. */
  private cancelOnCreate = 0;

  /** The relay sent response.create. */
  requested(): void {
    this.requests++;
  }

  created(responseId: string): CreatedVerdict {
    this.current = responseId;
    this.open = true;
    if (this.requests > 0) this.requests--;
    if (this.cancelOnCreate === 0) return 'open';
    this.cancelOnCreate--;
    this.cancelledIds.add(responseId);
    return 'cancelled';
  }

  /** Hot path: one audio delta that passed the chart's gate. */
  audio(responseId: string): AudioVerdict {
    if (this.cancelledIds.has(responseId)) return 'stale';
    if (responseId === this.speaking) return 'more';
    this.speaking = responseId;
    return 'first';
  }

  /** Is audio of this response to be dropped (a barge-in cancelled it)? */
  isCancelled(responseId: string): boolean {
    return this.cancelledIds.has(responseId);
  }

  ended(responseId: string): DoneVerdict {
    // An end without an id cannot be matched to anything: never treated as a duplicate.
    if (responseId && this.endedIds.has(responseId)) return 'duplicate';
    this.endedIds.add(responseId);
    if (responseId === this.current) this.open = false;
    return this.cancelledIds.has(responseId) ? 'cancelled' : 'ended';
  }

  /**
   * The caller barged in. The current response's late audio is stale from now on. With `cancel`
   * (the chart asked to cancel what is being produced), requests the model has not turned into
   * responses yet are cancelled as soon as they are created.
   */
  interrupt(cancel: boolean): void {
    if (cancel && !this.open && this.requests > 0) this.cancelOnCreate = this.requests;
    if (this.current) this.cancelledIds.add(this.current);
  }
}
