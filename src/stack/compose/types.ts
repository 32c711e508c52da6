// The Compose subset loadscope runs, after interpolation and validation: plain data, ready to become ContainerSpecs.
import type { HealthcheckSpec } from '../runtime/port.ts';

export type DependsCondition = 'service_started' | 'service_healthy' | 'service_completed_successfully';

export interface ServiceDependency {
  service: string;
  condition: DependsCondition;
}

export interface ComposeService {
  name: string;
  image: string;
  entrypoint?: string[];
  command?: string[];
  environment: Record<string, string>;
  /** Always "host": loadscope never creates bridge networks. */
  networkMode: 'host';
  /** Test ["NONE"] when the file disables the image's healthcheck. */
  healthcheck?: HealthcheckSpec;
  dependsOn: ServiceDependency[];
  memoryBytes?: number;
  nanoCpus?: number;
  /** Docker bind strings "src:dst[:mode]"; host paths absolute, named volumes prefixed with the project name. */
  binds: string[];
  labels: Record<string, string>;
  /** From `container_name`; the stack defaults to loadscope-<project>-<service>. */
  containerName?: string;
}

export interface ComposeProject {
  name: string;
  sourcePath: string;
  /** File order. */
  services: ComposeService[];
  /** Non-fatal notes, e.g. a variable that is not set and became "" (Compose warns too). */
  warnings: string[];
}
