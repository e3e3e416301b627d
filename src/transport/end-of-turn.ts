// Batching's clock: what a turn of the event loop produced leaves together once the turn is over
// (docs/protocol.md, "batches"). One pending setImmediate however often a send asks for it.
export class EndOfTurn {
  private scheduled = false;
  private readonly run = () => {
    this.scheduled = false;
    this.task();
  };

  constructor(private readonly task: () => void) {}

  /** Runs the task once after this event-loop turn (a task run early meanwhile is harmless). */
  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(this.run);
  }
}
