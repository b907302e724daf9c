export { loadConfig, type SimulatorConfig } from "./config";
export { startSimulator, seedTag, type Simulator, type SimulatorDeps, type SimulatorStats } from "./simulator";
export { noFaults, malformedKinds, type Faults, type Injected, type SilentSpec } from "./faults";
export { realClock, virtualClock, type Clock } from "./clock";
export { apportion, subscriberPlan, stationPlan, carriers } from "./calibration";
export { mulberry32 } from "./prng";
export { lastPublishedTs, resumePoint } from "./resume";
export type { OutMessage, PublishStats } from "./publisher";
