/** An in-memory container engine for unit tests; see MemoryRuntime. */
export { MemoryRuntime, type EngineSnapshot, type MemoryRuntimeOptions } from "./runtime.js";
export type { ArgvMatch, ContainerMatch, ExecContext, ExecHandler, Program, ProcessContext } from "./behaviour.js";
export type { Call, CallMatch, FailureRule, JournalEntry, RuntimeMethod, When } from "./calls.js";
export { STOPPED_EXIT_CODE } from "./containers.js";
export { engineError, EngineFailure } from "./failure.js";
export type { ContainerFiles } from "./files.js";
export type { BuildRecord, ImageConfig } from "./images.js";
