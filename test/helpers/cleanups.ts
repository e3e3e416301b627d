// What a test started, undone after it: push a step as each thing starts, run() them in afterEach
// (last started, first undone).
export class Cleanups {
  private readonly steps: Array<() => Promise<void> | void> = [];

  push(step: () => Promise<void> | void): void {
    this.steps.push(step);
  }

  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) await step();
  }
}
