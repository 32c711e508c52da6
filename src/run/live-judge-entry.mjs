// Live-judge worker bootstrap: workers do not inherit the tsx loader, so register it before loading the worker.
import { register } from 'tsx/esm/api';

register();
await import('./live-judge-worker.ts');
