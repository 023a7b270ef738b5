/** The public face of `client/plan/`: what a check decides, and the forms it is written in. */

export { buildInstallPlan } from './plan.js';
export { toCheckJson, toInstallInfo, toJsonValue } from './install-info.js';
export type { CheckJson, CheckJsonItem } from './install-info.js';
export type {
  InstallPlan,
  LocalOnlyManifest,
  OptionalItem,
  PlanInput,
  PlanItem,
  PlanOptions,
} from './plan-types.js';
export { memoizeEvidence } from './install-evidence.js';
export type { InstallEvidence, ScriptOutcome } from './install-evidence.js';
export {
  evidenceThisIsInstalled,
  installedState,
  installedVersionOf,
  needsInstall,
  someVersionInstalled,
} from './installed-state.js';
export type { InstallState, InstalledStateResult } from './installed-state.js';
export { analyzeReceipts } from './receipt-analysis.js';
export type { ReceiptAnalysis } from './receipt-analysis.js';
