/** Starting k3box's reaper for a test session (see core/reaper/container.ts). */
import { K3boxError } from "../../base/errors.js";
import { step } from "../events.js";
import { execute } from "../executor.js";
import { runOperation, type OperationOptions } from "../operation.js";
import { sequence } from "../plan/actions.js";
import { REAPER_PORT, reaperContainer, reaperImage } from "../reaper/container.js";

export interface ReaperInput {
  /** The session whose objects the reaper removes: the value of their session label. */
  readonly session: string;
  /** The engine's socket on the engine's host, which the reaper talks to. */
  readonly engineSocket: string;
}

export interface StartedReaper {
  readonly container: string;
  /** Where the test process connects to it. */
  readonly host: string;
  readonly port: number;
}

/** Builds the reaper's image if the engine lacks it, then creates and starts the session's reaper. */
export function startReaper(input: ReaperInput, options: OperationOptions = {}): Promise<StartedReaper> {
  return runOperation("starting the reaper", options, async (op) => {
    const { runtime, onEvent, signal, dialect } = op;
    const image = await reaperImage();
    await step(onEvent, "build-reaper-image", async () => {
      if (await runtime.imageExists(image.tag, signal)) return;
      await runtime.buildImage(
        { context: image.context, tag: image.tag, labels: { [dialect.labels.version]: dialect.versionValue } },
        undefined,
        signal,
      );
    });
    const container = reaperContainer(dialect, input.session, image.tag, input.engineSocket);
    await execute(
      sequence([
        { type: "create-container", container, files: [] },
        { type: "start", container: container.name },
      ]),
      op,
    );
    const published = (await runtime.inspectContainer(container.name, signal))?.ports.find(
      (p) => p.containerPort === REAPER_PORT,
    );
    if (published === undefined || published.hostPort === 0) {
      throw new K3boxError(`the reaper ${container.name} has no published port ${REAPER_PORT}`);
    }
    return { container: container.name, host: "127.0.0.1", port: published.hostPort };
  });
}
