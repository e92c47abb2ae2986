/** One step of a recorded run: who ran, which kernel function it stands for, what it changed. */
export interface TraceRow {
  readonly step: number;
  readonly thread: number;
  readonly label: string;
  readonly page: string;
  readonly effects: string;
}
