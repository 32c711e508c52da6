// Entry point of the Compose reader: everything outside src/stack/compose imports from here.
export { defaultContainerName, loadComposeFile, parseCompose } from './parse.ts';
export { findCycle, startOrder } from './order.ts';
export type { ComposeProject, ComposeService, DependsCondition, ServiceDependency } from './types.ts';
export type { Env } from '../../common/interpolate.ts';
