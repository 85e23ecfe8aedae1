/**
 * Failures as the Docker engine reports them: an HTTP status and a message. The call gate maps
 * them with the Docker runtime's own `mapEngineError`, so a memory failure becomes the same typed
 * error (NotFoundError for 404, ConflictError for 409 or a port in use, K3boxError otherwise).
 */
export class EngineFailure extends Error {
  override readonly name = "EngineFailure";
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

export function engineError(statusCode: number, message: string): EngineFailure {
  return new EngineFailure(statusCode, message);
}
