/** The public face of `manifests/` (package export `abbot/manifests`): re-exports only. */

export type { ConditionalItem, Manifest, ManifestSections } from './manifest.js';
export { manifestSchema, validateManifest } from './manifest-schema.js';
export { evaluateCondition, evaluateAst } from './condition-eval.js';
export type { EvaluateOptions, FactValue, Facts } from './condition-eval.js';
export { parseCondition, ConditionError } from './condition-parse.js';
export type {
  AggregateExpression,
  CastExpression,
  CastType,
  CollectionOperator,
  ComparisonOperator,
  ComparisonPredicate,
  CompoundPredicate,
  ConditionAst,
  ConditionExpression,
  ConstantPredicate,
  KeyPathExpression,
  LiteralExpression,
  LiteralValue,
  NotPredicate,
  Quantifier,
  StringOptions,
  SubqueryExpression,
} from './condition-parse.js';
export {
  MANIFEST_SECTIONS,
  primaryManifestCandidates,
  resolveManifestTree,
} from './resolve-manifests.js';
export type {
  ClientIdentity,
  ManifestSection,
  ResolveOptions,
  ResolvedItem,
  ResolvedManifests,
} from './resolve-manifests.js';
