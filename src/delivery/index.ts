export {
  chatKey,
  type EnqueueOptions,
  enqueue,
  OUTBOX_CHANNEL,
  pruneDelivered,
  renderPayload,
} from "./outbox.ts";
export {
  type ClassifiedFailure,
  classifyTelegramError,
  DEFAULT_PACING,
  DEFAULT_RETRY_POLICY,
  type DeliveryFailure,
  isGroupChat,
  type Pacing,
  type RetryPolicy,
  transientDelayMs,
} from "./policy.ts";
export { createOutboxApi, type OutboxApiOptions } from "./telegram.ts";
export * from "./types.ts";
export {
  createOutboxWorker,
  type OutboxWorker,
  type OutboxWorkerOptions,
  type OutboxWorkerStatus,
  type StuckRow,
} from "./worker.ts";
