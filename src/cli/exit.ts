/**
 * Thrown by a command whose output is complete but whose outcome is a failure, such as
 * `report --wait` when a job failed. main() exits with `status` and prints nothing more.
 */
export class CommandExit extends Error {
  override name = 'CommandExit';
  readonly status: number;

  constructor(status: number) {
    super(`exit status ${status}`);
    this.status = status;
  }
}
