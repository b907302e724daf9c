export * from "./connect-nats";
export * from "./nats-url";
export * from "./streams";
export * from "./puller";
export * from "./stored-message";
export {
  AckPolicy,
  DeliverPolicy,
  jetstream,
  jetstreamManager,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type PubAck,
} from "@nats-io/jetstream";
export {
  headers,
  createInbox,
  nanos,
  nkeys,
  PermissionViolationError,
  type Msg,
  type MsgHdrs,
  type Subscription,
} from "@nats-io/transport-node";
